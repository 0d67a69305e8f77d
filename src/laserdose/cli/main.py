"""The `laserdose` command: one Typer sub-app per file, joined here.

Every `InputError` raised below a command becomes one line on stderr and exit code 2, with no traceback.
"""

from typing import Annotated, Any

import typer
from typer.core import TyperGroup  # the group class Typer(cls=...) documents for customising

from laserdose import __version__
from laserdose.errors import InputError, missing_extra


class _RejectingGroup(TyperGroup):
    """Top-level group that turns bad input anywhere below it into a one-line error and exit code 2."""

    def invoke(self, ctx: Any) -> Any:  # ctx: the click context Typer passes
        try:
            return super().invoke(ctx)
        except InputError as exc:
            typer.echo(f"laserdose: error: {exc}", err=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=_RejectingGroup,
    help="Dosimetry, safety, planning and device control for Class 4 laser therapy of back pain.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"laserdose {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", is_eager=True, callback=_print_version),
    ] = False,
) -> None:
    """Dosimetry, safety, planning and device control for Class 4 laser therapy of back pain."""


def _register() -> None:
    """Attach the sub-apps; each lives in its own module (docs/design.md: thin CLI)."""
    from laserdose.cli import (
        demo,
        device,
        heat,
        optics,
        plan,
        protocols,
        safety,
        screen,
        serve,
        simulate,
        study,
        tables,
        treat,
    )

    app.command("demo")(demo.demo)
    app.add_typer(optics.app, name="optics")
    app.command("screen")(screen.screen)
    app.command("plan")(plan.plan)
    app.add_typer(protocols.app, name="protocols")
    app.add_typer(safety.app, name="safety")
    app.command("heat")(heat.heat)
    app.add_typer(device.app, name="device")
    app.command("treat")(treat.treat)
    app.command("simulate")(simulate.simulate)
    app.add_typer(tables.app, name="tables")
    app.command("study")(study.study)
    app.command("serve")(serve.serve)
    _register_clinic()


def _register_clinic() -> None:
    """The clinic's database commands, or stand-ins that name the missing extra (laserdose[clinic])."""
    try:
        from laserdose.cli import clinic
    except ModuleNotFoundError as exc:
        if (exc.name or "").startswith("laserdose"):
            raise
        for name in ("db", "users", "audit"):
            app.command(name, context_settings=_ANY_ARGS, help="Clinic database (needs laserdose[clinic]).")(
                _needs_extra(exc)
            )
        return
    app.add_typer(clinic.db_app, name="db")
    app.add_typer(clinic.users_app, name="users")
    app.add_typer(clinic.audit_app, name="audit")


_ANY_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def _needs_extra(exc: ModuleNotFoundError) -> Any:
    def command(ctx: typer.Context) -> None:
        raise missing_extra("clinic", exc)

    return command


_register()


def main() -> None:
    """Console-script entry point."""
    app()
