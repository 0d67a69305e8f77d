"""Fault injection on the power check, the one host path besides treatment that makes the machine emit.

The simulator runs over real TCP at SCALE; faults are timed from the first emission (simulated seconds).
Whatever happens during a set point, the machine ends up not emitting and the check raises.
"""

import contextlib
import threading

import pytest
from simkit import wait_for

from laserdose.device.client import DeviceClient, DeviceRefused
from laserdose.device.faults import parse_faults
from laserdose.device.link import LinkError, open_link
from laserdose.device.qa import PowerCheck, SetPoint, given_readings
from laserdose.device.simserver import SimulatorServer
from laserdose.device.simulator import Machine, MachineConfig

SCALE = 5.0
POINT = SetPoint(810.0, "large-standoff", 7.5)


@contextlib.contextmanager
def served(profile, *faults):
    config = MachineConfig(watchdog_s=0.5 * SCALE, faults=parse_faults(list(faults)))
    server = SimulatorServer(Machine(profile, config), "tcp://127.0.0.1:0", SCALE)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    link = open_link(server.address, timeout_s=2.0)
    try:
        yield server, PowerCheck(DeviceClient(link), profile, allow_time_scale=True)
    finally:
        link.close()
        server.stop()
        thread.join(timeout=5)


def _quiet(server):
    with server.lock:
        return not server.machine.emitting and server.machine.state != "emitting"


@pytest.mark.parametrize(
    ("fault", "message"),
    [("interlock-open@1.5s", "left READY"), ("estop@1.5s", "left READY"), ("power-loss@1.5s", "left READY"),
     ("handpiece-removed@1.5s", "left READY")],
)  # fmt: skip
def test_a_trip_while_settling_ends_the_check_with_the_machine_quiet(profile, fault, message):
    with served(profile, fault) as (server, check):
        with pytest.raises(DeviceRefused, match=message):
            check.run([POINT], given_readings([7.5]))
        assert _quiet(server)


def test_a_cut_link_is_reported_and_the_watchdog_stops_emission(profile):
    with served(profile, "link-drop@1.5s") as (server, check):
        with pytest.raises(LinkError):
            check.run([POINT], given_readings([7.5]))
        wait_for(lambda: _quiet(server), timeout_s=5.0)
        with server.lock:
            assert any(line.get("kind") == "watchdog" for line in server.machine.log_lines)


def test_an_interrupted_operator_leaves_the_machine_stopped(profile):
    def interrupted(point, monitor_w):
        raise KeyboardInterrupt

    with served(profile) as (server, check):
        with pytest.raises(KeyboardInterrupt):
            check.run([POINT], interrupted)
        assert _quiet(server)
        with server.lock:
            ends = [line["end_reason"] for line in server.machine.log_lines if line["type"] == "emission"]
        assert ends == ["stop: power check point done"]


def test_a_slow_operator_keeps_the_watchdog_fed_and_the_point_emitting(profile):
    def slow(point, monitor_w):
        threading.Event().wait(1.5)  # three watchdog periods of wall-clock time
        with server.lock:
            assert server.machine.sources[810.0].output_w > 0
        return 7.5

    with served(profile) as (server, check):
        run = check.run([POINT], slow)
        assert run.results[0].meter_w == 7.5 and _quiet(server)
        with server.lock:
            assert not any(line.get("kind") == "watchdog" for line in server.machine.log_lines)


def test_the_check_refuses_a_machine_of_another_profile(profile):
    from laserdose.machines.profile import load_profile

    with served(profile) as (server, check):
        other = PowerCheck(check.client, load_profile("30w-quad"), allow_time_scale=True)
        with pytest.raises(DeviceRefused, match="the check is for '30w-quad'"):
            other.run([SetPoint(810.0, "large-standoff", 7.5)], given_readings([7.5]))
        with server.lock:
            assert server.machine.log_lines == []  # nothing emitted
