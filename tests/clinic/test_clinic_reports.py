"""Responder rates by condition and protocol on SQLite and PostgreSQL."""

import datetime as dt

import pytest
from factories import make_course, make_patient, make_user

from laserdose.clinic import outcomes, reports
from laserdose.clinic.users import Forbidden


def _assess(session, actor, course, day, **scores):
    outcomes.record_outcome(session=session, actor=actor, patient_id=course.patient_id, course_id=course.id,
                           assessed_on=dt.date(2026, 3, day), **scores)  # fmt: skip


def test_rates_by_condition_and_protocol(session):
    clinician = make_user(session)
    a = make_course(session, clinician, make_patient(session, clinician), protocol="p1")
    b = make_course(session, clinician, make_patient(session, clinician), protocol="p1")
    c = make_course(session, clinician, make_patient(session, clinician), protocol="p2")
    ticked = lambda n: [i < n for i in range(24)]  # noqa: E731
    # a: NRS 6 -> 0 (responder), RMDQ 10 -> 2 (responder; recovered: NRS 0 and RMDQ <= 2, Kamper 2010)
    _assess(session, clinician, a, 1, nrs=6, rmdq_ticked=ticked(10))
    _assess(session, clinician, a, 28, nrs=0, rmdq_ticked=ticked(2))
    # b: NRS 6 -> 5 (1 point, 17 %: not a responder, Ostelo 2008); no RMDQ
    _assess(session, clinician, b, 1, nrs=6)
    _assess(session, clinician, b, 28, nrs=5)
    # c: a single assessment does not count
    _assess(session, clinician, c, 1, nrs=7)
    rates = reports.responder_rates(session=session, actor=clinician)
    assert [(r.condition, r.protocol, r.courses) for r in rates] == [("chronic_nslbp", "p1", 2)]
    assert rates[0].rate("nrs") == 0.5 and rates[0].rate("rmdq") == 1.0 and rates[0].rate("odi") is None
    assert rates[0].recovered == 1


def test_operators_do_not_see_the_dashboard(session):
    with pytest.raises(Forbidden):
        reports.responder_rates(session=session, actor=make_user(session, "operator"))
