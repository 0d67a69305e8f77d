"""Engines, sessions and schema migrations.

SQLite (WAL journal, foreign keys on) is the embedded default; set `LASERDOSE_DATABASE_URL` (for
example `postgresql+psycopg://user:pw@127.0.0.1/laserdose`, extra `postgres`) to use PostgreSQL.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from laserdose.errors import InputError

DATABASE_URL_ENV = "LASERDOSE_DATABASE_URL"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def default_database_url() -> str:
    """Return `LASERDOSE_DATABASE_URL`, or an SQLite file in the user's data directory."""
    url = os.environ.get(DATABASE_URL_ENV)
    if url:
        return url
    data_home = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    path = data_home / "laserdose" / "clinic.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _check_url(url: str) -> str:
    if not url.startswith(("sqlite", "postgresql")):
        raise InputError(f"unsupported database URL {url.split(':', 1)[0]!r}; allowed: sqlite, postgresql")
    if url.startswith("postgresql://"):  # plain scheme means psycopg2 to SQLAlchemy; we ship psycopg 3
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA foreign_keys=ON")  # SQLite leaves them off by default
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str | None = None, pool_size: int = 5, max_overflow: int = 10) -> Engine:
    """Create an engine for `url` (default: `default_database_url()`).

    SQL parameters never appear in logs or exception messages (`hide_parameters`): they hold patient data.

    Args:
        url: SQLAlchemy database URL, sqlite or postgresql.
        pool_size: connections kept open (the web app: one per worker thread, and a few more).
        max_overflow: extra connections opened under load and closed when returned; -1: no bound.
    """
    url = _check_url(url or default_database_url())
    engine = create_engine(
        url, pool_pre_ping=True, hide_parameters=True, pool_size=pool_size, max_overflow=max_overflow
    )
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session maker bound to `engine`; objects stay usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the Alembic migrations up to `revision` on `engine`'s database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """Return the database's Alembic revision, or None if it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """Return the newest migration's revision (what `upgrade` brings a database to)."""
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None  # the package ships its migrations
    return head


def describe(engine: Engine) -> str:
    """Return the engine's URL with any password hidden, for messages."""
    return engine.url.render_as_string(hide_password=True)
