"""Users, roles and passwords (argon2id hashes, argon2-cffi defaults per RFC 9106)."""

from __future__ import annotations

import re

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from laserdose.clinic import audit, totp
from laserdose.clinic.models import Role, User
from laserdose.clinic.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, check_password, normalise
from laserdose.clinic.pipelined import read_all
from laserdose.errors import InputError, require_choice

__all__ = ["MIN_PASSWORD_LENGTH", "Forbidden", "authenticate", "create_user", "get_user"]

_HASHER = PasswordHasher()
_USERNAME = re.compile(r"[a-z0-9_.-]{2,64}")
# Verifying against this when the user is unknown keeps the response time the same as for a wrong password.
_DUMMY_HASH = _HASHER.hash("laserdose-timing-equaliser")


# Who may do what, named once: every role reads records; clinicians and operators record what happened
# (outcomes, delivered sessions); clinicians and admins edit patient records and read the clinic's results.
READERS = (Role.ADMIN, Role.CLINICIAN, Role.OPERATOR)
RECORDERS = (Role.CLINICIAN, Role.OPERATOR)
EDITORS = (Role.CLINICIAN, Role.ADMIN)


class Forbidden(PermissionError):
    """The acting user's role does not allow this operation."""


def use_hash_parameters(parameters: Parameters) -> None:
    """Hash new passwords with `parameters` (tests use argon2's CHEAPEST profile)."""
    global _HASHER, _DUMMY_HASH
    _HASHER = PasswordHasher.from_parameters(parameters)
    _DUMMY_HASH = _HASHER.hash("laserdose-timing-equaliser")


# What each role can do, as the refusal of something else tells the person.
CAN_DO = {
    Role.ADMIN: "manage users, read the audit log, add and change patient records and check machines",
    Role.CLINICIAN: "add and change patients, screen, plan and sign plans, and record outcomes",
    Role.OPERATOR: "look up patients, run signed plans at the console, record outcomes and check machines",
}


def _a(role: str) -> str:
    return f"an {role}" if role[:1] in "aeiou" else f"a {role}"


def refusal(actor: User, roles: tuple[Role, ...], doing: str = "do this") -> str:
    """The sentence that tells `actor` they may not be `doing` this, and what their role can do."""
    if not actor.active:
        return "Your account has been deactivated; ask an admin if you need it again."
    named = [_a(role.value) for role in roles]
    who = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} or {named[-1]}"
    message = f"Only {who} can {doing}; you are signed in as {_a(actor.role)}."
    if actor.role in CAN_DO:
        message += f" As {_a(actor.role)} you can {CAN_DO[Role(actor.role)]}."
    return message


def require_role(actor: User, *roles: Role, doing: str = "do this") -> None:
    """Raise `Forbidden` unless `actor` is active and has one of `roles`; the message says what they can do.

    Args:
        actor: the user acting.
        roles: the roles allowed.
        doing: what is refused, as it ends "Only a clinician can ...", e.g. "sign plans".
    """
    if not actor.active or actor.role not in roles:
        raise Forbidden(refusal(actor, roles, doing))


def check_username(session: Session, username: str) -> str:
    """Return `username` if it is well formed and free, else raise `InputError` saying why."""
    if not _USERNAME.fullmatch(username):
        raise InputError(
            f"username {username!r} must have 2-64 characters, each a small letter a-z, a digit, "
            "'_', '.' or '-'"
        )
    if session.scalars(select(User).where(User.username == username)).first() is not None:
        raise InputError(f"user {username!r} already exists")
    return username


def create_user(*, session: Session, username: str, password: str, role: str, actor_name: str) -> User:
    """Create a user with an argon2 password hash and audit it.

    Args:
        session: open database session (the caller commits).
        username: login name, 2-64 of a-z 0-9 _ . -.
        password: 15-128 characters, not made of common passwords (see `laserdose.clinic.passwords`).
        role: admin, clinician or operator.
        actor_name: who creates the user, for the audit log.
    """
    require_choice("role", role, tuple(r.value for r in Role))
    check_username(session, username)
    password = check_password(password, username)
    user = User(username=username, password_hash=_HASHER.hash(password), role=role, active=True)
    session.add(user)
    session.flush()
    audit.record(
        session=session, actor=actor_name, action="user.create", entity="users", entity_id=user.id,
        details={"username": username, "role": role},
    )  # fmt: skip
    return user


def authenticate(
    *, session: Session, username: str, password: str, code: str | None = None, now_s: float | None = None
) -> User | None:
    """Return the active user whose password (and, where enrolled, TOTP code) match, else None.

    The same hashing work is done whether or not the user exists. A user with a TOTP secret also needs
    `code`, the current one-time password, which is accepted once only.
    """
    # A name that could never be valid (NUL, which PostgreSQL refuses, among them) is not looked up.
    query = select(User).where(User.username == username)
    user = session.scalars(query).first() if _USERNAME.fullmatch(username) else None
    password = normalise(password) if len(password) <= 4 * MAX_PASSWORD_LENGTH else ""
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active or not password:
        return None
    if user.totp_secret is not None:
        step = totp.matching_step(user.totp_secret, code or "", now_s)
        if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
            return None
        user.totp_last_step = step
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    return user


def needs_code(*, session: Session, username: str) -> bool:
    """Whether the login form must ask `username` for a one-time code (said only after the password)."""
    user = session.scalars(select(User).where(User.username == username)).first()
    return user is not None and user.totp_secret is not None


def end_sessions(user: User) -> None:
    """End every session cookie and API token of `user` (logout, password change, deactivation)."""
    user.session_version = (user.session_version or 0) + 1


def set_password(*, session: Session, username: str, password: str, actor_name: str) -> User:
    """Change a user's password, end all their sessions and audit it."""
    user = _by_name(session, username)
    user.password_hash = _HASHER.hash(check_password(password, username))
    end_sessions(user)
    session.flush()
    audit.record(session=session, actor=actor_name, action="user.password", entity="users", entity_id=user.id)
    return user


def enable_totp(*, session: Session, username: str, actor_name: str) -> str:
    """Give `username` a fresh TOTP secret (required at every later login); return it (base32)."""
    user = _by_name(session, username)
    user.totp_secret = totp.new_secret()
    user.totp_last_step = None
    end_sessions(user)
    session.flush()
    audit.record(session=session, actor=actor_name, action="user.totp", entity="users", entity_id=user.id)
    return user.totp_secret


def _by_name(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise InputError(f"no user {username!r}")
    return user


def get_user(*, session: Session, user_id: int) -> User | None:
    """Return the active user with `user_id`, or None."""
    user = session.get(User, user_id)
    return user if user is not None and user.active else None


_USER_BY_ID = select(User.__table__).where(User.id == bindparam("user_id"))  # built once


def read_user(*, session: Session, user_id: int) -> User | None:
    """The active user with `user_id` as a read-only copy, not attached to the session, or None.

    For requests that only read who acts (its role, name and session version): a plain row, about a third
    of the cost of an ORM load (on PostgreSQL without SQLAlchemy's execution work, `pipelined.read_all`).
    A request that changes the user, or links new rows to it as an object, uses `get_user`.
    """
    [rows] = read_all(session.connection(), [_USER_BY_ID], {"user_id": user_id})
    return User(**rows[0]) if rows and rows[0]["active"] else None


def list_users(*, session: Session) -> list[User]:
    """Return every user, by username."""
    return list(session.scalars(select(User).order_by(User.username)))


def _keeps_an_admin(session: Session, user: User, change: str) -> None:
    """Refuse `change` when `user` is the last active admin: nobody could manage users after it."""
    if user.role != Role.ADMIN or not user.active:
        return
    others = select(User.id).where(User.role == Role.ADMIN, User.active.is_(True), User.id != user.id)
    if session.scalars(others).first() is None:
        raise InputError(
            f"The user {user.username} is the only active admin; make another admin before you {change}."
        )


def deactivate_user(*, session: Session, username: str, actor_name: str) -> User:
    """Stop a user from logging in (rows that name them stay, for the record) and audit it."""
    user = _by_name(session, username)
    if not user.active:
        raise InputError(f"user {username!r} is already deactivated")
    _keeps_an_admin(session, user, f"deactivate {username}")
    user.active = False
    end_sessions(user)
    session.flush()
    audit.record(
        session=session, actor=actor_name, action="user.deactivate", entity="users", entity_id=user.id
    )
    return user


def change_role(*, session: Session, username: str, role: str, actor_name: str) -> User:
    """Give `username` another role (the next request already runs under it) and audit it."""
    require_choice("role", role, tuple(r.value for r in Role))
    user = _by_name(session, username)
    if user.role == role:
        raise InputError(f"The user {username} already has the role {role}.")
    _keeps_an_admin(session, user, f"change the role of {username}")
    before, user.role = user.role, role
    session.flush()
    audit.record(
        session=session, actor=actor_name, action="user.role", entity="users", entity_id=user.id,
        details={"from": before, "to": role},
    )  # fmt: skip
    return user
