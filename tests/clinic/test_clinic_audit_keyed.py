"""The keyed, anchored audit log: a rewrite that recomputes every later hash and a cut of the newest rows
are both found; the key file is private; MACs and checkpoint signatures are plain RFC 2104 HMAC-SHA256."""

import hashlib
import json
import os

import pytest
from factories import make_user
from sqlalchemy import text

from laserdose.clinic import audit, audit_checkpoints
from laserdose.clinic.models import AuditEntry
from laserdose.errors import InputError


def _drop_append_only_guard(session):
    # Someone with write access to the database can drop the triggers first.
    if session.bind.dialect.name == "postgresql":
        session.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
    else:
        session.execute(text("DROP TRIGGER audit_log_no_update"))
        session.execute(text("DROP TRIGGER audit_log_no_delete"))


def _rows(session):
    return list(session.query(AuditEntry).order_by(AuditEntry.id))


def test_a_rewrite_with_every_later_hash_recomputed_is_found(session):
    for _ in range(4):
        make_user(session)
    rows = _rows(session)
    target = rows[-3]
    _drop_append_only_guard(session)
    # The attacker changes a row and recomputes the chain from there on, as the plain chain allowed.
    prev = target.prev_hash
    for row in rows[rows.index(target) :]:
        content = {
            "at": row.at,
            "actor": "mallory" if row.id == target.id else row.actor,
            "action": row.action,
            "entity": row.entity,
            "entity_id": row.entity_id,
            "details": row.details,
        }
        new_hash = audit.entry_hash(prev, content)
        session.execute(
            text("UPDATE audit_log SET actor = :actor, prev_hash = :prev, hash = :hash WHERE id = :id"),
            {"actor": content["actor"], "prev": prev, "hash": new_hash, "id": row.id},
        )
        prev = new_hash
    session.expire_all()
    report = audit.verify(session=session)
    assert report.broken is not None and report.broken.entry_id == target.id
    assert "MAC does not match" in report.broken.reason


def test_dropping_the_newest_rows_is_found_by_the_checkpoint(session, tmp_path):
    for _ in range(3):
        make_user(session)
    checkpoints = tmp_path / "checkpoints.jsonl"
    first = audit_checkpoints.check(session=session, path=checkpoints, write=True)
    assert first.ok and first.checkpoints == 1 and first.last_checkpoint.rows == first.rows
    newest = _rows(session)[-2:]
    _drop_append_only_guard(session)
    session.execute(text("DELETE FROM audit_log WHERE id >= :id"), {"id": newest[0].id})
    session.expire_all()
    assert audit.verify(session=session).broken is None  # what is left is a valid, shorter chain
    state = audit_checkpoints.check(session=session, path=checkpoints, write=True)
    assert not state.ok and "rows were removed" in state.problem
    assert len(checkpoints.read_text().splitlines()) == 1  # no checkpoint of a broken log


def test_an_altered_checkpoint_is_refused(session, tmp_path):
    make_user(session)
    checkpoints = tmp_path / "checkpoints.jsonl"
    audit_checkpoints.check(session=session, path=checkpoints, write=True)
    line = json.loads(checkpoints.read_text())
    checkpoints.write_text(json.dumps({**line, "rows": line["rows"] - 1}) + "\n")
    state = audit_checkpoints.check(session=session, path=checkpoints)
    assert not state.ok and "bad signature" in state.problem


def test_a_growing_log_gets_new_checkpoints_that_all_hold(session, tmp_path):
    checkpoints = tmp_path / "checkpoints.jsonl"
    for _ in range(3):
        make_user(session)
        state = audit_checkpoints.check(session=session, path=checkpoints, write=True)
    assert state.ok and state.checkpoints == 3
    assert "audit log intact" in audit_checkpoints.describe(state)
    assert state.head_mac[:16] in audit_checkpoints.describe(state)


def _rfc2104_hmac_sha256(key: bytes, message: bytes) -> str:
    # RFC 2104 section 2 written out: H((K ^ opad) || H((K ^ ipad) || m)), block size 64 bytes.
    block = key.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block) + message).digest()
    return hashlib.sha256(bytes(b ^ 0x5C for b in block) + inner).hexdigest()


def test_row_mac_is_rfc2104_hmac_sha256_of_the_row_hash(session):
    make_user(session)
    row = _rows(session)[-1]
    assert row.mac == _rfc2104_hmac_sha256(audit.current_key(), row.hash.encode())


def test_key_file_is_created_private_and_a_shared_one_is_refused(tmp_path):
    path = tmp_path / "keys" / "audit.key"
    key = audit.load_key(path)
    assert len(key) == audit.KEY_BYTES and os.stat(path).st_mode & 0o777 == 0o600
    assert audit.load_key(path) == key  # the same key on the next start
    os.chmod(path, 0o644)
    with pytest.raises(InputError, match="readable by its owner only"):
        audit.load_key(path)
