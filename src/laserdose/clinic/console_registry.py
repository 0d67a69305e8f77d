"""The console runs of one server process: the machine serves one course at a time (see console.py)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from laserdose.errors import InputError

if TYPE_CHECKING:
    from laserdose.clinic.console import ConsoleRun


class ConsoleRegistry:
    """The console runs of this server process; the machine serves one course at a time."""

    def __init__(self) -> None:
        self._runs: dict[int, ConsoleRun] = {}
        self._lock = threading.Lock()

    def get(self, course_id: int) -> ConsoleRun | None:
        """The course's run, if any."""
        with self._lock:
            return self._runs.get(course_id)

    def active(self) -> ConsoleRun | None:
        """The run connected to the machine (running first), if any."""
        with self._lock:
            runs = [r for r in self._runs.values() if r.phase in ("running", "connected", "ended")]
        runs.sort(key=lambda r: r.phase != "running")
        return runs[0] if runs else None

    def to_stop(self, course_id: int) -> ConsoleRun | None:
        """The run a STOP pressed on `course_id`'s console stops: its own, else the one on the machine.

        A connected run counts too: its course may be starting, and the STOP must refuse that start.
        """
        with self._lock:
            run = self._runs.get(course_id)
        return run if run is not None else self.active()

    def claim(self, run: ConsoleRun) -> None:
        """Register `run`, closing finished runs first; InputError while another course is running."""
        with self._lock:
            for other in list(self._runs.values()):
                if other.phase == "running":
                    raise InputError(f"the machine is running course {other.course_id}; stop it first")
            finished = list(self._runs.values())
            self._runs = {run.course_id: run}
        for other in finished:
            other.close()

    def stop_all(self, reason: str) -> None:
        """STOP every running run now (the first thing a server shutting down does); closes nothing."""
        with self._lock:
            running = [run for run in self._runs.values() if run.phase == "running"]
        for run in running:
            run.stop(reason)

    def close_all(self, reason: str) -> None:
        """Stop and close every run (server shutdown)."""
        with self._lock:
            runs, self._runs = list(self._runs.values()), {}
        for run in runs:
            run.close(reason)
