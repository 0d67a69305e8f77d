"""Typed FastAPI dependencies: database session, the acting user (API token or page session), roles."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

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
    if user is None or claims is None or user.session_version != claims[1]:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "not authenticated", headers={"WWW-Authenticate": "Bearer"}
        )
    return user


class LoginRequired(Exception):
    """Raised by page dependencies when nobody is logged in; the app redirects to /login."""


def page_user(request: Request, session: DbSession) -> User:
    """Return the user of a live session cookie (see `laserdose.web.login`), else go to the login page."""
    user = page_session_user(request, session)
    _release_connection(session)
    if user is None:
        request.session.clear()
        raise LoginRequired
    request.state.user = user  # an error page of this request still shows the person's menu
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
