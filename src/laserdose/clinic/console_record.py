"""The console's link shared by two threads, and its in-memory session record (see console.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from laserdose.device.client import DeviceClient
from laserdose.device.link import Link
from laserdose.device.protocol import Msg
from laserdose.device.record import SessionRecord


class SharedClient(DeviceClient):
    """A DeviceClient whose requests may come from two threads (the controller's and a STOP)."""

    def __init__(self, link: Link, lock: threading.RLock) -> None:
        super().__init__(link)
        self.lock = lock

    def request(self, msg: Msg, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one request while holding the link."""
        with self.lock:
            return super().request(msg, payload)


class ConsoleRecord(SessionRecord):
    """The controller's record, in memory; collects the interruptions and emission changes to persist."""

    def __init__(self, elapsed: Callable[[float], float]) -> None:
        super().__init__()
        self._elapsed = elapsed
        self._guard = threading.Lock()
        self.interruptions: list[dict[str, Any]] = []
        self.emission_changes: list[tuple[bool, str]] = []  # (started, reason), not yet audited

    def write(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Append the entry; note state changes that the database record and the audit log need."""
        with self._guard:
            entry = super().write(kind, **fields)
            if kind == "state":
                self._note_state(entry)
        return entry

    def _note_state(self, entry: dict[str, Any]) -> None:
        source, target, reason = entry["source"], entry["target"], entry["reason"] or entry["event"]
        if target == "emitting":
            self.emission_changes.append((True, "footswitch pressed on an armed machine"))
        elif source == "emitting":
            self.emission_changes.append((False, reason))
        completed = target == "done" and entry["event"] == "dose_reached"
        if target in ("paused", "fault", "done") and not completed:
            self.interruptions.append({"at_s": round(self._elapsed(entry["t_s"]), 3), "reason": reason})

    def take_changes(self) -> tuple[list[dict[str, Any]], list[tuple[bool, str]]]:
        """The interruptions so far and the emission changes not yet taken."""
        with self._guard:
            changes, self.emission_changes = self.emission_changes, []
            return list(self.interruptions), changes
