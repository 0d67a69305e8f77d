"""Medication: recorded with plain checks, stopped never deleted, plotted beside pain in the course report."""

import datetime as dt
import subprocess

import pytest
from factories import make_course, make_patient, make_user

from laserdose.clinic import course_report, medications, outcomes
from laserdose.clinic.users import Forbidden
from laserdose.errors import InputError

TODAY = dt.date(2026, 12, 2)


def _add(session, actor, patient, drug="ibuprofen", started_on=dt.date(2026, 1, 5), **changes):
    fields = {"drug": drug, "dose": "400 mg", "how_often": "up to 3 times a day", "started_on": started_on}
    return medications.add_medication(
        session=session, actor=actor, patient_id=patient.id, today=TODAY, **{**fields, **changes}
    )


def test_a_medication_is_stopped_not_deleted_and_taken_on_follows_the_dates(session):
    clinician = make_user(session)
    patient = make_patient(session, clinician)
    ibuprofen = _add(session, clinician, patient)
    codeine = _add(session, clinician, patient, drug="codeine", dose="30 mg", started_on=dt.date(2026, 2, 1))
    medications.stop_medication(
        session=session, actor=clinician, patient_id=patient.id, medication_id=codeine.id,
        stopped_on=dt.date(2026, 3, 1), today=TODAY,
    )  # fmt: skip
    rows = medications.patient_medications(session=session, actor=clinician, patient_id=patient.id)
    assert [m.drug for m in rows] == ["ibuprofen", "codeine"]  # current first; the stopped one stays
    assert [m.drug for m in medications.taken_on(rows, dt.date(2026, 1, 20))] == ["ibuprofen"]
    assert [m.drug for m in medications.taken_on(rows, dt.date(2026, 3, 1))] == ["ibuprofen", "codeine"]
    assert [m.drug for m in medications.taken_on(rows, dt.date(2026, 3, 2))] == ["ibuprofen"]
    with pytest.raises(InputError, match="already stopped on 2026-03-01"):
        medications.stop_medication(
            session=session, actor=clinician, patient_id=patient.id, medication_id=codeine.id,
            stopped_on=dt.date(2026, 3, 5), today=TODAY,
        )  # fmt: skip
    with pytest.raises(InputError, match="cannot be before ibuprofen was started"):
        medications.stop_medication(
            session=session, actor=clinician, patient_id=patient.id, medication_id=ibuprofen.id,
            stopped_on=dt.date(2025, 1, 1), today=TODAY,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "sentence"),
    [
        ({"drug": " "}, "Drug is needed (for example ibuprofen)."),
        ({"dose": "x" * 61}, "Dose must be at most 60 characters."),
        (
            {"started_on": dt.date(2026, 12, 3)},
            "medication start 2026-12-03 is in the future; it must be today (2026-12-02) or earlier",
        ),
        (
            {"started_on": dt.date(1901, 1, 1)},
            "medication start 1901-01-01 is before the patient's birth date (1970-05-17); "
            "it must be on or after it",
        ),
    ],
)
def test_a_bad_medication_is_refused_in_words(session, changes, sentence):
    clinician = make_user(session)
    patient = make_patient(session, clinician)
    with pytest.raises(InputError, match=sentence.replace("(", r"\(").replace(")", r"\)")):
        _add(session, clinician, patient, **changes)


def test_admins_read_but_do_not_record_medication(session):
    clinician, admin = make_user(session), make_user(session, role="admin")
    patient = make_patient(session, clinician)
    with pytest.raises(Forbidden):
        _add(session, admin, patient)
    assert medications.patient_medications(session=session, actor=admin, patient_id=patient.id) == []


def test_the_course_report_plots_analgesic_use_with_the_drugs_taken(session, tmp_path):
    clinician = make_user(session)
    patient = make_patient(session, clinician)
    course = make_course(session, clinician, patient)
    _add(session, clinician, patient)
    _add(session, clinician, patient, drug="codeine", dose="30 mg")
    for day, nrs, use in ((dt.date(2026, 1, 10), 7, "daily"), (dt.date(2026, 2, 20), 3, "as_needed")):
        outcomes.record_outcome(
            session=session, actor=clinician, patient_id=patient.id, assessed_on=day, nrs=nrs,
            analgesic_use=use, course_id=course.id,
        )  # fmt: skip
    pdf = tmp_path / "course.pdf"
    pdf.write_bytes(
        course_report.course_report_pdf(session=session, actor=clinician, course_id=course.id, today=TODAY)
    )
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Analgesic use" in text and text.count("2 drugs") == 2 and "as needed" in text
