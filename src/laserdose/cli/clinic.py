"""`laserdose db`, `laserdose users` and `laserdose audit`: administration of the clinic database."""

from __future__ import annotations

import getpass
import os
import sys
from typing import Annotated

import typer

from laserdose.cli.options import DatabaseUrl, JsonFlag
from laserdose.cli.output import print_json, print_table
from laserdose.clinic import audit, db, users
from laserdose.errors import InputError

LoginName = Annotated[str, typer.Argument(help="Login name.")]

db_app = typer.Typer(help="Create and migrate the clinic database.", no_args_is_help=True)
users_app = typer.Typer(help="Manage the people who log in.", no_args_is_help=True)
audit_app = typer.Typer(help="Check the hash-chained audit log.", no_args_is_help=True)


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

    engine = db.make_engine(database_url)
    with db.session_factory(engine).begin() as session:
        passwords = demo.seed_demo(session=session, start=dt.date.today() - dt.timedelta(weeks=4))
    typer.echo(f"demo clinic seeded in {db.describe(engine)}: {len(demo.DEMO_PATIENTS)} patients; log in as")
    for username, password in passwords.items():
        typer.echo(f"  {username:<10} password {password}")


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


def _cli_actor() -> str:
    return f"cli:{os.environ.get('USER', 'unknown')}"


@audit_app.command("verify")
def verify(database_url: DatabaseUrl = None, as_json: JsonFlag = False) -> None:
    """Recompute the audit hash chain; exit 0 if intact, 1 naming the first broken row."""
    engine = db.make_engine(database_url)
    with db.session_factory(engine)() as session:
        report = audit.verify(session=session)
    if as_json:
        broken = None if report.broken is None else vars(report.broken)
        print_json({"ok": report.broken is None, "rows": report.rows, "head": report.head, "broken": broken})
    elif report.broken is None:
        typer.echo(f"audit log intact: {report.rows} rows, head {report.head}")
    else:
        typer.echo(f"audit log BROKEN at row {report.broken.entry_id}: {report.broken.reason}", err=True)
    if report.broken is not None:
        raise typer.Exit(1)
