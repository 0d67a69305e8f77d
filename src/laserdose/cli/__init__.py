"""Command-line interface: thin Typer sub-apps over the service functions."""
