"""Hash-chained audit log on SQLite and PostgreSQL, migrations, and the admin CLI."""

import datetime as dt
import threading

import pytest
from factories import make_patient, make_user
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from laserdose.clinic import audit, db, users
from laserdose.clinic.models import AuditEntry, Base, Outcome


def test_every_change_is_audited_and_chain_verifies(session):
    clinician = make_user(session)
    make_patient(session, clinician, name="Secret Name")
    actions = [e.action for e in session.query(AuditEntry).order_by(AuditEntry.id)]
    assert actions[-2:] == ["user.create", "patient.create"]
    assert "Secret Name" not in str([e.details for e in session.query(AuditEntry)])  # no patient data
    report = audit.verify(session=session)
    assert report.broken is None and report.rows >= 2


def test_database_refuses_update_and_delete_of_audit_rows(session):
    make_user(session)
    with pytest.raises(DBAPIError, match="append-only"):
        with session.begin_nested():
            session.execute(text("UPDATE audit_log SET actor = 'mallory'"))
    with pytest.raises(DBAPIError, match="append-only"):
        with session.begin_nested():
            session.execute(text("DELETE FROM audit_log"))


def _drop_append_only_guard(session):
    # An attacker with database rights can drop the triggers; the hash chain must still catch them.
    if session.bind.dialect.name == "postgresql":
        session.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
    else:
        session.execute(text("DROP TRIGGER audit_log_no_update"))
        session.execute(text("DROP TRIGGER audit_log_no_delete"))


def test_tampered_content_is_found_at_its_row(session):
    for _ in range(3):
        make_user(session)
    ids = [e.id for e in session.query(AuditEntry).order_by(AuditEntry.id)]
    _drop_append_only_guard(session)
    session.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = :id"), {"id": ids[-2]})
    session.expire_all()
    report = audit.verify(session=session)
    assert report.broken is not None
    assert (report.broken.entry_id, report.broken.reason) == (ids[-2], "content does not match its hash")


def test_deleted_row_breaks_the_link_of_the_next(session):
    for _ in range(3):
        make_user(session)
    ids = [e.id for e in session.query(AuditEntry).order_by(AuditEntry.id)]
    _drop_append_only_guard(session)
    session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[-2]})
    session.expire_all()
    broken = audit.verify(session=session).broken
    assert broken is not None and broken.entry_id == ids[-1] and "link broken" in broken.reason


def test_chain_hash_matches_an_independent_sha256():
    # Independent computation with hashlib of the documented layout: prev_hash + "\n" + canonical JSON.
    import hashlib

    content = {"b": 1, "a": "x"}
    expected = hashlib.sha256(b'0000\n{"a":"x","b":1}').hexdigest()
    assert audit.entry_hash("0000", content) == expected


def test_migrations_match_the_models(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    assert db.current_revision(engine) == "0008_corrections"  # the newest migration file's revision


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'wal.sqlite3'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_foreign_keys_are_enforced(session):
    session.add(Outcome(patient_id=987654, recorded_by_id=987654, assessed_on=dt.date(2026, 1, 1), nrs=3))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_concurrent_writers_keep_one_chain_on_postgresql(postgres_url):
    # Four threads commit audited changes at once; every commit must succeed and the chain stay linear.
    # (SQLite has a single writer at a time, so this is a PostgreSQL question.)
    engine = db.make_engine(postgres_url)
    db.upgrade(engine)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(5):
                with Session(engine) as own, own.begin():
                    users.create_user(session=own, username=f"concurrent-t{n}u{i}", password="four threads write at once",  # noqa: E501
                                      role="operator", actor_name="thread")  # fmt: skip
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Session(engine) as fresh:
        assert audit.verify(session=fresh).broken is None
    engine.dispose()


def test_concurrent_appends_after_reads_keep_one_chain_on_sqlite(tmp_path):
    # A chart view reads first and then audits the view: with no write before it, Python's sqlite3 has no
    # transaction open while the chain's head is read, so the append must take the write lock itself.
    engine = db.make_engine(f"sqlite:///{tmp_path / 'clinic.sqlite3'}")
    db.upgrade(engine)
    errors: list[BaseException] = []

    def viewer(n: int) -> None:
        try:
            for i in range(25):
                with Session(engine) as own, own.begin():
                    own.execute(text("SELECT count(*) FROM audit_log"))  # the view's reads
                    audit.record(session=own, actor=f"t{n}", action="patient.view", entity="patients",
                                 entity_id=i)  # fmt: skip
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=viewer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Session(engine) as fresh:
        assert fresh.scalar(text("SELECT count(*) FROM audit_log")) == 6 * 25
        assert audit.verify(session=fresh).broken is None
    engine.dispose()
