"""Error answers: plain-sentence 4xx for bad input, 503 for a busy database, and 500s that log no data.

A database error's message can hold the values of the failed row (PostgreSQL's "Failing row contains
(...)", SQLAlchemy's parameter lists): the log of an unexpected error names only the exception's type and
the code lines it passed through, never its message.
"""

from __future__ import annotations

import logging
import traceback

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DataError, OperationalError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from laserdose.clinic.records import Conflict, NotFound
from laserdose.clinic.users import Forbidden
from laserdose.errors import InputError
from laserdose.web.deps import LoginRequired
from laserdose.web.forms import csrf_token
from laserdose.web.plain_words import (
    NOT_FOUND,
    SERVER_ERROR,
    STATUS_TITLES,
    field_messages,
    method_not_allowed,
    sentence,
)

error_log = logging.getLogger("laserdose.web.errors")
# How a page's query parameters read in a sentence.
QUERY_LABELS = {"q": "The search", "page": "The page number", "size": "The page size"}
RETRY_AFTER_S = 5  # a busy SQLite database: the writer holding it usually finishes well within this [s]


def wants_json(path: str, accept: str = "") -> bool:
    """Whether the answer to a request for `path` is JSON (the API, or a script asking only for JSON)."""
    if path.startswith("/api/") or path == "/openapi.json":
        return True
    return "application/json" in accept and "text/html" not in accept


def error_response(
    request: Request, status_code: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    """The API's `{"detail": message}`, or the error page: a title, the message as a sentence, a way back."""
    if wants_json(request.url.path, request.headers.get("accept", "")):
        return JSONResponse({"detail": message}, status_code=status_code, headers=headers)
    templates: Jinja2Templates = request.app.state.templates
    context = {
        "status_code": status_code, "title": STATUS_TITLES.get(status_code, "Error"),
        "message": sentence(message), "back": _same_site_referer(request), **_menu(request),
    }  # fmt: skip
    return templates.TemplateResponse(
        request, "error.html", context, status_code=status_code, headers=headers
    )


def _menu(request: Request) -> dict[str, object]:
    """The logged-in person and the session's CSRF token, for the page's menu (none before login)."""
    user = getattr(request.state, "user", None)
    if user is None or "session" not in request.scope:
        return {"user": None}
    return {"user": user, "csrf": csrf_token(request)}


def _same_site_referer(request: Request) -> str | None:
    """The page the person came from, when it is a page of this app (else None: no link off-site)."""
    referer = request.headers.get("referer", "")
    base = str(request.base_url).rstrip("/")
    if referer.startswith(base + "/") and referer != str(request.url):
        path = referer[len(base) :]
        return path if path.startswith("/") and not path.startswith("//") else None
    return None


def _is_value_error(exc: BaseException) -> bool:
    # SQLite cannot bind an int beyond 64 bits (OverflowError, wrapped by SQLAlchemy as a StatementError);
    # PostgreSQL refuses a value outside a column's type (DataError: integer out of range, NaN in JSON).
    return isinstance(exc, OverflowError | DataError) or (
        isinstance(exc, StatementError) and isinstance(exc.orig, OverflowError)
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map the clinic's exceptions and database conditions to answers."""

    async def login_required(request: Request, _exc: Exception) -> Response:
        return RedirectResponse("/login", status_code=303)

    async def forbidden(request: Request, exc: Exception) -> Response:
        return error_response(request, 403, str(exc))

    async def not_found(request: Request, exc: Exception) -> Response:
        return error_response(request, 404, str(exc))

    async def bad_input(request: Request, exc: Exception) -> Response:
        return error_response(request, 422, str(exc))

    async def conflict(request: Request, exc: Exception) -> Response:
        return error_response(request, 409, str(exc))

    async def database_busy(request: Request, exc: Exception) -> Response:
        # SQLite's lock held past busy_timeout by another process, or PostgreSQL unreachable.
        error_log.warning("database unavailable on %s %s: %s", request.method, request.url.path, _kind(exc))
        message = "The database is busy with another change; try again in a few seconds."
        return error_response(request, 503, message, headers={"Retry-After": str(RETRY_AFTER_S)})

    async def out_of_range(request: Request, exc: Exception) -> Response:
        error_log.info("value out of the database's range on %s %s", request.method, request.url.path)
        return error_response(request, 422, "a value is outside the range the database can store")

    async def page_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if wants_json(request.url.path):
            from fastapi.exception_handlers import request_validation_exception_handler

            return await request_validation_exception_handler(request, exc)
        messages = field_messages(list(exc.errors()), QUERY_LABELS)
        return error_response(request, 422, " ".join(messages.values()) or "The request could not be read.")

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers) if exc.headers else None
        if wants_json(request.url.path, request.headers.get("accept", "")):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = NOT_FOUND
        elif exc.status_code == 405:
            message = method_not_allowed(request.method)
        return error_response(request, exc.status_code, message, headers)

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(Forbidden, forbidden)
    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(InputError, bad_input)
    app.add_exception_handler(Conflict, conflict)
    app.add_exception_handler(OperationalError, database_busy)
    app.add_exception_handler(DataError, out_of_range)
    app.add_exception_handler(OverflowError, out_of_range)
    app.add_exception_handler(StatementError, _statement_error)
    app.add_exception_handler(RequestValidationError, page_validation)
    app.add_exception_handler(StarletteHTTPException, http_error)


async def _statement_error(request: Request, exc: Exception) -> Response:
    # SQLite's OverflowError arrives wrapped in a StatementError; any other one is a bug: a 500.
    if _is_value_error(exc):
        error_log.info("value out of the database's range on %s %s", request.method, request.url.path)
        return error_response(request, 422, "a value is outside the range the database can store")
    raise exc


def _kind(exc: BaseException) -> str:
    """The exception's type, and the driver's type and SQLSTATE for a database error; never its message."""
    kind = type(exc).__name__
    orig = getattr(exc, "orig", None)
    if orig is not None:
        kind += f" ({type(orig).__module__}.{type(orig).__name__}"
        sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        kind += f", SQLSTATE {sqlstate})" if sqlstate else ")"
    return kind


def describe_without_data(exc: BaseException) -> str:
    """The exception's type and the code lines it passed, without its message or any local value."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = " <- ".join(
        f"{frame.filename.rsplit('/', 2)[-1]}:{frame.lineno}" for frame in reversed(frames[-6:])
    )
    return f"{_kind(exc)} at {where}"


class UnexpectedErrors:
    """Outermost middleware: an unexpected exception becomes a 500 whose log line holds no data.

    Starlette's own error middleware would hand the exception, message and all, to the server's log.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; answer 500 and log the error without data if it raises."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:  # noqa: BLE001 - logged without data, answered 500
            error_log.error("500 on %s %s: %s", scope["method"], scope["path"], describe_without_data(exc))
            if not started:
                response = error_response(Request(scope), 500, SERVER_ERROR)
                await response(scope, receive, send)
