"""Which of the store's errors are outages (the API answers 503, worth a retry), told apart from
faults (500), on errors the real drivers raise."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import text

from hub.store.engine import create_engine
from hub.store.outages import store_unavailable


async def _error_of(url: str, sql: str, **options: Any) -> BaseException:
    engine = create_engine(url, **options)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(sql))
    except Exception as exc:
        return exc
    finally:
        await engine.dispose()
    raise AssertionError(f"{sql!r} on {url} did not fail")


async def test_a_server_refusing_connections_is_an_outage() -> None:
    refused = await _error_of("postgresql+asyncpg://hub@127.0.0.1:1/hub", "SELECT 1")
    assert store_unavailable(refused)


async def test_a_sqlite_file_held_by_another_writer_past_the_timeout_is_an_outage(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hub.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (a)")
    holder.execute("BEGIN IMMEDIATE")
    try:
        locked = await _error_of(
            f"sqlite:///{path}", "INSERT INTO t VALUES (1)", connect_args={"timeout": 0.05}
        )
    finally:
        holder.close()
    assert "database is locked" in str(locked)
    assert store_unavailable(locked)


async def test_a_wrong_statement_is_a_fault_not_an_outage(tmp_path: Path) -> None:
    # sqlite3 calls a missing table an OperationalError too: the class alone does not tell.
    missing = await _error_of(f"sqlite:///{tmp_path / 'hub.db'}", "SELECT * FROM nowhere")
    assert "no such table" in str(missing)
    assert not store_unavailable(missing)
    assert not store_unavailable(ValueError("not the store's"))
