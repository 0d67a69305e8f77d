"""Fixtures for the transport tests: every test taking `backend` runs on each available backend."""

import pytest

from laserdose.transport.backend import available_backends


@pytest.fixture(params=available_backends())
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _within(value: float, reference: float, se: float, bias: float = 0.0) -> bool:
    """True when |value - reference| <= 4 standard errors + a bias term.

    4 sigma: a false alarm in about 1 test in 16,000 for normal batch means; the bias term covers
    the reference's own error (stated by each test) and never our Monte Carlo noise.
    """
    return abs(value - reference) <= 4.0 * se + bias


@pytest.fixture(scope="session")
def within():  # noqa: ANN201 - returns the predicate
    return _within
