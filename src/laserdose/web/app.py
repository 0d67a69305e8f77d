"""Application factory: wiring of settings, database, sessions, templates, routers and error pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from laserdose.clinic import audit, db
from laserdose.clinic.audit_group import GroupAppender
from laserdose.clinic.console_registry import ConsoleRegistry
from laserdose.clinic.qa_guided import GuidedSlot
from laserdose.clinical import body_chart
from laserdose.domain import quantities
from laserdose.web import icons, plain_words
from laserdose.web.audit_status import audit_files, audit_watch
from laserdose.web.deps import route_threads
from laserdose.web.errors import UnexpectedErrors, install_error_handlers
from laserdose.web.middleware import AccessLog, RequestBounds, RequestGuard, SecurityHeaders
from laserdose.web.security import LoginThrottle, TokenSigner
from laserdose.web.settings import WebSettings
from laserdose.web.workers import PrimaryOnly

HERE = Path(__file__).parent


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    from laserdose.web.routes.console import console_lifespan

    # Fewer threads than anyio's 40: on two cores more only fight over the GIL and the connection pool.
    anyio.to_thread.current_default_thread_limiter().total_tokens = app.state.settings.worker_threads
    async with AsyncExitStack() as stack:
        stack.callback(app.state.audit_appender.close)  # last: the views still waiting are written
        await stack.enter_async_context(route_threads(app, app.state.page_threads))
        if app.state.primary:  # a page worker's console is never used: the primary answers for it
            await stack.enter_async_context(console_lifespan(app))
        await stack.enter_async_context(audit_watch(app))
        yield


def create_app(settings: WebSettings | None = None, *, primary: bool = True) -> FastAPI:
    """Build the web app for `settings` (default: from the environment).

    `primary`: the process that owns the consoles, the login throttle and the audit checkpoints; False
    for a page worker (`laserdose.web.workers`), which hands those requests to the primary.
    """
    from laserdose.web import audit_status
    from laserdose.web.routes import (
        admin_pages,
        api,
        api_docs,
        body_chart_pages,
        console,
        correction_pages,
        corrections_api,
        course_pages,
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

    settings = settings or WebSettings()
    # No OpenTelemetry: the app sends nothing about its requests anywhere (exception messages could hold
    # patient data), and FastAPI's bridge otherwise looks for configured providers on every request.
    app = FastAPI(
        title="laserdose clinic", version="1", docs_url=None, redoc_url=None, openapi_url="/openapi.json",
        lifespan=_lifespan, telemetry={"tracing": False, "metrics": False, "logs": False},
    )  # fmt: skip
    # No bound on extra connections: FastAPI validates a sync route's answer in another worker-thread hop
    # while the request still holds its connection, so a bounded pool can fill with requests waiting for
    # a thread while every thread waits for a connection (a deadlock until the pool's 30 s timeout).
    url = settings.database_url or db.default_database_url()
    page_threads = settings.page_threads or (1 if url.startswith("sqlite") else 2)
    pool_size = settings.worker_threads + page_threads + 2
    engine = db.make_engine(url, pool_size=pool_size, max_overflow=-1)
    app.state.settings = settings
    app.state.primary = primary
    app.state.page_threads = page_threads
    app.state.engine = engine
    app.state.sessions = db.session_factory(engine)
    app.state.audit_appender = GroupAppender(app.state.sessions)  # chart views, committed in groups
    app.state.tokens = TokenSigner(settings.secret_key, settings.token_ttl_s)
    app.state.login_throttle = LoginThrottle(
        settings.login_attempts,
        settings.login_window_s,
        settings.login_backoff_s,
        settings.login_backoff_max_s,
    )
    app.state.trusted_proxies = frozenset(settings.trusted_proxies)
    key_file, app.state.audit_checkpoint_file = audit_files(settings, db.describe(engine))
    app.state.audit_key = audit.load_key(key_file)
    audit.use_key(app.state.audit_key)
    app.state.templates = Jinja2Templates(directory=HERE / "templates")
    app.state.templates.env.globals["icon"] = icons.icon
    app.state.templates.env.globals["domain"] = quantities  # forms show the ranges the checks enforce
    app.state.templates.env.filters["plain_sources"] = plain_words.plain_sources  # no [S]/[U] on pages
    app.state.templates.env.filters["plain_text"] = plain_words.plain_text
    app.state.templates.env.globals["body_chart"] = body_chart_pages.chart_svg  # console, chart, editor
    app.state.templates.env.globals["body_chart_words"] = body_chart.describe
    app.state.templates.env.auto_reload = settings.environment == "development"  # no stat() per render
    app.state.console = ConsoleRegistry()  # the treatment console runs of this process
    app.state.qa_guided = GuidedSlot()  # the guided power check of this process
    if not primary:  # fail safe: a request a worker should have handed on reaches no machine
        for name in ("console", "qa_guided", "login_throttle"):
            setattr(app.state, name, PrimaryOnly(name))
    app.add_middleware(
        SessionMiddleware, secret_key=settings.secret_key, session_cookie="laserdose_session",
        max_age=settings.session_max_age_s, same_site="lax", https_only=settings.secure_cookies,
    )  # fmt: skip
    bounds = RequestBounds(settings.max_body_bytes, settings.max_json_depth)
    app.add_middleware(RequestGuard, bounds=bounds)
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog)  # outermost: last added
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    install_error_handlers(app)

    # Routes are matched in order, at a cost per route tried: the busiest first (the API, the patient
    # list, the chart). patient_pages before pages: /patients/new is no patient id.
    app.include_router(api.router)
    app.include_router(patient_pages.router)
    app.include_router(pages.router)
    app.include_router(api_docs.router)  # Swagger UI from /static, not FastAPI's CDN page
    app.include_router(courses_api.router)
    app.include_router(corrections_api.router)
    app.include_router(correction_pages.router)
    app.include_router(day_api.router)
    app.include_router(day_pages.router)
    app.include_router(course_pages.router)
    app.include_router(outcome_pages.router)
    app.include_router(exercise_pages.router)
    app.include_router(body_chart_pages.router)
    app.include_router(note_pages.router)
    app.include_router(medication_pages.router)
    app.include_router(console.router)
    app.include_router(plan_pages.router)
    app.include_router(referral_pages.router)
    app.include_router(screenings_api.router)
    app.include_router(audit_status.router)
    app.include_router(admin_pages.router)
    app.include_router(qa_guided_pages.router)  # before qa_pages: /machines/guided is no serial number
    app.include_router(qa_pages.router)
    return app
