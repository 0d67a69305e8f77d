"""Logging in and out: throttled password (and TOTP) checks, page sessions that end.

A page session cookie carries the user id, the user's session version and when it was last used; it
stops working when the user's version moves on (logout, password change, deactivation: every cookie and
API token at once) or after `session_idle_s` without a request.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.orm import Session

from laserdose.clinic import access_audit, users
from laserdose.clinic.models import User
from laserdose.web.security import client_address, new_csrf_token

TOUCH_EVERY_S = 60  # the cookie's last-use time is rewritten at most this often [s]


def client_of(request: Request) -> str:
    """The client's address (X-Forwarded-For only from the configured proxies)."""
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.get("x-forwarded-for"), request.app.state.trusted_proxies)


@dataclass(frozen=True)
class LoginResult:
    """The outcome of one login attempt.

    Attributes:
        user: the user, if password (and code) matched.
        retry_after_s: when throttled, seconds to wait [s] (0 otherwise).
    """

    user: User | None
    retry_after_s: int = 0


def attempt(
    request: Request, session: Session, username: str, password: str, code: str | None, via: str = "page"
) -> LoginResult:
    """Check a login, throttled per client and username, and audit it; the caller commits.

    A checked attempt is audited, success or failure (never the password); a throttled one, refused
    before any check, is not: a flood of them would only fill the log.
    """
    throttle = request.app.state.login_throttle
    client = client_of(request)
    wait_s = throttle.retry_after_s(client, username)
    if wait_s > 0:
        return LoginResult(None, math.ceil(wait_s))
    user = users.authenticate(session=session, username=username, password=password, code=code)
    access_audit.record_login(session=session, username=username, user=user, via=via)
    if user is None:
        throttle.failed(client, username)
        return LoginResult(None)
    throttle.succeeded(client, username)
    return LoginResult(user)


def start_page_session(request: Request, user: User) -> None:
    """A fresh session for `user` (a new cookie on login: no fixation), with a fresh CSRF token.

    The token is made here rather than by the first page after login: the pages that follow then leave
    the session as it is, and the cookie is signed again only when it changes (its last-use time).
    """
    request.session.clear()
    request.session.update(
        {"uid": user.id, "sv": user.session_version, "seen": int(time.time()), "csrf": new_csrf_token()}
    )


def page_session_user(request: Request, session: Session, read_only: bool = False) -> User | None:
    """The user of a live page session, else None; refreshes the session's last-use time.

    With `read_only`, the user is a copy not attached to the session (`users.read_user`).
    """
    cookie = request.session
    uid, version, seen = cookie.get("uid"), cookie.get("sv"), cookie.get("seen")
    if type(uid) is not int or type(version) is not int or type(seen) is not int:
        return None
    now = int(time.time())
    if now - seen > request.app.state.settings.session_idle_s:
        return None
    lookup = users.read_user if read_only else users.get_user
    user = lookup(session=session, user_id=uid)
    if user is None or user.session_version != version:
        return None
    if now - seen >= TOUCH_EVERY_S:
        cookie["seen"] = now
    return user


def end_all_sessions(session: Session, user: User) -> None:
    """Log `user` out everywhere: every session cookie and API token of theirs stops working."""
    users.end_sessions(user)
    session.commit()
