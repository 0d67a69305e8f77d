"""Users, roles and passwords (argon2id hashes, argon2-cffi defaults per RFC 9106)."""

from __future__ import annotations

import re

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from laserdose.clinic import audit
from laserdose.clinic.models import Role, User
from laserdose.errors import InputError, require_choice

_HASHER = PasswordHasher()
_USERNAME = re.compile(r"[a-z0-9_.-]{2,64}")
MIN_PASSWORD_LENGTH = 10  # NIST SP 800-63B asks for at least 8; we ask a little more
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
        password: at least MIN_PASSWORD_LENGTH characters.
        role: admin, clinician or operator.
        actor_name: who creates the user, for the audit log.
    """
    require_choice("role", role, tuple(r.value for r in Role))
    if not _USERNAME.fullmatch(username):
        raise InputError(f"username {username!r} must be 2-64 characters of a-z, 0-9, _ . -")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
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


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    """Return the active user whose password matches, else None (same work either way)."""
    # A name that could never be valid (NUL, which PostgreSQL refuses, among them) is not looked up.
    query = select(User).where(User.username == username)
    user = session.scalars(query).first() if _USERNAME.fullmatch(username) else None
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
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
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise InputError(f"no user {username!r}")
    if not user.active:
        raise InputError(f"user {username!r} is already deactivated")
    user.active = False
    session.flush()
    audit.record(
        session=session, actor=actor_name, action="user.deactivate", entity="users", entity_id=user.id
    )
    return user
