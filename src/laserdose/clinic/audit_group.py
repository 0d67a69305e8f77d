"""Group commit of audit entries: entries from requests that arrive together share one transaction.

Every chart view appends an entry to the hash-chained audit log, and appending costs more than the entry:
the append lock, the read of the chain's head and the commit (on SQLite, a flush of the journal to disk;
on PostgreSQL, round trips and a flush). Here a writer thread of the appender's own writes the entries
that wait, in order, under one lock and one head read, commits once, and starts again with those that
came meanwhile. A request hands its entry over (`submit`) and its page leaves only once the transaction
holding the entry is committed, so no view is answered before it is durably on record, and a crash loses
only entries whose pages were never sent; meanwhile the request's thread is free for the next page. A
failed write fails every request of its batch, as a failed append of its own would have.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from sqlalchemy.orm import Session

from laserdose.clinic import audit


class GroupAppender:
    """Appends audit entries from many threads, each batch in one transaction of its own session."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        """Write with sessions made by `sessions` (the app's session maker)."""
        self._sessions = sessions
        self._ready = threading.Condition()
        self._waiting: list[tuple[dict[str, Any], Future[None]]] = []
        self._writer: threading.Thread | None = None
        self._closed = False

    def submit(self, **entry: Any) -> Future[None]:
        """Hand over one entry (the keyword arguments of `audit.record`): done once it is committed.

        The future's exception is whatever the batch's write or commit raised.
        """
        committed: Future[None] = Future()
        with self._ready:
            if self._closed:
                raise RuntimeError("the audit appender is closed")
            self._waiting.append((entry, committed))
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_batches, name="laserdose-audit", daemon=True
                )
                self._writer.start()
            self._ready.notify()
        return committed

    def append(self, **entry: Any) -> None:
        """Append one entry and return once it is committed (raises what its batch's write raised)."""
        self.submit(**entry).result()

    def close(self) -> None:
        """Write what waits, then stop the writer thread."""
        with self._ready:
            self._closed = True
            writer = self._writer
            self._ready.notify()
        if writer is not None:
            writer.join()

    def _write_batches(self) -> None:
        while True:
            with self._ready:
                while not self._waiting and not self._closed:
                    self._ready.wait()
                if not self._waiting:  # closed, nothing left
                    return
                batch, self._waiting = self._waiting, []
            try:
                with self._sessions() as session:
                    audit.record_many(session=session, entries=[entry for entry, _ in batch])
                    session.commit()
            except BaseException as exc:  # noqa: BLE001 - every request of the batch hears of it
                for _, committed in batch:
                    committed.set_exception(exc)
            else:
                for _, committed in batch:
                    committed.set_result(None)
