"""Statements compiled once per dialect and run on the transaction's driver cursor.

For the claim's hot path (``candidates.candidate_views``, ``hosts.cas_update_host``,
``vms.insert_vm``): SQLAlchemy's execution of a cached statement (execution context, parameter
construction, ``Row`` objects) cost a SQLite placement three times what the database did. The
SQL is the one SQLAlchemy compiles for the dialect, with the same bind processors (JSON
serialised as SQLAlchemy would); driver errors are raised as SQLAlchemy's (an
``IntegrityError`` stays one, so ``Database.write`` still maps it). Rows are plain tuples of
driver values: ``result_processors`` convert them where SQLAlchemy would (SQLite's booleans).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

Processor = Callable[[Any], Any]


class _Compiled:
    """One statement's SQL for one dialect, its parameter order and bind processors."""

    __slots__ = ("fixed", "names", "processors", "sql")

    def __init__(self, statement: sa.ClauseElement, dialect: sa.Dialect, keys: Sequence[str]):
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) or None)
        self.sql = compiled.string
        positional: Sequence[str] | None = getattr(compiled, "positiontup", None)
        self.names: tuple[str, ...] | None = None if positional is None else tuple(positional)
        binds: dict[Any, str] = getattr(compiled, "bind_names", {})  # BindParameter -> name
        # values fixed in the statement (literals compared to), as SQLAlchemy binds them
        self.fixed = {
            name: bind.effective_value for bind, name in binds.items() if not bind.required
        }
        self.processors: dict[str, Processor] = {}
        for bind, name in binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.processors[name] = processor

    def parameters(self, values: Mapping[str, Any]) -> Any:
        """The driver's parameters for ``values`` (by name; processed as SQLAlchemy would)."""
        merged = {**self.fixed, **values}
        for name, processor in self.processors.items():
            merged[name] = processor(merged[name])
        if self.names is None:
            return merged
        return tuple(merged[name] for name in self.names)


class Statement:
    """A SQLAlchemy statement run on the driver cursor (compiled once per dialect and, for
    INSERT and UPDATE, per set of column names)."""

    def __init__(self, statement: sa.ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...]], _Compiled] = {}

    def execute(
        self, conn: sa.Connection, values: Mapping[str, Any], keys: tuple[str, ...] = ()
    ) -> Any:
        """Run with ``values`` in ``conn``'s transaction; the driver's cursor (``keys``: the
        column names an INSERT or UPDATE sets, in a fixed order)."""
        dialect = conn.dialect
        compiled = self._compiled.get((dialect.name, keys))
        if compiled is None:
            compiled = _Compiled(self.statement, dialect, keys)
            self._compiled[(dialect.name, keys)] = compiled
        parameters = compiled.parameters(values)
        dbapi = conn.connection.dbapi_connection
        if dbapi is None:
            raise RuntimeError("the connection is closed")
        cursor = dbapi.cursor()
        try:
            cursor.execute(compiled.sql, parameters)
        except dialect.loaded_dbapi.Error as exc:
            cursor.close()
            raise sa.exc.DBAPIError.instance(
                compiled.sql, parameters, exc, dialect.loaded_dbapi.Error, dialect=dialect
            ) from exc
        return cursor


def result_processors(
    columns: Sequence[sa.ColumnElement[Any]], dialect: sa.Dialect, cursor: Any
) -> list[tuple[int, Processor]]:
    """(position, converter) for the columns whose driver value SQLAlchemy would convert
    (``cursor``: one that ran the statement, for the driver's column types)."""
    found: list[tuple[int, Processor]] = []
    for i, column in enumerate(columns):
        coltype = cursor.description[i][1]
        processor = column.type.dialect_impl(dialect).result_processor(dialect, coltype)
        if processor is not None:
            found.append((i, processor))
    return found
