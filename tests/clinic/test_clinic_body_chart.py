"""A course's body chart: clinicians mark it, each change is audited with the zones before and after."""

import datetime as dt
import subprocess

import pytest
from factories import make_course, make_patient, make_user
from sqlalchemy import select

from laserdose.clinic import body_charts
from laserdose.clinic.handout import handout_pdf
from laserdose.clinic.models import AuditEntry
from laserdose.clinic.users import Forbidden
from laserdose.errors import InputError


def test_marking_is_audited_only_when_it_changes_and_reaches_the_handout(session, tmp_path):
    clinician = make_user(session)
    course = make_course(session, clinician, make_patient(session, clinician, name="Bea Chart"))
    body_charts.mark(
        session=session, actor=clinician, course_id=course.id, zones=["sacroiliac_left", "lower_lumbar_left"]
    )
    body_charts.mark(
        session=session, actor=clinician, course_id=course.id, zones=["lower_lumbar_left", "sacroiliac_left"]
    )
    assert course.body_chart == ["lower_lumbar_left", "sacroiliac_left"]  # chart order, unchanged: one entry
    body_charts.mark(session=session, actor=clinician, course_id=course.id, zones=[])
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "course.body_chart")).all()
    assert [(e.details["before"], e.details["after"]) for e in entries] == [
        ([], ["lower_lumbar_left", "sacroiliac_left"]),
        (["lower_lumbar_left", "sacroiliac_left"], []),
    ]
    body_charts.mark(session=session, actor=clinician, course_id=course.id, zones=["buttock_right"])
    pdf = tmp_path / "h.pdf"
    pdf.write_bytes(handout_pdf(session=session, actor=clinician, course=course, today=dt.date(2026, 12, 2)))
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Where the laser is applied" in text and "Buttock, right" in text


def test_only_clinicians_mark_and_unknown_zones_change_nothing(session):
    clinician, operator = make_user(session), make_user(session, role="operator")
    course = make_course(session, clinician, make_patient(session, clinician))
    with pytest.raises(Forbidden):
        body_charts.mark(session=session, actor=operator, course_id=course.id, zones=["buttock_left"])
    with pytest.raises(InputError, match="Unknown body chart zone 'knee'"):
        body_charts.mark(
            session=session, actor=clinician, course_id=course.id, zones=["buttock_left", "knee"]
        )
    assert course.body_chart == []
