"""Group commit of audit entries: entries from requests that arrive together share one transaction.

Every chart view appends an entry to the hash-chained audit log, and appending costs more than the entry:
the append lock, the read of the chain's head and the commit (on SQLite, a flush of the journal to disk;
on PostgreSQL, three round trips). Here the first request that appends becomes the writer: it writes its
entry and those of the requests that came while it wrote, in order, under one lock and one head read,
commits once, and carries on while more wait. Each request waits until the transaction holding its own
entry is committed, so no view is answered before it is durably on record, and a crash loses only
entries whose pages were never sent. A failed write fails every request of its batch, as a failed
append of its own would have.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from laserdose.clinic import audit


class _Slot:
    """One waiting entry: set `done` (and `error`) once its batch is written, or `lead` to write the next."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.entry = entry
        self.woken = threading.Event()
        self.lead = False
        self.done = False
        self.error: BaseException | None = None


class GroupAppender:
    """Appends audit entries from many threads, each batch in one transaction of its own session.

    One thread writes at a time, one batch each: the batch it finds waiting, its own entry among them;
    then it hands the writing to the first entry that came meanwhile, so that no request writes for
    others for longer than one batch.
    """

    def __init__(self, sessions: Callable[[], Session]) -> None:
        """Write with sessions made by `sessions` (the app's session maker)."""
        self._sessions = sessions
        self._lock = threading.Lock()
        self._waiting: list[_Slot] = []
        self._writing = False

    def append(self, **entry: Any) -> None:
        """Append one entry (the keyword arguments of `audit.record`); return once it is committed.

        Raises:
            Exception: whatever the batch's write or commit raised.
        """
        slot = _Slot(entry)
        with self._lock:
            self._waiting.append(slot)
            if not self._writing:
                self._writing = slot.lead = True
        if not slot.lead:
            slot.woken.wait()  # its batch was written, or it was handed the writing
        if not slot.done:
            self._write_one_batch()
        if slot.error is not None:
            raise slot.error

    def _write_one_batch(self) -> None:
        with self._lock:
            batch, self._waiting = self._waiting, []
        try:
            with self._sessions() as session:
                audit.record_many(session=session, entries=[slot.entry for slot in batch])
                session.commit()
        except BaseException as exc:  # every request of the batch hears of it; none waits forever
            for slot in batch:
                slot.error = exc
        for slot in batch:
            slot.done = True
            slot.woken.set()
        with self._lock:
            if self._waiting:
                self._waiting[0].lead = True
                self._waiting[0].woken.set()
            else:
                self._writing = False
