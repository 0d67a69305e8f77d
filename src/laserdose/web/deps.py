"""Typed FastAPI dependencies: database session, the acting user (API token or page session), roles."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, ParamSpec, TypeVar

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from laserdose.clinic import users
from laserdose.clinic.models import Role, User
from laserdose.web.login import page_session_user

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/token", auto_error=False)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Yield a database session; routes that change data commit it themselves.

    Async, so that opening (no I/O) and closing (the connection back to the pool) happen on the event
    loop: a sync generator would need a worker thread again to close, and with every thread busy waiting
    for a pooled connection that only such a close returns, requests would deadlock until the pool's
    timeout. The routes' queries still run in worker threads.
    """
    session = request.app.state.sessions()
    try:
        yield session
    finally:
        session.close()


# scope="function": the session closes (its connection back to the pool) as soon as the route returns,
# before FastAPI validates the answer in another worker-thread hop.
DbSession = Annotated[Session, Depends(get_session, scope="function")]


def _release_connection(session: Session) -> None:
    """End the user lookup's read transaction, so its pooled connection goes back now.

    The route runs in another worker thread later; a connection held across that hop lets requests that
    hold connections wait for threads while the threads wait for connections (a deadlock until the
    pool's timeout). Objects stay usable: sessions do not expire them on commit.
    """
    session.commit()


def api_user(
    request: Request, session: DbSession, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> User:
    """Return the user of a valid bearer token, else answer 401."""
    claims = request.app.state.tokens.user_id(token) if token else None
    user = users.get_user(session=session, user_id=claims[0]) if claims is not None else None
    _release_connection(session)
    return _authenticated(user, claims)


def _authenticated(user: User | None, claims: tuple[int, int] | None) -> User:
    if user is None or claims is None or user.session_version != claims[1]:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "not authenticated", headers={"WWW-Authenticate": "Bearer"}
        )
    return user


def api_reader(request: Request, session: Session, token: str | None, *allowed: Role) -> User:
    """`api_user` and its role check, for a route that does all its work in one hop (`in_one_hop`).

    The same checks as `api_user` and `roles` (a token of an older session version, or of a deactivated
    user, is refused at once), with the same answers. The user is a read-only copy (`users.read_user`).
    """
    claims = request.app.state.tokens.user_id(token) if token else None
    user = users.read_user(session=session, user_id=claims[0]) if claims is not None else None
    user = _authenticated(user, claims)
    users.require_role(user, *allowed)
    return user


class LoginRequired(Exception):
    """Raised by page dependencies when nobody is logged in; the app redirects to /login."""


def page_user(request: Request, session: DbSession) -> User:
    """Return the user of a live session cookie (see `laserdose.web.login`), else go to the login page."""
    user = page_session_user(request, session)
    _release_connection(session)
    return _logged_in(request, user)


def _logged_in(request: Request, user: User | None) -> User:
    if user is None:
        request.session.clear()
        raise LoginRequired
    request.state.user = user  # an error page of this request still shows the person's menu
    return user


P = ParamSpec("P")
R = TypeVar("R")
# Coroutine endpoints made by `in_one_hop`: all their work runs in the thread pool, none on the event loop.
ONE_HOP_ENDPOINTS: set[Callable[..., Any]] = set()


def in_one_hop(work: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """An endpoint that runs `work`, a plain def doing a whole request, in one worker-thread hop.

    FastAPI runs a plain def route, and each plain def dependency, in a worker thread of its own; the
    busiest routes instead open their database session, look the user up (`page_reader`) and do their
    work in one thread: no database wait holds up the event loop (the console's STOP), with one hop and
    one pooled connection per request instead of two of each. The thread is one of the app's route
    threads (`route_threads`, `page_threads` of them, started with the app): a plain executor hand-off
    costs a fraction of anyio's (its capacity limiter and cancel scopes), the other routes' way. `work`
    takes the request as its argument `request`.
    """
    if "request" not in inspect.signature(work).parameters:
        raise TypeError(f"{work.__name__} must take the request as `request`")

    @functools.wraps(work)
    async def endpoint(*args: P.args, **kwargs: P.kwargs) -> R:
        request = kwargs["request"]
        assert isinstance(request, Request)
        threads = getattr(request.app.state, "route_threads", None)
        if threads is None:  # an app whose lifespan did not run (started without its context)
            return await run_in_threadpool(work, *args, **kwargs)
        call = functools.partial(contextvars.copy_context().run, work, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(threads, call)

    ONE_HOP_ENDPOINTS.add(endpoint)
    return endpoint


@contextlib.asynccontextmanager
async def route_threads(app: Any, threads: int) -> AsyncIterator[None]:
    """The app's route threads for `in_one_hop` while the block runs; shut down (waiting) after it."""
    app.state.route_threads = ThreadPoolExecutor(threads, thread_name_prefix="laserdose-route")
    try:
        yield
    finally:
        executor, app.state.route_threads = app.state.route_threads, None
        executor.shutdown(wait=True)


def page_reader(request: Request, session: Session, *allowed: Role) -> User:
    """`page_user` and its role check, for a route that does all its work in one worker-thread hop.

    The busiest pages (the chart) look the user up in the thread that then reads the records, on the same
    connection and transaction: one hop and one connection per request instead of two. The checks are
    those of `page_user` and `roles` (a session cookie of an older session version, or of a deactivated
    user, is refused at once); their refusals are the same exceptions, answered the same way. The user
    is a read-only copy (`users.read_user`): for routes that only read who acts.
    """
    user = _logged_in(request, page_session_user(request, session, read_only=True))
    users.require_role(user, *allowed)
    return user


ApiUser = Annotated[User, Depends(api_user)]
PageUser = Annotated[User, Depends(page_user)]


def roles(
    source: Callable[..., User], *allowed: Role, doing: str = "do this"
) -> Callable[..., Awaitable[User]]:
    """Return a dependency that gives the acting user from `source` if their role is allowed, else 403.

    `doing` names what is refused in the 403's sentence ("Only a clinician can sign plans; ...").
    """

    # A default, not Annotated: with postponed annotations FastAPI could not resolve the local `source`.
    # Async: a role check does no I/O, and a sync dependency would cost a worker-thread hop per request.
    async def check(user: User = Depends(source)) -> User:  # noqa: B008
        users.require_role(user, *allowed, doing=doing)
        return user

    return check
