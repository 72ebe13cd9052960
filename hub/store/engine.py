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
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from hub.store import sqlite as inloop

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


class _GatedConnection(AsyncConnection):
    """A connection that holds its engine's gate from entering until leaving its block."""

    async def start(self, is_ctxmanager: bool = False) -> AsyncConnection:
        gate = cast(GatedEngine, self.engine).gate
        await gate.acquire()
        try:
            return await super().start(is_ctxmanager)
        except BaseException:
            gate.release()
            raise

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        try:
            await super().__aexit__(type_, value, traceback)
        finally:
            cast(GatedEngine, self.engine).gate.release()


class GatedEngine(AsyncEngine):
    """The same engine (the same pool), for background work that must not crowd it: at most
    `limit` of its connections are in use or waiting for the pool at once, so that the API's
    requests queue behind at most that many, whatever the number of deliveries in flight.

    A library would do this as a pool with priorities; SQLAlchemy's pools are first come,
    first served, hence this gate in front of one. Use it only as `async with`.
    """

    _connection_cls = _GatedConnection

    def __init__(self, engine: AsyncEngine, limit: int) -> None:
        super().__init__(engine.sync_engine)
        self.gate = asyncio.Semaphore(limit)


def create_engine(url: str | None = None, **kwargs: Any) -> AsyncEngine:
    """An async engine for the store; creates the SQLite file's directory when needed.

    `sqlite:///PATH` runs SQLite's statements in the event loop (hub.store.sqlite);
    `sqlite+aiosqlite:///PATH` in a thread of their own, for a file that other processes write
    to for long enough that the loop must not wait for them."""
    parsed = make_url(store_url(url))
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
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(
            f"unsupported store {parsed.drivername!r}: use sqlite or postgresql+asyncpg"
        )
    return create_async_engine(parsed, pool_pre_ping=True, **kwargs)


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
