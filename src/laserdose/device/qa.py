"""A power check with an external meter: each source and handpiece at set points, over the real link.

For every set point the host sets the power (one source on, cw), arms, waits until the output has
settled, averages the monitor photodiode over a few control periods and asks the meter callback for the
external meter's reading (an operator typing it, readings given in advance, or the simulator's meter).
It then stops and disarms before the next point; any failure stops and disarms first. The machine's own
energy limit ends each point after POINT_MAX_S even if the host goes away, and its watchdog is fed while
the operator reads the meter.

Deviations are relative: meter / set - 1 (the displayed power is what 21 CFR 1040.11(a) holds to
+/-20 % [21CFR1040]) and meter / monitor - 1 (what the machine believes it emits).
"""

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from laserdose.device.client import DeviceClient, DeviceRefused
from laserdose.device.controller import send_stop
from laserdose.device.link import LinkError
from laserdose.device.monitor import watchdog_problem
from laserdose.device.protocol import Msg
from laserdose.domain.plan import MAX_DURATION_S
from laserdose.errors import InputError
from laserdose.machines.profile import DeviceProfile

SET_POINT_FRACTIONS = (0.25, 0.5, 1.0)  # of each source's maximum power
SETTLE_S = 2.0  # device seconds of emission before reading: ramp and the meter head's response [U]
POINT_MAX_S = 120.0  # each set point's energy limit is its power x this [wall-clock s] [U]
MONITOR_SAMPLES = 5  # monitor readings averaged per set point
PERIOD_S = 0.05  # wall-clock pause between requests [s]
WAIT_WALL_S = 15.0  # a set point that does not settle within this (wall clock) is a failure [U]
METER_MAX_W = 1000.0  # a reading above this is a typing error for a therapy laser (profiles cap at 1 kW)


@dataclass(frozen=True)
class SetPoint:
    """One step of the check.

    Attributes:
        wavelength_nm: the source [nm].
        handpiece: the handpiece the meter reads through.
        power_w: the set (displayed) power [W].
    """

    wavelength_nm: float
    handpiece: str
    power_w: float


@dataclass(frozen=True)
class PointResult:
    """What one set point gave.

    Attributes:
        point: the set point.
        monitor_w: the machine's monitor photodiode, averaged [W].
        meter_w: the external meter's reading [W].
    """

    point: SetPoint
    monitor_w: float
    meter_w: float

    @property
    def deviation_from_set(self) -> float:
        """Meter over set power, minus 1 [-]."""
        return self.meter_w / self.point.power_w - 1.0

    @property
    def deviation_from_monitor(self) -> float:
        """Meter over monitor, minus 1 [-]; NaN when the monitor read nothing."""
        return self.meter_w / self.monitor_w - 1.0 if self.monitor_w > 0 else math.nan

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the set point, both readings and both deviations."""
        return {
            "wavelength_nm": self.point.wavelength_nm,
            "handpiece": self.point.handpiece,
            "set_power_w": self.point.power_w,
            "monitor_w": self.monitor_w,
            "meter_w": self.meter_w,
            "deviation_from_set": self.deviation_from_set,
            "deviation_from_monitor": self.deviation_from_monitor,
        }


@dataclass
class CheckRun:
    """A finished run over the link: the machine as it identified itself and every point's result.

    Attributes:
        identity: the HELLO answer (profile, model, serial, calibration factors and dates).
        results: one per set point, in order.
    """

    identity: dict[str, Any]
    results: list[PointResult] = field(default_factory=list)


Meter = Callable[[SetPoint, float], float]  # (set point, monitor W) -> meter reading [W]


def set_points(
    profile: DeviceProfile,
    fractions: tuple[float, ...] = SET_POINT_FRACTIONS,
    handpieces: tuple[str, ...] | None = None,
) -> list[SetPoint]:
    """Every source x handpiece x fraction of the source's maximum, in the order the operator runs them.

    A fraction whose power lies below the source's smallest settable power takes that smallest power.
    """
    names = handpieces or tuple(h.name for h in profile.handpieces)
    for name in names:
        profile.handpiece(name)  # InputError naming the machine's handpieces
    for fraction in fractions:
        if not 0.0 < fraction <= 1.0:
            raise InputError(f"set point fraction must be > 0 and <= 1, got {fraction:g}")
    return [
        SetPoint(source.wavelength_nm, name, round(max(source.min_power_w, fraction * source.max_power_w), 6))
        for source in profile.sources
        for name in names
        for fraction in fractions
    ]


def check_meter_reading(value: object, what: str = "meter reading") -> float:
    """A meter reading [W] from a number or the text an operator typed; InputError on anything else.

    Refused: text that is not a number, NaN and infinities, negative readings and readings above
    METER_MAX_W. Zero is a valid reading (a source that emits nothing).
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            raise InputError(f"{what} must be a number of watts, got {value!r}") from None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        raise InputError(f"{what} must be a number of watts, got {value!r}")
    if not math.isfinite(number):
        raise InputError(f"{what} must be a finite number of watts, got {value!r}")
    if number < 0.0:
        raise InputError(f"{what} cannot be negative, got {number:g} W")
    if number > METER_MAX_W:
        raise InputError(f"{what} {number:g} W is above {METER_MAX_W:g} W: check the meter's units")
    return number


class PowerCheck:
    """Runs the set points on the machine behind `client` (requests serialised by a lock)."""

    def __init__(self, client: DeviceClient, profile: DeviceProfile, allow_time_scale: bool = False) -> None:
        self.client, self.profile = client, profile
        self.allow_time_scale = allow_time_scale  # only the operator can say the machine is a simulator
        self.lock = threading.RLock()
        self.time_scale = 1.0  # device seconds per wall-clock second (HELLO; a simulator may run faster)
        self.stop_requested = threading.Event()

    def stop_now(self, reason: str) -> None:
        """From another thread: STOP and DISARM at once (between requests), and end the check."""
        self.stop_requested.set()
        with self.lock:
            send_stop(self.client, reason)

    def request(self, msg: Msg, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """One request to the machine, serialised with the keep-alive thread."""
        with self.lock:
            return self.client.request(msg, payload)

    def run(self, points: list[SetPoint], meter: Meter) -> CheckRun:
        """Identify the machine, then measure every point; DeviceRefused / LinkError end it (disarmed)."""
        identity = self.request_hello()
        if identity.get("profile") != self.profile.name:
            raise DeviceRefused(
                f"machine is {identity.get('profile')!r}, the check is for {self.profile.name!r}"
            )
        problem = watchdog_problem(identity, self.allow_time_scale)  # no emission without a watchdog
        if problem:
            raise DeviceRefused(problem)
        self.time_scale = float(identity.get("time_scale", 1.0))
        status = self.request(Msg.STATUS)
        if status.get("state") != "standby":
            raise DeviceRefused(f"machine is {status.get('state')} {status.get('trip_reason', '')}".strip())
        run = CheckRun(identity)
        for point in points:
            self._check_stop()
            run.results.append(self._measure(point, meter))
        return run

    def request_hello(self) -> dict[str, Any]:
        """HELLO, serialised."""
        with self.lock:
            return self.client.hello()

    def _measure(self, point: SetPoint, meter: Meter) -> PointResult:
        try:
            self._arm(point)
            monitor_w = self._settled_monitor(point)
            with self._keepalive():
                meter_w = meter(point, monitor_w)
            if not self._still_emitting(point):
                raise DeviceRefused("emission ended before the meter was read; repeat the check")
            return PointResult(point, monitor_w, meter_w)
        finally:
            with self.lock:
                send_stop(self.client, "power check point done")

    def _arm(self, point: SetPoint) -> None:
        keys = [f"{s.wavelength_nm:g}" for s in self.profile.sources]
        key = f"{point.wavelength_nm:g}"
        params = {
            "power_w": {k: point.power_w if k == key else 0.0 for k in keys},
            "mode": "cw", "frequency_hz": 0.0, "duty_cycle": 1.0, "handpiece": point.handpiece,
            "energy_limit_j": {k: point.power_w * self._point_max_s() if k == key else 0.0 for k in keys},
        }  # fmt: skip
        self.request(Msg.SET_PARAMS, params)
        self.request(Msg.ARM)

    def _point_max_s(self) -> float:
        """The longest emission of one set point [device s]: POINT_MAX_S of wall-clock time."""
        return min(POINT_MAX_S * self.time_scale, MAX_DURATION_S)

    def _settled_monitor(self, point: SetPoint) -> float:
        """Mean monitor power [W] over MONITOR_SAMPLES periods once the source emitted SETTLE_S."""
        key, samples = f"{point.wavelength_nm:g}", list[float]()
        deadline = time.monotonic() + WAIT_WALL_S
        while len(samples) < MONITOR_SAMPLES:
            if time.monotonic() > deadline:
                raise DeviceRefused(f"{key} nm did not emit steadily within {WAIT_WALL_S:g} s")
            time.sleep(PERIOD_S)
            self._check_stop()
            self.request(Msg.HEARTBEAT)
            sample = self.request(Msg.MEASURE)
            if sample.get("state") not in ("ready", "emitting"):
                raise DeviceRefused(f"machine left READY during the check (now {sample.get('state')})")
            if sample["emitting"].get(key) and float(sample["on_s"].get(key, 0.0)) >= SETTLE_S:
                samples.append(float(sample["power_w"][key]))
        return sum(samples) / len(samples)

    def _check_stop(self) -> None:
        if self.stop_requested.is_set():
            raise DeviceRefused("power check stopped by the operator")

    def _still_emitting(self, point: SetPoint) -> bool:
        sample = self.request(Msg.MEASURE)
        return bool(sample["emitting"].get(f"{point.wavelength_nm:g}"))

    @contextmanager
    def _keepalive(self) -> Iterator[None]:
        """Feed the machine's watchdog from a thread while the meter is read (an operator may be slow)."""
        done = threading.Event()

        def beat() -> None:
            while not done.wait(PERIOD_S * 2):
                try:
                    self.request(Msg.HEARTBEAT)
                except (LinkError, DeviceRefused):
                    return  # the watchdog stops emission; the main thread finds out at its next request

        thread = threading.Thread(target=beat, name="power-check-keepalive", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()


def simulated_meter(check: PowerCheck) -> Meter:
    """The simulator's external meter (METER): the true output with the meter's noise."""

    def read(point: SetPoint, monitor_w: float) -> float:
        return check_meter_reading(check.request(Msg.METER)["power_w"], "simulated meter reading")

    return read


def given_readings(readings: list[float]) -> Meter:
    """Readings given in advance, one per set point in order (checked before anything is emitted)."""
    queue = list(readings)

    def read(point: SetPoint, monitor_w: float) -> float:
        if not queue:
            raise InputError("fewer meter readings than set points")
        return queue.pop(0)

    return read
