"""Helpers for tests that need a machine with a power check: readings at every set point, a stored check."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from laserdose.clinic import qa
from laserdose.clinic.models import PowerCheck, User
from laserdose.device.qa import set_points
from laserdose.machines.profile import load_profile

SERIAL = "SIM-0001"  # the simulator's serial number (HELLO)
MACHINE = {"profile": "15w-dual", "serial": SERIAL}  # the identity a console session records


def readings(profile_name: str = "15w-dual", deviation: float = 0.0) -> list[dict[str, Any]]:
    """One reading per set point: the meter reads set x (1 + deviation), the monitor the set power."""
    return [
        {"wavelength_nm": p.wavelength_nm, "handpiece": p.handpiece, "set_power_w": p.power_w,
         "monitor_w": p.power_w, "meter_w": p.power_w * (1.0 + deviation)}
        for p in set_points(load_profile(profile_name))
    ]  # fmt: skip


def record_check(
    session: Session, actor: User, deviation: float = 0.0, at: dt.datetime | None = None,
    serial: str = SERIAL,
) -> PowerCheck:  # fmt: skip
    """Store a check of the 15w-dual `serial` whose meter read set x (1 + deviation) at every point."""
    when = at or dt.datetime.now(dt.UTC)
    return qa.record_check(
        session=session, actor=actor, machine_serial=serial, machine_profile="15w-dual",
        readings=readings(deviation=deviation), meter_id="Thermopile TP-30 #4411",
        meter_calibrated_on=when.date() - dt.timedelta(days=60), at=when,
    )  # fmt: skip
