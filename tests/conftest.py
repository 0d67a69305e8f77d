"""Shared fixtures: the CLI runner, and Hypothesis profiles (CI runs more examples)."""

import os

import pytest
from hypothesis import settings
from typer.testing import CliRunner

from daykit import with_checklist
from laserdose.cli.main import app

settings.register_profile("ci", max_examples=200, deadline=None)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")


class Cli:
    """Runs `laserdose ARGS...` in-process and returns click's result (exit_code, stdout, stderr).

    `laserdose treat` gets a complete safety checklist for its plan unless the arguments name one.
    """

    def __init__(self) -> None:
        self._runner = CliRunner()

    def __call__(self, *args: str):  # noqa: ANN204 - click's Result
        return self._runner.invoke(app, with_checklist([str(arg) for arg in args]))


@pytest.fixture
def cli() -> Cli:
    return Cli()


# Database fixtures (SQLite and a real PostgreSQL) for the clinic and web tests; a real Dask cluster.
pytest_plugins = ["clinic_db", "dask_cluster"]
