"""SQLite run in the event loop's own thread, behind SQLAlchemy's async engine.

aiosqlite hands every statement to a thread of its own and back: futures, a thread-safe wake-up
of the loop and a turn of the loop per statement. For a local file whose statements take tens of
microseconds that hand-off is most of the cost (measured: twice the CPU of the same statements
run directly, see docs/performance.md), and a transaction holds SQLite's one connection across
every such turn while other coroutines run. No maintained library runs sqlite3 in the loop under
SQLAlchemy's asyncio extension, hence this small driver: Python's sqlite3, called directly.

The price: while another process holds the file's write lock (an operator's `hub` command), a
statement blocks the loop for up to SQLite's busy timeout instead of only its own task.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Sequence
from typing import Any

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.base import SQLiteExecutionContext
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.util import await_only
from sqlalchemy.util.concurrency import in_greenlet

DRIVER = "inloop"


async def _done() -> None:
    return None


def _yield_point() -> None:
    # SQLAlchemy's async engine insists that a statement it runs in a greenlet passes through
    # the event loop at least once (its check against a sync driver used by mistake); a
    # coroutine that is already done satisfies it without a turn of the loop. A statement run
    # outside a greenlet (hub.store.engine runs them so) has no such check.
    if in_greenlet():
        await_only(_done())


class _Cursor:
    """A sqlite3 cursor whose rows are read as soon as it executes, as the async dialects do,
    so that a result outlives its transaction and its connection's return to the pool."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor
        self._rows: deque[Any] = deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    def _read(self) -> None:
        cursor = self._cursor
        self.description = cursor.description
        self.rowcount = cursor.rowcount
        self.lastrowid = cursor.lastrowid
        self._rows = deque(cursor.fetchall()) if cursor.description else deque()

    def execute(self, operation: str, parameters: Sequence[Any] = ()) -> None:
        """Run one statement and read its rows."""
        _yield_point()
        self._cursor.execute(operation, parameters)
        self._read()

    def executemany(self, operation: str, seq_of_parameters: Sequence[Sequence[Any]]) -> None:
        """Run one statement per parameter set."""
        _yield_point()
        self._cursor.executemany(operation, seq_of_parameters)
        self._read()

    def fetchone(self) -> Any:
        """The next row, or None."""
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        """Up to `size` more rows."""
        count = self.arraysize if size is None else size
        return [self._rows.popleft() for _ in range(min(count, len(self._rows)))]

    def fetchall(self) -> list[Any]:
        """Every row not yet read."""
        rows = list(self._rows)
        self._rows.clear()
        return rows

    def close(self) -> None:
        """Drop the rows and the sqlite3 cursor."""
        self._rows.clear()
        self._cursor.close()

    async def _async_soft_close(self) -> None:
        """Asked for by the async engine after each statement; the rows are read already."""


class _StreamingCursor(_Cursor):
    """A cursor whose rows are read as they are asked for (AsyncConnection.stream)."""

    def _read(self) -> None:
        cursor = self._cursor
        self.description = cursor.description
        self.rowcount = cursor.rowcount
        self.lastrowid = cursor.lastrowid

    def fetchone(self) -> Any:
        """The next row, or None."""
        return self._cursor.fetchone()

    def fetchmany(self, size: int | None = None) -> list[Any]:
        """Up to `size` more rows."""
        return self._cursor.fetchmany(self.arraysize if size is None else size)

    def fetchall(self) -> list[Any]:
        """Every row not yet read."""
        return self._cursor.fetchall()


class _Connection:
    """A sqlite3 connection handing out reading cursors; everything else is sqlite3's own."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def cursor(self, server_side: bool = False) -> _Cursor:
        """A cursor that reads its rows when it executes, or as they are asked for."""
        return (_StreamingCursor if server_side else _Cursor)(self._connection.cursor())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_connection":
            object.__setattr__(self, name, value)
        else:  # isolation_level, set on connect
            setattr(self._connection, name, value)


class _ExecutionContext(SQLiteExecutionContext):
    def create_server_side_cursor(self) -> Any:
        return self._dbapi_connection.cursor(server_side=True)


class InLoopSQLiteDialect(SQLiteDialect_pysqlite):
    """Python's sqlite3, driven by the async engine in the event loop's thread."""

    driver = DRIVER
    is_async = True
    supports_statement_cache = True
    supports_server_side_cursors = True
    execution_ctx_cls = _ExecutionContext

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        """A queue pool that waits for a connection the asyncio way."""
        if cls._is_url_file_db(url):
            return pool.AsyncAdaptedQueuePool
        return pool.StaticPool  # one in-memory database, shared by the engine's users

    def connect(self, *cargs: Any, **cparams: Any) -> Any:
        """A sqlite3 connection, wrapped so that its cursors read their rows at once."""
        return _Connection(sqlite3.connect(*cargs, **cparams))


registry.register(f"sqlite.{DRIVER}", __name__, InLoopSQLiteDialect.__name__)
