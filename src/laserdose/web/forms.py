"""Helpers for HTML forms: CSRF, rendering with the typed values kept, pydantic errors by field."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from starlette.datastructures import FormData

from laserdose.clinic.models import User
from laserdose.clinic.users import Forbidden
from laserdose.web.plain_words import field_messages
from laserdose.web.security import csrf_matches, new_csrf_token


async def posted_form(request: Request) -> FormData:
    """The posted form, read on the event loop so that the route itself can be a plain `def`.

    A plain `def` route runs in the thread pool: its database work (which may wait seconds on a locked
    database) never holds up the event loop, and with it the console's STOP.
    """
    return await request.form()


PostedForm = Annotated[FormData, Depends(posted_form)]


def csrf_token(request: Request) -> str:
    """Return this session's CSRF token, creating it on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = new_csrf_token()
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, given: object) -> None:
    """Refuse a form post whose CSRF token does not match the session's."""
    if not csrf_matches(request.session.get("csrf"), given if isinstance(given, str) else None):
        raise Forbidden("the form has expired or did not come from this site; reload the page and retry")


def render(
    request: Request, template: str, user: User | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render a page template with the user and CSRF token in its context."""
    templates = request.app.state.templates
    full = {"user": user, "csrf": csrf_token(request), **context}
    response: HTMLResponse = templates.TemplateResponse(request, template, full, status_code=status_code)
    return response


def field_errors(exc: ValidationError, labels: dict[str, str] | None = None) -> dict[str, str]:
    """Map each invalid field's name to its first error, as a sentence naming the field (`labels`)."""
    return field_messages(list(exc.errors()), labels)
