"""The energy ledger of one delivery: planned, counted by the device, integrated by the host.

Pure bookkeeping: no device, no clock, no record. Each measurement adds the device's monitor-photodiode
counter (which may never decrease) and the host's own trapezoid integral of the sampled power, and the
emitting time per source. Wavelength keys are the plan's `wavelength_key` strings ("810").
"""

import math
from dataclasses import dataclass, field
from typing import Any

ENERGY_TOLERANCE = 0.01  # delivered energy within 1 % of the plan


@dataclass
class EnergyLedger:
    """What has been delivered so far against the plan.

    Attributes:
        planned: planned energy per wavelength [J].
        delivered: the device's monitor counter per wavelength [J].
        integral: the host's trapezoid integral of the sampled monitor power per wavelength [J].
        emitting_s: emitting time per source [device s].
        period_s: the longest interval between two measurements [device s].
        last: the last measurement accounted, or None before the first.
    """

    planned: dict[str, float]
    delivered: dict[str, float] = field(default_factory=dict)
    integral: dict[str, float] = field(default_factory=dict)
    emitting_s: dict[str, float] = field(default_factory=dict)
    period_s: float = 0.0
    last: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        for table in (self.delivered, self.integral, self.emitting_s):
            for key in self.planned:
                table.setdefault(key, 0.0)

    def account(self, sample: dict[str, Any]) -> list[str]:
        """Add one measurement; returns why its energy counters cannot be trusted (empty when they can).

        A counter that is not finite or that decreased is not taken; the rest of the sample is.

        Args:
            sample: a MEASUREMENT payload: t_s, energy_j, power_w and emitting per wavelength.
        """
        problems = []
        t_s = float(sample["t_s"])
        for key in self.planned:
            energy = float(sample["energy_j"].get(key, math.nan))
            if not math.isfinite(energy) or energy < self.delivered[key] - 1e-9:
                problems.append(f"{key} nm energy counter invalid or decreasing ({energy})")
            else:
                self.delivered[key] = energy
            if self.last is not None:
                before = float(self.last["power_w"].get(key, 0.0))
                now = float(sample["power_w"].get(key, 0.0))
                self.integral[key] += 0.5 * (before + now) * (t_s - float(self.last["t_s"]))
                if sample["emitting"].get(key):
                    self.emitting_s[key] += t_s - float(self.last["t_s"])
        if self.last is not None:
            self.period_s = max(self.period_s, t_s - float(self.last["t_s"]))
        self.last = sample
        return problems

    def dose_reached(self) -> bool:
        """Every wavelength within ENERGY_TOLERANCE below its planned energy, or above it."""
        return all(self.delivered[k] >= e * (1 - ENERGY_TOLERANCE) for k, e in self.planned.items())

    def fully_delivered(self) -> bool:
        """Every wavelength at or above its planned energy."""
        return all(self.delivered[k] >= e for k, e in self.planned.items())

    def over_plan(self) -> list[str]:
        """The wavelengths delivered more than ENERGY_TOLERANCE above their plan."""
        return [k for k, e in self.planned.items() if self.delivered[k] > e * (1 + ENERGY_TOLERANCE)]
