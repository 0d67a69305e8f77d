"""Output helpers shared by the sub-apps: JSON for machines, rich tables for people."""

import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from rich.progress import Progress, ProgressColumn

console = Console()


def progress_bar(*columns: "str | ProgressColumn") -> "Progress":
    """A progress bar on stderr that leaves once done, so that stdout holds the command's output alone."""
    from rich.progress import Progress

    return Progress(*columns, console=Console(stderr=True), transient=True)


def _finite(value: Any) -> Any:
    """Replace non-finite floats by None so that the JSON stays standard (RFC 8259 has no NaN/inf)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def print_json(payload: Mapping[str, Any]) -> None:
    """Print `payload` as indented, standard JSON on stdout."""
    typer.echo(json.dumps(_finite(payload), indent=2))


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a rich table; floats are shown with 4 significant digits."""
    table = Table(title=escape(title))
    for column in columns:
        table.add_column(escape(column))  # a unit like "[mm]" is not rich markup
    for row in rows:
        table.add_row(*(_cell(value) for value in row))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return escape(str(value))
