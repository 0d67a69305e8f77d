"""Monte Carlo photon transport in layered tissue (MCML physics: Wang, Jacques & Zheng 1995).

Use `simulate(stack, beam, photons, seed)`; results are fractions of the incident power (see result.py).
"""

from laserdose.transport.engine import simulate
from laserdose.transport.geometry import FibreBeam, FlatBeam, GaussianBeam, Grid, Layer, PencilBeam, Stack
from laserdose.transport.result import TransportResult

__all__ = [
    "FibreBeam",
    "FlatBeam",
    "GaussianBeam",
    "Grid",
    "Layer",
    "PencilBeam",
    "Stack",
    "TransportResult",
    "simulate",
]
