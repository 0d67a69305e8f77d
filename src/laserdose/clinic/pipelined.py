"""Several fixed SELECTs read in one round trip on PostgreSQL, with the values SQLAlchemy would give.

A page that reads many small tables (the chart: eight statements a view) pays, on PostgreSQL, a network
round trip and SQLAlchemy's execution work for each statement. In psycopg's pipeline mode the statements
go to the server together and their results come back together [PsycopgPipeline]; each statement is
compiled once per dialect, and the result processors of its columns' types (the UTC datetimes) are
applied as SQLAlchemy applies them. On any other database the statements run through SQLAlchemy one by
one. Either way the rows are read on the caller's connection, inside its transaction.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

Rows = list[dict[str, Any]]


@dataclass
class _Compiled:
    """A statement compiled for psycopg: its SQL, its constant parameters, its columns' keys and types."""

    sql: str
    parameters: dict[str, Any]
    keys: tuple[str, ...]
    types: tuple[Any, ...]
    type_codes: tuple[int, ...] | None = None  # those of the last result, and their processors
    processors: list[tuple[int, Callable[[Any], Any]]] = field(default_factory=list)

    def convert(self, cursor: Any, dialect: Dialect) -> Rows:
        """The cursor's rows as dicts, each value passed through its type's result processor, if any."""
        type_codes = tuple(column.type_code for column in cursor.description)
        if type_codes != self.type_codes:
            processors = [
                type_.dialect_impl(dialect).result_processor(dialect, code)
                for type_, code in zip(self.types, type_codes, strict=True)
            ]
            self.processors = [(i, process) for i, process in enumerate(processors) if process is not None]
            self.type_codes = type_codes
        rows = []
        for row in cursor.fetchall():
            values = list(row)
            for i, process in self.processors:
                values[i] = process(values[i])
            rows.append(dict(zip(self.keys, values, strict=True)))
        return rows


# By dialect (an engine's own), then by statement (the module-level statements of the pages that use this).
_COMPILED: weakref.WeakKeyDictionary[Dialect, dict[int, _Compiled]] = weakref.WeakKeyDictionary()


def read_all(
    connection: Connection, statements: Sequence[Select[Any]], parameters: dict[str, Any]
) -> list[Rows]:
    """Each statement's rows, in order, as dicts of column key to value (as `Result.mappings()` gives).

    `parameters` are the statements' bound parameters (the same for all, e.g. a patient id); a database
    error arrives as SQLAlchemy's exception (`OperationalError`, ...), as from `Connection.execute`.
    """
    dialect = connection.dialect
    if dialect.driver != "psycopg" or not _pipelines_supported():
        return [[dict(row) for row in connection.execute(s, parameters).mappings()] for s in statements]
    compiled = [_compiled(statement, dialect) for statement in statements]
    raw = connection.connection.driver_connection
    assert raw is not None
    try:
        with raw.pipeline():
            cursors = [raw.execute(c.sql, c.parameters | parameters) for c in compiled]
        return [c.convert(cursor, dialect) for c, cursor in zip(compiled, cursors, strict=True)]
    except dialect.loaded_dbapi.Error as error:
        invalidated = dialect.is_disconnect(error, raw, None)
        if invalidated:
            connection.invalidate(error)
        raise DBAPIError.instance(
            None, None, error, dialect.loaded_dbapi.Error, hide_parameters=True,
            connection_invalidated=invalidated, dialect=dialect,
        ) from error  # fmt: skip


@functools.cache
def _pipelines_supported() -> bool:
    """Whether psycopg's libpq has pipeline mode (libpq 14 or newer; psycopg[binary] ships one)."""
    import psycopg

    return psycopg.Pipeline.is_supported()


def _compiled(statement: Select[Any], dialect: Dialect) -> _Compiled:
    """`statement` compiled for `dialect`, once (its parameters must need no conversion)."""
    of_dialect = _COMPILED.setdefault(dialect, {})
    found = of_dialect.get(id(statement))
    if found is None:
        compiled = statement.compile(dialect=dialect)
        converted = [name for name, bind in compiled.binds.items() if bind.type.bind_processor(dialect)]
        if converted:
            raise TypeError(f"parameters {converted} need conversion; run this statement through SQLAlchemy")
        columns = statement.selected_columns
        keys = tuple(column.key for column in columns if column.key is not None)
        if len(keys) != len(columns):
            raise TypeError("every column needs a name (a label) to be read by name")
        types = tuple(column.type for column in columns)
        found = of_dialect[id(statement)] = _Compiled(str(compiled), dict(compiled.params), keys, types)
    return found
