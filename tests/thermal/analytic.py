"""Analytic temperature rises of a semi-infinite medium heated at or below its surface [CarslawJaeger1959].

Units: W, mm, s, K; kappa = k / (rho c).
"""

import math

from scipy.special import erfc, erfcx


def ierfc(x: float) -> float:
    """First integral of erfc: exp(-x^2)/sqrt(pi) - x erfc(x) (Carslaw & Jaeger 1959, appendix II)."""
    return math.exp(-x * x) / math.sqrt(math.pi) - x * float(erfc(x))


def uniform_flux(q0, k, kappa, t):
    """dT = 2 q0 sqrt(kappa t / pi) / k (Carslaw & Jaeger 1959, s. 2.9)."""
    return 2 * q0 * math.sqrt(kappa * t / math.pi) / k


def disk_centre(q0, a, k, kappa, t):
    """dT = (2 q0 sqrt(kappa t) / k) [1/sqrt(pi) - ierfc(a / (2 sqrt(kappa t)))] (Carslaw & Jaeger 10.5)."""
    root = math.sqrt(kappa * t)
    return 2 * q0 * root / k * (1 / math.sqrt(math.pi) - ierfc(a / (2 * root)))


def gaussian_centre(power, r0, k, kappa, t):
    """dT(0, t) = P / (pi^1.5 k r0) arctan(2 sqrt(kappa t) / r0), q = P/(pi r0^2) exp(-r^2/r0^2)."""
    return power / (math.pi**1.5 * k * r0) * math.atan(2 * math.sqrt(kappa * t) / r0)


def exponential_depth(q0, mua, k, kappa, t):
    """dT = q0/(k mua) [2x/sqrt(pi) - 1 + exp(x^2) erfc(x)], x = mua sqrt(kappa t)."""
    x = mua * math.sqrt(kappa * t)
    return q0 / (k * mua) * (2 * x / math.sqrt(math.pi) - 1 + float(erfcx(x)))


def pennes_uniform_flux(q0, k, kappa, beta, t):
    """dT = (q0/k) sqrt(kappa/beta) erf(sqrt(beta t)), beta = w rho_b c_b / (rho c) [Pennes1948]."""
    return q0 / k * math.sqrt(kappa / beta) * math.erf(math.sqrt(beta * t))
