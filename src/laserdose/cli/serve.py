"""`laserdose serve`: run the clinic web app with uvicorn."""

from __future__ import annotations

import logging

import typer
from pydantic import ValidationError

from laserdose.errors import InputError


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    database_url: str | None = typer.Option(
        None, "--database-url", help="SQLAlchemy URL; default $LASERDOSE_DATABASE_URL or SQLite."
    ),
) -> None:
    """Serve the clinic web app (settings from LASERDOSE_* variables; see README)."""
    import uvicorn

    from laserdose.clinic import db
    from laserdose.web.app import create_app
    from laserdose.web.settings import DEVELOPMENT_SECRET, WebSettings

    try:
        settings = WebSettings()
        if database_url:
            settings = settings.model_copy(update={"database_url": database_url})
    except ValidationError as exc:
        raise InputError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
    engine = db.make_engine(settings.database_url)
    revision = db.current_revision(engine)
    if revision is None:
        raise InputError(f"database {db.describe(engine)} is not set up; run `laserdose db upgrade` first")
    if revision != db.head_revision():
        raise InputError(
            f"database {db.describe(engine)} is at revision {revision}, this laserdose needs "
            f"{db.head_revision()}; run `laserdose db upgrade`"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if settings.secret_key == DEVELOPMENT_SECRET:
        typer.echo("warning: development secret in use; set LASERDOSE_SECRET_KEY for real use", err=True)
    typer.echo(f"laserdose clinic on http://{host}:{port} ({settings.environment}, {db.describe(engine)})")
    # uvicorn's own access log prints query strings (patient searches); ours logs paths only. Open console
    # event streams never end by themselves: after 3 s of shutdown they are cut, and the app's shutdown
    # then stops any running treatment (STOP + DISARM) and closes its record.
    uvicorn.run(
        create_app(settings), host=host, port=port, access_log=False, log_level="info",
        timeout_graceful_shutdown=3,
    )  # fmt: skip
