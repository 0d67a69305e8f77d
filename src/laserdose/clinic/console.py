"""The treatment console's engine: the controller runs in a server thread; browsers only command and watch.

One `ConsoleRun` per connected course. Connecting opens the link and identifies the machine; starting
opens the session record in the database (before arming: a session that cannot be recorded never starts)
and hands the plan to the device layer's Controller, whose own sequence (identify, set, read back, arm,
footswitch on the machine, heartbeat, cross-checks) delivers it. After every control period the delivered
energy is written to the database, so a server that dies mid-treatment leaves the record up to its last
heartbeat, and the machine's own watchdog ends the emission.

Stopping never waits for the database: `stop` sends STOP and DISARM over the link at once (it waits at
most for the control step in progress, which holds the link), and the record of the stop is written
afterwards by the controller thread. A console that nobody watches stops emission: when the last browser's
event stream closes, a session continues for `grace_s` (long enough for a page reload) and is then
stopped with the reason "console lost".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from laserdose.clinic import treatment
from laserdose.device.client import DeviceClient, DeviceRefused
from laserdose.device.controller import Controller, Progress
from laserdose.device.link import Link, LinkError, open_link
from laserdose.device.plan import DeliveryPlan
from laserdose.device.protocol import Msg
from laserdose.device.record import SessionRecord
from laserdose.device.states import TERMINAL_STATES
from laserdose.errors import InputError

log = logging.getLogger("laserdose.console")
CONNECT_TIMEOUT_S = 3.0  # a machine that does not accept the connection within this is reported [U]
JOIN_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class ConsoleConfig:
    """How the server drives the machine.

    Attributes:
        device_url: the machine's link, tcp://HOST:PORT or serial:///dev/ttyX.
        allow_time_scale: the machine is the simulator: accept the clock scale it reports.
        period_s: control period, wall clock [s] (heartbeat, measurement and database write each period).
        grace_s: a running session with no browser watching for this long is stopped [s] [U].
    """

    device_url: str
    allow_time_scale: bool = False
    period_s: float = 0.1
    grace_s: float = 5.0


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


class ConsoleController(Controller):
    """The device layer's Controller, with the link held through each step and an operator STOP honoured."""

    run_ref: ConsoleRun

    def prepare(self) -> None:
        """Identify, set, read back, arm: refused when a STOP came first."""
        with self.run_ref.lock:
            if self.run_ref.stop_reason:
                self.fault(f"{self.run_ref.stop_reason} (before arming)")
                return
            super().prepare()

    def tick(self) -> None:
        """One control period, then the machine's switches (STATUS) for the console."""
        with self.run_ref.lock:
            if self.state in TERMINAL_STATES:
                return
            if self.run_ref.stop_reason:
                self.stop(self.run_ref.stop_reason)
                return
            super().tick()
            self.run_ref.poll_status()


class ConsoleRun:
    """One course on the console: the link, the controller thread and what browsers are shown."""

    def __init__(
        self, *, course_id: int, plan: DeliveryPlan, config: ConsoleConfig,
        sessions: sessionmaker[Session], operator: str,
    ) -> None:  # fmt: skip
        self.course_id, self.plan, self.config = course_id, plan, config
        self.sessions, self.operator = sessions, operator
        self.lock = threading.RLock()  # the link: one request at a time
        self.link: Link | None = None
        self.client: SharedClient | None = None
        self.controller: ConsoleController | None = None
        self.identity: dict[str, Any] = {}
        self.machine: dict[str, Any] = {}
        self.session_id: int | None = None
        self.phase = "connecting"  # connecting | connected | running | ended | closed
        self.stop_reason = ""
        self.outcome: dict[str, Any] = {}
        self.error = ""
        self._watchers = 0
        self._watch_lock = threading.Lock()
        self._unwatched_since = time.monotonic()
        self._start = threading.Event()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"console-{course_id}", daemon=True)

    # -- commands (request threads) -----------------------------------------------------------------

    def connect(self) -> None:
        """Open the link, identify the machine and read its switches; InputError when it cannot."""
        try:
            self.link = open_link(self.config.device_url, timeout_s=CONNECT_TIMEOUT_S)
            self.client = SharedClient(self.link, self.lock)
            self.identity = self.client.hello()
            self.poll_status()
        except (LinkError, DeviceRefused) as exc:
            self.close()
            raise InputError(f"cannot connect to the machine at {self.config.device_url}: {exc}") from None
        if self.identity.get("profile") != self.plan.device:
            self.close()
            raise InputError(
                f"the machine is a {self.identity.get('profile')!r}; this plan is for {self.plan.device!r}"
            )
        self.phase = "connected"
        self._thread.start()

    def start(self, session_id: int) -> None:
        """Deliver the plan, recording into the open session `session_id`."""
        if self.phase != "connected":
            raise InputError(f"the console is {self.phase}; connect to the machine first")
        self.session_id, self.phase = session_id, "running"
        self.stop_reason = ""  # a STOP pressed before this start was for the idle machine, not for it
        self._unwatched_since = time.monotonic()
        self._start.set()

    def stop(self, reason: str = "stopped by operator") -> None:
        """Emission off now: STOP and DISARM go out before anything is written anywhere."""
        self.stop_reason = self.stop_reason or reason
        with self.lock:
            controller = self.controller
            if controller is not None and controller.state not in TERMINAL_STATES:
                controller.stop(reason)
            elif self.client is not None:
                for msg, payload in ((Msg.STOP, {"reason": reason[:200]}), (Msg.DISARM, {})):
                    try:
                        self.client.request(msg, payload)
                    except (LinkError, DeviceRefused) as exc:
                        log.warning("console %s: %s not acknowledged: %s", self.course_id, msg.name, exc)
            self.poll_status()  # after the stop: what the machine says now

    def close(self, reason: str = "console closed") -> None:
        """Stop any emission, end the thread, release the link."""
        if self.phase == "running":
            self.stop(reason)
        self._closed.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(JOIN_TIMEOUT_S)
        with self.lock:
            if self.link is not None:
                self.link.close()
                self.link, self.client = None, None
        self.phase = "closed"

    # -- watching -------------------------------------------------------------------------------------

    def watcher_joined(self) -> None:
        """A browser opened the event stream (called on the event loop: never waits for the link)."""
        with self._watch_lock:
            self._watchers += 1

    def watcher_left(self) -> None:
        """A browser's event stream closed."""
        with self._watch_lock:
            self._watchers -= 1
            if self._watchers == 0:
                self._unwatched_since = time.monotonic()

    def snapshot(self) -> dict[str, Any]:
        """What the console shows: phase, controller state, power, energy, time, machine switches."""
        controller = self.controller
        progress = controller.progress if controller is not None else Progress()
        armed_s = getattr(controller, "_armed_at_s", 0.0) if controller is not None else 0.0
        return {
            "phase": self.phase,
            "state": controller.state if controller is not None else "off",
            "elapsed_s": max(0.0, progress.t_s - armed_s) if progress.t_s else 0.0,
            "power_w": dict(progress.power_w),
            "delivered_j": dict(controller.delivered) if controller is not None else {},
            "planned_j": {f"{wl:g}": e for wl, e in self.plan.energy_j.items()},
            "machine": dict(self.machine),
            "reason": controller.reason if controller is not None else self.stop_reason,
            "outcome": dict(self.outcome),
            "session_id": self.session_id,
            "error": self.error,
            "watchers": self._watchers,
        }

    def poll_status(self) -> None:
        """Read the machine's switches (STATUS); a failure is left to the heartbeat to judge."""
        if self.client is None:
            return
        try:
            self.machine = self.client.request(Msg.STATUS)
        except (LinkError, DeviceRefused) as exc:
            self.machine = {**self.machine, "state": f"no answer ({exc})"}

    # -- the controller thread ------------------------------------------------------------------------

    def _main(self) -> None:
        while not self._closed.is_set():
            if self._start.is_set() and self.controller is None:
                self._treat()
            else:
                with self.lock:
                    self.poll_status()
            self._closed.wait(self.config.period_s * 3)

    def _treat(self) -> None:
        record = ConsoleRecord(lambda t_s: t_s - getattr(self.controller, "_armed_at_s", 0.0))
        assert self.client is not None and self.session_id is not None
        controller = ConsoleController(
            self.plan, self.client, record, self.operator, allow_time_scale=self.config.allow_time_scale
        )
        controller.run_ref = self
        self.controller = controller
        outcome = controller.run(self._pace, lambda _: self._save(record))
        with self.lock:  # after any STOP from another thread has written its record entry
            self._read_final_counters(controller)
        self.outcome = {"completed": outcome.completed, "reason": outcome.reason,
                        "delivered_j": outcome.delivered_j, "planned_j": outcome.planned_j}  # fmt: skip
        try:
            self._save(record, final=(outcome.completed, outcome.reason))
        except Exception as exc:  # noqa: BLE001 - the machine is stopped; say that the record is not final
            self.error = f"the session record could not be closed: {type(exc).__name__}: {exc}"
            log.exception("console %s: closing session %s failed", self.course_id, self.session_id)
        with self.lock:
            self.poll_status()
        self.phase = "ended"

    def _read_final_counters(self, controller: ConsoleController) -> None:
        """Read the machine's energy counters once more after the end.

        Emission may have run on for part of a control period before the STOP arrived; a counter never
        goes down, so the larger value is kept.
        """
        try:
            assert self.client is not None
            counters = self.client.request(Msg.MEASURE)["energy_j"]
            for key, before in controller.delivered.items():
                controller.delivered[key] = max(before, float(counters.get(key, before)))
        except (LinkError, DeviceRefused, KeyError, TypeError, ValueError) as exc:
            log.warning("console %s: no final counters: %s", self.course_id, exc)

    def _pace(self) -> None:
        self._closed.wait(self.config.period_s)
        if self._closed.is_set():
            self.stop("console closed")
        unwatched_s = time.monotonic() - self._unwatched_since
        if self._watchers == 0 and unwatched_s > self.config.grace_s:
            self.stop(f"console lost: no browser watching for {self.config.grace_s:g} s")

    def _save(self, record: ConsoleRecord, final: tuple[bool, str] | None = None) -> None:
        """Write the delivered energy (and audit emission changes) to the database: one heartbeat."""
        controller, session_id = self.controller, self.session_id
        assert controller is not None and session_id is not None
        interruptions, changes = record.take_changes()
        with self.sessions.begin() as session:
            treatment.save_heartbeat(
                session=session, session_id=session_id, duration_s=max(controller.emitting_s.values()),
                energy_j_by_wavelength=dict(controller.delivered), interruptions=interruptions,
            )  # fmt: skip
            for started, reason in changes:
                treatment.audit_emission(
                    session=session, actor_name=self.operator, session_id=session_id, started=started,
                    reason=reason,
                )  # fmt: skip
            if final is not None:
                treatment.close_session(
                    session=session, actor_name=self.operator, session_id=session_id, completed=final[0],
                    reason=final[1],
                )  # fmt: skip


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
        """The run a STOP pressed on `course_id`'s console stops: its own, else whatever the machine runs."""
        with self._lock:
            run = self._runs.get(course_id)
            running = [r for r in self._runs.values() if r.phase == "running"]
        return run if run is not None else (running[0] if running else None)

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

    def close_all(self, reason: str) -> None:
        """Stop and close every run (server shutdown)."""
        with self._lock:
            runs, self._runs = list(self._runs.values()), {}
        for run in runs:
            run.close(reason)
