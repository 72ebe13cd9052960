"""The store's statements that run on every call, run lean on SQLite: straight on the driver.

SQLAlchemy's execution of a statement it has compiled and cached already (an execution context,
parameter dictionaries, event hooks, result metadata) costs several times what sqlite3 spends
running it: measured 50 → 14 µs for a call's UPDATE and 45 → 7 µs for a one-row SELECT, and a
quarter of the hub's CPU under load (docs/performance.md). A statement marked with `lean()` is
compiled by SQLAlchemy once per set of parameter names and then run on the in-loop driver's
connection (hub.store.sqlite), with SQLAlchemy's own type processing of parameters and columns.

What this leaves out, it leaves to SQLAlchemy: Python-side defaults other than constants,
RETURNING, expanding parameters given by the caller, a list of parameter sets that name
different columns, and every statement while anything listens to statement events. On
PostgreSQL, marking a statement changes nothing.
"""

from __future__ import annotations

import functools
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import Insert, Select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import (
    DBAPIError,
    InvalidRequestError,
    MultipleResultsFound,
    NoResultFound,
    StatementError,
)
from sqlalchemy.sql import Executable
from sqlalchemy.types import TypeEngine

LEAN = "hub_lean"
"""The execution option that marks a statement lean."""

_S = TypeVar("_S", bound=Executable)
_Processor = Callable[[Any], Any] | None


def lean(statement: _S) -> _S:
    """Mark a statement built once (at import) to run lean on SQLite (see the module)."""
    return statement.execution_options(**{LEAN: True})


@dataclass(frozen=True, slots=True)
class _Plan:
    """A lean statement compiled for one set of parameter names."""

    sql: str
    names: tuple[str, ...]  # the positional parameters, in order
    processors: tuple[_Processor, ...]
    fixed: dict[str, Any]  # values the statement carries itself (constants, IN lists)
    results: tuple[_Processor, ...] | None  # a SELECT's column processors
    primary_key: str | None  # an INSERT's integer key, read from lastrowid when not given

    def arguments(self, parameters: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for one set of parameters, processed by their types."""
        values = {**self.fixed, **parameters} if self.fixed else parameters
        return [
            values[name] if process is None else process(values[name])
            for name, process in zip(self.names, self.processors, strict=True)
        ]


def _processor(type_: TypeEngine[Any], dialect: Dialect) -> _Processor:
    return type_.dialect_impl(dialect).bind_processor(dialect)


@functools.lru_cache(maxsize=256)
def _row_type(keys: tuple[str, ...]) -> Any:
    return namedtuple("Row", keys, rename=True)


def _plan(statement: Executable, keys: frozenset[str], dialect: Dialect) -> _Plan | None:
    """The statement compiled for these parameter names, or None where it must run
    SQLAlchemy's way."""
    compiled: Any = cast(Any, statement).compile(dialect=dialect, column_keys=sorted(keys))
    if (
        not compiled.positional
        or getattr(compiled, "postfetch", None)
        or compiled.effective_returning
    ):
        return None
    defaults = {}  # columns not given whose default is a constant (a callable's is not)
    for column in compiled.insert_prefetch:
        if column.default is None or not column.default.is_scalar:
            return None
        defaults[column.key] = column.default.arg
    if compiled.update_prefetch:
        return None
    binds = compiled.binds
    if any(b.callable is not None or (b.expanding and name in keys) for name, b in binds.items()):
        return None
    try:
        state = compiled.construct_expanded_state({**dict.fromkeys(keys), **defaults})
    except (StatementError, InvalidRequestError):  # a parameter not given: SQLAlchemy says so
        return None
    base = {part: name for name, parts in state.parameter_expansion.items() for part in parts}
    names = tuple(state.positiontup or ())
    processors = tuple(_processor(binds[base.get(n, n)].type, dialect) for n in names)
    fixed = {n: v for n, v in state.parameters.items() if n not in keys}
    results = None
    if isinstance(statement, Select):
        results = tuple(
            c.type.dialect_impl(dialect).result_processor(dialect, None)
            for c in statement.selected_columns
        )
    primary_key = None
    if isinstance(statement, Insert):
        key_columns = list(statement.table.primary_key.columns)  # type: ignore[attr-defined]
        if len(key_columns) != 1:
            return None
        primary_key = key_columns[0].key
    return _Plan(
        state.statement,
        names,
        processors,
        fixed,
        results,
        primary_key,
    )


class LeanStatements:
    """Runs lean statements on one SQLite engine's connections; their plans, compiled once."""

    def __init__(self) -> None:
        self._plans: dict[tuple[int, frozenset[str]], tuple[Executable, _Plan | None]] = {}

    def run(self, connection: Connection, statement: Any, parameters: Any) -> LeanResult | None:
        """Run the statement if it is lean and can run so; None where SQLAlchemy must."""
        if not isinstance(statement, Executable) or not statement.get_execution_options().get(LEAN):
            return None
        many: list[dict[str, Any]] | None = None
        if parameters is None:
            parameters = {}
        elif isinstance(parameters, list):  # one statement, run once per set (executemany)
            if not parameters or not all(isinstance(p, dict) for p in parameters):
                return None
            many, parameters = parameters, parameters[0]
        elif not isinstance(parameters, dict):
            return None
        watch = connection.dispatch
        if (
            watch.before_execute
            or watch.after_execute
            or watch.before_cursor_execute
            or watch.after_cursor_execute
        ):
            return None  # someone watches the statements (a test, a tracer): show them
        given = frozenset(parameters)
        if many is not None and any(frozenset(p) != given for p in many):
            return None
        key = (id(statement), given)
        known = self._plans.get(key)
        if known is None or known[0] is not statement:
            known = (statement, _plan(statement, given, connection.dialect))
            self._plans[key] = known
        plan = known[1]
        if plan is None or connection.invalidated:
            return None
        if not connection.in_transaction():
            connection.begin()  # as SQLAlchemy's autobegin would: BEGIN IMMEDIATE (engine.py)
        arguments = [plan.arguments(p) for p in many] if many else plan.arguments(parameters)
        driver: Any = connection.connection.dbapi_connection
        cursor = driver.cursor()
        try:
            if many:
                cursor.executemany(plan.sql, arguments)
            else:
                cursor.execute(plan.sql, arguments)
            rows = cursor.fetchall()
        except sqlite3.Error as error:
            raise DBAPIError.instance(
                plan.sql,
                arguments,
                error,
                sqlite3.Error,
                hide_parameters=connection.engine.hide_parameters,
                dialect=connection.dialect,
            ) from error
        finally:
            cursor.close()
        keys: tuple[str, ...] = ()
        if plan.results is not None:
            # Named as SQLAlchemy names them: by the cursor's columns (anon_1, count_1).
            keys = tuple(column[0] for column in cursor.description)
            row, results = _row_type(keys), plan.results
            rows = [
                row._make(
                    value if process is None else process(value)
                    for value, process in zip(raw, results, strict=True)
                )
                for raw in rows
            ]
        primary_key = None
        if plan.primary_key is not None and many is None:
            value = parameters.get(plan.primary_key)
            primary_key = (cursor.lastrowid if value is None else value,)
        return LeanResult(keys, rows, cursor.rowcount, primary_key)


class LeanResult:
    """A lean statement's result: the part of SQLAlchemy's Result the store uses."""

    def __init__(
        self, keys: tuple[str, ...], rows: list[Any], rowcount: int, primary_key: Any
    ) -> None:
        self._keys = keys
        self._rows = rows
        self.rowcount = rowcount
        self.inserted_primary_key = primary_key

    def keys(self) -> tuple[str, ...]:
        """The columns' names."""
        return self._keys

    def mappings(self) -> LeanMappings:
        """The rows as mappings of column name to value."""
        return LeanMappings([dict(zip(self._keys, row, strict=True)) for row in self._rows])

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        """Every row."""
        return list(self._rows)

    def first(self) -> Any:
        """The first row, or None."""
        return self._rows[0] if self._rows else None

    def one(self) -> Any:
        """The only row; raises unless there is exactly one."""
        return _one(self._rows)

    def scalar(self) -> Any:
        """The first column of the first row, or None."""
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        """The first column of the only row."""
        return _one(self._rows)[0]

    def scalar_one_or_none(self) -> Any:
        """The first column of the only row, or None when there is none."""
        return _one(self._rows)[0] if self._rows else None


class LeanMappings:
    """A lean result's rows as mappings."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self._rows = rows

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        return iter(self._rows)

    def all(self) -> list[dict[str, Any]]:
        """Every row."""
        return list(self._rows)

    def first(self) -> dict[str, Any] | None:
        """The first row, or None."""
        return self._rows[0] if self._rows else None

    def one(self) -> dict[str, Any]:
        """The only row; raises unless there is exactly one."""
        row: dict[str, Any] = _one(self._rows)
        return row


def _one(rows: list[Any]) -> Any:
    if not rows:
        raise NoResultFound("No row was found when one was required")
    if len(rows) > 1:
        raise MultipleResultsFound("Multiple rows were found when exactly one was required")
    return rows[0]
