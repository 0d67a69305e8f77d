"""Options shared by the sub-apps, declared once in Typer's `Annotated` style.

Every command that can print for machines takes `--json` as `JsonFlag`, so the flag has one name and one
meaning everywhere: JSON on stdout instead of tables, and no progress bar.
"""

from typing import Annotated

import typer

from laserdose.domain.quantities import SKIN_LIMIT, Quantity


def span(quantity: Quantity) -> str:
    """A quantity's allowed range for a help text, e.g. "34-43 C"."""
    unit = f" {quantity.unit}" if quantity.unit else ""
    return f"{quantity.low:g}-{quantity.high:g}{unit}"


JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print JSON for machines instead of tables (no progress bar).")
]
SkinLimit = Annotated[
    float, typer.Option("--skin-limit", help=f"Highest allowed skin temperature, {span(SKIN_LIMIT)}.")
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy URL; default $LASERDOSE_DATABASE_URL or SQLite."),
]
