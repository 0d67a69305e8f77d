"""Fixtures for the device tests (helpers live in simkit.py)."""

from simkit import plan, profile, sim_process  # noqa: F401 - fixtures
