"""Power checks over the real link (TCP) against a drifting simulator, and the ARM gate of `laserdose treat`.

The simulator runs in a thread at SCALE simulated seconds per wall-clock second; its meter (METER) reads
the true output with noise, its monitor does not see the drift. Expected deviations come from the
drift model (departure = 1 + rate x time since onset), read from the simulator's own clock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from laserdose.clinic import db, users
from laserdose.clinic.models import PowerCheck
from laserdose.device.faults import parse_faults
from laserdose.device.record import read_record
from laserdose.device.simserver import SimulatorServer
from laserdose.device.simulator import Machine, MachineConfig
from laserdose.machines.profile import load_profile

SCALE = 100.0  # simulated seconds per wall-clock second
DRIFT_PER_H = 1.0  # 810 nm output departs from its monitor by 100 % per simulated hour: 2.8 % per wall s
PLAN = {"decision": "treat", "device": "15w-dual", "power_w_by_wavelength": {"810": 6.0, "980": 4.0},
        "mode": "cw", "handpiece": "large-standoff", "duration_s": 30, "total_energy_j": 300.0}  # fmt: skip
TODAY = dt.datetime.now(dt.UTC).date()


@contextlib.contextmanager
def simulator(*faults: str) -> Iterator[SimulatorServer]:
    config = MachineConfig(watchdog_s=1.0 * SCALE, faults=parse_faults(list(faults)), seed=4)
    server = SimulatorServer(Machine(load_profile("15w-dual"), config), "tcp://127.0.0.1:0", SCALE)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join(timeout=5)


@pytest.fixture
def url(tmp_path):
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    with db.session_factory(engine).begin() as session:
        for role in ("operator", "admin"):
            users.create_user(
                session=session, username=role, password="correct horse battery", role=role, actor_name="t"
            )
    engine.dispose()
    return url


def _qa(cli, url, sim, *extra):
    args = ["device", "qa", "--device", sim.address, "--operator", "operator", "--profile", "15w-dual",
            "--meter-id", "Thermopile TP-30 #4411",
            "--meter-calibrated-on", str(TODAY - dt.timedelta(days=30)),
            "--handpiece", "large-standoff", "--fractions", "1", "--database-url", url, "--simulator",
            *extra]  # fmt: skip
    return cli(*args)


def _checks(url):
    engine = db.make_engine(url)
    with db.session_factory(engine)() as session:
        rows = list(session.scalars(select(PowerCheck).order_by(PowerCheck.id)))
        session.expunge_all()
    engine.dispose()
    return rows


def _departure(sim, key=810.0):
    with sim.lock:
        return sim.machine.sources[key].monitor.departure(sim.machine.t_s)


def _emissions(sim):
    with sim.lock:
        return [line for line in sim.machine.log_lines if line["type"] == "emission"]


def _treat(cli, url, sim, tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(PLAN))
    record = tmp_path / f"session-{len(list(tmp_path.glob('session-*')))}.jsonl"
    result = cli("treat", "--plan", plan, "--device", sim.address, "--operator", "operator", "--json",
                 "--simulator", "--record", record, "--database-url", url)  # fmt: skip
    return result, read_record(record)


def _wait_departure(sim, at_least):
    from consolekit import wait_for

    wait_for(lambda: _departure(sim) >= at_least, timeout_s=60, what=f"810 nm departure {at_least}")


def test_a_drifting_source_is_caught_arm_refused_and_re_enabled_after_service_and_a_passing_check(
    cli, url, tmp_path
):
    with simulator(f"drift:810={DRIFT_PER_H}@0s") as sim:
        first = _qa(cli, url, sim, "--simulated-meter", "--json")
        assert first.exit_code == 0, first.output
        assert json.loads(first.stdout)["passed"]
        _wait_departure(sim, 1.25)
        before = _departure(sim)
        second = _qa(cli, url, sim, "--simulated-meter", "--json")
        after = _departure(sim)
        caught = json.loads(second.stdout)
        assert second.exit_code == 1 and not caught["passed"], second.output
        at_810 = next(r for r in caught["readings"] if r["wavelength_nm"] == 810)
        at_980 = next(r for r in caught["readings"] if r["wavelength_nm"] == 980)
        # The meter reads the true output: set x departure (factor 1), noise 0.5 % (3 sigma 1.5 %).
        assert before - 1 - 0.015 <= at_810["deviation_from_set"] <= after - 1 + 0.015
        assert abs(at_980["deviation_from_set"]) < 0.015  # the 980 nm source does not drift
        assert abs(at_810["monitor_w"] / at_810["set_power_w"] - 1) < 0.04  # the monitor is blind to it

        emitted = len(_emissions(sim))
        refused, record = _treat(cli, url, sim, tmp_path)
        outcome = json.loads(refused.stdout)
        assert refused.exit_code == 3 and "ARM refused: the last power check" in outcome["reason"]
        assert len(_emissions(sim)) == emitted  # nothing emitted
        assert next(e for e in record if e["kind"] == "power-check")["check_id"] == caught["check_id"]

        # Service: the 810 nm factor from the failed check's meter / monitor ratio, set on the machine.
        factor = at_810["meter_w"] / at_810["monitor_w"]
        service = cli(
            "device", "service", "--device", sim.address, "--admin", "admin", "--factor", f"810={factor!r}",
            "--note", "810 nm monitor recalibrated", "--database-url", url,
        )  # fmt: skip
        assert service.exit_code == 0, service.output
        assert [c.kind for c in _checks(url)] == ["check", "check", "service"]
        still, _ = _treat(cli, url, sim, tmp_path)
        assert still.exit_code == 3 and "serviced" in json.loads(still.stdout)["reason"]

        third = _qa(cli, url, sim, "--simulated-meter", "--json")
        assert third.exit_code == 0, third.output
        passing = json.loads(third.stdout)
        assert passing["calibration"]["810"]["factor"] == pytest.approx(factor)  # HELLO reports it
        _, record = _treat(cli, url, sim, tmp_path)
        gate = next(e for e in record if e["kind"] == "power-check")
        assert gate["allowed"] and gate["check_id"] == passing["check_id"]  # the record names the check
        # Armed this time. (Whether the session completes is the controller's business; at this clock
        # scale its first control period already spans seconds of emission.)
        assert "ready" in [e["target"] for e in record if e["kind"] == "state"]


def test_an_overdue_check_blocks_arm_over_the_link(cli, url, tmp_path):
    with simulator() as sim:
        assert _qa(cli, url, sim, "--simulated-meter").exit_code == 0
        engine = db.make_engine(url)
        with db.session_factory(engine).begin() as session:
            check = session.scalars(select(PowerCheck)).one()
            check.at = check.at - dt.timedelta(days=31)  # 15w-dual: every 30 days
        engine.dispose()
        emitted = len(_emissions(sim))
        result, _ = _treat(cli, url, sim, tmp_path)
        assert result.exit_code == 3 and "overdue" in json.loads(result.stdout)["reason"]
        assert len(_emissions(sim)) == emitted


def test_with_a_database_but_no_check_of_the_machine_arm_is_refused(cli, url, tmp_path):
    # The gate of --database-url (unchanged by --no-qa-gate's existence): no check at all, no ARM.
    with simulator() as sim:
        result, record = _treat(cli, url, sim, tmp_path)
        assert result.exit_code == 3 and "ARM refused" in json.loads(result.stdout)["reason"]
        assert "warning" not in result.stderr
        (gate,) = [e for e in record if e["kind"] == "power-check"]
        assert gate["allowed"] is False and gate["check_id"] is None and "gate" not in gate
        assert "ready" not in [e["target"] for e in record if e["kind"] == "state"]
        assert _emissions(sim) == []


@pytest.mark.parametrize(
    ("reading", "message"),
    [("-1.5", "cannot be negative"), ("nan", "finite"), ("abc", "must be a number of watts")],
)
def test_bad_meter_input_is_refused_before_anything_is_emitted_or_stored(cli, url, reading, message):
    with simulator() as sim:
        result = _qa(cli, url, sim, "--reading", "15.0", "--reading", reading)
        assert result.exit_code == 2
        assert result.stderr.startswith("laserdose: error: ") and message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert _emissions(sim) == []
    assert _checks(url) == []


def test_readings_given_in_advance_are_stored_with_their_deviations(cli, url):
    with simulator() as sim:
        result = _qa(cli, url, sim, "--reading", "14.1", "--reading", "15.3", "--json")
    assert result.exit_code == 0, result.output
    (check,) = _checks(url)
    assert [r["meter_w"] for r in check.readings] == [14.1, 15.3]
    assert [r["deviation_from_set"] for r in check.readings] == pytest.approx([14.1 / 15 - 1, 15.3 / 15 - 1])
    assert check.meter_id == "Thermopile TP-30 #4411" and check.passed


def test_an_operator_is_asked_for_each_reading_and_asked_again_after_a_bad_one(url):
    from typer.testing import CliRunner

    from laserdose.cli.main import app

    with simulator() as sim:
        args = ["device", "qa", "--device", sim.address, "--operator", "operator", "--profile", "15w-dual",
                "--handpiece", "contact-ball", "--fractions", "0.5", "--database-url", url,
                "--simulator"]  # fmt: skip
        typed = f"TP-30 #4411\n{TODAY}\nseven\n7.4\n-2\n7.6\n"
        result = CliRunner().invoke(app, args, input=typed)
    assert result.exit_code == 0, result.output
    assert "must be a number of watts" in result.output and "cannot be negative" in result.output
    (check,) = _checks(url)
    assert [r["meter_w"] for r in check.readings] == [7.4, 7.6]
    assert "PASSED" in result.output


def test_a_time_scaled_machine_is_refused_unless_the_operator_says_it_is_the_simulator(cli, url):
    with simulator() as sim:
        args = ["device", "qa", "--device", sim.address, "--operator", "operator", "--profile", "15w-dual",
                "--meter-id", "TP-30", "--meter-calibrated-on", str(TODAY), "--simulated-meter",
                "--database-url", url]  # fmt: skip
        result = cli(*args)
        assert result.exit_code == 3 and "time_scale=100.0: a simulator" in result.stderr
        assert _emissions(sim) == []
    assert _checks(url) == []


def test_no_check_stored_when_the_operator_is_unknown(cli, url):
    with simulator() as sim:
        result = cli("device", "qa", "--device", sim.address, "--operator", "nobody", "--profile", "15w-dual",
                     "--meter-id", "TP", "--meter-calibrated-on", str(TODAY), "--simulated-meter",
                     "--database-url", url)  # fmt: skip
        assert result.exit_code == 2 and "no active user 'nobody'" in result.stderr
        assert _emissions(sim) == []
    engine = db.make_engine(url)
    with db.session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(PowerCheck)) == 0
    engine.dispose()
