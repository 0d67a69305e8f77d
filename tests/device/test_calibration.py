"""The monitor calibration model of the simulator: factor and date reported, drift unseen by the monitor,
the simulated meter reading the true output, CALIBRATE refused outside its bounds."""

import pytest
from simkit import make_machine

from laserdose.device.client import DeviceRefused
from laserdose.device.faults import Fault, parse_faults
from laserdose.device.protocol import Msg
from laserdose.device.stepped import connect
from laserdose.errors import InputError

PARAMS = {"power_w": {"810": 10.0, "980": 0.0}, "mode": "cw", "frequency_hz": 0.0, "duty_cycle": 1.0,
          "handpiece": "large-standoff", "energy_limit_j": {"810": 5e4, "980": 0.0}}  # fmt: skip


def _emit(machine, client, seconds):
    client.request(Msg.SET_PARAMS, PARAMS)
    client.request(Msg.ARM)
    for _ in range(int(seconds / 0.25)):
        machine.step(0.25)
        client.request(Msg.HEARTBEAT)


def test_hello_and_read_back_report_each_monitors_factor_and_date(profile):
    machine = make_machine(profile, calibrated_on="2026-03-04")
    client = connect(machine)
    expected = {"810": {"factor": 1.0, "date": "2026-03-04"}, "980": {"factor": 1.0, "date": "2026-03-04"}}
    assert client.hello()["calibration"] == expected
    client.request(Msg.SET_PARAMS, PARAMS)
    assert client.request(Msg.READ_BACK)["calibration"] == expected


def test_a_drift_moves_the_true_output_and_the_meter_but_not_the_monitor(profile):
    # drift:810=0.36@0s: +36 % per simulated hour = +0.01 % per second, from the first emission.
    machine = make_machine(profile, ("drift:810=0.36@0s",), noise_fraction=0.0, meter_noise_fraction=0.0,
                           drift_per_s=0.0, temperature_limit_c=1e3)  # fmt: skip
    client = connect(machine)
    client.hello()
    _emit(machine, client, 400.0)
    source = machine.sources[810.0]
    since_s = machine.t_s - machine.first_emission_s
    departure = 1 + 0.36 * since_s / 3600  # the drift model, analytic
    assert source.output_w == pytest.approx(10.0 * departure, rel=1e-3)  # light at the aperture
    assert client.request(Msg.METER)["power_w"] == pytest.approx(10.0 * departure, rel=1e-3)
    monitor = client.request(Msg.MEASURE)["power_w"]["810"]
    assert monitor == pytest.approx(10.0 * source.calibration, rel=1e-6)  # blind: set x its own error


def test_calibrate_sets_the_factor_and_brings_the_output_back(profile):
    machine = make_machine(profile, ("drift:810=0.36@0s",), noise_fraction=0.0, meter_noise_fraction=0.0,
                           drift_per_s=0.0, temperature_limit_c=1e3)  # fmt: skip
    client = connect(machine)
    client.hello()
    _emit(machine, client, 400.0)
    with pytest.raises(DeviceRefused, match="only in standby"):
        client.request(Msg.CALIBRATE, {"factors": {"810": 1.1}, "date": "2026-12-01", "operator": "svc"})
    source = machine.sources[810.0]
    ratio = source.output_w / client.request(Msg.MEASURE)["power_w"]["810"]  # meter / monitor
    client.request(Msg.DISARM)
    answer = client.request(
        Msg.CALIBRATE, {"factors": {"810": ratio}, "date": "2026-12-01", "operator": "svc"}
    )
    assert answer["810"] == {"factor": ratio, "date": "2026-12-01"}
    _emit(machine, client, 3.0)
    # After recalibration the firmware regulates on a true monitor: output = set x the monitor's own error.
    assert source.output_w == pytest.approx(10.0 * source.calibration, rel=2e-3)


@pytest.mark.parametrize(
    ("payload", "message"),
    [({"factors": {"810": 3.0}, "date": "2026-12-01", "operator": "s"}, "0.5-2"),
     ({"factors": {"810": float("nan")}, "date": "2026-12-01", "operator": "s"}, "finite"),
     ({"factors": {"633": 1.0}, "date": "2026-12-01", "operator": "s"}, "no source at 633"),
     ({"factors": {"810": 1.0}, "date": "1st of May", "operator": "s"}, "YYYY-MM-DD"),
     ({"factors": {}, "date": "2026-12-01", "operator": "s"}, "factors must be an object")],
)  # fmt: skip
def test_calibrate_refuses_bad_factors_and_dates(profile, payload, message):
    machine = make_machine(profile)
    client = connect(machine)
    with pytest.raises(DeviceRefused, match=message):
        client.request(Msg.CALIBRATE, payload)
    assert machine.sources[810.0].monitor.factor == 1.0  # unchanged


def test_drift_fault_specs():
    assert parse_faults(["drift=0.25@0s"]) == (Fault("drift", 0.0, 0.25),)
    assert parse_faults(["drift:810=-0.1@5s"]) == (Fault("drift", 5.0, -0.1, 810.0),)
    bad_specs = (
        ("drift@1s", "needs =RATE"), ("drift=20@1s", "needs =RATE"),
        ("estop:810@1s", "names no wavelength"), ("power-deviation=-0.2@1s", "positive"),
    )  # fmt: skip
    for bad, message in bad_specs:
        with pytest.raises(InputError, match=message):
            parse_faults([bad])
