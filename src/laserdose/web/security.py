"""Bearer tokens, CSRF tokens, login throttling and the client's address behind proxies."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import defaultdict, deque

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class TokenSigner:
    """Issues and checks signed, expiring API bearer tokens that carry a user id."""

    def __init__(self, secret_key: str, ttl_s: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="laserdose-api-token")
        self._ttl_s = ttl_s

    def issue(self, user_id: int, session_version: int) -> str:
        """Return a token for `user_id`, valid while the user's session version stays `session_version`."""
        return self._serializer.dumps({"uid": user_id, "sv": session_version})

    def user_id(self, token: str) -> tuple[int, int] | None:
        """Return (user id, session version) of a valid, unexpired token, else None."""
        try:
            payload = self._serializer.loads(token, max_age=self._ttl_s)
        except (BadSignature, SignatureExpired):
            return None
        if not isinstance(payload, dict):
            return None
        uid, version = payload.get("uid"), payload.get("sv")
        return (uid, version) if type(uid) is int and type(version) is int else None


def new_csrf_token() -> str:
    """Return a fresh random CSRF token."""
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    """Compare CSRF tokens in constant time; missing tokens never match."""
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


class LoginThrottle:
    """Exponential backoff of failed logins per (client address, username), and per client overall.

    After `attempts` failures of one client for one username within `window_s`, that client must wait
    `backoff_s`, doubled with each further failure up to `max_backoff_s`, before trying that username
    again; a client that fails on ten times as many attempts across usernames waits the same way. Nothing
    is keyed on the username alone: a stranger can slow only their own client, never lock an account for
    its owner, who logs in from another address at once. Keys whose failures have all expired are dropped
    once more than `max_keys` are tracked. One process only: behind several workers each counts its own.
    """

    def __init__(
        self, attempts: int, window_s: float, backoff_s: float, max_backoff_s: float, max_keys: int = 10_000
    ) -> None:
        self._attempts = attempts
        self._window_s = window_s
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._max_keys = max_keys
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and now - failures[0] > self._window_s:
            failures.popleft()
        return failures

    def _wait_s(self, key: tuple[str, str], allowed: int, now: float) -> float:
        failures = self._recent(key, now)
        extra = len(failures) - allowed
        if extra < 0:
            return 0.0
        backoff_s = min(self._backoff_s * 2.0 ** min(extra, 32), self._max_backoff_s)
        return max(0.0, failures[-1] + backoff_s - now)

    def retry_after_s(self, client: str, username: str, now: float | None = None) -> float:
        """Seconds this client must wait before trying `username` again (0: it may try now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            return max(
                self._wait_s((client, username), self._attempts, now),
                self._wait_s((client, ""), 10 * self._attempts, now),
            )

    def failed(self, client: str, username: str, now: float | None = None) -> None:
        """Record one failed attempt of `client` for `username`."""
        now = time.monotonic() if now is None else now
        with self._lock:
            for key in ((client, username), (client, "")):
                self._recent(key, now).append(now)
            if len(self._failures) > self._max_keys:
                for stale in [key for key in self._failures if not self._recent(key, now)]:
                    del self._failures[stale]

    def tracked_keys(self) -> int:
        """Number of keys with failures on record."""
        with self._lock:
            return len(self._failures)

    def succeeded(self, client: str, username: str) -> None:
        """Forget this client's failures for `username`."""
        with self._lock:
            self._failures.pop((client, username), None)


def client_address(peer: str | None, forwarded_for: str | None, trusted_proxies: frozenset[str]) -> str:
    """The client's address: the peer, or the address a trusted proxy in front of the app saw.

    When the peer is a trusted proxy, X-Forwarded-For is read from the right (each proxy appends the
    address it saw) and the first address that is not a trusted proxy is the client.

    Args:
        peer: the TCP peer's address.
        forwarded_for: the X-Forwarded-For header, if any.
        trusted_proxies: addresses of the reverse proxies in front of the app.
    """
    address = peer or "?"
    if address not in trusted_proxies or not forwarded_for:
        return address
    for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
        if hop and hop not in trusted_proxies:
            return hop[:64]
    return address
