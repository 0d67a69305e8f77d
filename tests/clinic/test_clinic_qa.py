"""Power-check rules: tolerance, interval, service visits, bad meter input, the check a session names."""

import datetime as dt
import math

import pytest
from factories import make_course, make_patient, make_user
from sqlalchemy import func, select

from daykit import complete_checklist
from laserdose.clinic import qa, treatment
from laserdose.clinic.models import AuditEntry, PowerCheck
from laserdose.clinic.users import Forbidden
from laserdose.errors import InputError
from qakit import MACHINE, SERIAL, readings, record_check

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def operator(session):
    return make_user(session, "operator")


def _state(session, now=None):
    return qa.state(session=session, machine_serial=SERIAL, machine_profile="15w-dual", now=now)


def test_no_check_refuses_with_the_reason(session):
    state = _state(session)
    assert not state.allowed and "no power check recorded" in state.reason


def test_the_regulatory_tolerance_is_twenty_percent_each_way(session, operator):
    # 21 CFR 1040.11(a): within +/-20 %. 19 % passes, 21 % fails, either sign.
    for deviation, passes in ((0.19, True), (-0.19, True), (0.21, False), (-0.21, False)):
        check = record_check(session, operator, deviation=deviation)
        assert check.passed is passes
        assert check.worst_deviation == pytest.approx(deviation)
        assert _state(session).allowed is passes


def test_a_failed_check_blocks_until_a_passing_one(session, operator):
    record_check(session, operator, deviation=0.25)
    state = _state(session)
    assert not state.allowed and "failed" in state.reason and "+25%" in state.reason
    record_check(session, operator, deviation=0.02)
    assert _state(session).allowed


def test_an_overdue_check_blocks(session, operator):
    # 15w-dual's profile asks for a check every 30 days.
    record_check(session, operator, at=NOW - dt.timedelta(days=31))
    state = _state(session)
    assert state.interval_days == 30 and not state.allowed and "overdue" in state.reason
    assert _state(session, now=NOW - dt.timedelta(days=2)).allowed  # within 30 days of it


def test_the_clinic_may_tighten_the_tolerance_and_set_its_interval_but_not_loosen(session, operator):
    admin = make_user(session, "admin")
    qa.set_policy(session=session, actor=admin, tolerance=0.10, interval_days=7)
    record_check(session, operator, at=NOW - dt.timedelta(days=8))
    assert "every 7 days" in _state(session).reason
    assert not record_check(session, operator, deviation=0.12).passed  # within 20 %, outside 10 %
    with pytest.raises(InputError, match="at most 0.2"):
        qa.set_policy(session=session, actor=admin, tolerance=0.25, interval_days=None)
    with pytest.raises(Forbidden):
        qa.set_policy(session=session, actor=operator, tolerance=0.1, interval_days=None)


@pytest.mark.parametrize(
    ("meter_w", "message"),
    [(-1.0, "cannot be negative"), (math.nan, "finite"), ("abc", "must be a number"), (math.inf, "finite"),
     (None, "must be a number")],
)  # fmt: skip
def test_bad_meter_input_is_refused_and_nothing_is_stored(session, operator, meter_w, message):
    rows = readings()
    rows[2]["meter_w"] = meter_w
    with pytest.raises(InputError, match=message):
        qa.record_check(
            session=session, actor=operator, machine_serial=SERIAL, machine_profile="15w-dual",
            readings=rows, meter_id="TP-30", meter_calibrated_on=NOW.date(),
        )  # fmt: skip
    assert session.scalar(select(func.count()).select_from(PowerCheck)) == 0


def test_the_meter_must_be_named_and_calibrated_within_a_year(session, operator):
    common = {"session": session, "actor": operator, "machine_serial": SERIAL, "machine_profile": "15w-dual",
              "readings": readings()}  # fmt: skip
    with pytest.raises(InputError, match="meter identity"):
        qa.record_check(**common, meter_id="  ", meter_calibrated_on=NOW.date())
    with pytest.raises(InputError, match="recalibrate it"):
        qa.record_check(**common, meter_id="TP-30", meter_calibrated_on=NOW.date() - dt.timedelta(days=400))
    with pytest.raises(InputError, match="future"):
        qa.record_check(**common, meter_id="TP-30", meter_calibrated_on=NOW.date() + dt.timedelta(days=1))


def test_a_service_visit_is_audited_and_needs_a_passing_check(session, operator):
    admin = make_user(session, "admin")
    record_check(session, operator, deviation=0.3)
    with pytest.raises(Forbidden):
        qa.record_service(session=session, actor=operator, machine_serial=SERIAL, machine_profile="15w-dual",
                          factors={"810": 1.3}, note="recalibrated")  # fmt: skip
    visit = qa.record_service(session=session, actor=admin, machine_serial=SERIAL, machine_profile="15w-dual",
                              factors={"810": 1.3}, note="monitor recalibrated by the maker")  # fmt: skip
    assert visit.calibration["810"]["factor"] == 1.3
    assert "serviced" in _state(session).reason
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (last.action, last.entity_id, last.details["factors"]) == ("qa.service", visit.id, {"810": 1.3})
    record_check(session, operator)
    assert _state(session).allowed


def test_the_session_names_its_check_and_the_energy_by_the_calibration_in_force(session, operator):
    clinician = make_user(session, "clinician")
    course = make_course(session, clinician, make_patient(session, clinician))
    rows = readings()
    for row in rows:  # the meter reads 10 % above the monitor at 810 nm, 5 % below at 980 nm
        row["meter_w"] = row["monitor_w"] * (1.10 if row["wavelength_nm"] == 810 else 0.95)
    check = qa.record_check(
        session=session, actor=operator, machine_serial=SERIAL, machine_profile="15w-dual",
        readings=rows, meter_id="TP-30", meter_calibrated_on=NOW.date(),
    )  # fmt: skip
    complete_checklist(session, operator, course.id)
    record = treatment.open_session(db=session, actor=operator, course_id=course.id, device=MACHINE)
    assert record.power_check_id == check.id
    treatment.save_heartbeat(
        db=session, session_id=record.id, duration_s=10.0,
        energy_j_by_wavelength={"810": 100.0, "980": 50.0}, interruptions=[],
    )  # fmt: skip
    treatment.close_session(db=session, actor_name=operator.username, session_id=record.id,
                            completed=True, reason="done")  # fmt: skip
    # 100 J x 1.10 and 50 J x 0.95 (the check's meter / monitor ratio).
    assert record.calibration["delivered_j"] == pytest.approx({"810": 110.0, "980": 47.5})


def test_an_unidentified_machine_is_refused(session, operator):
    record_check(session, operator)
    state = qa.gate(session=session, identity={"profile": "15w-dual"})
    assert not state.allowed and "serial" in state.reason


def test_the_trend_line_is_the_least_squares_fit_and_a_service_visit_restarts_it(session, operator):
    from laserdose.clinic import qa_trend

    admin = make_user(session, "admin")
    start = NOW - dt.timedelta(days=120)
    for day, deviation in ((0, 0.10), (30, 0.19)):  # before the service visit: must not count
        record_check(session, operator, deviation=deviation, at=start + dt.timedelta(days=day))
    qa.record_service(
        session=session, actor=admin, machine_serial=SERIAL, machine_profile="15w-dual",
        factors={"810": 1.1}, note="recalibrated", at=start + dt.timedelta(days=31),
    )  # fmt: skip
    # Least squares through (0, 0.00), (30, 0.03), (60, 0.09) days: slope 0.0015 / day, intercept -0.005
    # (x mean 30, y mean 0.04; Sxy = 2.7, Sxx = 1800).
    for day, deviation in ((40, 0.0), (70, 0.03), (100, 0.09)):
        record_check(session, operator, deviation=deviation, at=start + dt.timedelta(days=day))
    checks = qa_trend.since_last_service(qa.history(session=session, machine_serial=SERIAL))
    intercept, slope = qa_trend.fit(qa_trend.series(checks)["810"])
    assert (intercept, slope) == (pytest.approx(-0.005), pytest.approx(0.0015))
    # +20 % at (0.20 + 0.005) / 0.0015 = 136.7 days after day 40: day 176.7, past the due date (day 130).
    assert qa_trend.trend_alerts(session=session, machine_serial=SERIAL) == []


def test_readings_must_name_the_machines_sources_and_handpieces(session, operator):
    changes = (
        ({"wavelength_nm": 633.0}, "no 633 nm source"), ({"handpiece": "wand"}, "no handpiece"),
        ({"set_power_w": 40.0}, "above the maximum"),
    )  # fmt: skip
    for change, message in changes:
        rows = readings()
        rows[0].update(change)
        with pytest.raises(InputError, match=message):
            qa.record_check(
                session=session, actor=operator, machine_serial=SERIAL, machine_profile="15w-dual",
                readings=rows, meter_id="TP-30", meter_calibrated_on=NOW.date(),
            )  # fmt: skip


def test_checks_minutes_apart_give_no_trend_alert(session, operator):
    from laserdose.clinic import qa_trend

    record_check(session, operator, deviation=0.01, at=NOW - dt.timedelta(minutes=5))
    record_check(session, operator, deviation=-0.01, at=NOW)  # noise, not a drift of -288 % a day
    assert qa_trend.trend_alerts(session=session, machine_serial=SERIAL) == []


def test_a_machine_recalibrated_since_its_check_is_not_armed(session, operator):
    # The monitor regulates the output: a new factor changes the true watts per set watt, so the old check
    # no longer vouches for the output even though no service visit was recorded.
    factors = {"810": {"factor": 1.0, "date": "2026-11-01"}, "980": {"factor": 1.0, "date": "2026-11-01"}}
    qa.record_check(
        session=session, actor=operator, machine_serial=SERIAL, machine_profile="15w-dual",
        readings=readings(), meter_id="TP-30", meter_calibrated_on=NOW.date(), calibration=factors,
    )  # fmt: skip
    identity = {"serial": SERIAL, "profile": "15w-dual"}
    assert qa.gate(session=session, identity={**identity, "calibration": factors}).allowed
    halved = {**factors, "810": {"factor": 0.5, "date": "2026-12-01"}}
    refused = qa.gate(session=session, identity={**identity, "calibration": halved})
    assert not refused.allowed and "810 nm factor 1.0 -> 0.5" in refused.reason
    assert not qa.gate(session=session, identity=identity).allowed  # no calibration reported: unsure
