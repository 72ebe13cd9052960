"""PostgreSQL's connections: a pool that keeps them, checked for life only after they idled."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.engine import create_engine
from tests.pgadmin import administrator

pytestmark = pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)

NAME = "hub:test"


def _count_connects(engine: AsyncEngine) -> list[int]:
    """A counter of the connections the engine's pool opens."""
    opened = [0]

    def connected(*_: Any) -> None:
        opened[0] += 1

    event.listen(engine.sync_engine, "connect", connected)
    return opened


async def _select_one(engine: AsyncEngine) -> int:
    async with engine.begin() as connection:
        one: int = (await connection.execute(text("SELECT 1"))).scalar_one()
    return one


async def _end_sessions(store_url: str) -> None:
    async with administrator(store_url) as admin:
        assert await admin.end_sessions() >= 1


async def test_a_busy_pool_keeps_its_connections_instead_of_opening_more(store_url: str) -> None:
    """Twelve transactions at once on a pool of two: they wait for its two connections rather
    than open extra ones that would be closed again as they come back, and the server names
    the sessions."""
    engine = create_engine(store_url, connections=2, name=NAME)
    opened = _count_connects(engine)
    try:
        for _ in range(3):
            assert await asyncio.gather(*(_select_one(engine) for _ in range(12))) == [1] * 12
        assert opened[0] == 2
        async with engine.connect() as connection:
            named = await connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND application_name = :name"
                ),
                {"name": NAME},
            )
            assert named.scalar_one() == 2
    finally:
        await engine.dispose()


async def test_a_connection_that_died_while_idle_is_replaced_before_it_is_used(
    store_url: str,
) -> None:
    """A connection taken after idling is checked first: one found dead is replaced, and the
    transaction never sees it."""
    engine = create_engine(store_url, connections=2, idle_check=0.0)
    opened = _count_connects(engine)
    try:
        assert await _select_one(engine) == 1
        await _end_sessions(store_url)
        assert await _select_one(engine) == 1
        assert opened[0] == 2
    finally:
        await engine.dispose()


async def test_a_connection_used_moments_ago_is_trusted_and_its_death_costs_one_transaction(
    store_url: str,
) -> None:
    """Within `idle_check` a connection is trusted (a check at every checkout would add its
    round trip to every transaction); if it died meanwhile, the one transaction on it fails as
    a disconnect, and the pool replaces its connections for the next."""
    engine = create_engine(store_url, connections=2, idle_check=3600.0)
    opened = _count_connects(engine)
    try:
        assert await _select_one(engine) == 1
        await _end_sessions(store_url)
        with pytest.raises(DBAPIError) as failed:
            await _select_one(engine)
        assert failed.value.connection_invalidated
        assert await _select_one(engine) == 1
        assert opened[0] == 2
    finally:
        await engine.dispose()
