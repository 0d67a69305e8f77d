"""Append-only, hash-chained, keyed and anchored audit log.

Each row's hash is SHA-256 over the previous row's hash and the row's own content (canonical JSON), so
changing, inserting or deleting any row breaks the chain at that row. The database also refuses UPDATE and
DELETE on the table (triggers, see the first migration).

A plain hash chain can be recomputed by whoever can write the database. So each row also carries a MAC:
HMAC-SHA256 of its hash under a key kept outside the database (`audit_key`, a file readable by the app
only). Without the key a rewritten row cannot get a valid MAC, and through the chain a row's MAC vouches
for every row before it (rows written before keying included). Dropping the newest rows leaves a valid
shorter chain; signed checkpoints (row count, head row and its MAC, written regularly to a file outside
the database, see `laserdose.clinic.audit_checkpoints`) catch that.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from laserdose.clinic.models import AuditEntry, utcnow
from laserdose.errors import InputError

GENESIS_HASH = "0" * 64
# PostgreSQL advisory lock that serialises appends: without it two transactions could read the same head
# and the second would fail on the unique prev_hash (the chain itself can never fork either way).
# SQLite needs none: a writer already holds the database's single write lock when it appends.
_APPEND_LOCK_KEY = 0x1A5E_D05E
KEY_FILE_ENV = "LASERDOSE_AUDIT_KEY_FILE"
KEY_BYTES = 32  # [U] RFC 2104 section 3: a key of at least the hash's output length (SHA-256: 32 bytes)
_key: bytes | None = None


def default_key_file() -> Path:
    """`LASERDOSE_AUDIT_KEY_FILE`, or `audit-hmac.key` in the user's data directory."""
    if os.environ.get(KEY_FILE_ENV):
        return Path(os.environ[KEY_FILE_ENV])
    data_home = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return data_home / "laserdose" / "audit-hmac.key"


def load_key(path: Path) -> bytes:
    """Read the audit key from `path`, creating it (random, mode 0600) if the file does not exist.

    Raises:
        InputError: the file is readable or writable by others than its owner, or holds no valid key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(os.urandom(KEY_BYTES).hex() + "\n")
    if path.stat().st_mode & 0o077:
        raise InputError(f"audit key file {path} must be readable by its owner only (chmod 600)")
    try:
        key = bytes.fromhex(path.read_text().strip())
    except ValueError:
        key = b""
    if len(key) < KEY_BYTES:
        raise InputError(f"audit key file {path} must hold {KEY_BYTES} random bytes as hex")
    return key


def use_key(key: bytes) -> None:
    """Make `key` the audit key of this process (the web app and the CLI call this at start)."""
    global _key
    _key = key


def current_key() -> bytes:
    """The audit key of this process; loaded (or created) from `default_key_file()` on first use."""
    if _key is None:
        use_key(load_key(default_key_file()))
    assert _key is not None
    return _key


def entry_mac(key: bytes, row_hash: str) -> str:
    """HMAC-SHA256 (hex) of a row's chain hash under the audit key."""
    return hmac.new(key, row_hash.encode(), hashlib.sha256).hexdigest()


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


# Built once, run as plain statements on the session's connection: an append is written on every chart
# view, and building the statements and going through the ORM's unit of work cost more than the writes.
_HEAD = select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
_INSERT = insert(AuditEntry)
_PG_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_SQLITE_LOCK = text("UPDATE audit_log SET id = id WHERE 0")


def head_hash(*, session: Session) -> str:
    """Return the newest row's hash, or the genesis hash for an empty log."""
    last = session.connection().execute(_HEAD).scalar()
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
    """Append one audit row chained to the current head (written at once, in the session's transaction).

    Args:
        session: open database session (the caller commits).
        actor: who did it (username, or `cli:<name>` for the command line).
        action: what was done, e.g. `patient.create`.
        entity: the table or thing acted on.
        entity_id: its id, if any.
        details: JSON-safe facts about the change (field names, not patient data values).

    Returns:
        the entry as written, with its id (not attached to the session).
    """
    session.flush()  # the changes this entry records reach the database first, as before any write
    _lock_the_head(session)
    entry = _chained(head_hash(session=session), actor, action, entity, entity_id, details)
    values = {column: getattr(entry, column) for column in _COLUMNS}
    inserted = session.connection().execute(_INSERT, values).inserted_primary_key
    assert inserted is not None  # a plain INSERT of one row
    entry.id = inserted[0]
    return entry


def record_many(*, session: Session, entries: list[dict[str, Any]]) -> None:
    """Append several audit rows in order, chained to the current head: one lock, one head read, one insert.

    Args:
        session: open database session (the caller commits).
        entries: the keyword arguments of `record` (actor, action, entity, entity_id, details) of each row.
    """
    if not entries:
        return
    session.flush()
    _lock_the_head(session)
    prev_hash, rows = head_hash(session=session), []
    for fields in entries:
        entry = _chained(prev_hash, **fields)
        rows.append({column: getattr(entry, column) for column in _COLUMNS})
        prev_hash = entry.hash
    session.connection().execute(_INSERT, rows)


_COLUMNS = ("at", "actor", "action", "entity", "entity_id", "details", "prev_hash", "hash", "mac")


def _lock_the_head(session: Session) -> None:
    """Hold the append lock until the transaction ends, so that no other writer moves the head meanwhile."""
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(_PG_LOCK, {"key": _APPEND_LOCK_KEY})
    elif dialect == "sqlite":
        # Take SQLite's write lock before reading the head: Python's sqlite3 opens the transaction only at
        # the first write, so two requests could both read the same head and the second insert would break
        # the chain's unique prev_hash (seen with concurrent chart views). A write that changes no row
        # still takes the lock, and waits for another appender's commit (busy_timeout).
        connection.execute(_SQLITE_LOCK)


def _chained(
    prev_hash: str,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """The entry after `prev_hash`, hashed and keyed (not yet written)."""
    entry = AuditEntry(
        at=utcnow().isoformat(timespec="microseconds"),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        details=details or {},
        prev_hash=prev_hash,
    )
    entry.hash = entry_hash(entry.prev_hash, _content(entry))
    entry.mac = entry_mac(current_key(), entry.hash)
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
        head_id: id of the newest row (0 if empty).
        head_mac: MAC of the newest row ("" if empty or unkeyed).
        unkeyed_rows: rows written before the log was keyed (covered by the first keyed row's MAC).
        macs_by_id: the MAC of each row, for checking checkpoints.
    """

    rows: int
    head: str
    broken: AuditBreak | None
    head_id: int = 0
    head_mac: str = ""
    unkeyed_rows: int = 0
    macs_by_id: dict[int, tuple[int, str | None]] = field(default_factory=dict, repr=False)


def verify(*, session: Session, key: bytes | None = None) -> AuditReport:
    """Recompute the chain and every MAC from the first row; report the first row that does not match.

    Args:
        session: open database session.
        key: the audit key (default: this process's `current_key()`).
    """
    key = current_key() if key is None else key
    expected_prev, rows, unkeyed, head_id, head_mac = GENESIS_HASH, 0, 0, 0, ""
    macs: dict[int, tuple[int, str | None]] = {}

    def report(broken: AuditBreak | None) -> AuditReport:
        return AuditReport(rows, expected_prev, broken, head_id, head_mac, unkeyed, macs)

    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        rows += 1
        macs[entry.id] = (rows, entry.mac)
        if entry.prev_hash != expected_prev:
            reason = "previous-hash link broken (a row before it was changed, inserted or deleted)"
            return report(AuditBreak(entry.id, reason))
        if entry.hash != entry_hash(entry.prev_hash, _content(entry)):
            return report(AuditBreak(entry.id, "content does not match its hash"))
        if entry.mac is None:
            if head_mac:
                return report(AuditBreak(entry.id, "row has no MAC though earlier rows have one"))
            unkeyed += 1
        elif not hmac.compare_digest(entry.mac, entry_mac(key, entry.hash)):
            reason = (
                "MAC does not match: this row or one before it was rewritten (or the key is not this log's)"
            )
            return report(AuditBreak(entry.id, reason))
        expected_prev, head_id, head_mac = entry.hash, entry.id, entry.mac or ""
    return report(None)
