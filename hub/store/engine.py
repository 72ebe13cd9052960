"""Opening the store: the engine for HUB_STORE_URL, SQLite tuned for a queue, migrations."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncTransaction,
    create_async_engine,
)

from hub.store import postgres
from hub.store import sqlite as inloop
from hub.store.lean import LeanStatements
from hub.store.turns import Turns

DEFAULT_URL = "sqlite:///var/hub.db"
# Any fixed number works; it only has to be the same in every hub process.
MIGRATION_LOCK = 74_201_117


def store_url(url: str | None = None) -> str:
    """The store URL: the given one, else HUB_STORE_URL, else the embedded SQLite file."""
    return url or os.environ.get("HUB_STORE_URL") or DEFAULT_URL


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own implicit BEGIN is turned off; _sqlite_begin issues BEGIN IMMEDIATE, so a
    # transaction that reads and then writes (a claim) takes the write lock up front instead of
    # failing with "database is locked" when another process wrote in between.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers (the API) run while the dispatcher writes; NORMAL is durable in WAL mode
    # against process crashes, which is the failure the hub must survive without loss.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # On the driver's cursor: SQLAlchemy's own statement path costs more than the statement.
    driver = connection.connection.dbapi_connection
    assert driver is not None  # a transaction begins on a live connection
    cursor = driver.cursor()
    try:
        cursor.execute("BEGIN IMMEDIATE")
    finally:
        cursor.close()


class _DirectTransaction(AsyncTransaction):
    """A transaction of the in-loop driver, begun and ended directly (see _TurnConnection); an
    explicit commit() or rollback(), which the hub does not use, still goes the greenlet way."""

    async def start(self, is_ctxmanager: bool = False) -> AsyncTransaction:
        """Begin."""
        connection = cast(Connection, self.connection.sync_connection)
        begin = connection.begin_nested if self.nested else connection.begin
        self.sync_transaction = self._assign_proxied(begin())
        if is_ctxmanager:
            self.sync_transaction.__enter__()
        return self

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        self._proxied.__exit__(type_, value, traceback)


class _OneConnection:
    """The one connection of a SQLite store in a process, kept from one turn to the next."""

    def __init__(self) -> None:
        self.connection: Connection | None = None

    def close(self) -> None:
        """Give it back to the pool (when the engine is disposed of)."""
        connection, self.connection = self.connection, None
        if connection is not None:
            connection.close()


class _TurnConnection(AsyncConnection):
    """A connection of a SQLite store: its use, from entering its block to leaving it, is one
    turn at the store's one connection (hub.store.turns).

    With the in-loop driver it is also used directly. SQLAlchemy's async engine runs each
    step (the pool's checkout, BEGIN, each statement, COMMIT, the return) in a greenlet of its
    own, so that a driver may wait for the loop in the middle of it. The in-loop driver never
    does, and within its turn no one else uses the connection: the steps run as they are.
    Measured: a statement 55 → 28 µs of CPU, an empty transaction 134 → 49 µs.

    With the in-loop driver the connection is also kept between turns instead of being taken
    from the pool and given back each time: a turn ends what its block left begun (as the pool's
    return would) and hands the same connection to the next. Measured: a request's empty
    transaction 76–93 → 33–58 µs."""

    front = True
    _has_turn = False

    def _turns(self) -> Turns:
        return cast(SQLiteEngine, self.engine).turns

    def _direct(self) -> bool:
        return cast(SQLiteEngine, self.engine).direct

    def _one(self) -> _OneConnection:
        return cast(SQLiteEngine, self.engine).one

    async def start(self, is_ctxmanager: bool = False) -> AsyncConnection:
        """Take a turn, then the connection."""
        await self._turns().take(front=self.front)
        self._has_turn = True
        try:
            if not self._direct():
                return await super().start(is_ctxmanager)
            if self.sync_connection:
                raise InvalidRequestError("connection is already started")
            one = self._one()
            kept = one.connection
            if kept is not None and not kept.closed and not kept.invalidated:
                self.sync_connection = self._assign_proxied(kept)
                return self
            one.close()
            # A connection is made in a greenlet: the pool's first connect waits on a lock.
            await super().start(is_ctxmanager)
            one.connection = self.sync_connection
            return self
        except BaseException:
            self._give_back()
            raise

    async def close(self) -> None:
        """Close, and end the turn."""
        try:
            if self._direct():
                self._end_turn()
            else:
                await super().close()
        finally:
            self._give_back()

    def _end_turn(self) -> None:
        """End what the block left begun (a read's transaction included: it would hold WAL
        checkpoints back) and keep the connection for the next turn."""
        connection, self.sync_connection = self.sync_connection, None
        if connection is None:
            return
        one = self._one()
        try:
            if connection is not one.connection or connection.invalidated:
                connection.close()
                if connection is one.connection:
                    one.connection = None
            elif connection.in_transaction():
                connection.rollback()
        except BaseException:
            one.connection = None
            connection.invalidate()
            raise

    def _give_back(self) -> None:
        if self._has_turn:
            self._has_turn = False
            self._turns().give_back()

    def begin(self) -> AsyncTransaction:
        """A transaction."""
        return _DirectTransaction(self) if self._direct() else super().begin()

    def begin_nested(self) -> AsyncTransaction:
        """A savepoint."""
        return _DirectTransaction(self, nested=True) if self._direct() else super().begin_nested()

    async def execute(
        self,
        statement: Any,
        parameters: Any = None,
        *,
        execution_options: Any = None,
    ) -> Any:
        """Run a statement."""
        if not self._direct() or (execution_options and execution_options.get("stream_results")):
            return await super().execute(statement, parameters, execution_options=execution_options)
        if not execution_options:
            result = cast(SQLiteEngine, self.engine).lean.run(self._proxied, statement, parameters)
            if result is not None:
                return result
        return self._proxied.execute(statement, parameters, execution_options=execution_options)

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        if self._direct():
            # SQLAlchemy closes in a task of its own, shielded, so that a cancelled caller
            # cannot abandon a close halfway through its awaits. The in-loop driver's close
            # never gives the loop away, so nothing can interrupt it: it runs at once, saving
            # the task and the turns of the loop it costs.
            await self.close()
        else:
            await super().__aexit__(type_, value, traceback)


class _BackTurnConnection(_TurnConnection):
    """Delivery work's: it ends its block at once like a request's, but the store's turn passes
    on at the next turn of the loop.

    That delay is what keeps a window's wait short at saturation: it lets at most about one
    of delivery work's transactions run per turn of the loop, so a turn of the loop stays
    short, and a request read meanwhile finds the store's turn handed to it first. Measured:
    with the store's turn passed on at once, 34 → 38 applications/s but a window's wait at 100
    filings/s 8 → 70 ms (p50); yielding the loop once or twice after each block instead (so
    that several tasks' transactions share a turn of the loop) 20–37 ms. SQLAlchemy's close
    task used to give the same delay, at the cost of a task and three turns of the loop for
    each transaction (CPU per application −4 %, docs/performance.md round five)."""

    front = False

    def _give_back(self) -> None:
        if self._direct():
            asyncio.get_running_loop().call_soon(super()._give_back)
        else:
            super()._give_back()


class SQLiteEngine(AsyncEngine):
    """A SQLite store's engine: its one connection used in turns, the API's requests first."""

    _connection_cls: type[AsyncConnection] = _TurnConnection

    def __init__(self, sync_engine: Engine, turns: Turns | None = None) -> None:
        super().__init__(sync_engine)
        self.turns = turns or Turns()
        self.direct = sync_engine.dialect.driver == inloop.DRIVER
        """Its statements run without SQLAlchemy's greenlets (see _TurnConnection)."""
        self.lean = LeanStatements()
        """Runs the statements marked lean, when direct (hub.store.lean)."""
        self.one = _OneConnection()
        """The connection kept between turns, when direct."""

    def background(self) -> SQLiteEngine:
        """The same store for delivery work (the dispatcher, the relay): its turns go after
        those of every API request waiting, so that a filing waits behind at most one of them."""
        engine = SQLiteEngine(self.sync_engine, self.turns)
        engine.lean = self.lean
        engine.one = self.one
        engine._connection_cls = _BackTurnConnection
        return engine

    async def dispose(self, close: bool = True) -> None:
        """Give the kept connection back, then close the pool's."""
        self.one.close()
        await super().dispose(close)


def create_engine(
    url: str | None = None,
    *,
    connections: int | None = None,
    name: str | None = None,
    idle_check: float = postgres.IDLE_CHECK,
    **kwargs: Any,
) -> AsyncEngine:
    """An async engine for the store; creates the SQLite file's directory when needed.

    `sqlite:///PATH` runs SQLite's statements in the event loop (hub.store.sqlite);
    `sqlite+aiosqlite:///PATH` in a thread of their own, for a file that other processes write
    to for long enough that the loop must not wait for them. On PostgreSQL the pool keeps
    `connections` open (SQLAlchemy's default pool where None), names its sessions `name`, and
    checks a connection for life only after it idled `idle_check` seconds (hub.store.postgres);
    SQLite has one connection per process whatever is asked."""
    parsed = make_url(store_url(url))
    # A failed statement's error would quote its values (a record's names and addresses) into
    # every log line and traceback that shows it.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        if parsed.get_driver_name() == "pysqlite":
            parsed = parsed.set(drivername=f"sqlite+{inloop.DRIVER}")
        # One connection per process: SQLite has one writer anyway, and queueing on the pool
        # is cheaper than SQLite's sleeping busy handler. Transactions never wait on a network.
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        engine = create_async_engine(parsed, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return SQLiteEngine(engine.sync_engine)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(
            f"unsupported store {parsed.drivername!r}: use sqlite or postgresql+asyncpg"
        )
    engine = create_async_engine(parsed, **(postgres.pool_options(connections, name) | kwargs))
    postgres.check_after_idle(engine.sync_engine, idle_check)
    return engine


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", "hub.store:migrations")
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Several hub processes may start at once; one migrates, the others wait and find it done.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    command.upgrade(_alembic_config(connection), "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


def _current(connection: Connection) -> tuple[str | None, str | None]:
    script = ScriptDirectory.from_config(_alembic_config(connection))
    return MigrationContext.configure(connection).get_current_revision(), script.get_current_head()


async def migration_status(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """(revision of the database, newest revision known to this code)."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


@asynccontextmanager
async def snapshot(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection whose reads all see one moment of the store, for views that read several
    tables (an application and its deliveries must agree). REPEATABLE READ on PostgreSQL;
    SQLite's transactions see one moment already."""
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            yield conn
