"""Users, roles and passwords (argon2id hashes, argon2-cffi defaults per RFC 9106)."""

from __future__ import annotations

import re

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from laserdose.clinic import audit, totp
from laserdose.clinic.models import Role, User
from laserdose.clinic.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, check_password, normalise
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


def require_role(actor: User, *roles: Role) -> None:
    """Raise `Forbidden` unless `actor` is active and has one of `roles`."""
    if not actor.active or actor.role not in roles:
        allowed = ", ".join(role.value for role in roles)
        raise Forbidden(f"role {actor.role!r} may not do this; allowed: {allowed}")


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
    if not _USERNAME.fullmatch(username):
        raise InputError(f"username {username!r} must be 2-64 characters of a-z, 0-9, _ . -")
    password = check_password(password, username)
    if session.scalars(select(User).where(User.username == username)).first() is not None:
        raise InputError(f"user {username!r} already exists")
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


def list_users(*, session: Session) -> list[User]:
    """Return every user, by username."""
    return list(session.scalars(select(User).order_by(User.username)))


def deactivate_user(*, session: Session, username: str, actor_name: str) -> User:
    """Stop a user from logging in (rows that name them stay, for the record) and audit it."""
    user = _by_name(session, username)
    if not user.active:
        raise InputError(f"user {username!r} is already deactivated")
    user.active = False
    end_sessions(user)
    session.flush()
    audit.record(
        session=session, actor=actor_name, action="user.deactivate", entity="users", entity_id=user.id
    )
    return user
