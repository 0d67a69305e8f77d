"""Admin pages: users (create, deactivate, reset password, change role) and the audit log (filter, pages).

Admins only: anyone else gets the 403 page. A deactivation or a new password ends every session and API
token of that user at once (`laserdose.clinic.users`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from laserdose.clinic import audit_query, users
from laserdose.clinic.models import Role, User
from laserdose.clinic.passwords import check_password
from laserdose.errors import InputError
from laserdose.web.audit_status import check_now
from laserdose.web.deps import DbSession, page_user, roles
from laserdose.web.forms import PostedForm, check_csrf, render
from laserdose.web.plain_words import sentence

router = APIRouter(include_in_schema=False)
Admin = Annotated[User, Depends(roles(page_user, Role.ADMIN, doing="manage users and read the audit log"))]
ROLES = tuple(role.value for role in Role)
AUDIT_PAGE_SIZE = 50


def _users_page(
    request: Request, session: DbSession, user: User, status_code: int = 200, **context: Any
) -> HTMLResponse:
    context = {"new": {}, "errors": {}, "done": "", "row_error": {}, **context}
    return render(
        request, "admin_users.html", user, status_code, people=users.list_users(session=session),
        roles=ROLES, min_password=users.MIN_PASSWORD_LENGTH, **context,
    )  # fmt: skip


@router.get("/admin/users")
def users_page(request: Request, session: DbSession, user: Admin) -> HTMLResponse:
    """Every user, with forms to add one and to change, reset or deactivate each."""
    done = request.session.pop("admin_done", "")  # what the last change did, said once
    return _users_page(request, session, user, done=done if isinstance(done, str) else "")


@router.post("/admin/users", response_model=None)
def add_user(request: Request, form: PostedForm, session: DbSession, user: Admin) -> Response:
    """Add a user; a refused name, role or password is shown beside its field, with what was typed kept."""
    check_csrf(request, form.get("csrf_token"))
    new = {key: str(form.get(key, "")) for key in ("username", "role", "password", "password_again")}
    errors: dict[str, str] = {}
    if new["password"] != new["password_again"]:
        errors["password_again"] = "The two passwords differ; type the same password in both fields."
    checks: dict[str, Callable[[], str]] = {
        "username": lambda: users.check_username(session, new["username"].strip()),
        "password": lambda: check_password(new["password"], new["username"].strip()),
    }
    for field, check in checks.items():  # each said beside its field, all at once
        try:
            check()
        except InputError as exc:
            errors.setdefault(field, sentence(str(exc)))
    if not errors:
        try:
            users.create_user(
                session=session, username=new["username"].strip(), password=new["password"],
                role=new["role"], actor_name=user.username,
            )  # fmt: skip
        except InputError as exc:
            session.rollback()
            errors[_field_of(str(exc))] = sentence(str(exc))
    if errors:
        # Passwords are not sent back into the page: they would sit in its HTML and the browser's cache.
        kept = {"username": new["username"], "role": new["role"]}
        return _users_page(request, session, user, 422, new=kept, errors=errors)
    session.commit()
    return _done(request, f"Added {new['username'].strip()} as {new['role']}.")


@router.post("/admin/users/{username}/deactivate", response_model=None)
def deactivate(
    request: Request, username: str, form: PostedForm, session: DbSession, user: Admin
) -> Response:
    """Deactivate a user: they cannot log in, and every session and token of theirs ends now."""
    check_csrf(request, form.get("csrf_token"))
    return _change(request, session, user, username, lambda: users.deactivate_user(
        session=session, username=username, actor_name=user.username
    ), f"Deactivated {username}; their sessions have ended.")  # fmt: skip


@router.post("/admin/users/{username}/password", response_model=None)
def reset_password(
    request: Request, username: str, form: PostedForm, session: DbSession, user: Admin
) -> Response:
    """Give a user a new password (same rules as ever); every session and token of theirs ends now."""
    check_csrf(request, form.get("csrf_token"))
    password = str(form.get("password", ""))
    if password != str(form.get("password_again", "")):
        message = "The two passwords differ; type the same new password in both fields."
        return _users_page(request, session, user, 422, row_error={username: message})
    return _change(request, session, user, username, lambda: users.set_password(
        session=session, username=username, password=password, actor_name=user.username
    ), f"Set a new password for {username}; their sessions have ended.")  # fmt: skip


@router.post("/admin/users/{username}/role", response_model=None)
def change_role(
    request: Request, username: str, form: PostedForm, session: DbSession, user: Admin
) -> Response:
    """Give a user another role."""
    check_csrf(request, form.get("csrf_token"))
    role = str(form.get("role", ""))
    return _change(request, session, user, username, lambda: users.change_role(
        session=session, username=username, role=role, actor_name=user.username
    ), f"{username} is now {role}.")  # fmt: skip


def _change(
    request: Request, session: DbSession, user: User, username: str, action: Callable[[], User], done: str
) -> Response:
    try:
        action()
    except InputError as exc:
        session.rollback()
        return _users_page(request, session, user, 422, row_error={username: sentence(str(exc))})
    session.commit()
    return _done(request, done)


def _done(request: Request, message: str) -> RedirectResponse:
    request.session["admin_done"] = message  # in the signed session, not the URL: no one can forge it
    return RedirectResponse("/admin/users", status_code=303)


def _field_of(message: str) -> str:
    lowered = message.lower()
    if lowered.startswith("password"):
        return "password"
    return "role" if "role" in lowered else "username"


@router.get("/admin/audit")
def audit_page(
    request: Request,
    session: DbSession,
    user: Admin,
    person: Annotated[str, Query(max_length=64)] = "",
    patient: Annotated[str, Query(max_length=32)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    date_from: Annotated[str, Query(alias="from", max_length=10)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=10_000_000)] = 1,
) -> HTMLResponse:
    """The audit log, newest first, filtered; with the chain's verification state at the last check."""
    typed = {"person": person, "patient": patient, "action": action, "from": date_from, "to": date_to}
    errors: dict[str, str] = {}
    patient_id, found_patient = None, None
    if patient.strip():
        try:
            found_patient = audit_query.find_patient(session=session, actor=user, text=patient)
            patient_id = found_patient.id
        except InputError as exc:
            errors["patient"] = str(exc)
    days = {key: _day(key, typed[key], errors) for key in ("from", "to")}
    people, actions = audit_query.choices(session=session, actor=user)
    result = None
    if not errors:
        wanted = audit_query.AuditFilter(person.strip(), patient_id, action.strip(), days["from"], days["to"])
        try:
            result = audit_query.search(
                session=session, actor=user, wanted=wanted, offset=(page - 1) * AUDIT_PAGE_SIZE,
                limit=AUDIT_PAGE_SIZE,
            )  # fmt: skip
        except InputError as exc:
            errors["to"] = str(exc)

    def page_link(to_page: int) -> str:
        return "/admin/audit?" + urlencode({**{k: v for k, v in typed.items() if v}, "page": to_page})

    state = getattr(request.app.state, "audit_state", None)
    return render(
        request, "admin_audit.html", user, 422 if errors else 200, typed=typed, errors=errors,
        result=result, people=people, actions=actions, state=state, page_link=page_link,
        found_patient=found_patient,
    )  # fmt: skip


def _day(key: str, text: str, errors: dict[str, str]) -> dt.date | None:
    if not text.strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        label = "From" if key == "from" else "To"
        errors[key] = f"{label}: type a date as YYYY-MM-DD (for example 2026-03-31), or pick one."
        return None


@router.post("/admin/audit/verify")
def verify_now(request: Request, form: PostedForm, user: Admin) -> RedirectResponse:
    """Verify the chain, MACs and checkpoints now (it also writes a checkpoint if the log grew)."""
    check_csrf(request, form.get("csrf_token"))
    check_now(request.app)  # a plain def: FastAPI runs it in the thread pool, off the event loop
    return RedirectResponse("/admin/audit", status_code=303)
