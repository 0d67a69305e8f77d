"""The `laserdose` command: one Typer sub-app per file, joined here.

Every `InputError` raised below a command becomes one line on stderr and exit code 2, with no traceback.
"""

import importlib
from typing import Any

import typer
import typer.main
from typer._click.core import Context  # Typer vendors its own click since 0.2x
from typer.core import TyperGroup

from laserdose import __version__
from laserdose.errors import InputError, missing_extra

# Each command's module, imported only when that command runs or help lists it, so that a small
# `laserdose simulate` does not pay for the web app, plotting or the heat solvers:
# name -> (module under laserdose.cli, attribute, True for a sub-app of several commands).
_COMMANDS: dict[str, tuple[str, str, bool]] = {
    "demo": ("demo", "demo", False),
    "optics": ("optics", "app", True),
    "screen": ("screen", "screen", False),
    "plan": ("plan", "plan", False),
    "protocols": ("protocols", "app", True),
    "safety": ("safety", "app", True),
    "heat": ("heat", "heat", False),
    "device": ("device", "app", True),
    "treat": ("treat", "treat", False),
    "simulate": ("simulate", "simulate", False),
    "tables": ("tables", "app", True),
    "study": ("study", "study", False),
    "serve": ("serve", "serve", False),
    "db": ("clinic", "db_app", True),
    "users": ("clinic", "users_app", True),
    "audit": ("clinic", "audit_app", True),
}


class _RejectingGroup(TyperGroup):
    """Top-level group that turns bad input anywhere below it into a one-line error and exit code 2.

    Its sub-commands are loaded on first use (see _COMMANDS).
    """

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except InputError as exc:
            typer.echo(f"laserdose: error: {exc}", err=True)
            raise typer.Exit(2) from None

    def list_commands(self, ctx: Context) -> list[str]:
        return [*_COMMANDS, *(name for name in super().list_commands(ctx) if name not in _COMMANDS)]

    def get_command(self, ctx: Context, cmd_name: str) -> Any:
        if cmd_name in _COMMANDS:
            return _load(cmd_name)
        return super().get_command(ctx, cmd_name)


def _load(name: str) -> Any:
    """The click command for `name`, importing its module now (the clinic's may lack its extra)."""
    module_name, attribute, is_group = _COMMANDS[name]
    try:
        module = importlib.import_module(f"laserdose.cli.{module_name}")
    except ModuleNotFoundError as exc:
        if module_name != "clinic" or (exc.name or "").startswith("laserdose"):
            raise
        stand_in = typer.Typer(rich_markup_mode=None)
        stand_in.command(name, context_settings=_ANY_ARGS, help="Clinic database (needs laserdose[clinic]).")(
            _needs_extra(exc)
        )
        command = typer.main.get_command(stand_in)
    else:
        if is_group:
            # Through add_typer, as a group even when the sub-app has a single command.
            parent = typer.Typer(rich_markup_mode=None)
            parent.add_typer(getattr(module, attribute), name=name)
            command = typer.main.get_group(parent).commands[name]
        else:
            single = typer.Typer(rich_markup_mode=None)
            single.command(name)(getattr(module, attribute))
            command = typer.main.get_command(single)
    command.name = name
    return command


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
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", is_eager=True, callback=_print_version
    ),
) -> None:
    """Dosimetry, safety, planning and device control for Class 4 laser therapy of back pain."""


_ANY_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def _needs_extra(exc: ModuleNotFoundError) -> Any:
    def command(ctx: typer.Context) -> None:
        raise missing_extra("clinic", exc)

    return command


def main() -> None:
    """Console-script entry point."""
    app()
