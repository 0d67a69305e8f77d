"""Signed checkpoints of the audit log, kept outside the database, so that dropping rows is detected.

A checkpoint is one JSON line appended to a file: when, how many rows, the newest row's id and MAC, and
an HMAC under the audit key over all of it. `check` verifies the chain and MACs (`audit.verify`) and then
that every checkpoint still holds: its row is present, with the same MAC, at the same position. A log cut
back to fewer rows than a checkpoint saw, or rewritten before it, fails. Rows added since the newest
checkpoint are only as safe as the chain; the app writes a checkpoint at start, at every check and at stop.
Keep the file on storage the database's users cannot write (another disk, a log host).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from laserdose.clinic import audit


@dataclass(frozen=True)
class Checkpoint:
    """One signed checkpoint.

    Attributes:
        at: when it was written (ISO 8601, UTC).
        rows: number of rows in the log then.
        head_id: id of the newest row then.
        head_mac: that row's MAC.
        signature: HMAC-SHA256 (hex) of the other fields under the audit key.
    """

    at: str
    rows: int
    head_id: int
    head_mac: str
    signature: str

    def payload(self) -> bytes:
        """The signed bytes."""
        return f"laserdose-audit-checkpoint\n{self.at}\n{self.rows}\n{self.head_id}\n{self.head_mac}".encode()


@dataclass(frozen=True)
class AuditState:
    """The audit log's state as the app and `laserdose audit verify` report it.

    Attributes:
        ok: chain, MACs and every checkpoint hold.
        rows: rows in the log.
        head_id: newest row's id.
        head_mac: newest row's MAC.
        unkeyed_rows: rows from before keying (covered by the next keyed row's MAC).
        checkpoints: checkpoints checked.
        last_checkpoint: the newest checkpoint, if any.
        problem: what does not hold, in a sentence ("" if ok).
        checked_at: when this check ran (ISO 8601, UTC).
    """

    ok: bool
    rows: int
    head_id: int
    head_mac: str
    unkeyed_rows: int
    checkpoints: int
    last_checkpoint: Checkpoint | None
    problem: str
    checked_at: str


def default_checkpoint_file(key_file: Path, database_label: str) -> Path:
    """A checkpoint file next to the key file, named after the database (one file per database)."""
    digest = hashlib.sha256(database_label.encode()).hexdigest()[:12]
    return key_file.parent / f"audit-checkpoints-{digest}.jsonl"


def _sign(key: bytes, checkpoint: Checkpoint) -> str:
    return hmac.new(key, checkpoint.payload(), hashlib.sha256).hexdigest()


def read(path: Path) -> list[Checkpoint | str]:
    """The checkpoints in `path`, oldest first; an unreadable line is given as its error (a string)."""
    if not path.exists():
        return []
    found: list[Checkpoint | str] = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        try:
            fields = json.loads(line)
            found.append(Checkpoint(**{name: fields[name] for name in Checkpoint.__dataclass_fields__}))
        except (ValueError, KeyError, TypeError):
            found.append(f"checkpoint line {number} of {path} is not a checkpoint")
    return found


def append(path: Path, key: bytes, report: audit.AuditReport) -> Checkpoint:
    """Append a signed checkpoint of `report`'s log to `path` (created 0600) and flush it to disk."""
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    unsigned = Checkpoint(at, report.rows, report.head_id, report.head_mac, "")
    checkpoint = Checkpoint(at, report.rows, report.head_id, report.head_mac, _sign(key, unsigned))
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(vars(checkpoint), sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return checkpoint


def _checkpoint_problem(key: bytes, checkpoint: Checkpoint, report: audit.AuditReport) -> str:
    if not hmac.compare_digest(checkpoint.signature, _sign(key, checkpoint)):
        return f"the checkpoint of {checkpoint.at} has a bad signature (the checkpoint file was altered)"
    if checkpoint.rows == 0:
        return ""
    found = report.macs_by_id.get(checkpoint.head_id)
    if found is None or report.rows < checkpoint.rows:
        return (
            f"rows were removed: the checkpoint of {checkpoint.at} saw {checkpoint.rows} rows up to id "
            f"{checkpoint.head_id}; the log now has {report.rows}"
        )
    position, mac = found
    if position != checkpoint.rows or mac != checkpoint.head_mac:
        return f"the log before row {checkpoint.head_id} differs from the checkpoint of {checkpoint.at}"
    return ""


def check(*, session: Session, path: Path, key: bytes | None = None, write: bool = False) -> AuditState:
    """Verify the chain, the MACs and every checkpoint in `path`; with `write`, then add a checkpoint.

    A checkpoint is only written for an intact log that grew since the newest one.
    """
    key = audit.current_key() if key is None else key
    # Checkpoints first: one written meanwhile (by the primary process) would count rows this check's
    # snapshot of the log cannot see yet, and read as rows removed. The log only grows.
    entries = read(path)
    report = audit.verify(session=session, key=key)
    checkpoints = [entry for entry in entries if isinstance(entry, Checkpoint)]
    problems = [entry for entry in entries if isinstance(entry, str)]
    if report.broken is not None:
        problems.insert(0, f"row {report.broken.entry_id}: {report.broken.reason}")
    problems += [problem for cp in checkpoints if (problem := _checkpoint_problem(key, cp, report))]
    last = checkpoints[-1] if checkpoints else None
    if write and not problems and (last is None or last.rows != report.rows):
        last = append(path, key, report)
        checkpoints.append(last)
    return AuditState(
        ok=not problems,
        rows=report.rows,
        head_id=report.head_id,
        head_mac=report.head_mac,
        unkeyed_rows=report.unkeyed_rows,
        checkpoints=len(checkpoints),
        last_checkpoint=last,
        problem=problems[0] if problems else "",
        checked_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


def describe(state: AuditState) -> str:
    """One line for people: intact or not, rows, head MAC, the newest checkpoint."""
    head = f"{state.rows} rows, head row {state.head_id} MAC {state.head_mac[:16] or '-'}"
    last = state.last_checkpoint
    anchor = f"; last checkpoint {last.at} at {last.rows} rows" if last else "; no checkpoint yet"
    if state.unkeyed_rows:
        head += f" ({state.unkeyed_rows} rows from before keying)"
    return (
        f"audit log intact: {head}{anchor}"
        if state.ok
        else f"audit log BROKEN: {state.problem}; {head}{anchor}"
    )
