"""Every route of every router refuses anonymous users: 401 on the API, a redirect to /login on pages."""

import re

import pytest

from laserdose.web import audit_status
from laserdose.web.routes import (
    admin_pages,
    api,
    api_docs,
    body_chart_pages,
    console,
    correction_pages,
    corrections_api,
    courses_api,
    day_api,
    day_pages,
    exercise_pages,
    medication_pages,
    note_pages,
    outcome_pages,
    pages,
    patient_pages,
    plan_pages,
    qa_guided_pages,
    qa_pages,
    referral_pages,
    screenings_api,
)

# The plan document's JSON Schema holds no patient data: it is published like the documentation.
# The API documentation page shows only that schema and the API's, both public.
PUBLIC = {
    ("POST", "/api/v1/token"), ("GET", "/login"), ("POST", "/login"), ("GET", "/api/v1/schema/plan"),
    ("GET", "/api/docs"),
}  # fmt: skip


def _routes(router):
    for route in router.routes:
        for method in sorted(route.methods):
            yield method, route.path


ROUTES = [
    (method, path)
    for router in (
        api.router,
        api_docs.router,
        courses_api.router,
        corrections_api.router,
        correction_pages.router,
        day_api.router,
        day_pages.router,
        pages.router,
        patient_pages.router,
        admin_pages.router,
        outcome_pages.router,
        exercise_pages.router,
        body_chart_pages.router,
        note_pages.router,
        medication_pages.router,
        console.router,
        plan_pages.router,
        qa_pages.router,
        qa_guided_pages.router,
        referral_pages.router,
        screenings_api.router,
        audit_status.router,
    )
    for method, path in _routes(router)
    if (method, path) not in PUBLIC
]


def test_the_list_covers_the_app():
    assert len(ROUTES) >= 20


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_requests_are_refused(client, method, path):
    url = re.sub(r"\{[a-z_]+\}", "1", path)
    response = client.request(method, url, follow_redirects=False)
    if path.startswith("/api/"):
        assert response.status_code == 401
    elif path == "/logout":
        assert response.status_code == 403  # no session, so no CSRF token: refused before anything else
    else:
        assert (response.status_code, response.headers["location"]) == (303, "/login")
