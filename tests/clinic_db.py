"""Database fixtures for the clinic and web tests: every test runs on SQLite and on a real PostgreSQL.

PostgreSQL: `LASERDOSE_TEST_POSTGRES_URL` if set, else a private throw-away cluster started here on a free
loopback port from the server binaries that `make test` installs (scripts/test-deps.sh). Under CI=true a
missing server fails the tests; locally they skip with the reason.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from laserdose.clinic import db, users

IN_CI = os.environ.get("CI") == "true"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    # initdb refuses to run as root; the Debian package creates the `postgres` system user.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextlib.contextmanager
def private_postgres(durable: bool = False) -> Iterator[str]:
    """Start a throw-away PostgreSQL cluster on 127.0.0.1 and yield its URL; stop and delete it after.

    `durable`: every commit flushed to disk, as a clinic's server runs (the benchmarks); the tests run
    without the flushes.
    """
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not binaries:
        raise RuntimeError("no PostgreSQL server found (run `make test`, which apt-installs postgresql)")
    bindir = Path(binaries[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="laserdose-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data, port = root / "data", _free_port()
    try:
        run = {"check": True, "capture_output": True, "timeout": 60}
        subprocess.run(
            _as_postgres(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            **run,
        )
        # fsync off: a test cluster may lose data on a crash, and it is 5-10x faster.
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
        options += "" if durable else " -c fsync=off -c full_page_writes=off"
        subprocess.run(
            _as_postgres(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    options,
                    "-w",
                    "-l",
                    str(root / "log"),
                    "start",
                ]
            ),
            **run,
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _audit_key_of_the_test_run(tmp_path_factory: pytest.TempPathFactory) -> None:
    # The audit key lives outside the database; tests keep theirs in a temporary folder, not $HOME.
    from laserdose.clinic import audit

    key_file = tmp_path_factory.mktemp("audit-key") / "audit-hmac.key"
    os.environ[audit.KEY_FILE_ENV] = str(key_file)
    audit.use_key(audit.load_key(key_file))


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> None:
    # argon2's default costs ~0.15 s per hash here; tests check behaviour, not hashing cost.
    from argon2.profiles import CHEAPEST

    users.use_hash_parameters(CHEAPEST)


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"PostgreSQL is required under CI=true: {reason}")
    pytest.skip(f"PostgreSQL not available locally: {reason}")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a real PostgreSQL server for this test run."""
    if os.environ.get("LASERDOSE_TEST_POSTGRES_URL"):
        yield os.environ["LASERDOSE_TEST_POSTGRES_URL"]
        return
    try:
        cluster = private_postgres()
        url = cluster.__enter__()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        _unavailable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return
    try:
        yield url
    finally:
        cluster.__exit__(None, None, None)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated database engine, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'clinic.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = db.make_engine(url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test (nothing persists)."""
    with engine.connect() as connection:
        transaction = connection.begin()
        with Session(bind=connection, join_transaction_mode="create_savepoint") as db_session:
            yield db_session
        transaction.rollback()
