"""`laserdose demo`: the main job on embedded defaults until the clinic app exists."""

import typer


def demo() -> None:
    """Show what laserdose computes for a demo patient on a demo machine."""
    typer.echo("laserdose demo: no capabilities yet")
