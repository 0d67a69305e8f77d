"""Thermal damage and dose: Arrhenius Omega, CEM43 and time above a temperature.

- Arrhenius: Omega = integral A exp(-Ea / (R T)) dt, T in kelvin ([HenriquesMoritz1947] for skin:
  A = 3.1e98 1/s, Ea = 6.28e5 J/mol [C]; fat: A = 4.43e16 1/s, Ea = 1.3e5 J/mol [S] [ArrheniusFat]).
  Omega = 0.53 / 1 / 1e4 mark first / second / third degree burns [C].
- CEM43 (Sapareto & Dewey 1984): sum of dt * R^(43 - T) in minutes, R = 0.5 at or above 43 C, 0.25 below.
"""

from dataclasses import dataclass, field

import numpy as np

from laserdose.thermal.grid import FloatArray

GAS_CONSTANT_J_PER_MOL_K = 8.314462618  # CODATA 2018
KELVIN_OFFSET = 273.15


@dataclass(frozen=True)
class ArrheniusParameters:
    """Arrhenius damage parameters.

    Attributes:
        frequency_factor_per_s: A [1/s].
        activation_energy_j_per_mol: Ea [J/mol].
    """

    frequency_factor_per_s: float
    activation_energy_j_per_mol: float


# [HenriquesMoritz1947] [C].
SKIN_HENRIQUES_MORITZ = ArrheniusParameters(3.1e98, 6.28e5)
# Fat, [ArrheniusFat] [S].
FAT = ArrheniusParameters(4.43e16, 1.3e5)
# Burn thresholds on Omega [C], [HenriquesMoritz1947].
OMEGA_FIRST_DEGREE = 0.53
OMEGA_SECOND_DEGREE = 1.0
OMEGA_THIRD_DEGREE = 1e4


def arrhenius_rate_per_s(temperature_c: FloatArray, params: ArrheniusParameters) -> FloatArray:
    """Damage rate dOmega/dt = A exp(-Ea / (R T)) [1/s] at temperatures in C."""
    kelvin = np.asarray(temperature_c, dtype=float) + KELVIN_OFFSET
    exponent = np.log(params.frequency_factor_per_s) - params.activation_energy_j_per_mol / (
        GAS_CONSTANT_J_PER_MOL_K * kelvin
    )
    return np.asarray(np.exp(np.minimum(exponent, 700.0)), dtype=float)


def cem43_rate_min_per_s(temperature_c: FloatArray) -> FloatArray:
    """CEM43 accumulated per second of exposure [min/s]: R^(43 - T) / 60 (Sapareto & Dewey 1984)."""
    temperature = np.asarray(temperature_c, dtype=float)
    log_base = np.where(temperature >= 43.0, np.log(0.5), np.log(0.25))
    return np.asarray(np.exp(log_base * (43.0 - temperature)) / 60.0, dtype=float)


def cem43_minutes(temperature_c: FloatArray, dt_s: float) -> float:
    """CEM43 [min] of a temperature history sampled every dt_s seconds (rectangle rule)."""
    return float(np.sum(cem43_rate_min_per_s(temperature_c)) * dt_s)


def omega(
    temperature_c: FloatArray, dt_s: float, params: ArrheniusParameters = SKIN_HENRIQUES_MORITZ
) -> float:
    """Arrhenius Omega [-] of a temperature history sampled every dt_s seconds (rectangle rule)."""
    return float(np.sum(arrhenius_rate_per_s(temperature_c, params)) * dt_s)


@dataclass
class DoseAccumulator:
    """Running dose at a set of points, updated once per time step with their temperature [C]."""

    size: int
    params: ArrheniusParameters = SKIN_HENRIQUES_MORITZ
    peak_c: FloatArray = field(init=False)
    omega: FloatArray = field(init=False)
    cem43_min: FloatArray = field(init=False)
    seconds_above_41c: FloatArray = field(init=False)
    seconds_above_43c: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        self.peak_c = np.full(self.size, -np.inf)
        self.omega = np.zeros(self.size)
        self.cem43_min = np.zeros(self.size)
        self.seconds_above_41c = np.zeros(self.size)
        self.seconds_above_43c = np.zeros(self.size)

    def add(self, temperature_c: FloatArray, dt_s: float) -> None:
        """Account for `dt_s` seconds spent at `temperature_c` (one value per point)."""
        self.peak_c = np.maximum(self.peak_c, temperature_c)
        self.omega += arrhenius_rate_per_s(temperature_c, self.params) * dt_s
        self.cem43_min += cem43_rate_min_per_s(temperature_c) * dt_s
        self.seconds_above_41c += (temperature_c > 41.0) * dt_s
        self.seconds_above_43c += (temperature_c > 43.0) * dt_s
