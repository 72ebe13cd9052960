"""WAL checkpoints of a SQLite store, taken by a thread of their own instead of the event loop.

SQLite appends each commit to its write-ahead log and, once the log holds 1,000 pages, the
commit that crosses that line copies the log into the database file and syncs both: 5 to 10 ms
on a small machine, several times a second under load, with the event loop stopped (the in-loop
driver runs every statement in it, hub.store.sqlite). A checkpoint needs no write lock, so a
thread with a connection of its own can take it instead while the loop goes on committing;
Python's sqlite3 lets go of the GIL while SQLite works. The loop's connections keep SQLite's own
automatic checkpoint, at ten times the distance, as a backstop should the thread fall behind.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

log = structlog.get_logger("hub.store.checkpoints")

BACKSTOP_PAGES = 10_000
"""Log pages at which a commit of the loop checkpoints after all (SQLite's default is 1,000)."""
_BACKSTOP = f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}"


class Checkpointer:
    """A thread copying a SQLite store's log into its file every `interval` seconds."""

    def __init__(self, path: str, interval: float = 0.2) -> None:
        self.path = path
        self.interval = interval
        self.passes = 0
        """Checkpoints taken so far."""
        self._stop = threading.Event()
        self._passed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="hub-checkpoints", daemon=True)

    def start(self) -> None:
        """Start taking checkpoints."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the checkpoint under way, if any; the loop's connections do the rest."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def wait_for_pass(self, after: int, timeout: float) -> bool:
        """Block until more than `after` checkpoints have been taken; False on timeout."""
        with self._passed:
            return self._passed.wait_for(lambda: self.passes > after, timeout)

    def _run(self) -> None:
        connection = sqlite3.connect(self.path, isolation_level=None)
        try:
            # PASSIVE never waits for a lock: behind a writer it copies what it can.
            connection.execute("PRAGMA busy_timeout=5000")
            failing = False
            while not self._stop.wait(self.interval):
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:
                    # The backstop checkpoints meanwhile; the next pass tries again. Said once
                    # per run of failures, not five times a second.
                    if not failing:
                        log.warning("store.checkpoint_failed", error=str(exc))
                    failing = True
                else:
                    if failing:
                        log.info("store.checkpoint_recovered")
                    failing = False
                with self._passed:
                    self.passes += 1
                    self._passed.notify_all()
        finally:
            connection.close()


async def checkpoint_in_background(
    engine: AsyncEngine, interval: float = 0.2
) -> Checkpointer | None:
    """For a store in a SQLite file, once migrated: a started Checkpointer, the loop's
    connections leaving the checkpoints to it; None for any other store."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None

    def backstop(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(_BACKSTOP)
        cursor.close()

    event.listen(engine.sync_engine, "connect", backstop)
    # The connection the migration opened is kept (hub.store.engine), past its connect.
    async with engine.connect() as connection:
        await connection.exec_driver_sql(_BACKSTOP)
    checkpointer = Checkpointer(url.database, interval)
    checkpointer.start()
    return checkpointer
