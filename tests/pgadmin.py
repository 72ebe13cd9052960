"""What an administrator does to a test's PostgreSQL database: end its sessions, close it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy.engine import make_url


class Administrator:
    """A session on the server's `postgres` database, acting on one store's database."""

    def __init__(self, connection: asyncpg.Connection, database: str) -> None:
        self.connection = connection
        self.database = database

    async def end_sessions(self) -> int:
        """End every session of the database, as a server restart would; wait until they are
        gone (new ones may begin meanwhile), and say how many there were."""
        found = await self.connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", self.database
        )
        pids = [row["pid"] for row in found]
        # Apart from the lookup: in one statement the server may call the function on every
        # session before it filters them by database.
        await self.connection.execute(
            "SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", pids
        )
        for _ in range(500):
            if not await self.connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])", pids
            ):
                return len(pids)
            await asyncio.sleep(0.01)  # the server gives no event for a session's end
        raise AssertionError("the sessions did not end")

    async def allow_connections(self, allowed: bool) -> None:
        """Let sessions in, or refuse them."""
        await self.connection.execute(
            f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS {str(allowed).lower()}'
        )


@asynccontextmanager
async def administrator(store_url: str) -> AsyncIterator[Administrator]:
    """An administrator of the store's database, for the block."""
    url = make_url(store_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database="postgres"
    )
    try:
        yield Administrator(connection, str(url.database))
    finally:
        await connection.close()


@asynccontextmanager
async def database_closed(store_url: str) -> AsyncIterator[None]:
    """The database down for the block: its sessions ended, new ones refused."""
    async with administrator(store_url) as admin:
        await admin.allow_connections(False)
        try:
            await admin.end_sessions()
            yield
        finally:
            await admin.allow_connections(True)
