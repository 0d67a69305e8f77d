"""Application factory: wiring of settings, database, sessions, templates, routers and error pages."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from laserdose.clinic import db
from laserdose.clinic.console_registry import ConsoleRegistry
from laserdose.clinic.qa_guided import GuidedSlot
from laserdose.clinic.records import NotFound
from laserdose.clinic.users import Forbidden
from laserdose.errors import InputError
from laserdose.web.deps import LoginRequired
from laserdose.web.security import LoginRateLimiter, TokenSigner
from laserdose.web.settings import WebSettings

HERE = Path(__file__).parent
access_log = logging.getLogger("laserdose.web.access")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status_code: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=status_code)
    templates: Jinja2Templates = request.app.state.templates
    context = {"status_code": status_code, "message": message, "user": None}
    return templates.TemplateResponse(request, "error.html", context, status_code=status_code)


def _install_error_handlers(app: FastAPI) -> None:
    async def login_required(request: Request, _exc: Exception) -> Response:
        return RedirectResponse("/login", status_code=303)

    async def forbidden(request: Request, exc: Exception) -> Response:
        return _error(request, 403, str(exc))

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(request, 404, str(exc))

    async def bad_input(request: Request, exc: Exception) -> Response:
        return _error(request, 422, str(exc))

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(Forbidden, forbidden)
    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(InputError, bad_input)


async def _log_without_patient_data(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    # Method, path and status only: query strings (searches by name) and bodies never reach the log.
    start = time.perf_counter()
    response = await call_next(request)
    elapsed_ms = (time.perf_counter() - start) * 1000
    access_log.info("%s %s %d %.1f ms", request.method, request.url.path, response.status_code, elapsed_ms)
    return response


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """Build the web app for `settings` (default: from the environment)."""
    from laserdose.web.routes import (
        api,
        console,
        courses_api,
        outcome_pages,
        pages,
        plan_pages,
        qa_guided_pages,
        qa_pages,
        referral_pages,
        screenings_api,
    )

    settings = settings or WebSettings()
    app = FastAPI(
        title="laserdose clinic", version="1", docs_url="/api/docs", openapi_url="/openapi.json",
        lifespan=console.console_lifespan,
    )  # fmt: skip
    engine = db.make_engine(settings.database_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = db.session_factory(engine)
    app.state.tokens = TokenSigner(settings.secret_key, settings.token_ttl_s)
    app.state.login_limiter = LoginRateLimiter(settings.login_attempts, settings.login_window_s)
    app.state.templates = Jinja2Templates(directory=HERE / "templates")
    app.state.console = ConsoleRegistry()  # the treatment console runs of this process
    app.state.qa_guided = GuidedSlot()  # the guided power check of this process
    app.add_middleware(
        SessionMiddleware, secret_key=settings.secret_key, session_cookie="laserdose_session",
        max_age=settings.session_max_age_s, same_site="lax", https_only=settings.secure_cookies,
    )  # fmt: skip
    app.middleware("http")(_log_without_patient_data)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _install_error_handlers(app)

    app.include_router(api.router)
    app.include_router(courses_api.router)
    app.include_router(pages.router)
    app.include_router(outcome_pages.router)
    app.include_router(console.router)
    app.include_router(plan_pages.router)
    app.include_router(referral_pages.router)
    app.include_router(screenings_api.router)
    app.include_router(qa_guided_pages.router)  # before qa_pages: /machines/guided is no serial number
    app.include_router(qa_pages.router)
    return app
