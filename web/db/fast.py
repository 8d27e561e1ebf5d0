"""Hot-path statements: built with SQLAlchemy Core, executed on the DBAPI cursor.

Every answer runs the same three statements (read the session, update it, append the
response). Through ``Connection.execute`` each costs 25-60 µs of SQLAlchemy bookkeeping
(measured on this machine) around a 3-10 µs SQLite call; on the answer path that was the
largest single cost. A :class:`FastStatement` compiles its Core statement once per dialect,
with SQLAlchemy's own type processors for binds and results, and then runs it directly on the
connection's DBAPI cursor, inside the transaction the SQLAlchemy ``Connection`` began. Driver
errors are raised as SQLAlchemy's, as ``Connection.execute`` raises them (so a lost
connection is seen, and invalidated, the same way).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, cast

from sqlalchemy import Column, Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    positional: bool
    bind_processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    result_processors: tuple[Processor, ...]


class FastStatement:
    """A Core statement compiled once per dialect and run on the raw DBAPI cursor.

    Parameters
    ----------
    statement
        The Core statement (with ``bindparam`` placeholders).
    result_columns
        For a SELECT, the columns it returns, in order (their types convert the values).
    """

    def __init__(
        self, statement: ClauseElement, result_columns: Sequence[Column[Any]] = ()
    ) -> None:
        self.statement = statement
        self.result_columns = tuple(result_columns)
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = cast(SQLCompiler, self.statement.compile(dialect=dialect))
        positional = bool(compiled.positional)
        names = tuple(compiled.positiontup or ()) if positional else tuple(compiled.binds)
        processors = []
        for name in dict.fromkeys(names):
            # The dialect's own implementation of the type (e.g. SQLite's DATETIME, which
            # stores text) converts exactly as Connection.execute would.
            processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors.append((name, processor))
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in self.result_columns
        )
        return _Compiled(compiled.string, names, positional, tuple(processors), results)

    def _prepare(self, conn: Connection, params: dict[str, Any]) -> tuple[_Compiled, Any]:
        dialect = conn.dialect
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compile(dialect)
            self._compiled[dialect.name] = compiled
        values = dict(params)
        for name, processor in compiled.bind_processors:
            values[name] = processor(values[name])
        bound = tuple(values[n] for n in compiled.names) if compiled.positional else values
        return compiled, bound

    def execute(self, conn: Connection, params: dict[str, Any]) -> int:
        """Run an INSERT/UPDATE/DELETE; return the number of rows it touched."""
        compiled, bound = self._prepare(conn, params)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(compiled.sql, bound)
            return int(cursor.rowcount)
        except conn.dialect.loaded_dbapi.Error as error:
            _raise_as_sqlalchemy(conn, error, compiled.sql, bound, cursor)
        finally:
            cursor.close()

    def first(self, conn: Connection, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """Run a SELECT; return its first row with values converted by the column types."""
        compiled, bound = self._prepare(conn, params)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(compiled.sql, bound)
            row = cursor.fetchone()
        except conn.dialect.loaded_dbapi.Error as error:
            _raise_as_sqlalchemy(conn, error, compiled.sql, bound, cursor)
        finally:
            cursor.close()
        if row is None:
            return None
        return tuple(
            value if processor is None else processor(value)
            for value, processor in zip(row, compiled.result_processors, strict=True)
        )


def _raise_as_sqlalchemy(
    conn: Connection, error: Exception, sql: str, bound: Any, cursor: Any
) -> NoReturn:
    """Raise a driver error as ``Connection.execute`` would.

    That is: wrapped in :mod:`sqlalchemy.exc`'s classes (``IntegrityError``...), and, when
    the connection was lost, with ``connection_invalidated`` set, the connection invalidated
    and the pool's older connections marked stale.
    """
    conn._handle_dbapi_exception(error, sql, bound, cursor, None)
