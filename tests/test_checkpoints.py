"""WAL checkpoints of a SQLite store, taken by a thread instead of the event loop's commits."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from structlog.testing import capture_logs

from hub.applications.filing import file_application
from hub.model.configuration import HubConfig
from hub.store.checkpoints import BACKSTOP_PAGES, Checkpointer, checkpoint_in_background
from hub.store.engine import create_engine, migrate
from tests.samples import CARD_APPLICATION


def _in_the_file_alone(path: Path) -> list[tuple[str]]:
    """The applications in the database file itself, its write-ahead log left unread."""
    connection = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return connection.execute("SELECT id FROM applications").fetchall()
    finally:
        connection.close()


async def test_the_thread_copies_the_log_into_the_file_that_commits_leave_to_it(
    tmp_path: Path, config: HubConfig
) -> None:
    path = tmp_path / "hub.db"
    engine = create_engine(f"sqlite:///{path}")
    await migrate(engine)
    checkpointer = await checkpoint_in_background(engine, interval=0.01)
    assert checkpointer is not None
    try:
        async with engine.connect() as connection:
            setting = await connection.exec_driver_sql("PRAGMA wal_autocheckpoint")
            assert setting.scalar() == BACKSTOP_PAGES
        filed = await file_application(engine, config, None, CARD_APPLICATION)
        # No commit here comes near the backstop: the filing (and the migrations before it)
        # reach the file when a pass that began after the commit has ended.
        passes = checkpointer.passes
        assert await asyncio.to_thread(checkpointer.wait_for_pass, passes + 1, 30.0)
        assert _in_the_file_alone(path) == [(filed.id,)]
    finally:
        await asyncio.to_thread(checkpointer.stop)
        await engine.dispose()


async def test_no_thread_for_postgresql_whose_server_checkpoints() -> None:
    engine = create_engine("postgresql+asyncpg://hub@127.0.0.1:1/hub")
    try:
        assert await checkpoint_in_background(engine) is None
    finally:
        await engine.dispose()


def test_a_failing_checkpoint_is_said_once_not_at_every_pass(tmp_path: Path) -> None:
    path = tmp_path / "not-a-store.db"
    path.write_bytes(b"not a database" * 512)
    checkpointer = Checkpointer(str(path), interval=0.005)
    with capture_logs() as logs:
        checkpointer.start()
        try:
            assert checkpointer.wait_for_pass(3, 30.0)
        finally:
            checkpointer.stop()
    assert [(e["event"], e["log_level"]) for e in logs] == [("store.checkpoint_failed", "warning")]
    assert "not a database" in logs[0]["error"]
