"""A power check guided from the web: the device layer's PowerCheck in a server thread.

The thread opens the link, identifies the machine and runs every set point. At each point, once the
output has settled, it waits (feeding the watchdog) for the operator's meter reading, at most
READING_WAIT_S; no reading in time, a cancel or any failure stops and disarms the machine and stores
nothing. When every point has its reading the check is stored under the operator's name. One guided check
at a time per server, and never while the treatment console holds the machine.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from laserdose.clinic import qa
from laserdose.clinic.models import User
from laserdose.device.client import DeviceClient, DeviceRefused
from laserdose.device.link import LinkError, open_link
from laserdose.device.protocol import Msg
from laserdose.device.qa import POINT_MAX_S, PowerCheck, SetPoint, check_meter_reading
from laserdose.errors import InputError
from laserdose.machines.profile import DeviceProfile

log = logging.getLogger("laserdose.qa")
READING_WAIT_S = POINT_MAX_S  # the operator has this long per point; the machine's limit ends it anyway
CONNECT_TIMEOUT_S = 3.0
SIMULATED = "simulated-meter"  # the token that asks the simulator's meter instead of a person


@dataclass(frozen=True)
class GuidedSetup:
    """What the operator gave before anything is emitted.

    Attributes:
        device_url: the machine's link.
        profile: the machine's profile (the machine must report the same).
        points: the set points, in order.
        operator: the username the check is stored under.
        meter_id: the external meter's identity.
        meter_calibrated_on: the meter's calibration date.
        simulated_meter_allowed: the machine is the simulator (its meter may be read).
    """

    device_url: str
    profile: DeviceProfile
    points: list[SetPoint]
    operator: str
    meter_id: str
    meter_calibrated_on: dt.date
    simulated_meter_allowed: bool = False


@dataclass
class GuidedCheck:
    """One guided check: its phase, the point awaiting a reading, the readings so far, the stored check."""

    setup: GuidedSetup
    sessions: sessionmaker[Session]
    phase: str = "starting"  # starting | settling | awaiting | stored | failed | cancelled
    index: int = 0
    monitor_w: float = 0.0
    results: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    check_id: int | None = None
    serial: str = ""
    passed: bool | None = None
    _readings: queue.Queue[str | None] = field(default_factory=queue.Queue)
    _thread: threading.Thread | None = None
    _check: PowerCheck | None = None

    def start(self) -> None:
        """Run the check in its own thread."""
        self._thread = threading.Thread(target=self._main, name="guided-power-check", daemon=True)
        self._thread.start()

    @property
    def active(self) -> bool:
        """True while the machine may be emitting or about to."""
        return self.phase in ("starting", "settling", "awaiting")

    def submit(self, text: str) -> None:
        """The reading for the point awaiting one; InputError (nothing handed on) when it is not valid."""
        if self.phase != "awaiting":
            raise InputError(f"no set point is waiting for a reading (the check is {self.phase})")
        if text == SIMULATED:
            if not self.setup.simulated_meter_allowed:
                raise InputError("this machine is not the simulator: read the external meter")
        else:
            check_meter_reading(text)
        self.phase = "settling"
        self._readings.put(text)

    def cancel(self) -> None:
        """Stop now: STOP and DISARM go out from this thread; the check ends and nothing is stored."""
        if self.active:
            self.phase, self.error = "cancelled", "cancelled by the operator"
        self._readings.put(None)
        check = self._check
        if check is not None:
            try:
                check.stop_now("power check cancelled by the operator")
            except (LinkError, DeviceRefused) as exc:  # the machine's watchdog remains
                log.warning("cancel: STOP not acknowledged: %s", exc)

    def join(self, timeout_s: float) -> None:
        """Wait for the thread (tests, shutdown)."""
        if self._thread is not None:
            self._thread.join(timeout_s)

    def snapshot(self) -> dict[str, Any]:
        """What the page shows."""
        points = self.setup.points
        current = points[self.index] if self.index < len(points) else None
        return {
            "phase": self.phase, "index": self.index, "count": len(points), "point": current,
            "monitor_w": self.monitor_w, "results": list(self.results), "error": self.error,
            "check_id": self.check_id, "passed": self.passed, "serial": self.serial,
        }  # fmt: skip

    # -- the thread ----------------------------------------------------------------------------------

    def _main(self) -> None:
        try:
            link = open_link(self.setup.device_url, timeout_s=CONNECT_TIMEOUT_S)
        except LinkError as exc:
            self._fail(f"cannot connect to the machine: {exc}")
            return
        try:
            allow = self.setup.simulated_meter_allowed  # the settings say the machine is the simulator
            check = self._check = PowerCheck(DeviceClient(link), self.setup.profile, allow_time_scale=allow)
            if self.phase == "cancelled":
                return
            self.phase = "settling"
            run = check.run(
                self.setup.points, lambda point, monitor_w: self._reading(check, point, monitor_w)
            )
            self._store(run.identity, [r.as_dict() for r in run.results])
        except (LinkError, DeviceRefused, InputError) as exc:
            self._fail(str(exc))
        except Exception as exc:  # noqa: BLE001 - PowerCheck has stopped the machine; say what happened
            log.exception("guided power check failed")
            self._fail(f"internal error: {type(exc).__name__}: {exc}")
        finally:
            link.close()

    def _reading(self, check: PowerCheck, point: SetPoint, monitor_w: float) -> float:
        self.index, self.monitor_w = self.setup.points.index(point, self.index), monitor_w
        self.phase = "awaiting"
        try:
            text = self._readings.get(timeout=READING_WAIT_S)
        except queue.Empty:
            raise DeviceRefused(f"no meter reading within {READING_WAIT_S:g} s: check stopped") from None
        if text is None:
            raise DeviceRefused("cancelled by the operator")
        if text == SIMULATED:
            value = check_meter_reading(check.request(Msg.METER)["power_w"], "simulated meter reading")
        else:
            value = check_meter_reading(text)
        self.results.append({"point": point, "monitor_w": monitor_w, "meter_w": value})
        return value

    def _store(self, identity: dict[str, Any], readings: list[dict[str, Any]]) -> None:
        with self.sessions.begin() as session:
            actor = session.scalars(select(User).where(User.username == self.setup.operator)).one()
            stored = qa.record_check(
                session=session, actor=actor, machine_serial=str(identity.get("serial", "")),
                machine_profile=self.setup.profile.name, readings=readings, meter_id=self.setup.meter_id,
                meter_calibrated_on=self.setup.meter_calibrated_on,
                calibration=identity.get("calibration", {}),
            )  # fmt: skip
            self.check_id, self.passed, self.serial = stored.id, stored.passed, stored.machine_serial
        self.phase = "stored"

    def _fail(self, reason: str) -> None:
        if self.phase != "cancelled":
            self.phase, self.error = "failed", reason


class GuidedSlot:
    """The one guided check of this server process."""

    def __init__(self) -> None:
        self.current: GuidedCheck | None = None
        self._lock = threading.Lock()

    def claim(self, check: GuidedCheck) -> None:
        """Make `check` the current one; InputError while another is running."""
        with self._lock:
            if self.current is not None and self.current.active:
                raise InputError("another power check is running on the machine; finish or cancel it first")
            self.current = check

    def cancel(self) -> None:
        """Cancel the running check, if any (server shutdown)."""
        with self._lock:
            current = self.current
        if current is not None and current.active:
            current.cancel()
            current.join(5.0)
