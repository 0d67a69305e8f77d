"""Helpers and fixtures for the device tests: a plan, a stepped machine, a simulator in its own process."""

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from laserdose.device.faults import parse_faults
from laserdose.device.plan import plan_delivery
from laserdose.device.simulator import Machine, MachineConfig
from laserdose.domain.plan import Delivery
from laserdose.machines.profile import DeviceProfile, load_profile

LASERDOSE = str(Path(sys.executable).with_name("laserdose"))  # the installed console script

PLAN = {
    "decision": "treat",
    "device": "15w-dual",
    "power_w_by_wavelength": {"810": 6.0, "980": 4.0},
    "mode": "cw",
    "handpiece": "large-standoff",
    "duration_s": 30,
    "total_energy_j": 300.0,  # (6 + 4) W x 30 s
}


@pytest.fixture(scope="session")
def profile() -> DeviceProfile:
    return load_profile("15w-dual")


@pytest.fixture(scope="session")
def plan(profile: DeviceProfile) -> Delivery:
    return plan_delivery(PLAN, profile)


def make_machine(profile: DeviceProfile, faults: tuple[str, ...] = (), **config: object) -> Machine:
    return Machine(profile, MachineConfig(faults=parse_faults(list(faults)), **config))  # type: ignore[arg-type]


def emitted(machine: Machine) -> dict[str, float]:
    """Measured energy per wavelength by the simulator's own emission log [J]."""
    totals: dict[str, float] = {}
    for line in machine.log_lines:
        if line["type"] == "emission":
            key = f"{line['wavelength_nm']:g}"
            totals[key] = totals.get(key, 0.0) + line["measured_energy_j"]
    return totals


class SimProcess:
    """`laserdose device simulate` in its own process on a free TCP port."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.log = tmp / "emission.jsonl"
        command = [LASERDOSE, "device", "simulate",
                   "--listen", "tcp://127.0.0.1:0", "--log", str(self.log), *args]  # fmt: skip
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()
        match = re.search(r"tcp://127\.0\.0\.1:\d+", line)
        assert match, f"simulator did not start: {line!r}"
        self.url = match.group(0)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def lines(self) -> list[dict]:
        import json

        return [json.loads(x) for x in self.log.read_text().splitlines() if x.strip()]


@pytest.fixture
def sim_process(tmp_path: Path) -> Iterator:
    started: list[SimProcess] = []

    def start(*args: str) -> SimProcess:
        sim = SimProcess(tmp_path, *args)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


def wait_for(predicate, timeout_s: float = 20.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")
