"""Bearer tokens, CSRF tokens and login rate limiting."""

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

    def issue(self, user_id: int) -> str:
        """Return a token for `user_id`."""
        return self._serializer.dumps({"uid": user_id})

    def user_id(self, token: str) -> int | None:
        """Return the user id in a valid, unexpired token, else None."""
        try:
            payload = self._serializer.loads(token, max_age=self._ttl_s)
        except (BadSignature, SignatureExpired):
            return None
        uid = payload.get("uid") if isinstance(payload, dict) else None
        return uid if isinstance(uid, int) else None


def new_csrf_token() -> str:
    """Return a fresh random CSRF token."""
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    """Compare CSRF tokens in constant time; missing tokens never match."""
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


class LoginRateLimiter:
    """Counts failed logins per key (client address, username) in a sliding window; thread-safe.

    Keys whose failures have all expired are dropped once more than `max_keys` are tracked, so guessing
    with endless made-up usernames cannot grow memory without bound. One process only: behind several
    workers each counts its own failures.
    """

    def __init__(self, attempts: int, window_s: float, max_keys: int = 10_000) -> None:
        self._attempts = attempts
        self._window_s = window_s
        self._max_keys = max_keys
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and now - failures[0] > self._window_s:
            failures.popleft()
        return failures

    def blocked(self, *keys: str) -> bool:
        """Whether any key has used up its failed attempts in the window."""
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(key, now)) >= self._attempts for key in keys)

    def failed(self, *keys: str) -> None:
        """Record one failed attempt for each key."""
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)
            if len(self._failures) > self._max_keys:
                for stale in [key for key in self._failures if not self._recent(key, now)]:
                    del self._failures[stale]

    def tracked_keys(self) -> int:
        """Number of keys with failures on record."""
        with self._lock:
            return len(self._failures)

    def succeeded(self, *keys: str) -> None:
        """Forget the failures of each key."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
