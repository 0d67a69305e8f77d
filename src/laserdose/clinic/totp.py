"""Time-based one-time passwords [RFC6238] over HOTP [RFC4226], standard library only.

An authenticator app shares a random secret (base32) with the server; each 30 s step both compute
HMAC(secret, step) and show 6 decimal digits of it. The server accepts the current step and one either
side (clock drift), and never the same step twice for one user (replay).
"""

from __future__ import annotations

import base64
import hmac
import secrets
import struct
import time
from urllib.parse import quote

STEP_S = 30  # [U] RFC 6238 section 4.1: the default time step X = 30 s
DIGITS = 6
DRIFT_STEPS = 1  # [U] RFC 6238 section 5.2 recommends at most one step of network delay / drift
SECRET_BYTES = 20  # [U] RFC 4226 section 4, R6: at least 128 bits, 160 recommended


def new_secret() -> str:
    """Return a fresh random secret, base32 without padding, as authenticator apps take it."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")


def _key(secret_b32: str) -> bytes:
    padded = secret_b32.upper() + "=" * (-len(secret_b32) % 8)
    return base64.b32decode(padded)


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest: str = "sha1") -> str:
    """RFC 4226 HOTP value of `counter` under `key`, `digits` decimal digits (dynamic truncation)."""
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    code = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFF_FFFF
    return str(code % 10**digits).zfill(digits)


def totp_at(key: bytes, unix_time_s: float, digits: int = DIGITS, digest: str = "sha1") -> str:
    """RFC 6238 TOTP value at `unix_time_s` [s] with T0 = 0 and a 30 s step."""
    return hotp(key, int(unix_time_s // STEP_S), digits, digest)


def matching_step(secret_b32: str, code: str, now_s: float | None = None) -> int | None:
    """Return the time step whose code equals `code` (current step +- DRIFT_STEPS), else None.

    Args:
        secret_b32: the user's secret, base32.
        code: what the user typed (spaces allowed).
        now_s: Unix time [s]; default now.
    """
    code = code.replace(" ", "")
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    key = _key(secret_b32)
    step = int((time.time() if now_s is None else now_s) // STEP_S)
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if hmac.compare_digest(hotp(key, candidate), code):
            return candidate
    return None


def provisioning_uri(secret_b32: str, username: str, issuer: str = "laserdose") -> str:
    """The otpauth:// URI an authenticator app reads (as a QR code or typed)."""
    label = quote(f"{issuer}:{username}")
    return (
        f"otpauth://totp/{label}?secret={secret_b32}&issuer={quote(issuer)}&digits={DIGITS}&period={STEP_S}"
    )
