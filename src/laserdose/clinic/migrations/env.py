"""Alembic environment: runs on the connection that `laserdose.clinic.db.upgrade` hands over."""

from alembic import context
from sqlalchemy import Connection

from laserdose.clinic.db import make_engine
from laserdose.clinic.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # plain `alembic` command line: use LASERDOSE_DATABASE_URL or the default database
    with make_engine().begin() as new_connection:
        _run(new_connection)
