"""Power checks in the web app: the form (errors kept, nothing stored), the machine page and trend, the
console's QA state and its refusal to arm, over a real TCP link to the simulator."""

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from consolekit import console_client, csrf_of, emission_log, login, post_console, signed_course, simulator
from laserdose.clinic import db, qa
from laserdose.clinic.models import PowerCheck, User
from laserdose.device.qa import set_points
from laserdose.machines.profile import load_profile
from qakit import SERIAL, readings

TODAY = dt.date.today()
POINTS = set_points(load_profile("15w-dual"))


def _form(meter=lambda point: point.power_w * 1.02, **extra):
    data = {"profile": "15w-dual", "meter_id": "Thermopile TP-30 #4411",
            "meter_calibrated_on": str(TODAY - dt.timedelta(days=20))}  # fmt: skip
    for i, point in enumerate(POINTS):
        data[f"monitor_{i}"] = f"{point.power_w:g}"
        data[f"meter_{i}"] = str(meter(point))
    return {**data, **extra}


def _post_check(client, form):
    page = client.get(f"/machines/{SERIAL}/checks/new?profile=15w-dual")
    assert page.status_code == 200
    return client.post(f"/machines/{SERIAL}/checks/new", data={**form, "csrf_token": csrf_of(page.text)},
                       follow_redirects=False)  # fmt: skip


def _count(url):
    engine = db.make_engine(url)
    with db.session_factory(engine)() as session:
        count = session.scalar(select(func.count()).select_from(PowerCheck))
    engine.dispose()
    return count


def test_the_form_lists_every_source_handpiece_and_set_point(client):
    login(client, "operator")
    page = client.get(f"/machines/{SERIAL}/checks/new?profile=15w-dual").text
    # 2 sources x 2 handpieces x 3 set points (25, 50, 100 % of 15 W).
    assert len(re.findall(r'name="meter_\d+"', page)) == 12
    assert "3.75 W" in page and "7.5 W" in page and "15 W" in page


def test_a_valid_check_is_stored_and_shown_with_its_trend(client, webapp):
    login(client, "operator")
    response = _post_check(client, _form())
    assert (response.status_code, response.headers["location"]) == (303, f"/machines/{SERIAL}")
    page = client.get(f"/machines/{SERIAL}").text
    assert "ARM allowed" in page
    deviations = [float(v) for v in re.findall(r'data-deviation="([-0-9.]+)"', page)]
    assert deviations == pytest.approx([0.02, 0.02], abs=1e-4)  # meter = 1.02 x set, one point per source
    assert 'data-tolerance="0.2"' in page
    assert _count(webapp.url) == 1


@pytest.mark.parametrize(
    ("typed", "message"),
    [("-3", "cannot be negative"), ("NaN", "finite"), ("about seven", "must be a number of watts")],
)
def test_bad_meter_input_is_explained_kept_and_nothing_is_stored(client, webapp, typed, message):
    login(client, "operator")
    response = _post_check(client, _form(meter_3=typed))
    assert response.status_code == 422
    assert message in response.text and f'value="{typed}"' in response.text  # what was typed is kept
    assert 'value="Thermopile TP-30 #4411"' in response.text
    assert _count(webapp.url) == 0


def test_an_old_meter_calibration_is_refused(client, webapp):
    login(client, "operator")
    response = _post_check(client, _form(meter_calibrated_on=str(TODAY - dt.timedelta(days=500))))
    assert response.status_code == 422 and "recalibrate it" in response.text
    assert _count(webapp.url) == 0


def test_clinicians_see_machines_but_do_not_record_checks(client):
    login(client, "clinician")
    assert client.get("/machines").status_code == 200
    assert client.get(f"/machines/{SERIAL}/checks/new?profile=15w-dual").status_code == 403


def _monthly_checks(url):
    """Four monthly checks, the 810 nm output 6 % further above its set power each month; returns now."""
    engine = db.make_engine(url)
    now = dt.datetime.now(dt.UTC)
    with db.session_factory(engine).begin() as session:
        operator = session.scalars(select(User).where(User.username == "operator")).one()
        for month, deviation in enumerate((0.0, 0.06, 0.12, 0.18)):  # 810 nm: +6 % every 30 days
            at = now - dt.timedelta(days=30 * (3 - month))
            rows = readings()
            for row in rows:
                row["meter_w"] = row["set_power_w"] * (
                    1 + (deviation if row["wavelength_nm"] == 810 else 0.0)
                )
            qa.record_check(
                session=session, actor=operator, machine_serial=SERIAL, machine_profile="15w-dual",
                readings=rows, meter_id="TP-30", meter_calibrated_on=at.date(), at=at,
            )  # fmt: skip
    engine.dispose()
    return now


def test_the_trend_alert_and_the_qa_report(client, webapp):
    now = _monthly_checks(webapp.url)
    login(client, "operator")
    page = client.get(f"/machines/{SERIAL}").text
    # The line through (0, 0), (30, 6), (60, 12), (90, 18) % reaches 20 % on day 100: 10 days after the last
    # check, before the next one is due (30 days).
    crossing = (now + dt.timedelta(days=10)).date()
    assert "810 nm drifts +6.0% per 30 days" in page and str(crossing) in page
    pdf = client.get(f"/machines/{SERIAL}/qa-report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_the_console_shows_the_qa_state_and_refuses_to_arm_after_a_failed_check(webapp):
    with simulator() as sim:
        client = console_client(webapp, sim)
        course_id = signed_course(webapp.url)  # with a passing check of SIM-0001 today
        engine = db.make_engine(webapp.url)
        with db.session_factory(engine).begin() as session:
            operator = session.scalars(select(User).where(User.username == "operator")).one()
            qa.record_check(
                session=session, actor=operator, machine_serial=SERIAL, machine_profile="15w-dual",
                readings=readings(deviation=0.3), meter_id="TP-30", meter_calibrated_on=TODAY,
            )  # fmt: skip
        engine.dispose()
        assert post_console(client, course_id, "connect").status_code == 303
        page = client.get(f"/courses/{course_id}/console").text
        assert "ARM refused for machine SIM-0001: the last power check" in page
        assert re.search(r'id="start"\s+disabled', page)
        refused = post_console(client, course_id, "start")
        assert (
            refused.status_code == 409
            and "refused, nothing was emitted: the last power check" in refused.text
        )
        assert not [line for line in emission_log(sim) if line["type"] == "emission"]
        post_console(client, course_id, "disconnect")


def test_the_console_shows_the_trend_alert_before_arm(webapp):
    with simulator() as sim:
        client = console_client(webapp, sim)
        course_id = signed_course(webapp.url, checked=False)
        _monthly_checks(webapp.url)
        assert post_console(client, course_id, "connect").status_code == 303
        page = client.get(f"/courses/{course_id}/console").text
        assert "ARM allowed" in page and "Trend: 810 nm drifts +6.0% per 30 days" in page
        post_console(client, course_id, "disconnect")


def test_a_service_visit_breaks_the_trend_lines_and_is_marked(client, webapp):
    engine = db.make_engine(webapp.url)
    now = dt.datetime.now(dt.UTC)
    with db.session_factory(engine).begin() as session:
        operator = session.scalars(select(User).where(User.username == "operator")).one()
        admin = session.scalars(select(User).where(User.username == "admin")).one()
        machine = {"session": session, "machine_serial": SERIAL, "machine_profile": "15w-dual"}

        def check(days):
            at = now - dt.timedelta(days=days)
            qa.record_check(**machine, actor=operator, readings=readings(), meter_id="TP-30",
                            meter_calibrated_on=at.date(), at=at)  # fmt: skip

        check(60)
        check(40)
        visit = qa.record_service(**machine, actor=admin, factors={"810": 1.05}, note="recalibrated",
                                  at=now - dt.timedelta(days=30))  # fmt: skip
        check(20)
        check(1)
        visit_id = visit.id
    engine.dispose()
    login(client, "operator")
    page = client.get(f"/machines/{SERIAL}").text
    assert len(re.findall(r"<polyline ", page)) == 4  # two sources, each line broken once
    assert f'data-service="{visit_id}"' in page
