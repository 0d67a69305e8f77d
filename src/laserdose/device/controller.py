"""The treatment controller: delivers a plan through the safety state machine of states.py.

One control period (`tick`) sends a heartbeat, reads a measurement, takes the device's events, accounts
the delivered energy (the device's monitor-photodiode counter, cross-checked by the host's own trapezoid
integral of the sampled power), and maps what the device does onto table events. Any fault (device
event, measured power off by more than 20 % of the set power (our threshold, see POWER_TOLERANCE),
link loss, an unexpected device state) stops emission and disarms. Every step is written to the session record
before the next one starts.
"""

import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from laserdose.device.client import DeviceClient, DeviceRefused
from laserdose.device.link import LinkError
from laserdose.device.plan import DeliveryPlan
from laserdose.device.protocol import Msg
from laserdose.device.record import SessionRecord
from laserdose.device.states import EMISSION_STATES, TABLE, TERMINAL_STATES, IllegalTransition

# Measured vs set power: a fault beyond 20 %. 21 CFR 1040.11(a) requires the *indicated* output to be
# accurate within +/-20 %; using that same 20 % as the control fault threshold is our choice
# (IEC 60601-2-22 [U]), not a requirement of the regulation.
POWER_TOLERANCE = 0.20
ENERGY_TOLERANCE = 0.01  # delivered energy within 1 % of the plan (issue 7)
RAMP_ALLOWANCE_S = 0.5  # power is compared with the set value once a source has emitted this long [U]
MAX_PAUSE_S = 120.0  # a pause (or a wait for the footswitch) longer than this ends the session [U]
DEVICE_FAULT_EVENTS = ("trip", "watchdog")
NOISE_FLOOR_W = 0.05  # monitor power above this while the device reports no emission is a fault [U]
INTEGRAL_TOLERANCE = 0.05  # host integral vs device counter (and vs plan), fraction of the plan [U]
MAX_WATCHDOG_S = 2.0  # a machine whose watchdog waits longer than this is refused before arming [U]


@dataclass
class Outcome:
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
        plan: DeliveryPlan,
        client: DeviceClient,
        record: SessionRecord,
        operator: str,
        allow_time_scale: bool = False,
        gate: Callable[[dict[str, Any]], tuple[str, dict[str, Any]]] | None = None,
    ) -> None:
        self.plan, self.client, self.record, self.operator = plan, client, record, operator
        self.gate = gate  # identity -> (why ARM is refused or "", facts to record): the clinic's QA rules
        self.allow_time_scale = allow_time_scale  # only the operator can say the machine is a simulator
        self.state = "off"
        self.planned = {f"{wl:g}": e for wl, e in plan.energy_j.items()}
        self.set_w = {f"{wl:g}": p * plan.duty_cycle for wl, p in plan.power_w.items()}
        self.delivered = dict.fromkeys(self.planned, 0.0)
        self.integral = dict.fromkeys(self.planned, 0.0)
        self.progress = Progress()
        self.reason = ""
        self.identity: dict[str, Any] = {}
        self.params_verified = False
        self._last: dict[str, Any] | None = None
        self._armed_at_s = 0.0
        self._paused_at_s = 0.0
        self._period_s = 0.0
        self._link_lost = False
        self._lost_wall_s = 0.0  # wall-clock time when the link was found lost
        self._first_wall: tuple[float, float] | None = None  # (wall, device time) of the first sample
        self._last_wall_s = 0.0
        self.emitting_s = dict.fromkeys(self.planned, 0.0)  # emitting time per source [device s]
        # Longest emission a correct machine needs: output down to the lower power tolerance, one ramp.
        self.max_emission_s = plan.duration_s / (1 - POWER_TOLERANCE) + RAMP_ALLOWANCE_S
        self._stop_acked = False  # the machine acknowledged a STOP or DISARM of this session

    GUARDS: dict[str, Callable[["Controller"], bool]] = {
        "identity_matches": lambda c: c.identity.get("profile") == c.plan.device,
        "params_verified": lambda c: c.params_verified,
        "armed_by_us": lambda c: c.state in ("ready", "paused"),
        "dose_reached": lambda c: all(
            c.delivered[k] >= e * (1 - ENERGY_TOLERANCE) for k, e in c.planned.items()
        ),
    }

    # -- the state machine --------------------------------------------------------------------------

    def fire(self, event: str, reason: str = "") -> None:
        """Apply `event` through the table; an illegal event or failed guard disarms and raises."""
        transition = TABLE.get((self.state, event))
        if transition is None or (transition.guard and not self.GUARDS[transition.guard](self)):
            source = self.state
            why = "not allowed" if transition is None else f"guard {transition.guard} failed"
            self._safe_stop(f"illegal event {event} in {source} ({why})")
            raise IllegalTransition(f"event {event!r} in state {source!r}: {why}")
        source, self.state = self.state, transition.target
        if reason:
            self.reason = reason
        if self.state in TERMINAL_STATES:
            self._stop_device(reason or event)  # before the record: a failing write must not skip it
        self.record.write(
            "state", source=source, event=event, target=self.state, reason=reason, t_s=self.progress.t_s
        )

    def _safe_stop(self, reason: str) -> None:
        source, self.state, self.reason = self.state, "fault", reason
        self._stop_device(reason)
        self.record.write(
            "state", source=source, event="illegal", target="fault", reason=reason, t_s=self.progress.t_s
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
            "session", operator=self.operator, plan=self.plan.set_params(), duration_s=self.plan.duration_s
        )
        try:
            self.identity = self.client.hello()
            self.record.write("identity", **self.identity)
            if self.identity.get("profile") != self.plan.device:
                raise DeviceRefused(
                    f"machine is {self.identity.get('profile')!r}, plan is for {self.plan.device!r}"
                )
            _check_watchdog(self.identity, self.allow_time_scale)
            self._check_gate()
            self.fire("connected")
            status = self.client.request(Msg.STATUS)
            if status.get("state") != "standby":
                raise DeviceRefused(
                    f"machine is {status.get('state')} {status.get('trip_reason', '')}".strip()
                )
            sent = self.plan.set_params()
            self.client.request(Msg.SET_PARAMS, sent)
            held = self.client.request(Msg.READ_BACK)
            self.record.write("read-back", sent=sent, held=held)
            mismatch = _mismatch(sent, held)
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

    def run(self, pace: Callable[[], None], on_tick: Callable[[Progress], None] | None = None) -> Outcome:
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
        """Enter fault (unless terminal) and send STOP + DISARM unless the machine acknowledged one."""
        if self.state not in TERMINAL_STATES:
            self.state, self.reason = "fault", reason
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
            if frame.payload["kind"] in DEVICE_FAULT_EVENTS and self.state not in TERMINAL_STATES:
                self.fault(f"device {frame.payload['kind']}: {frame.payload['detail']}")
        try:
            self._account(sample)
            problem = self._cross_check(sample) if self.state not in TERMINAL_STATES else ""
            if problem:
                self.fault(problem)
            elif self.state not in TERMINAL_STATES:
                self._follow(sample)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self.fault(f"malformed measurement from the device ({type(exc).__name__}: {exc})")
        self.progress.state = self.state

    def _account(self, sample: dict[str, Any]) -> None:
        t_s = float(sample["t_s"])
        for key in self.planned:
            energy = float(sample["energy_j"].get(key, math.nan))
            if not math.isfinite(energy) or energy < self.delivered[key] - 1e-9:
                self.fault(f"{key} nm energy counter invalid or decreasing ({energy})")
            else:
                self.delivered[key] = energy
            if self._last is not None:
                before = float(self._last["power_w"].get(key, 0.0))
                now = float(sample["power_w"].get(key, 0.0))
                self.integral[key] += 0.5 * (before + now) * (t_s - float(self._last["t_s"]))
                if sample["emitting"].get(key):
                    self.emitting_s[key] += t_s - float(self._last["t_s"])
        if self._last is not None:
            self._period_s = max(self._period_s, t_s - float(self._last["t_s"]))
        self._last_wall_s = time.monotonic()
        if self._first_wall is None:
            self._first_wall = (self._last_wall_s, t_s)
        self._last = sample
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

    def _cross_check(self, sample: dict[str, Any]) -> str:
        """Why the sample shows light we did not plan or cannot account for, or ""."""
        for key, planned in self.planned.items():
            power = float(sample["power_w"].get(key, 0.0))
            integral, counter = self.integral[key], self.delivered[key]
            if not sample["emitting"].get(key) and power > NOISE_FLOOR_W:
                return f"{key} nm measured {power:.3g} W while the device reports no emission"
            if integral > planned * (1 + INTEGRAL_TOLERANCE):
                return f"{key} nm host integral {integral:.4g} J above plan {planned:.4g} J"
            if abs(integral - counter) > INTEGRAL_TOLERANCE * planned:
                return f"{key} nm host integral {integral:.4g} J vs device counter {counter:.4g} J"
            if self.emitting_s[key] > self.max_emission_s:
                return f"{key} nm emitted {self.emitting_s[key]:.3g} s, limit {self.max_emission_s:.3g} s"
        return ""

    def _follow(self, sample: dict[str, Any]) -> None:
        """Map the device's behaviour onto table events; anything unexpected is a fault."""
        emitting = any(bool(v) for v in sample["emitting"].values())
        device_state = sample["state"]
        over = [k for k, e in self.planned.items() if self.delivered[k] > e * (1 + ENERGY_TOLERANCE)]
        if over:
            self.fault(f"delivered energy above plan at {', '.join(over)} nm")
        elif emitting and device_state != "emitting":
            self.fault(f"device emits while reporting state {device_state}")
        elif emitting:
            if self.state not in EMISSION_STATES:
                self.fire("emission_started")  # illegal unless we armed: raises and disarms
            if self._power_ok(sample) and all(self.delivered[k] >= e for k, e in self.planned.items()):
                self.fire("dose_reached", "planned energy delivered")
        elif self.GUARDS["dose_reached"](self) and self.state in ("emitting", "paused"):
            self.fire("dose_reached", "planned energy delivered")
        elif device_state != "ready":
            self.fault(f"device left READY unexpectedly (now {device_state})")
        elif self.state == "emitting":
            self.fire("footswitch_released", "footswitch released")
            self._paused_at_s = float(sample["t_s"])
        elif self.state == "paused" and float(sample["t_s"]) - self._paused_at_s > MAX_PAUSE_S:
            self.stop(f"paused longer than {MAX_PAUSE_S:g} s")
        elif self.state == "ready" and float(sample["t_s"]) - self._armed_at_s > MAX_PAUSE_S:
            self.stop(f"footswitch not pressed within {MAX_PAUSE_S:g} s of arming")

    def _power_ok(self, sample: dict[str, Any]) -> bool:
        """False (after a fault) when a settled source's measured power is more than 20 % off."""
        for key, value in sample["emitting"].items():
            set_w = self.set_w.get(key, 0.0)
            if value and (set_w <= 0.0 or float(sample["on_s"].get(key, 0.0)) >= RAMP_ALLOWANCE_S):
                measured = float(sample["power_w"].get(key, 0.0))
                if set_w <= 0.0 or abs(measured - set_w) > POWER_TOLERANCE * set_w:
                    self.fault(f"{key} nm measured {measured:.3g} W vs set {set_w:.3g} W (> 20 % off)")
                    return False
        return True

    def _mark_link_lost(self) -> None:
        if not self._link_lost:
            self._link_lost, self._lost_wall_s = True, time.monotonic()

    def _silent_window_s(self) -> float:
        """Longest device time the machine may have emitted unmeasured after the link was lost [s].

        From the last measurement to the end of the host's retries (converted to device time by the
        observed device/wall clock ratio), plus the machine's watchdog and one control period.
        """
        ratio = 1.0
        if (
            self._first_wall is not None
            and self._last is not None
            and self._last_wall_s > self._first_wall[0]
        ):
            ratio = max(
                1.0,
                (float(self._last["t_s"]) - self._first_wall[1]) / (self._last_wall_s - self._first_wall[0]),
            )
        retrying_s = (
            max(0.0, self._lost_wall_s - self._last_wall_s) * ratio if self._last is not None else 0.0
        )
        return float(self.identity.get("watchdog_s", 0.0)) + self._period_s + retrying_s

    def outcome(self) -> Outcome:
        """The result so far; written to the record as the last entry."""
        unaccounted = 0.0
        if self._link_lost:
            unaccounted = sum(self.plan.max_power_w.values()) * self._silent_window_s()
        result = Outcome(
            completed=self.state == "done" and self.GUARDS["dose_reached"](self),
            state=self.state,
            reason=self.reason,
            delivered_j=dict(self.delivered),
            host_integral_j=dict(self.integral),
            planned_j=dict(self.planned),
            unaccounted_max_j=unaccounted,
            elapsed_s=self.progress.t_s - self._armed_at_s if self._last else 0.0,
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


def _check_watchdog(identity: dict[str, Any], allow_time_scale: bool) -> None:
    """Refuse a machine without a watchdog or with one slower than MAX_WATCHDOG_S of wall-clock time.

    HELLO reports watchdog_s in device time; a time-scaled simulator also reports time_scale (device
    seconds per wall-clock second, 1 on a real machine). A machine may not loosen the bound by claiming
    a time scale: only a host told that it drives a simulator accepts one other than 1.
    """
    watchdog, scale = identity.get("watchdog_s"), identity.get("time_scale", 1.0)
    if scale != 1.0 and not allow_time_scale:
        raise DeviceRefused(f"machine reports time_scale={scale!r}: a simulator; drive it with --simulator")
    numbers = all(
        not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v) and v > 0
        for v in (watchdog, scale)
    )
    if not numbers or watchdog / scale > MAX_WATCHDOG_S:
        raise DeviceRefused(
            f"machine reports no working watchdog (watchdog_s={watchdog!r}, time_scale={scale!r}; "
            f"allowed 0 < watchdog_s / time_scale <= {MAX_WATCHDOG_S:g} s)"
        )


def _mismatch(sent: dict[str, Any], held: dict[str, Any]) -> str:
    """The first field where the device's copy differs from what was sent, or ""."""
    for key, value in sent.items():
        other = held.get(key)
        if isinstance(value, dict):
            if not isinstance(other, dict) or set(value) != set(other):
                return key
            if any(not _same(value[k], other[k]) for k in value):
                return key
        elif not _same(value, other):
            return key
    return ""


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-12)
        )
    return bool(a == b)
