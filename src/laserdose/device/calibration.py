"""The monitor photodiode of a source: its calibration factor, the date it was set, and a simulated drift.

A therapy laser measures its own output with a photodiode that samples the beam; the firmware turns the
photodiode's signal into watts with a calibration factor set at the factory or at a service visit. When
the photodiode or the optics between it and the aperture age, the monitor keeps reporting the set power
while the light that leaves the handpiece changes: only an external power meter sees it. Independent
tests of commercial therapy lasers found units far from their set power [KaubSchmitz2023].

Model (simulator): the firmware regulates the output so that the monitor reads the set power. With a
departure D (1 = none; grows at `drift_per_h` per simulated hour once a drift began) and factor k, the
true output per set watt is D / k and the monitor reads k / D per true watt, so the monitor is blind to
D. A service visit that sets k to k x (meter / monitor) brings the true output back to the set power.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from laserdose.errors import InputError, require_finite

# A factor outside this range is not a recalibration but a broken monitor: refused, not clamped [U].
FACTOR_RANGE = (0.5, 2.0)
FACTORY_DATE = "2026-01-15"  # the simulator's factory calibration date (an illustrative unit)


@dataclass
class MonitorCalibration:
    """One source's monitor calibration (and, in the simulator, its drift).

    Attributes:
        factor: the firmware's calibration factor [-]; 1 at the factory.
        calibrated_on: the date the factor was set (ISO 8601, YYYY-MM-DD).
        drift_per_h: rate at which the true output departs from the monitor [1/h] (simulation only).
        drift_since_s: simulated time the drift began [s], or None while there is none.
        drift_base: departure accumulated before `drift_since_s` [-] (1 = none).
    """

    factor: float = 1.0
    calibrated_on: str = FACTORY_DATE
    drift_per_h: float = 0.0
    drift_since_s: float | None = None
    drift_base: float = 1.0

    def departure(self, t_s: float) -> float:
        """True output over what the monitor reports [-], at simulated time `t_s` [s]."""
        if self.drift_since_s is None:
            return self.drift_base
        return max(0.0, self.drift_base + self.drift_per_h * (t_s - self.drift_since_s) / 3600.0)

    def output_gain(self, t_s: float) -> float:
        """True output per watt of set power [-]."""
        return self.departure(t_s) / self.factor

    def monitor_gain(self, t_s: float) -> float:
        """Monitor reading per watt of true output [-]."""
        departure = self.departure(t_s)
        return self.factor / departure if departure > 0 else 0.0

    def start_drift(self, rate_per_h: float, t_s: float) -> None:
        """Begin (or change) a drift of `rate_per_h` [1/h] at simulated time `t_s` [s]."""
        self.drift_base, self.drift_since_s, self.drift_per_h = self.departure(t_s), t_s, rate_per_h

    def to_wire(self) -> dict[str, Any]:
        """What HELLO and READ_BACK report: {"factor", "date"}."""
        return {"factor": self.factor, "date": self.calibrated_on}


def check_factor(value: Any) -> float:
    """A calibration factor inside FACTOR_RANGE, else InputError."""
    factor = require_finite("calibration factor", value)
    low, high = FACTOR_RANGE
    if not low <= factor <= high:
        raise InputError(f"calibration factor must be {low:g}-{high:g}, got {factor:g}")
    return float(factor)


def check_date(value: Any) -> str:
    """An ISO 8601 date (YYYY-MM-DD), else InputError."""
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise InputError(f"calibration date must be YYYY-MM-DD, got {value!r}") from None
