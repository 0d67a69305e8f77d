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
from collections import deque
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from laserdose.clinic import treatment
from laserdose.clinic.console_record import ConsoleRecord, SharedClient
from laserdose.clinic.models import TreatmentSession
from laserdose.device.client import DeviceRefused
from laserdose.device.controller import Controller, Progress, send_stop
from laserdose.device.link import Link, LinkError, open_link
from laserdose.device.protocol import Msg
from laserdose.device.states import TERMINAL_STATES
from laserdose.domain.plan import Delivery
from laserdose.domain.wavelengths import wavelength_key
from laserdose.errors import InputError
from laserdose.machines.profile import DeviceProfile

log = logging.getLogger("laserdose.console")
CONNECT_TIMEOUT_S = 3.0  # a machine that does not accept the connection within this is reported [U]
JOIN_TIMEOUT_S = 5.0


STOPPED_BEFORE_ARMING = "stopped before arming"
IDLE_PHASES = ("connected", "ended")  # linked to the machine, no session running: a new one may start
# Machine states (STATUS "state") in which no source emits: armed-but-waiting and halted alike.
NOT_EMITTING_STATES = frozenset({"standby", "ready", "tripped"})


def arming_problem(machine: dict[str, Any]) -> str:
    """Why the machine's own switches forbid arming, as its STATUS reports them, or "" when nothing does."""
    problems = [
        (not machine.get("interlock_closed", False), "the remote interlock is open"),
        (not machine.get("key_on", False), "the key switch is off"),
        (bool(machine.get("estop_pressed", True)), "the emergency stop is pressed"),
        (not machine.get("handpiece_present", False), "no handpiece is attached"),
        (machine.get("state") != "standby", f"the machine is {machine.get('state')}"),
    ]
    return "; ".join(why for blocked, why in problems if blocked)


class StoppedBeforeArming(InputError):
    """A STOP was pressed while the start request was being handled: the start is refused."""


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
        self, *, course_id: int, plan: Delivery, profile: DeviceProfile, config: ConsoleConfig,
        sessions: sessionmaker[Session], operator: str,
    ) -> None:  # fmt: skip
        self.course_id, self.plan, self.profile, self.config = course_id, plan, profile, config
        self.course_plan = plan  # the signed plan; `plan` is what the current session delivers
        self.sessions, self.operator = sessions, operator
        self.lock = threading.RLock()  # the link: one request at a time
        self.link: Link | None = None
        self.client: SharedClient | None = None
        self.controller: ConsoleController | None = None
        self.identity: dict[str, Any] = {}
        self.machine: dict[str, Any] = {}
        self.idle_power_w: dict[str, float] = {}  # MEASURE while no controller runs (see poll_status)
        self.broken = False  # the controller thread failed: this run starts nothing more
        self.session_id: int | None = None
        self.phase = "connecting"  # connecting | connected | running | ended | closed
        self.stop_reason = ""
        self.stops = 0  # STOPs pressed so far: a start refuses to arm if one came while it was handled
        self._stop_times: deque[float] = deque(maxlen=64)  # time.monotonic() of the latest STOPs
        self._command_lock = threading.Lock()  # start and stop: the counter and stop_reason together
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

    def start(self, session_id: int, *, stops_seen: int, remainder: Delivery | None = None) -> None:
        """Deliver the plan, recording into the open session `session_id` (connected, or after a session).

        Args:
            session_id: the session record, open and committed.
            stops_seen: `stops` when the start request arrived. A STOP pressed since then (while the
                request was checking the machine and writing the record) refuses the start:
                StoppedBeforeArming, and nothing is sent to the machine.
            remainder: for a completion, what remains of the plan (the machine's energy limits are its
                energies); None delivers the whole plan.
        """
        with self._command_lock:
            if self.phase not in IDLE_PHASES or self.broken:
                raise InputError(f"the console is {self.phase}; connect to the machine first")
            if self.stops != stops_seen:
                raise StoppedBeforeArming(STOPPED_BEFORE_ARMING)
            if remainder is not None and remainder.device != self.course_plan.device:
                raise InputError(f"the remainder is for {remainder.device}, not {self.course_plan.device}")
            self.plan = remainder or self.course_plan  # each start: the whole plan unless it completes one
            self.session_id, self.phase = session_id, "running"
            if self.controller is not None:  # another session on the same link: the last one's goes
                self.controller, self.outcome, self.error = None, {}, ""
            self.stop_reason = ""  # a STOP pressed before the start request was for the idle machine
        self._unwatched_since = time.monotonic()
        self._start.set()

    def stops_at(self, moment: float) -> int:
        """`stops` as it was at `moment` (time.monotonic(), the same clock in every process of the host).

        A start request that a page worker received reaches this process later; STOPs pressed since it
        arrived there must still refuse it.
        """
        with self._command_lock:
            return self.stops - sum(1 for at in self._stop_times if at > moment)

    def stop(self, reason: str = "stopped by operator") -> None:
        """Emission off now: STOP and DISARM go out before anything is written anywhere."""
        with self._command_lock:  # a start either sees this STOP counted or its stop_reason is kept
            self.stops += 1
            self._stop_times.append(time.monotonic())
            self.stop_reason = self.stop_reason or reason
        with self.lock:
            controller = self.controller
            if controller is not None and controller.state not in TERMINAL_STATES:
                controller.stop(reason)
            elif self.client is not None:
                self._stop_machine(reason)
            self.poll_status()  # after the stop: what the machine says now

    def _stop_machine(self, reason: str) -> None:
        """STOP and DISARM straight to the machine (no controller running), failures logged."""
        if self.client is None:
            return
        for name, exc in send_stop(self.client, reason)[1]:
            log.warning("console %s: %s not acknowledged: %s", self.course_id, name, exc)

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
        idle = self.phase in IDLE_PHASES and not self.broken
        return {
            "phase": self.phase,
            "state": controller.state if controller is not None else "off",
            "elapsed_s": max(0.0, progress.t_s - armed_s) if progress.t_s else 0.0,
            "power_w": self._shown_power(progress),
            "can_start": idle,
            "blocked": arming_problem(self.machine) if idle else "",
            "delivered_j": dict(controller.delivered) if controller is not None else {},
            "planned_j": {wavelength_key(wl): e for wl, e in self.plan.energy_j_by_wavelength.items()},
            "machine": dict(self.machine),
            "reason": controller.reason if controller is not None else self.stop_reason,
            "outcome": dict(self.outcome),
            "session_id": self.session_id,
            "error": self.error,
            "watchers": self._watchers,
        }

    def _shown_power(self, progress: Progress) -> dict[str, float | None]:
        """The power the machine puts out now per planned wavelength [W]; None where it is not known.

        The machine's last STATUS decides: not emitting (standby, ready, paused, tripped) is 0 W, whatever
        the last measurement during emission said; emitting is the newest measurement (the controller's
        while it runs, else the console's own); no answer, or no link, is unknown.
        """
        keys = [wavelength_key(wl) for wl in self.plan.energy_j_by_wavelength]
        state = self.machine.get("state") if self.client is not None else None
        if state in NOT_EMITTING_STATES:
            return dict.fromkeys(keys, 0.0)
        if state != "emitting":
            return dict.fromkeys(keys)
        controller = self.controller
        measured = (
            progress.power_w if controller is not None and controller.state not in TERMINAL_STATES else {}
        )
        measured = measured or self.idle_power_w
        return {key: measured.get(key) for key in keys}

    def poll_status(self) -> None:
        """Read the machine's switches (STATUS); a failure is left to the heartbeat to judge.

        A machine that says it emits while no controller runs (it never should) is measured too, so that
        the console shows what it puts out.
        """
        if self.client is None:
            return
        try:
            self.machine = self.client.request(Msg.STATUS)
            controller = self.controller
            if self.machine.get("state") == "emitting" and (
                controller is None or controller.state in TERMINAL_STATES
            ):
                self.idle_power_w = dict(self.client.request(Msg.MEASURE)["power_w"])
        except (LinkError, DeviceRefused, KeyError, TypeError) as exc:
            self.machine = {**self.machine, "state": f"no answer ({exc})"}

    # -- the controller thread ------------------------------------------------------------------------

    def _main(self) -> None:
        try:
            while not self._closed.is_set():
                if self._start.is_set() and self.controller is None:
                    self._treat()
                else:
                    with self.lock:
                        self.poll_status()
                self._closed.wait(self.config.period_s * 3)
        except BaseException as exc:  # noqa: BLE001 - whatever it was, the machine is stopped and freed
            self._crashed(exc)

    def _crashed(self, exc: BaseException) -> None:
        """The thread failed: STOP + DISARM (best effort), close the record with the error, end the run.

        Without this the run would stay "running" and the registry would refuse every connect.
        """
        reason = f"console error: {type(exc).__name__}: {exc}"
        self.broken = True
        log.error("console %s: %s", self.course_id, reason, exc_info=exc)
        try:
            with self.lock:
                self._stop_machine(reason[:200])
        except Exception:  # noqa: BLE001 - the machine's watchdog remains
            log.exception("console %s: STOP after the error failed", self.course_id)
        self.error = reason
        try:
            self._close_after_error(reason)
        except Exception as close_exc:  # noqa: BLE001 - say so on the console
            self.error += f"; the session record could not be closed: {type(close_exc).__name__}: {close_exc}"
            log.exception("console %s: closing session %s failed", self.course_id, self.session_id)
        self.phase = "ended"

    def _close_after_error(self, reason: str) -> None:
        """Close the running session record (if any) with `reason` as its last interruption."""
        controller, session_id = self.controller, self.session_id
        if session_id is None:
            return
        with self.sessions.begin() as db:
            record = db.get(TreatmentSession, session_id)
            if record is None or record.status != treatment.RUNNING:
                return  # never opened, or already closed by the run
            at_s, duration_s, energy_j = 0.0, record.duration_s, dict(record.energy_j_by_wavelength)
            if controller is not None:  # what the controller knew last, newer than the last heartbeat
                at_s = max(0.0, controller.progress.t_s - controller._armed_at_s)
                duration_s, energy_j = max(controller.emitting_s.values()), dict(controller.delivered)
            treatment.save_heartbeat(
                db=db, session_id=session_id, duration_s=duration_s,
                energy_j_by_wavelength=energy_j,
                interruptions=[*record.interruptions, {"at_s": round(at_s, 3), "reason": reason}],
            )  # fmt: skip
            treatment.close_session(
                db=db, actor_name=self.operator, session_id=session_id, completed=False,
                reason=reason,
            )  # fmt: skip

    def _treat(self) -> None:
        self._start.clear()  # taken: a further session waits for its own start (after this one ended)
        record = ConsoleRecord(lambda t_s: t_s - getattr(self.controller, "_armed_at_s", 0.0))
        assert self.client is not None and self.session_id is not None
        controller = ConsoleController(
            self.plan, self.client, record, self.operator, allow_time_scale=self.config.allow_time_scale,
            profile=self.profile,
        )  # fmt: skip
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
        with self.sessions.begin() as db:
            treatment.save_heartbeat(
                db=db, session_id=session_id, duration_s=max(controller.emitting_s.values()),
                energy_j_by_wavelength=dict(controller.delivered), interruptions=interruptions,
            )  # fmt: skip
            for started, reason in changes:
                treatment.audit_emission(
                    db=db, actor_name=self.operator, session_id=session_id, started=started,
                    reason=reason,
                )  # fmt: skip
            if final is not None:
                treatment.close_session(
                    db=db, actor_name=self.operator, session_id=session_id, completed=final[0],
                    reason=final[1],
                )  # fmt: skip
