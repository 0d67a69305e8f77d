"""The API documentation page works with no network beyond the app and within the Content-Security-Policy."""

import os
from pathlib import Path

from playwright.sync_api import expect

from conftest import PASSWORD


def test_api_docs_render_offline_without_csp_violations(page, live_server, tmp_path):
    outside: list[str] = []

    def only_the_app(route) -> None:  # noqa: ANN001 - a Playwright route
        if route.request.url.startswith(live_server + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_the_app)
    page.goto("/api/docs")  # public, like /openapi.json: no login
    operation = page.locator("#operations-api-list_patients_api_v1_patients_get")
    expect(operation).to_be_visible()
    expect(operation).to_contain_text("/api/v1/patients")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("laserdose clinic")
    shots = Path(os.environ.get("LASERDOSE_SCREENSHOTS", tmp_path))
    page.screenshot(path=str(shots / "api_docs.png"))
    # Opening an operation renders its parameters and responses (more of Swagger UI's React views).
    operation.locator(".opblock-summary-control").click()
    expect(operation.locator(".responses-wrapper")).to_be_visible()
    # Try it out sends the request to the app (connect-src 'self'): anonymous, so the API answers 401.
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    expect(operation.locator(".live-responses-table tbody .response-col_status").first).to_contain_text("401")
    # Authorize with the password flow, then the same request is the clinician's: 200.
    page.click("button.authorize")
    page.fill("#oauth_username", "clinician")
    page.fill("#oauth_password", PASSWORD)
    page.click(".auth-container button.authorize")
    expect(page.locator(".auth-container")).to_contain_text("Authorized")
    page.click("button.btn-done")
    operation.locator("button.execute").click()
    answered = operation.locator(".live-responses-table tbody .response-col_status").first
    expect(answered).to_contain_text("200")
    answered.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "api_docs_authorized.png"))
    assert outside == [], "the docs page asked for something outside the app"
