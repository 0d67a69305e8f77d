"""Fault injection for the simulator: `interlock-open@3s`, `power-deviation=0.3@2s`, combinations.

Times count from the first emission, in simulated seconds. Several faults are joined with commas or
given as repeated `--fault` options. `drift=RATE@Ts` makes the true output depart slowly from what the
monitor photodiode reports, by RATE (a signed fraction) per simulated hour from T on; `drift:810=...`
limits it to the 810 nm source. The monitor cannot see it: only an external power meter can.
"""

import re
from dataclasses import dataclass

from laserdose.errors import InputError

FAULT_KINDS = (
    "interlock-open",  # remote interlock connector opened (door switch)
    "estop",  # emergency stop pressed
    "link-drop",  # the link goes silent both ways; the watchdog must act
    "power-deviation",  # output drifts by the given fraction (=0.3 means +30 %)
    "overtemp",  # diode cooling fails: temperature above the limit
    "footswitch-release",  # operator lifts the foot; =S re-presses after S simulated seconds (auto mode)
    "power-loss",  # mains lost: everything off, manual reset needed
    "handpiece-removed",  # handpiece unplugged
    "drift",  # true output departs from the monitor by =RATE per simulated hour (signed), unseen by it
)
_SPEC = re.compile(r"^(?P<kind>[a-z-]+)(:(?P<nm>[0-9.]+))?(=(?P<value>-?[0-9.]+))?@(?P<at>[0-9.]+)s$")
MAX_DRIFT_PER_H = 10.0  # a larger drift rate is a typing error, not a slow drift


@dataclass(frozen=True)
class Fault:
    """One scheduled fault.

    Attributes:
        kind: one of FAULT_KINDS.
        at_s: simulated time after the first emission when it strikes [s].
        value: its size (fraction for power-deviation, seconds for footswitch-release, fraction per
            simulated hour for drift), or None.
        wavelength_nm: the one source a drift affects [nm], or None for every source.
    """

    kind: str
    at_s: float
    value: float | None = None
    wavelength_nm: float | None = None


def parse_faults(specs: list[str] | tuple[str, ...]) -> tuple[Fault, ...]:
    """Parse fault specs (each may hold several, comma-separated); InputError on any bad one."""
    faults: list[Fault] = []
    for spec in specs:
        for part in (p.strip() for p in spec.split(",")):
            if part:
                faults.append(_parse_one(part))
    return tuple(sorted(faults, key=lambda fault: fault.at_s))


def _parse_one(part: str) -> Fault:
    match = _SPEC.match(part)
    if not match:
        raise InputError(f"fault {part!r} must look like KIND@SECONDSs or KIND=VALUE@SECONDSs, e.g. estop@2s")
    kind = match["kind"]
    if kind not in FAULT_KINDS:
        raise InputError(f"unknown fault {kind!r}; allowed: {', '.join(FAULT_KINDS)}")
    try:
        at_s = float(match["at"])
        value = float(match["value"]) if match["value"] is not None else None
        wavelength_nm = float(match["nm"]) if match["nm"] is not None else None
    except ValueError:
        raise InputError(f"fault {part!r}: time, value and wavelength must be numbers") from None
    if value is not None and kind not in ("power-deviation", "footswitch-release", "drift"):
        raise InputError(
            f"fault {kind} takes no value (only power-deviation, footswitch-release and drift do)"
        )
    if value is not None and value < 0 and kind != "drift":
        raise InputError(f"fault {kind} needs a positive value")
    if wavelength_nm is not None and kind != "drift":
        raise InputError(f"fault {kind} names no wavelength (only drift:NM does)")
    if kind == "power-deviation" and (value is None or not 0.0 < value <= 1.0):
        raise InputError("fault power-deviation needs =FRACTION with 0 < FRACTION <= 1, e.g. =0.3")
    if kind == "drift" and (value is None or not 0.0 < abs(value) <= MAX_DRIFT_PER_H):
        raise InputError(
            f"fault drift needs =RATE per simulated hour with 0 < |RATE| <= {MAX_DRIFT_PER_H:g}, e.g. =0.25"
        )
    return Fault(kind, at_s, value, wavelength_nm)
