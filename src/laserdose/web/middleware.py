"""App-wide ASGI middleware: request bounds, security headers and a data-free access log.

Plain ASGI classes rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware costs a task and
two memory streams per request.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from laserdose.web.errors import error_response
from laserdose.web.strict_json import JsonRefused, parse_strict

access_log = logging.getLogger("laserdose.web.access")
MAX_ID = 2**31 - 1  # ids are 32-bit integer columns on PostgreSQL; no row has a larger one
_DIGITS = re.compile(rb"[0-9]+")
# No inline script or style anywhere: scripts and styles come from /static only. Charts are inline SVG
# styled by app.css; htmx is told not to inject its own <style> (see base.html).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()"),
)


@dataclass(frozen=True)
class RequestBounds:
    """Limits on what a request may carry.

    Attributes:
        max_body_bytes: largest request body [bytes]; larger ones get 413.
        max_json_depth: deepest nesting of objects and arrays in a JSON body.
    """

    max_body_bytes: int
    max_json_depth: int


class _Refused(Exception):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def _check_path(path: bytes) -> None:
    for segment in path.split(b"/"):
        if _DIGITS.fullmatch(segment) and (len(segment) > 10 or int(segment) > MAX_ID):
            raise _Refused(
                404, f"no record has id {segment[:24].decode()}{'...' if len(segment) > 24 else ''}"
            )


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class RequestGuard:
    """Refuses bad requests before any route runs.

    Ids beyond the integer columns get 404, bodies over the size limit 413, JSON that is not strict
    RFC 8259 or nests too deep 422. A body is read whole (it is at most `max_body_bytes`) and
    replayed to the app.
    """

    def __init__(self, app: ASGIApp, bounds: RequestBounds) -> None:
        self.app = app
        self.bounds = bounds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            _check_path(scope.get("raw_path") or scope["path"].encode())
            if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE") and _declared_length(scope) in (
                None,
                0,
            ):
                await self.app(scope, receive, send)
                return
            body = await self._read_body(scope, receive)
            if body and _is_json(scope):
                parse_strict(body, self.bounds.max_json_depth)
        except _Refused as refused:
            await error_response(Request(scope), refused.status_code, refused.message)(scope, receive, send)
            return
        except JsonRefused as refused:
            await error_response(Request(scope), 422, str(refused))(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.bounds.max_body_bytes
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            raise _Refused(413, _too_large(limit))
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Refused(400, "the client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _Refused(413, _too_large(limit))
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _too_large(limit: int) -> str:
    """The 413 sentence: how much is accepted, and what the person can do."""
    return f"what was sent is larger than the {limit:,} bytes this server accepts; send less at once"


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect, as the server would

    return replay


class SecurityHeaders:
    """Adds the security headers to every response, and `Cache-Control: no-store` to all but /static.

    A route may set a stricter header of its own, which is kept. Everything outside /static may hold
    patient data (pages, charts, PDFs, API answers): no browser or proxy keeps a copy.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _HEADERS:
                    headers.setdefault(name, value)  # a route may set a stricter one (the SVG logo's CSP)
                if not static:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, with_headers)


class AccessLog:
    """Logs method, path, status and time only: query strings (searches by name) and bodies never."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0

        async def note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, note_status)
        finally:
            elapsed_ms = (time.perf_counter() - start) * 1000
            access_log.info("%s %s %d %.1f ms", scope["method"], scope["path"], status, elapsed_ms)
