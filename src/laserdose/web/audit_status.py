"""The app's watch over its audit log: verified at start and on a schedule, shown to admins.

Each check verifies the chain, the MACs and the checkpoints, then writes a new checkpoint if the log grew;
the result is kept in `app.state.audit_state` and logged (without data: counts and MACs only).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse

from laserdose.clinic import audit, audit_checkpoints
from laserdose.clinic.models import Role, User
from laserdose.web.deps import page_user, roles
from laserdose.web.forms import render
from laserdose.web.settings import WebSettings

audit_log = logging.getLogger("laserdose.audit")
router = APIRouter(include_in_schema=False)
Admin = Annotated[User, Depends(roles(page_user, Role.ADMIN, doing="manage users and read the audit log"))]


def audit_files(settings: WebSettings, database_label: str) -> tuple[Path, Path]:
    """The key file and checkpoint file of `settings` (defaults filled in)."""
    key_file = settings.audit_key_file or audit.default_key_file()
    checkpoints = settings.audit_checkpoint_file or audit_checkpoints.default_checkpoint_file(
        key_file, database_label
    )
    return key_file, checkpoints


def check_now(app: FastAPI) -> audit_checkpoints.AuditState:
    """Verify the audit log, write a checkpoint if it grew, keep and log the result (blocking)."""
    with app.state.sessions() as session:
        state = audit_checkpoints.check(
            session=session,
            path=app.state.audit_checkpoint_file,
            key=app.state.audit_key,
            write=app.state.primary,  # checkpoints from one process; a page worker only verifies
        )
    app.state.audit_state = state
    line = audit_checkpoints.describe(state)
    (audit_log.info if state.ok else audit_log.error)("%s", line)
    return state


@asynccontextmanager
async def audit_watch(app: FastAPI) -> AsyncIterator[None]:
    """Check at start, every `audit_check_interval_s` while running, and once more at stop.

    The primary checks before it serves; a page worker serves at once and checks meanwhile (new
    connections already wait for it on the shared port).
    """
    if app.state.primary:
        await anyio.to_thread.run_sync(check_now, app)
    interval_s = app.state.settings.audit_check_interval_s
    async with anyio.create_task_group() as tasks:

        async def every_interval() -> None:
            if not app.state.primary:
                await anyio.to_thread.run_sync(check_now, app)
            while True:
                await anyio.sleep(interval_s)
                await anyio.to_thread.run_sync(check_now, app)

        tasks.start_soon(every_interval)
        try:
            yield
        finally:
            tasks.cancel_scope.cancel()
    await anyio.to_thread.run_sync(check_now, app)


@router.get("/admin/audit-status")
def audit_status(request: Request, user: Admin) -> HTMLResponse:
    """The audit log's state at the last check (admins)."""
    state: audit_checkpoints.AuditState | None = getattr(request.app.state, "audit_state", None)
    return render(request, "audit_status.html", user, state=state)
