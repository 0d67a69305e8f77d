"""Group commit of audit entries: every entry committed before its caller goes on, one chain, in order."""

import threading
import time
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from laserdose.clinic import audit, db
from laserdose.clinic.audit_group import GroupAppender
from laserdose.clinic.models import AuditEntry


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    engine = db.make_engine(url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


def _entries(engine, actor: str) -> list[tuple[str, int]]:
    with Session(engine) as fresh:
        query = select(AuditEntry.actor, AuditEntry.entity_id).where(AuditEntry.actor.like(f"{actor}%"))
        return [tuple(row) for row in fresh.execute(query.order_by(AuditEntry.id))]


def test_concurrent_views_are_each_committed_before_the_caller_goes_on_and_keep_one_chain(engine):
    appender = GroupAppender(db.session_factory(engine))
    run = uuid.uuid4().hex[:8]
    errors: list[BaseException] = []

    def viewer(n: int) -> None:
        try:
            for i in range(20):
                appender.append(actor=f"{run}-{n}", action="patient.view", entity="patients", entity_id=i,
                                details={"view": "chart"})  # fmt: skip
                with Session(engine) as other:  # committed: another connection sees it at once
                    seen = select(func.count()).where(
                        AuditEntry.actor == f"{run}-{n}", AuditEntry.entity_id == i
                    )
                    assert other.scalar(seen) == 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=viewer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    found = _entries(engine, run)
    assert len(found) == 8 * 20
    for n in range(8):  # each caller's entries in the order it made them
        assert [i for actor, i in found if actor == f"{run}-{n}"] == list(range(20))
    with Session(engine) as fresh:
        assert audit.verify(session=fresh).broken is None


def test_entries_that_arrive_while_one_batch_is_written_share_the_next_commit(engine):
    sessions = db.session_factory(engine)
    first_batch_started, let_it_write = threading.Event(), threading.Event()
    made: list[int] = []

    def slow_first_session() -> Session:
        made.append(1)
        if len(made) == 1:
            first_batch_started.set()
            let_it_write.wait(10)
        return sessions()

    appender = GroupAppender(slow_first_session)
    run = uuid.uuid4().hex[:8]

    def view(n: int) -> None:
        appender.append(actor=f"{run}-{n}", action="patient.view", entity="patients", entity_id=n)

    first = threading.Thread(target=view, args=(0,))
    first.start()
    assert first_batch_started.wait(10)
    others = [threading.Thread(target=view, args=(n,)) for n in range(1, 7)]
    for thread in others:
        thread.start()
    deadline = time.monotonic() + 10
    while len(appender._waiting) < 6 and time.monotonic() < deadline:  # the six queue behind the first
        time.sleep(0.01)
    let_it_write.set()
    for thread in [first, *others]:
        thread.join(10)
    assert len(made) == 2  # one transaction for the first entry, one for the six that came meanwhile
    assert sorted(i for _, i in _entries(engine, run)) == list(range(7))
    with Session(engine) as fresh:
        assert audit.verify(session=fresh).broken is None


def test_a_failed_batch_fails_each_of_its_callers_and_the_next_batch_is_written(engine):
    sessions = db.session_factory(engine)
    broken = {"on": True}

    def maybe_broken() -> Session:
        if broken["on"]:
            raise OSError("disk full")
        return sessions()

    appender = GroupAppender(maybe_broken)
    run = uuid.uuid4().hex[:8]
    with pytest.raises(OSError, match="disk full"):
        appender.append(actor=f"{run}-a", action="patient.view", entity="patients", entity_id=1)
    broken["on"] = False
    appender.append(actor=f"{run}-b", action="patient.view", entity="patients", entity_id=2)
    assert _entries(engine, run) == [(f"{run}-b", 2)]
