"""The chart's view audit (group commit) never waits on the request's own transaction."""

from __future__ import annotations

import datetime as dt
import threading

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.requests import Request

from conftest import bearer, login
from laserdose.clinic import users
from laserdose.clinic.models import AuditEntry, Medication
from laserdose.web.app import create_app
from laserdose.web.routes.pages import chart_page


def test_a_chart_shown_after_writes_of_the_same_request_commits_them_and_records_the_view(webapp):
    app = create_app(webapp.settings)
    with TestClient(app) as client:
        assert login(client, "clinician").status_code == 303
        patient = {"name": "Ida Lund", "birth_date": "1960-02-03", "skin_type": 2, "bmi": 22.0}
        patient_id = client.post(
            "/api/v1/patients", json=patient, headers=bearer(client, "clinician")
        ).json()["id"]
        scope = {"type": "http", "method": "POST", "path": "/courses/1/close", "headers": [],
                 "query_string": b"", "app": app, "session": {"csrf": "token"}, "state": {}}  # fmt: skip
        answers = []

        def close_form_shown_again() -> None:  # as course_pages does: write, then show the chart (422)
            with app.state.sessions() as session:
                user = users.list_users(session=session)[1]
                taken = Medication(patient_id=patient_id, drug="ibuprofen", dose="400 mg", how_often="daily",
                                   started_on=dt.date(2026, 1, 1), recorded_by_id=user.id)  # fmt: skip
                session.add(taken)
                session.flush()  # on SQLite this transaction now holds the write lock
                answers.append(chart_page(Request(scope), session, user, patient_id, 422).status_code)

        worker = threading.Thread(target=close_form_shown_again)
        worker.start()
        worker.join(4)  # less than the busy timeout: an append waiting on this transaction's lock would fail
        assert not worker.is_alive() and answers == [422]
    with app.state.sessions() as fresh:
        assert fresh.scalar(select(func.count()).select_from(Medication)) == 1
        views = select(func.count()).where(
            AuditEntry.action == "patient.view", AuditEntry.entity_id == patient_id
        )
        assert fresh.scalar(views) == 1
