"""`laserdose serve`: run the clinic web app with uvicorn."""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from laserdose.cli.options import DatabaseUrl
from laserdose.errors import InputError, missing_extra

if TYPE_CHECKING:
    from laserdose.clinic.console_registry import ConsoleRegistry


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    database_url: DatabaseUrl = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Processes serving the pages, one per core for the most pages per second; the first also "
            "runs the consoles and the others hand it their requests.",
        ),
    ] = 1,
) -> None:
    """Serve the clinic web app (settings from LASERDOSE_* variables; see docs/clinic/web.md)."""
    try:
        import uvicorn  # noqa: F401 - the clinic extra's; _config uses it

        from laserdose.clinic import db
        from laserdose.web import workers as processes
        from laserdose.web.app import create_app
        from laserdose.web.connection_balance import ConnectionBalance, create_slots
        from laserdose.web.settings import DEVELOPMENT_SECRET, WebSettings
    except ModuleNotFoundError as exc:
        raise missing_extra("clinic", exc) from None

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
    # uvicorn's own access log prints query strings (patient searches); ours logs paths only. On SIGTERM or
    # Ctrl-C any running treatment is stopped at once (STOP + DISARM); open console event streams never end
    # by themselves: after 3 s of shutdown they are cut, and the app's shutdown then closes the records.
    app = create_app(settings)
    try:
        listening = processes.listening_socket(host, port, shared=workers > 1)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    port = listening.getsockname()[1]
    typer.echo(
        f"laserdose clinic on http://{host}:{port} ({settings.environment}, {db.describe(engine)}, "
        f"{workers} process{'es' if workers > 1 else ''})"
    )
    processes.freeze_heap()
    if workers == 1:
        _server_class()(_config(app), app.state.console).run(sockets=[listening])
        return
    # uvicorn ends a signalled shutdown by raising the signal again; as an exit, the workers are stopped
    # and the folder removed on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    with tempfile.TemporaryDirectory(prefix="laserdose-serve-") as name:
        folder = Path(name)
        slots = processes.connection_slots(folder)
        create_slots(slots, workers)
        balanced = ConnectionBalance(processes.ClientFromWorker(app), slots, 0)
        server = _server_class()(_config(balanced), app.state.console)
        balanced.track(server)
        env = {**os.environ, **({"LASERDOSE_DATABASE_URL": database_url} if database_url else {})}
        with processes.page_workers(workers - 1, host, port, folder, env):
            primary = processes.primary_socket(processes.primary_socket_path(folder))
            server.run(sockets=[listening, primary])


def _config(app: Any) -> Any:
    """The uvicorn settings of the primary, serving `app`."""
    import uvicorn

    return uvicorn.Config(
        app, access_log=False, log_level="info", timeout_graceful_shutdown=3,
        proxy_headers=False,  # X-Forwarded-For is read by the app, and only from LASERDOSE_TRUSTED_PROXIES
    )  # fmt: skip


def _server_class() -> type:
    """uvicorn.Server whose SIGTERM/SIGINT first STOPs any running treatment (uvicorn imported lazily)."""
    import uvicorn

    from laserdose.web.routes.console import SHUTDOWN_REASON

    class ConsoleStoppingServer(uvicorn.Server):
        def __init__(self, config: uvicorn.Config, console: ConsoleRegistry) -> None:
            super().__init__(config)
            self.console = console

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            # Emission stops now, not after the graceful wait for open connections (console event
            # streams never end by themselves); from a thread: the signal arrives on the event loop.
            stopper = threading.Thread(target=self.console.stop_all, args=(SHUTDOWN_REASON,), daemon=True)
            stopper.start()
            super().handle_exit(sig, frame)

    return ConsoleStoppingServer
