"""Options shared by the sub-apps, declared once in Typer's `Annotated` style.

Every command that can print for machines takes `--json` as `JsonFlag`, so the flag has one name and one
meaning everywhere: JSON on stdout instead of tables, and no progress bar.
"""

from typing import Annotated

import typer

JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print JSON for machines instead of tables (no progress bar).")
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy URL; default $LASERDOSE_DATABASE_URL or SQLite."),
]
