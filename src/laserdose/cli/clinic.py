"""`laserdose db`, `users`, `audit` (and `patients`, from clinic_patients): the clinic database."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from laserdose.cli.clinic_patients import patients_app
from laserdose.cli.options import DatabaseUrl, JsonFlag
from laserdose.cli.output import print_json, print_table
from laserdose.clinic import audit, audit_checkpoints, db, users
from laserdose.errors import InputError

LoginName = Annotated[str, typer.Argument(help="Login name.")]

__all__ = ["audit_app", "db_app", "patients_app", "users_app"]

db_app = typer.Typer(help="Create and migrate the clinic database.", no_args_is_help=True)
users_app = typer.Typer(help="Manage the people who log in.", no_args_is_help=True)
audit_app = typer.Typer(help="Check the keyed, hash-chained audit log.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(database_url: DatabaseUrl = None) -> None:
    """Apply every migration (creates the database if it is new)."""
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    typer.echo(f"database {db.describe(engine)} is at revision {db.current_revision(engine)}")


@db_app.command("seed-demo")
def seed_demo(database_url: DatabaseUrl = None) -> None:
    """Fill an empty, migrated database with a demo clinic and print the demo passwords."""
    import datetime as dt

    from laserdose.clinic import demo
    from laserdose.planning.physics import default_physics

    engine = db.make_engine(database_url)
    physics = default_physics()
    with db.session_factory(engine).begin() as session:
        start = dt.date.today() - dt.timedelta(weeks=4)
        passwords = demo.seed_demo(session=session, start=start, physics=physics)
    count = len(demo.DEMO_PATIENTS) + 1  # and the patient whose course starts today
    typer.echo(f"demo clinic seeded in {db.describe(engine)}: {count} patients; log in as")
    for username, password in passwords.items():
        typer.echo(f"  {username:<10} password {password}")


@db_app.command("unlinked-outcomes")
def unlinked_outcomes(database_url: DatabaseUrl = None, as_json: JsonFlag = False) -> None:
    """List outcomes saved without a course (the migration links only one-course patients' outcomes)."""
    from laserdose.clinic import outcomes

    engine = db.make_engine(database_url)
    with db.session_factory(engine)() as session:
        found = [(o, [c.id for c in o.patient.courses]) for o in outcomes.unlinked_outcomes(session)]
    rows = [
        {
            "outcome_id": o.id, "patient_id": o.patient_id, "patient": o.patient.name,
            "assessed_on": o.assessed_on.isoformat(), "patient_course_ids": course_ids,
        }
        for o, course_ids in found
    ]  # fmt: skip
    if as_json:
        print_json({"unlinked_outcomes": rows})
        return
    columns = ["outcome", "patient id", "patient", "assessed on", "patient's courses"]
    table = [
        [o.id, o.patient_id, o.patient.name, o.assessed_on.isoformat(), ", ".join(map(str, ids)) or "-"]
        for o, ids in found
    ]
    print_table(f"Outcomes without a course: {len(rows)}", columns, table)


def _read_password() -> str:
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            raise InputError("the two passwords differ")
        return password
    return sys.stdin.readline().rstrip("\r\n")


@users_app.command("add")
def add_user(
    name: LoginName,
    role: Annotated[str, typer.Option("--role", help="admin, clinician or operator.")],
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a user; the password is read from standard input (prompted twice on a terminal)."""
    engine = db.make_engine(database_url)
    actor = _cli_actor()
    with db.session_factory(engine).begin() as session:
        user = users.create_user(
            session=session, username=name, password=_read_password(), role=role, actor_name=actor
        )
        result = {"id": user.id, "username": user.username, "role": user.role}
    if as_json:
        print_json(result)
    else:
        typer.echo(f"added {result['role']} {result['username']} (id {result['id']})")


@users_app.command("list")
def list_users(database_url: DatabaseUrl = None, as_json: JsonFlag = False) -> None:
    """List the users with their roles and whether they may log in."""
    engine = db.make_engine(database_url)
    with db.session_factory(engine)() as session:
        rows = [
            {"id": u.id, "username": u.username, "role": u.role, "active": u.active}
            for u in users.list_users(session=session)
        ]
    if as_json:
        print_json({"users": rows})
    else:
        print_table("Users", ["id", "username", "role", "active"], [list(row.values()) for row in rows])


@users_app.command("deactivate")
def deactivate(name: LoginName, database_url: DatabaseUrl = None) -> None:
    """Stop a user from logging in; their records stay."""
    engine = db.make_engine(database_url)
    with db.session_factory(engine).begin() as session:
        users.deactivate_user(session=session, username=name, actor_name=_cli_actor())
    typer.echo(f"deactivated {name}")


@users_app.command("passwd")
def passwd(name: LoginName, database_url: DatabaseUrl = None) -> None:
    """Set a user's password (read from standard input); ends all their sessions and API tokens."""
    engine = db.make_engine(database_url)
    with db.session_factory(engine).begin() as session:
        users.set_password(session=session, username=name, password=_read_password(), actor_name=_cli_actor())
    typer.echo(f"password of {name} changed; their sessions are ended")


@users_app.command("totp")
def enable_totp(name: LoginName, database_url: DatabaseUrl = None) -> None:
    """Require a one-time code (RFC 6238, authenticator app) at every login of `name`; prints the secret."""
    from laserdose.clinic import totp

    engine = db.make_engine(database_url)
    with db.session_factory(engine).begin() as session:
        secret = users.enable_totp(session=session, username=name, actor_name=_cli_actor())
    typer.echo(f"secret {secret}\n{totp.provisioning_uri(secret, name)}")


def _cli_actor() -> str:
    return f"cli:{os.environ.get('USER', 'unknown')}"


KeyFile = Annotated[
    Path | None,
    typer.Option(
        "--key-file", help="The audit key's file; default $LASERDOSE_AUDIT_KEY_FILE or the data directory."
    ),
]
CheckpointFile = Annotated[
    Path | None,
    typer.Option("--checkpoint-file", help="The signed checkpoints' file; default next to the key file."),
]


def _audit_state(
    database_url: str | None, key_file: Path | None, checkpoint_file: Path | None, write: bool
) -> audit_checkpoints.AuditState:
    engine = db.make_engine(database_url)
    key_path = key_file or audit.default_key_file()
    if not key_path.exists():
        raise InputError(f"no audit key at {key_path}: the log cannot be checked without its key")
    key = audit.load_key(key_path)
    path = checkpoint_file or audit_checkpoints.default_checkpoint_file(key_path, db.describe(engine))
    with db.session_factory(engine)() as session:
        return audit_checkpoints.check(session=session, path=path, key=key, write=write)


@audit_app.command("verify")
def verify(
    database_url: DatabaseUrl = None,
    key_file: KeyFile = None,
    checkpoint_file: CheckpointFile = None,
    as_json: JsonFlag = False,
) -> None:
    """Check the audit log's hash chain, its MACs and its checkpoints; exit 0 if intact, 1 if not."""
    state = _audit_state(database_url, key_file, checkpoint_file, write=False)
    if as_json:
        last = None if state.last_checkpoint is None else vars(state.last_checkpoint)
        print_json({**vars(state), "last_checkpoint": last})
    elif state.ok:
        typer.echo(audit_checkpoints.describe(state))
    else:
        typer.echo(audit_checkpoints.describe(state), err=True)
    if not state.ok:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def checkpoint(
    database_url: DatabaseUrl = None,
    key_file: KeyFile = None,
    checkpoint_file: CheckpointFile = None,
) -> None:
    """Verify the audit log and, if intact and grown, append a signed checkpoint (run it from cron)."""
    state = _audit_state(database_url, key_file, checkpoint_file, write=True)
    typer.echo(audit_checkpoints.describe(state), err=not state.ok)
    if not state.ok:
        raise typer.Exit(1)
