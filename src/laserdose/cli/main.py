"""The `laserdose` command: one Typer sub-app per file, joined here.

Every `InputError` raised below a command becomes one line on stderr and exit code 2, with no traceback.
"""

import importlib
import sys
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


def _new_app() -> typer.Typer:
    app = typer.Typer(
        cls=_RejectingGroup,
        help="Dosimetry, safety, planning and device control for Class 4 laser therapy of back pain.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    app.callback()(_root)
    return app


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"laserdose {__version__}")
        raise typer.Exit()


def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", is_eager=True, callback=_print_version),
    ] = False,
) -> None:
    """Dosimetry, safety, planning and device control for Class 4 laser therapy of back pain."""


# name -> (module under laserdose.cli, attribute, how it joins): a sub-app or a single command.
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("demo", "demo", "command"),
    "optics": ("optics", "app", "group"),
    "screen": ("screen", "screen", "command"),
    "plan": ("plan", "plan", "command"),
    "protocols": ("protocols", "app", "group"),
    "safety": ("safety", "app", "group"),
    "heat": ("heat", "heat", "command"),
    "device": ("device", "app", "group"),
    "treat": ("treat", "treat", "command"),
    "simulate": ("simulate", "simulate", "command"),
    "tables": ("tables", "app", "group"),
    "study": ("study", "study", "command"),
    "grid": ("grid", "grid", "command"),
    "serve": ("serve", "serve", "command"),
}
_CLINIC_COMMANDS = {"db": "db_app", "users": "users_app", "audit": "audit_app", "patients": "patients_app"}


def _register(target: typer.Typer, only: str | None = None) -> None:
    """Attach the sub-apps (each in its own module, docs/design.md: thin CLI); `only`: just that one.

    Importing every command module costs about a second (numba, scipy, SQLAlchemy), so the console
    script attaches only the command it was asked for, and everything when the name is unknown.
    """
    for name, (module_name, attribute, kind) in _COMMANDS.items():
        if only in (None, name):
            member = getattr(importlib.import_module(f"laserdose.cli.{module_name}"), attribute)
            if kind == "group":
                target.add_typer(member, name=name)
            else:
                target.command(name)(member)
    if only is None or only in _CLINIC_COMMANDS:
        _register_clinic(target)


def _register_clinic(target: typer.Typer) -> None:
    """The clinic's database commands, or stand-ins that name the missing extra (laserdose[clinic])."""
    try:
        from laserdose.cli import clinic
    except ModuleNotFoundError as exc:
        if (exc.name or "").startswith("laserdose"):
            raise
        for name in _CLINIC_COMMANDS:
            target.command(
                name, context_settings=_ANY_ARGS, help="Clinic database (needs laserdose[clinic])."
            )(_needs_extra(exc))
        return
    for name, attribute in _CLINIC_COMMANDS.items():
        target.add_typer(getattr(clinic, attribute), name=name)


_ANY_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def _needs_extra(exc: ModuleNotFoundError) -> Any:
    def command(ctx: typer.Context) -> None:
        raise missing_extra("clinic", exc)

    return command


def __getattr__(name: str) -> typer.Typer:
    """`app`: the whole command tree, built on first use (tests, `python -c`, docs)."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    whole = _new_app()
    _register(whole)
    globals()["app"] = whole
    return whole


def main() -> None:
    """Console-script entry point: attaches only the command named on the command line."""
    name = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    known = name in _COMMANDS or name in _CLINIC_COMMANDS
    narrow = _new_app()
    _register(narrow, only=name if known else None)
    narrow()
