"""Fixtures for the transport tests: every test taking `backend` runs on each available backend.

"cuda" is available on a machine with an NVIDIA GPU, and under numba-cuda's CPU simulator when
NUMBA_ENABLE_CUDASIM=1 (test_cuda_backend.py runs the parity tests that way in a subprocess). The
simulator traces ~100-1000 photons/s, so under it `photons_for` caps photon counts: the tolerances are in
the run's own standard errors, so a test stays valid, only less sensitive.
"""

from collections.abc import Callable

import pytest
from hypothesis import settings

from laserdose.transport.backend import available_backends, cuda_simulated

SIMULATOR_PHOTON_CAP = 2_000

if cuda_simulated():
    # A few examples only: each runs the kernel in Python threads.
    settings.register_profile("cuda-simulator", max_examples=5, deadline=None)
    settings.load_profile("cuda-simulator")


@pytest.fixture(scope="session", params=available_backends())
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def photons_for(backend: str) -> Callable[..., int]:
    """photons_for(n, simulated=cap): n photons, or `simulated` under the CUDA simulator."""
    under_simulator = backend == "cuda" and cuda_simulated()

    def photons(count: int, simulated: int = SIMULATOR_PHOTON_CAP) -> int:
        return min(count, simulated) if under_simulator else count

    return photons


def _within(value: float, reference: float, se: float, bias: float = 0.0) -> bool:
    """True when |value - reference| <= 4 standard errors + a bias term.

    The SEs come from 10 batch means, so the ratio follows Student's t with 9 degrees of freedom: a false
    alarm in 3.1e-3 comparisons (not the normal 6e-5). The tests run fixed seeds, which are deterministic
    for a given thread count, or compare runs sharing a seed (strongly correlated), so they do not flake
    from run to run; a new seed or core count may need a look. The bias term covers the reference's own
    error (stated by each test) and never our Monte Carlo noise.
    """
    return abs(value - reference) <= 4.0 * se + bias


@pytest.fixture(scope="session")
def within():  # noqa: ANN201 - returns the predicate
    return _within
