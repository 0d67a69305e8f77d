"""The treatment controller: delivers a plan through the safety state machine of states.py.

A thin control loop over three pure parts: the state machine (states.StateMachine: every state change
is a row of the transition table), the energy ledger (ledger.py: the device's monitor-photodiode counter,
cross-checked by the host's own trapezoid integral of the sampled power) and the safety monitor
(monitor.py: why a measurement, an event or a machine must stop the delivery). One control period
(`tick`) sends a heartbeat, reads a measurement, takes the device's events, accounts the energy and
fires the events the monitor reads from the device's behaviour. Any fault (device event, measured power
off by more than 20 % of the set power, link loss, an unexpected device state) stops emission and
disarms. Every step is written to the session record before the next one starts.
"""

import math
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from laserdose.device.client import DeviceClient, DeviceRefused
from laserdose.device.ledger import EnergyLedger
from laserdose.device.link import LinkError
from laserdose.device.monitor import (
    POWER_TOLERANCE,
    RAMP_ALLOWANCE_S,
    cross_check,
    device_event_problem,
    follow,
    read_back_mismatch,
    watchdog_problem,
)
from laserdose.device.plan import set_params
from laserdose.device.protocol import Msg
from laserdose.device.record import SessionRecord
from laserdose.device.requests import check_measurement
from laserdose.device.states import TABLE, TERMINAL_STATES, IllegalTransition, StateMachine
from laserdose.domain.plan import Delivery
from laserdose.domain.wavelengths import wavelength_key
from laserdose.machines.profile import DeviceProfile


@dataclass
class DeliveryOutcome:
    """How a session ended.

    Attributes:
        completed: True when the planned energy was delivered (within ENERGY_TOLERANCE).
        state: final controller state (done or fault).
        reason: why it ended.
        delivered_j: energy per wavelength by the device's monitor counter [J].
        host_integral_j: the host's trapezoid integral of the sampled monitor power [J].
        planned_j: planned energy per wavelength [J].
        unaccounted_max_j: most energy the machine could have emitted after the last measurement when
            the link was lost: the sources' maximum powers x the silent window (see _silent_window_s) [J].
        elapsed_s: simulated (device) time from arming to the end [s].
    """

    completed: bool
    state: str
    reason: str
    delivered_j: dict[str, float]
    host_integral_j: dict[str, float]
    planned_j: dict[str, float]
    unaccounted_max_j: float = 0.0
    elapsed_s: float = 0.0

    @property
    def exit_code(self) -> int:
        """0 when completed, 3 when stopped or aborted."""
        return 0 if self.completed else 3


@dataclass
class Progress:
    """What the operator sees after each control period."""

    state: str = "off"
    t_s: float = 0.0
    power_w: dict[str, float] = field(default_factory=dict)
    delivered_j: dict[str, float] = field(default_factory=dict)
    temperature_c: float = float("nan")


class Controller:
    """Delivers one plan over `client`, calling `pace()` between control periods."""

    def __init__(
        self,
        plan: Delivery,
        client: DeviceClient,
        record: SessionRecord,
        operator: str,
        allow_time_scale: bool = False,
        *,
        profile: DeviceProfile,
        gate: Callable[[dict[str, Any]], tuple[str, dict[str, Any]]] | None = None,
        session_notes: dict[str, Any] | None = None,
        checklist: dict[str, Any] | None = None,
    ) -> None:
        self.plan, self.client, self.record, self.operator = plan, client, record, operator
        # Written into the record's session entry: what this session completes, a same-day confirmation.
        self.session_notes = dict(session_notes or {})
        self.gate = gate  # identity -> (why ARM is refused or "", facts to record): the clinic's QA rules
        self.checklist = checklist  # the session's completed safety checklist, kept in its "session" entry
        # The machine's largest power per planned wavelength [W]: bounds energy emitted while unmeasured.
        self.max_power_w = {wl: profile.source(wl).max_power_w for wl in plan.power_w_by_wavelength}
        self.allow_time_scale = allow_time_scale  # only the operator can say the machine is a simulator
        self.machine = StateMachine()
        self.ledger = EnergyLedger({wavelength_key(wl): e for wl, e in plan.energy_j_by_wavelength.items()})
        self.set_w = {wavelength_key(wl): p * plan.duty_cycle for wl, p in plan.power_w_by_wavelength.items()}
        self.progress = Progress()
        self.reason = ""
        self.identity: dict[str, Any] = {}
        self.params_verified = False
        self._armed_at_s = 0.0
        self._paused_at_s = 0.0
        self._link_lost = False
        self._lost_wall_s = 0.0  # wall-clock time when the link was found lost
        self._first_wall: tuple[float, float] | None = None  # (wall, device time) of the first sample
        self._last_wall_s = 0.0
        # Longest emission a correct machine needs: output down to the lower power tolerance, one ramp.
        self.max_emission_s = plan.duration_s / (1 - POWER_TOLERANCE) + RAMP_ALLOWANCE_S
        self._stop_acked = False  # the machine acknowledged a STOP or DISARM of this session
        self.session_id = uuid.uuid4().hex  # sent with SET_PARAMS: a later start can match the counters

    GUARDS: dict[str, Callable[["Controller"], bool]] = {
        "identity_matches": lambda c: c.identity.get("profile") == c.plan.device,
        "params_verified": lambda c: c.params_verified,
        "armed_by_us": lambda c: c.state in ("ready", "paused"),
        "dose_reached": lambda c: c.ledger.dose_reached(),
    }

    @property
    def state(self) -> str:
        """The state machine's state (read-only: it changes only through `fire`)."""
        return self.machine.state

    @property
    def planned(self) -> dict[str, float]:
        """Planned energy per wavelength [J]."""
        return self.ledger.planned

    @property
    def delivered(self) -> dict[str, float]:
        """Energy per wavelength by the device's monitor counter [J]."""
        return self.ledger.delivered

    @property
    def integral(self) -> dict[str, float]:
        """The host's trapezoid integral of the sampled monitor power per wavelength [J]."""
        return self.ledger.integral

    @property
    def emitting_s(self) -> dict[str, float]:
        """Emitting time per source [device s]."""
        return self.ledger.emitting_s

    # -- the state machine --------------------------------------------------------------------------

    def fire(self, event: str, reason: str = "") -> None:
        """Apply `event` through the table; an illegal event or failed guard disarms and raises."""
        source = self.state
        try:
            transition = self.machine.fire(event, lambda guard: self.GUARDS[guard](self))
        except IllegalTransition as exc:
            self.reason = f"illegal event {event} in {exc.source} ({exc.why})"
            self._stop_device(self.reason)
            self.record.write(
                "state", source=source, event="illegal", target=self.state, reason=self.reason,
                t_s=self.progress.t_s,
            )  # fmt: skip
            raise
        if reason:
            self.reason = reason
        if transition.target in TERMINAL_STATES:
            self._stop_device(reason or event)  # before the record: a failing write must not skip it
        self.record.write(
            "state", source=source, event=event, target=self.state, reason=reason, t_s=self.progress.t_s
        )

    def _stop_device(self, reason: str) -> None:
        """STOP then DISARM, best effort: a dead link leaves it to the machine's watchdog.

        A Ctrl-C arriving during the stop asks for the same thing: the stop is sent again (finally) unless
        the machine already acknowledged it, and the interrupt is not passed on.
        """
        try:
            self._send_stop(reason)
        except KeyboardInterrupt:
            pass
        finally:
            if not self._stop_acked:
                self._send_stop(reason)
        self._read_final_counters()

    def _read_final_counters(self) -> None:
        """Once the machine acknowledged the stop: its counters, so the record holds all it emitted.

        Best effort: a stop between two control periods would otherwise leave up to one period of light
        out of the record. A failed or implausible reading is written and otherwise ignored.
        """
        if not self._stop_acked or self._link_lost:
            return
        try:
            sample = self.client.request(Msg.MEASURE)
            final = {key: float(sample["energy_j"][key]) for key in self.planned}
        except KeyboardInterrupt:
            return  # emission is already off; a second Ctrl-C only skips the reading
        except (
            LinkError,
            DeviceRefused,
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            OverflowError,
        ) as exc:
            self.record.write("final-measurement-failed", error=str(exc))
            return
        if all(math.isfinite(v) and v >= self.delivered[k] - 1e-9 for k, v in final.items()):
            self.delivered.update(final)
        self.record.write("final-measurement", t_s=sample.get("t_s"), energy_j=final)

    def _send_stop(self, reason: str) -> None:
        acked, failures = send_stop(self.client, reason)
        self._stop_acked = self._stop_acked or acked
        if any(isinstance(exc, LinkError) for _, exc in failures):
            self._mark_link_lost()
        for name, exc in failures:  # written after both were sent: a failing write cannot skip DISARM
            self.record.write("stop-failed", message=name, error=str(exc))

    def fault(self, reason: str) -> None:
        """Abort: stop emission, disarm, enter `fault`."""
        if self.state not in TERMINAL_STATES:
            self.fire("fault", reason)

    def stop(self, reason: str = "stopped by operator") -> None:
        """Operator stop: emission off at once (before the machine is identified, a fault)."""
        if self.state not in TERMINAL_STATES:
            self.fire("stop" if (self.state, "stop") in TABLE else "fault", reason)

    # -- preparation --------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Identify, set and read back the parameters, arm. Faults on any mismatch or refusal."""
        self.record.write(
            "session",
            operator=self.operator,
            plan=set_params(self.plan),
            duration_s=self.plan.duration_s,
            session_id=self.session_id,
            **self.session_notes,
            **({"checklist": self.checklist} if self.checklist is not None else {}),
        )
        try:
            self.identity = self.client.hello()
            self.record.write("identity", **self.identity)
            if self.identity.get("profile") != self.plan.device:
                raise DeviceRefused(
                    f"machine is {self.identity.get('profile')!r}, plan is for {self.plan.device!r}"
                )
            problem = watchdog_problem(self.identity, self.allow_time_scale)
            if problem:
                raise DeviceRefused(problem)
            self._check_gate()
            self.fire("connected")
            status = self.client.request(Msg.STATUS)
            if status.get("state") != "standby":
                raise DeviceRefused(
                    f"machine is {status.get('state')} {status.get('trip_reason', '')}".strip()
                )
            sent = {**set_params(self.plan), "session_id": self.session_id}  # recovery.py matches it
            self.client.request(Msg.SET_PARAMS, sent)
            held = self.client.request(Msg.READ_BACK)
            self.record.write("read-back", sent=sent, held=held)
            mismatch = read_back_mismatch(sent, held)
            if mismatch:
                raise DeviceRefused(f"read-back differs from what was set: {mismatch}")
            self.params_verified = True
            self._armed_at_s = float(self.client.request(Msg.ARM)["armed_at_s"])
            self.fire("armed")
        except (LinkError, DeviceRefused) as exc:
            if isinstance(exc, LinkError):
                self._mark_link_lost()
            self.fault(str(exc))

    def _check_gate(self) -> None:
        """Ask the gate (if any) whether this machine may be armed; DeviceRefused with its reason if not.

        A gate that fails refuses too (fail safe); what it says is written to the record either way.
        """
        if self.gate is None:
            return
        try:
            reason, facts = self.gate(self.identity)
        except Exception as exc:  # noqa: BLE001 - an unknown QA state never arms
            reason, facts = f"power check state unknown ({type(exc).__name__}: {exc})", {}
        self.record.write("power-check", allowed=not reason, reason=reason, **facts)
        if reason:
            raise DeviceRefused(f"ARM refused: {reason}")

    # -- the control loop ---------------------------------------------------------------------------

    def run(
        self, pace: Callable[[], None], on_tick: Callable[[Progress], None] | None = None
    ) -> DeliveryOutcome:
        """Prepare, then tick until done or fault; Ctrl-C stops emission at once."""
        try:
            if self.state == "off":
                self.prepare()
            while self.state not in TERMINAL_STATES:
                pace()
                self.tick()
                if on_tick is not None:
                    on_tick(self.progress)
        except KeyboardInterrupt:
            try:
                self.stop("interrupted by operator (Ctrl-C or SIGTERM)")
            finally:
                self._ensure_stopped("interrupted by operator (Ctrl-C or SIGTERM)")
        except IllegalTransition:
            pass  # already disarmed and recorded
        except Exception as exc:  # noqa: BLE001 - a bug here must still end in STOP + DISARM
            try:
                self._ensure_stopped(f"internal error: {type(exc).__name__}: {exc}")
            finally:
                self.record.write("internal-error", error=traceback.format_exc())
        return self.outcome()

    def _ensure_stopped(self, reason: str) -> None:
        """Enter fault (unless terminal) and send STOP + DISARM unless the machine acknowledged one.

        The fault goes through the table's `fault` row (allowed from every state that is not terminal)
        without writing the record: this runs when the record or the link may be what failed.
        """
        if self.state not in TERMINAL_STATES:
            self.machine.fire("fault", lambda guard: True)
            self.reason = reason
        if not self._stop_acked:
            self._stop_device(reason)

    def tick(self) -> None:
        """One control period."""
        try:
            self.client.request(Msg.HEARTBEAT)
            sample = self.client.request(Msg.MEASURE)
        except (LinkError, DeviceRefused) as exc:
            self._mark_link_lost()
            self.fault(f"link lost: {exc}")
            return
        for frame in self.client.take_events():
            if frame.msg is not Msg.EVENT:  # a pushed MEASUREMENT: kept, the polled one is authoritative
                self.record.write("device-measurement", measurement=frame.payload)
                continue
            self.record.write("device-event", event=frame.payload)
            problem = device_event_problem(frame.payload)
            if problem and self.state not in TERMINAL_STATES:
                self.fault(problem)
        try:
            self._account(sample)
            problem = cross_check(self.ledger, sample, self.max_emission_s) if self._active() else ""
            if problem:
                self.fault(problem)
            elif self._active():
                self._follow(sample)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            self.fault(f"malformed measurement from the device ({type(exc).__name__}: {exc})")
        self.progress.state = self.state

    def _active(self) -> bool:
        return self.state not in TERMINAL_STATES

    def _account(self, sample: dict[str, Any]) -> None:
        check_measurement(sample)  # ProtocolError (a ValueError) on any field a float cannot hold
        for problem in self.ledger.account(sample):
            self.fault(problem)
        t_s = float(sample["t_s"])
        self._last_wall_s = time.monotonic()
        if self._first_wall is None:
            self._first_wall = (self._last_wall_s, t_s)
        self.progress = Progress(
            self.state, t_s, dict(sample["power_w"]), dict(self.delivered), sample["temperature_c"]
        )
        self.record.write(
            "measurement",
            t_s=t_s,
            state=self.state,
            device_state=sample["state"],
            power_w=sample["power_w"],
            delivered_j=self.delivered,
            host_integral_j=self.integral,
            temperature_c=sample["temperature_c"],
        )

    def _follow(self, sample: dict[str, Any]) -> None:
        """Fire the events the monitor reads from the device's behaviour, in order."""
        for event, reason in follow(
            self.state, sample, self.ledger, self.set_w, self._paused_at_s, self._armed_at_s
        ):
            if event == "fault":
                self.fault(reason)
            elif event == "stop":
                self.stop(reason)
            else:
                self.fire(event, reason)  # an event the table does not allow raises and disarms
                if event == "footswitch_released":
                    self._paused_at_s = float(sample["t_s"])

    def _mark_link_lost(self) -> None:
        if not self._link_lost:
            self._link_lost, self._lost_wall_s = True, time.monotonic()

    def _silent_window_s(self) -> float:
        """Longest device time the machine may have emitted unmeasured after the link was lost [s].

        From the last measurement to the end of the host's retries (converted to device time by the
        observed device/wall clock ratio), plus the machine's watchdog and one control period.
        """
        last = self.ledger.last
        ratio = 1.0
        if self._first_wall is not None and last is not None and self._last_wall_s > self._first_wall[0]:
            ratio = max(
                1.0,
                (float(last["t_s"]) - self._first_wall[1]) / (self._last_wall_s - self._first_wall[0]),
            )
        retrying_s = max(0.0, self._lost_wall_s - self._last_wall_s) * ratio if last is not None else 0.0
        return float(self.identity.get("watchdog_s", 0.0)) + self.ledger.period_s + retrying_s

    def outcome(self) -> DeliveryOutcome:
        """The result so far; written to the record as the last entry."""
        unaccounted = 0.0
        if self._link_lost:
            unaccounted = sum(self.max_power_w.values()) * self._silent_window_s()
        result = DeliveryOutcome(
            completed=self.state == "done" and self.GUARDS["dose_reached"](self),
            state=self.state,
            reason=self.reason,
            delivered_j=dict(self.delivered),
            host_integral_j=dict(self.integral),
            planned_j=dict(self.planned),
            unaccounted_max_j=unaccounted,
            elapsed_s=self.progress.t_s - self._armed_at_s if self.ledger.last else 0.0,
        )
        self.record.write("outcome", **result.__dict__, exit_code=result.exit_code)
        return result


def send_stop(client: DeviceClient, reason: str) -> tuple[bool, list[tuple[str, Exception]]]:
    """Send STOP, then DISARM even when STOP failed; nothing is written anywhere before both are sent.

    The one way emission is ended from the host (the controller's stop and the console's STOP button).

    Args:
        client: the link to the machine.
        reason: why, as the machine logs it (cut to 200 characters).

    Returns:
        Whether the machine acknowledged either, and the (message name, error) of each that failed.
    """
    acked, failures = False, list[tuple[str, Exception]]()
    for msg, payload in ((Msg.STOP, {"reason": reason[:200]}), (Msg.DISARM, {})):
        try:
            client.request(msg, payload)
            acked = True
        except (LinkError, DeviceRefused) as exc:
            failures.append((msg.name, exc))
    return acked, failures
