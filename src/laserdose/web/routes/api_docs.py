"""The interactive API documentation (Swagger UI), served from /static so it works offline and under the CSP.

FastAPI's own docs page loads Swagger UI from a CDN and starts it with an inline script; both are refused by
the app's Content-Security-Policy. This page loads the vendored files and starts Swagger UI from
/static/api-docs.js, which reads the schema's address from the page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
DOCS_PATH = "/api/docs"


@router.get(DOCS_PATH, response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    """The API documentation page; public like the schema at /openapi.json (it holds no patient data)."""
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, "api_docs.html", {"openapi_url": request.app.openapi_url}
    )
    return response
