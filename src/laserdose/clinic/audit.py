"""Append-only, hash-chained audit log.

Each row's hash is SHA-256 over the previous row's hash and the row's own content (canonical JSON), so
changing, inserting or deleting any row except the last breaks the chain at that row. The database also
refuses UPDATE and DELETE on the table (triggers, see the first migration); the chain still catches an
attacker who drops them. Truncating the newest rows is not detectable from the chain alone: keep the head
hash (`head_hash`) somewhere else, such as a signed daily export, to catch that.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from laserdose.clinic.models import AuditEntry, utcnow

GENESIS_HASH = "0" * 64
# PostgreSQL advisory lock that serialises appends: without it two transactions could read the same head
# and the second would fail on the unique prev_hash (the chain itself can never fork either way).
# SQLite needs none: a writer already holds the database's single write lock when it appends.
_APPEND_LOCK_KEY = 0x1A5E_D05E


def entry_hash(prev_hash: str, content: dict[str, Any]) -> str:
    """Return the hex SHA-256 of `prev_hash` followed by the canonical JSON of `content`."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def _content(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "details": entry.details,
    }


def head_hash(*, session: Session) -> str:
    """Return the newest row's hash, or the genesis hash for an empty log."""
    last = session.scalars(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    return last or GENESIS_HASH


def record(
    *,
    session: Session,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one audit row chained to the current head and flush it.

    Args:
        session: open database session (the caller commits).
        actor: who did it (username, or `cli:<name>` for the command line).
        action: what was done, e.g. `patient.create`.
        entity: the table or thing acted on.
        entity_id: its id, if any.
        details: JSON-safe facts about the change (field names, not patient data values).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY})
    entry = AuditEntry(
        at=utcnow().isoformat(timespec="microseconds"),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        details=details or {},
        prev_hash=head_hash(session=session),
    )
    entry.hash = entry_hash(entry.prev_hash, _content(entry))
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class AuditBreak:
    """The first row where the chain does not hold.

    Attributes:
        entry_id: id of the row.
        reason: what does not match.
    """

    entry_id: int
    reason: str


@dataclass(frozen=True)
class AuditReport:
    """Result of checking the whole chain.

    Attributes:
        rows: number of rows checked.
        head: hash of the newest row (genesis hash if empty).
        broken: the first broken row, or None if the chain holds.
    """

    rows: int
    head: str
    broken: AuditBreak | None


def verify(*, session: Session) -> AuditReport:
    """Recompute the chain from the first row and report the first row that does not match."""
    expected_prev = GENESIS_HASH
    rows = 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        rows += 1
        if entry.prev_hash != expected_prev:
            reason = "previous-hash link broken (a row before it was changed, inserted or deleted)"
            return AuditReport(rows, expected_prev, AuditBreak(entry.id, reason))
        if entry.hash != entry_hash(entry.prev_hash, _content(entry)):
            return AuditReport(rows, expected_prev, AuditBreak(entry.id, "content does not match its hash"))
        expected_prev = entry.hash
    return AuditReport(rows, expected_prev, None)
