"""A real Dask cluster for the distributed tests: `dask scheduler` and `dask worker` processes on loopback.

The scheduler listens on an ephemeral port (it writes its address to a scheduler file); workers run
without a nanny, so a SIGKILL really removes a worker instead of having it restarted. Everything started
here is stopped by its process id at teardown. dask.distributed is a test dependency (the `dev` extra):
missing, the tests fail under CI=true and skip locally with the reason.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import laserdose

IN_CI = os.environ.get("CI") == "true"
START_TIMEOUT_S = 60.0
TESTS_DIR = Path(__file__).resolve().parent


def require_distributed() -> None:
    """Fail under CI=true, skip locally, when dask.distributed is not installed."""
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        if IN_CI:
            pytest.fail(f"dask.distributed is required under CI=true (pip install -e '.[dev]'): {exc}")
        pytest.skip(f"dask.distributed not installed: {exc}")


def linear_skin_rise(skin_type, fat_mm, wavelength_nm, handpiece, speed, area_cm2, duration_s):
    """Stand-in skin model with a known answer: 0.5 K/W per skin type step (importable by the workers)."""
    return 0.5 * skin_type


@dataclass
class RealCluster:
    """A scheduler address and the worker processes started for it."""

    address: str
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def kill_worker(self, number: int) -> None:
        """SIGKILL worker `number`: no goodbye to the scheduler, as when a machine dies."""
        os.kill(self.workers[number].pid, signal.SIGKILL)
        self.workers[number].wait(timeout=10)


def _dask(*args: str, log: Path) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).parent / "dask"), *args]
    # The workers import this module's skin stand-in, and the same laserdose sources as the tests.
    sources = Path(laserdose.__file__).resolve().parents[1]
    env = os.environ | {"PYTHONPATH": os.pathsep.join((str(TESTS_DIR), str(sources)))}
    with log.open("wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)


def _wait_for_file(path: Path, process: subprocess.Popen[bytes], log: Path) -> dict[str, str]:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size > 0:
            return dict(json.loads(path.read_text()))
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"dask scheduler did not start:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def real_cluster(tmp_path: Path) -> Iterator[RealCluster]:
    """A `dask scheduler` and two single-threaded `dask worker` processes on 127.0.0.1, torn down after."""
    require_distributed()
    import distributed

    scheduler_file = tmp_path / "scheduler.json"
    common = ("--no-dashboard", "--host", "127.0.0.1")
    scheduler = _dask(
        "scheduler", "--port", "0", "--scheduler-file", str(scheduler_file), *common, log=tmp_path / "s.log"
    )
    cluster = RealCluster(address="")
    try:
        cluster.address = _wait_for_file(scheduler_file, scheduler, tmp_path / "s.log")["address"]
        for number in range(2):
            cluster.workers.append(
                _dask(
                    "worker",
                    cluster.address,
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--name",
                    f"w{number}",
                    *common,
                    log=tmp_path / f"w{number}.log",
                )  # fmt: skip
            )
        with distributed.Client(cluster.address, timeout=START_TIMEOUT_S) as client:
            client.wait_for_workers(2, timeout=START_TIMEOUT_S)
        yield cluster
    finally:
        for worker in cluster.workers:
            _stop(worker)
        _stop(scheduler)
