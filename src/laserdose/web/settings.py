"""Web settings from the environment (prefix LASERDOSE_), refusing a default secret outside development."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "development-only-secret-change-me"  # noqa: S105 - refused outside development
MIN_SECRET_LENGTH = 32


class WebSettings(BaseSettings):
    """Settings of the web app.

    Attributes:
        environment: development, test or production; only development accepts the default secret.
        secret_key: signs session cookies and API tokens; 32+ characters outside development.
        database_url: SQLAlchemy URL, or None for `LASERDOSE_DATABASE_URL` / the SQLite default.
        secure_cookies: mark cookies Secure (set when served behind HTTPS).
        session_max_age_s: session cookie lifetime [s].
        token_ttl_s: API bearer token lifetime [s].
        login_attempts: failed logins allowed per client and per username within `login_window_s`.
        login_window_s: rate-limit window [s].
        device_url: the treatment console's machine: tcp://HOST:PORT or serial:///dev/ttyX (default: the
            demo simulator that `make run` starts).
        device_simulator: the machine is the simulator; accept the time scale it reports (tests run it
            faster than real time). Never set it for a real machine.
        console_period_s: the console's control period, wall clock [s]: one heartbeat, one measurement and
            one database write of the session record each period.
        console_grace_s: a running session that no browser watches for this long is stopped [s] [U].
        worker_threads: threads that run the routes' database work; with `page_threads`, the size of the
            connection pool.
        page_threads: threads per process that run the busiest pages whole (`laserdose.web.deps.in_one_hop`);
            None: 1 on SQLite, where more only hand the interpreter lock between cores, and 2 on
            PostgreSQL, where a second thread works while the first waits for the server's round trips
            (docs/performance.md). `laserdose serve --workers` uses the other cores.
        session_idle_s: a page session unused for this long ends [s].
        max_body_bytes: largest request body accepted [bytes]; larger ones get 413.
        max_json_depth: deepest nesting of objects and arrays in a JSON body.
        trusted_proxies: addresses of reverse proxies whose X-Forwarded-For names the client; from any
            other peer the header is ignored (empty: trust none).
        login_backoff_s: wait after the allowed failed logins of one client for one username, doubled with
            each further failure [s].
        login_backoff_max_s: longest such wait [s].
        audit_key_file: file holding the audit log's HMAC key, kept outside the database; created (mode
            0600) on first start if missing. None: `audit-hmac.key` in the data directory, which production
            refuses.
        audit_checkpoint_file: append-only file of signed audit checkpoints (row count and head MAC), kept
            outside the database. None: next to the key file, named after the database.
        audit_check_interval_s: how often the running app re-verifies the audit log and writes a
            checkpoint [s].
        clinic_name: the clinic's name, printed at the head of every PDF report it issues.
    """

    model_config = SettingsConfigDict(env_prefix="LASERDOSE_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    secret_key: str = DEVELOPMENT_SECRET
    database_url: str | None = None
    secure_cookies: bool = False
    session_max_age_s: int = Field(default=8 * 3600, gt=0)
    token_ttl_s: int = Field(default=3600, gt=0)
    login_attempts: int = Field(default=5, gt=0)
    login_window_s: float = Field(default=300.0, gt=0)
    device_url: str = "tcp://127.0.0.1:7001"
    device_simulator: bool = False
    console_period_s: float = Field(default=0.1, ge=0.02, le=0.2)
    console_grace_s: float = Field(default=5.0, gt=0, le=60.0)
    worker_threads: int = Field(default=8, ge=1, le=64)
    page_threads: int | None = Field(default=None, ge=1, le=64)
    session_idle_s: int = Field(default=30 * 60, gt=0)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_json_depth: int = Field(default=32, ge=2, le=200)
    trusted_proxies: list[str] = Field(default_factory=list)
    login_backoff_s: float = Field(default=1.0, gt=0)
    login_backoff_max_s: float = Field(default=300.0, gt=0)
    audit_key_file: Path | None = None
    audit_checkpoint_file: Path | None = None
    audit_check_interval_s: float = Field(default=300.0, gt=0)
    clinic_name: str = Field(default="laserdose clinic", min_length=1, max_length=80)

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> WebSettings:
        if self.environment != "development" and (
            self.secret_key == DEVELOPMENT_SECRET or len(self.secret_key) < MIN_SECRET_LENGTH
        ):
            raise ValueError(
                f"LASERDOSE_SECRET_KEY must be set to a random value of {MIN_SECRET_LENGTH}+ characters "
                f"outside development (environment is {self.environment!r})"
            )
        if self.environment == "production" and self.audit_key_file is None:
            raise ValueError(
                "LASERDOSE_AUDIT_KEY_FILE must name the audit key's file in production, on storage the "
                "database's users cannot write"
            )
        return self
