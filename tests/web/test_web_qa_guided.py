"""The guided power check: the server drives the simulator over TCP point by point, the operator types each
reading (or reads the simulator's meter); a bad entry is explained and the point keeps emitting; a cancel
stops the machine and stores nothing."""

import datetime as dt
import re

import pytest
from sqlalchemy import select

from consolekit import console_client, csrf_of, emission_log, simulator, wait_for
from laserdose.clinic import db
from laserdose.clinic.models import PowerCheck

SCALE = 50.0  # simulated seconds per wall second: each set point settles in a few hundredths of a second
TODAY = dt.date.today()


def _phase(client):
    page = client.get("/machines/guided").text
    match = re.search(r'data-phase="([a-z]+)"', page)
    return match.group(1) if match else "", page


def _awaiting(client):
    wait_for(lambda: _phase(client)[0] in ("awaiting", "stored", "failed"), timeout_s=20, what="a set point")
    return _phase(client)


def _post(client, path, data):
    token = csrf_of(client.get("/machines").text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def _start(client):
    meter = {"profile": "15w-dual", "meter_id": "Thermopile TP-30 #4411",
             "meter_calibrated_on": str(TODAY - dt.timedelta(days=10))}  # fmt: skip
    return _post(client, "/machines/guided/start", meter)


def _stored(url):
    engine = db.make_engine(url)
    with db.session_factory(engine)() as session:
        rows = list(session.scalars(select(PowerCheck)))
        session.expunge_all()
    engine.dispose()
    return rows


def test_the_operator_is_guided_through_every_point_and_the_check_is_stored(webapp):
    with simulator(scale=SCALE) as sim:
        client = console_client(webapp, sim)
        assert _start(client).status_code == 303
        phase, page = _awaiting(client)
        assert phase == "awaiting" and "810 nm, handpiece large-standoff, set 3.75 W" in page
        bad = _post(client, "/machines/guided/reading", {"meter_w": "about four"})
        assert bad.status_code == 422 and "must be a number of watts" in bad.text
        assert 'value="about four"' in bad.text
        with sim.lock:
            assert sim.machine.sources[810.0].output_w > 0  # the point is still emitting, waiting
        assert _post(client, "/machines/guided/reading", {"meter_w": "3.81"}).status_code == 303
        for _ in range(11):  # the other 11 of 2 sources x 2 handpieces x 3 set points
            phase, _ = _awaiting(client)
            assert phase == "awaiting"
            assert _post(client, "/machines/guided/reading", {"simulated": "1"}).status_code == 303
        wait_for(lambda: _phase(client)[0] == "stored", timeout_s=20, what="the check stored")
        assert "PASSED" in _phase(client)[1]
        with sim.lock:
            assert not sim.machine.emitting and sim.machine.state == "standby"
    (check,) = _stored(webapp.url)
    assert check.machine_serial == "SIM-0001" and check.passed and len(check.readings) == 12
    assert check.readings[0]["meter_w"] == 3.81
    # The simulator's meter reads the true output: the set power (no drift) with 0.5 % noise (4 sigma 2 %).
    assert all(abs(r["deviation_from_set"]) < 0.02 for r in check.readings[1:])
    assert check.calibration["810"]["factor"] == 1.0  # as the machine reported it


def test_a_cancel_stops_the_machine_and_stores_nothing(webapp):
    with simulator(scale=SCALE) as sim:
        client = console_client(webapp, sim)
        _start(client)
        assert _awaiting(client)[0] == "awaiting"
        with sim.lock:
            assert sim.machine.emitting
        assert _post(client, "/machines/guided/cancel", {}).status_code == 303
        assert _phase(client)[0] == "cancelled"
        with sim.lock:
            assert not sim.machine.emitting and sim.machine.state == "standby"
        ends = [line["end_reason"] for line in emission_log(sim) if line["type"] == "emission"]
        assert ends and ends[-1].startswith("stop: power check cancelled")
    assert _stored(webapp.url) == []


@pytest.mark.parametrize(
    ("meter", "message"),
    [({"meter_id": "", "meter_calibrated_on": str(TODAY)}, "meter identity"),
     ({"meter_id": "TP-30", "meter_calibrated_on": "soon"}, "date of the meter"),
     ({"meter_id": "TP-30", "meter_calibrated_on": str(TODAY - dt.timedelta(days=400))}, "recalibrate it")],
)  # fmt: skip
def test_no_emission_without_a_named_and_calibrated_meter(webapp, meter, message):
    with simulator(scale=SCALE) as sim:
        client = console_client(webapp, sim)
        response = _post(client, "/machines/guided/start", {"profile": "15w-dual", **meter})
        assert (
            response.status_code == 409
            and message in response.text
            and "nothing was emitted" in response.text
        )
        assert emission_log(sim) == []
