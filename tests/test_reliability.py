"""Nothing lost, nothing sent twice: crashes, restarts, several processes, dead departments.

Each test runs `hub serve` as a real process (or the hub in-process where a process boundary
adds nothing), against the simulators over real sockets, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.model.configuration import HubConfig, load_config
from hub.store.engine import create_engine
from hub.store.tables import attempts, deliveries
from simulators.faults import Faults
from simulators.runner import Simulators, settings_for, start_simulators
from tests.conftest import FRONTEND
from tests.pgadmin import administrator, database_closed
from tests.processes import HubProcess, write_config
from tests.samples import ALL

SAMPLES = itertools.cycle(ALL.values())
HELD = frozenset({"submitted", "in_review", "approved"})
"""States of a delivery its department holds."""


async def until(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    """Wait for a condition on the store or the simulators, failing after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.1)


async def states(engine: AsyncEngine) -> dict[str, int]:
    """How many deliveries are in each state."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(deliveries.c.state, func.count()).group_by(deliveries.c.state)
        )
        return dict(rows.all())


async def all_delivered(engine: AsyncEngine) -> bool:
    """No delivery is waiting or pending any more."""
    found = await states(engine)
    return bool(found) and not (found.keys() & {"waiting", "pending"})


async def keys_by_department(engine: AsyncEngine) -> dict[str, list[str]]:
    """Every delivery key, by department."""
    async with engine.connect() as conn:
        rows = await conn.execute(select(deliveries.c.department, deliveries.c.delivery_key))
        found: dict[str, list[str]] = {}
        for department, key in rows:
            found.setdefault(department, []).append(key)
        return found


async def submit_many(url: str, count: int) -> list[str]:
    """File `count` applications (the three samples in turn), twenty at a time."""
    gate = asyncio.Semaphore(20)
    headers = {"Authorization": f"Bearer {FRONTEND}"}
    async with aiohttp.ClientSession(url, headers=headers) as http:

        async def one(data: dict[str, Any]) -> str:
            async with gate, http.post("/api/v1/applications", json=data) as response:
                body = await response.json()
                assert response.status == 202, body
                return str(body["id"])

        return await asyncio.gather(*(one(next(SAMPLES)) for _ in range(count)))


async def received(sims: Simulators, department: str) -> dict[str, Any]:
    """What one simulated department received (read in-process: it is the test's own)."""
    system = sims[department].system
    return system.ledger.received() | {"max_in_flight": system.max_in_flight}


async def assert_each_key_registered_once(engine: AsyncEngine, sims: Simulators) -> None:
    """Every department holds exactly one case per delivery key the hub has for it."""
    for department, keys in (await keys_by_department(engine)).items():
        by_key = (await received(sims, department))["by_key"]
        twice = {k: by_key.get(k) for k in keys if by_key.get(k, {}).get("cases") != 1}
        assert not twice, f"{department}: keys not registered exactly once: {twice}"
        assert (await received(sims, department))["total_cases"] == len(keys)


async def calls_in_flight(engine: AsyncEngine) -> bool:
    """Some department call has begun and not ended."""
    async with engine.connect() as conn:
        open_calls = select(func.count()).where(attempts.c.outcome.is_(None))
        return bool((await conn.execute(open_calls)).scalar_one())


@pytest.fixture
async def engine(store_url: str) -> AsyncIterator[AsyncEngine]:
    """The test's own connection to the store the hub processes use."""
    engine = create_engine(store_url)
    yield engine
    await engine.dispose()


async def start_sims(config: HubConfig, **faults: Any) -> Simulators:
    """The simulators on the configured ports, each with the given faults."""
    settings = {
        code: settings_for(d).model_copy(update={"faults": Faults(**faults)})
        for code, d in config.departments.items()
    }
    return await start_simulators(config.departments, settings=settings)


async def test_kill_9_mid_fan_out_loses_nothing_and_sends_nothing_twice(
    tmp_path: Path, unused_tcp_port_factory: Any, store_url: str, engine: AsyncEngine
) -> None:
    """200 applications; the hub is killed with SIGKILL mid-way and started again. Every
    application completes and every department registered each delivery key exactly once,
    the social insurance gateway (which does not deduplicate) included."""
    # Decisions are asked for often: a step after another waits for its approval.
    quick = {"poll_interval": 0.5, "poll_interval_max": 1.0}
    ports = write_config(
        tmp_path / "config",
        unused_tcp_port_factory,
        department={"timeout": 2.0, "concurrency": 4, "status": quick},
    )
    config = load_config(tmp_path / "config")
    sims = await start_sims(config, latency=0.1)
    first = HubProcess(tmp_path / "config", store_url, ports["hub"], tmp_path / "first.log")
    try:
        await first.start()
        await submit_many(first.url, 200)
        total = sum((await states(engine)).values())

        async def mid_way() -> bool:
            # Sends in flight, not status queries: those the kill cuts off are what is tested.
            open_sends = attempts.c.outcome.is_(None) & (attempts.c.kind == "submit")
            async with engine.connect() as conn:
                open_calls = (
                    await conn.execute(select(func.count()).where(open_sends))
                ).scalar_one()
            found = await states(engine)
            held = sum(found.get(state, 0) for state in HELD)
            return open_calls > 0 and held >= total // 4

        await until(mid_way, 60, "a quarter of the deliveries accepted, with calls in flight")
        first.kill()
        assert await first.wait() == -9
        in_flight = (await states(engine)).get("pending", 0) + (await states(engine)).get(
            "waiting", 0
        )
        assert in_flight > 0, "the kill came too late to test anything"
        second = HubProcess(tmp_path / "config", store_url, ports["hub"], tmp_path / "second.log")
        await second.start()
        await until(
            lambda: all_delivered(engine), 120, "every delivery delivered after the restart"
        )
        assert await second.terminate() == 0
        assert set(await states(engine)) <= HELD
        await assert_each_key_registered_once(engine, sims)
        async with engine.connect() as conn:
            outcomes: dict[str, int] = dict(
                (
                    await conn.execute(
                        select(attempts.c.outcome, func.count()).group_by(attempts.c.outcome)
                    )
                ).all()
            )
        # The kill cut calls off mid-way; the restarted hub asked before sending those again,
        # wherever the department can be asked (the tax bureau deduplicates instead).
        assert outcomes.get("interrupted", 0) > 0, outcomes
        async with engine.connect() as conn:
            cut = select(attempts.c.delivery_id, attempts.c.department).where(
                attempts.c.outcome == "interrupted"
            )
            for delivery_id, department in (await conn.execute(cut)).all():
                kinds = select(attempts.c.kind).where(attempts.c.delivery_id == delivery_id)
                asked = "lookup" in (await conn.execute(kinds)).scalars().all()
                assert asked == (department != "tax"), (department, delivery_id)
    finally:
        for process in (first,):
            if process.process and process.process.returncode is None:
                process.kill()
        await sims.close()


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
async def test_two_processes_share_the_work_and_send_each_key_once(
    tmp_path: Path, unused_tcp_port_factory: Any, store_url: str, engine: AsyncEngine
) -> None:
    """Two `hub serve` on one PostgreSQL database: both work, no key is sent twice, and each
    department's concurrency limit holds across the two."""
    # Decisions are asked for often: a step after another waits for its approval.
    quick = {"poll_interval": 0.5, "poll_interval_max": 1.0}
    ports = write_config(
        tmp_path / "config",
        unused_tcp_port_factory,
        department={"concurrency": 3, "status": quick},
    )
    config = load_config(tmp_path / "config")
    sims = await start_sims(config, latency=0.02)
    one = HubProcess(tmp_path / "config", store_url, ports["hub"], tmp_path / "one.log")
    two = HubProcess(
        tmp_path / "config", store_url, unused_tcp_port_factory(), tmp_path / "two.log"
    )
    try:
        await asyncio.gather(one.start(), two.start())
        await asyncio.gather(submit_many(one.url, 100), submit_many(two.url, 100))
        await until(lambda: all_delivered(engine), 120, "every delivery delivered")
        assert set(await states(engine)) <= HELD
        for department in config.departments:
            report = await received(sims, department)
            resent = {k: v for k, v in report["by_key"].items() if v["requests"] != 1}
            assert not resent, f"{department} got keys more than once: {resent}"
            assert report["max_in_flight"] <= 3, f"{department}: {report['max_in_flight']} at once"
        async with engine.connect() as conn:
            workers = (
                await conn.execute(select(func.count(func.distinct(attempts.c.worker))))
            ).scalar_one()
        assert workers == 2
        assert list(await asyncio.gather(one.terminate(), two.terminate())) == [0, 0]
    finally:
        for process in (one, two):
            if process.process and process.process.returncode is None:
                process.kill()
        await sims.close()


def log_events(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a hub process's log."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
async def test_the_database_restarting_and_down_mid_fan_out_loses_nothing(
    tmp_path: Path, unused_tcp_port_factory: Any, store_url: str, engine: AsyncEngine
) -> None:
    """While calls are in flight the database ends every session of the hub, as a restart does,
    and later refuses connections for a while: the process carries on once it is back, every
    delivery is delivered, every key is registered exactly once, and the leases of calls the
    outage cut off are given back as soon as the database is back; the outage is logged once
    as it begins and once as it ends, not at every look for work, and no statement's values."""
    # Decisions are asked for often: a step after another waits for its approval.
    quick = {"poll_interval": 0.5, "poll_interval_max": 1.0}
    ports = write_config(tmp_path / "config", unused_tcp_port_factory, department={"status": quick})
    config = load_config(tmp_path / "config")
    sims = await start_sims(config, latency=0.05)
    log = tmp_path / "hub.log"
    hub = HubProcess(tmp_path / "config", store_url, ports["hub"], log)

    async def both_saw_the_outage() -> bool:
        seen = {e.get("component") for e in log_events(log) if e["event"] == "store.unavailable"}
        return seen >= {"dispatcher", "relay"}

    try:
        await hub.start()
        await submit_many(hub.url, 40)
        async with administrator(store_url) as admin:
            await until(lambda: calls_in_flight(engine), 30, "calls in flight")
            assert await admin.end_sessions() >= 1
        await engine.dispose()  # the test's own connections ended too
        await until(lambda: calls_in_flight(engine), 30, "calls in flight again")
        async with database_closed(store_url):
            await until(both_saw_the_outage, 30, "the outage seen")
            await asyncio.sleep(0.5)  # ten more looks for work, at the test's 0.05 s
        await engine.dispose()
        # Sooner than the leases of calls cut off by the outage run out (30 s and more here):
        # those the store could not take back then are given back once it answers.
        await until(lambda: all_delivered(engine), 15, "every delivery delivered soon after")
        assert set(await states(engine)) <= HELD
        await assert_each_key_registered_once(engine, sims)
        assert await hub.terminate() == 0
        events = log_events(log)
        for component in ("dispatcher", "relay"):
            said = [
                e["event"]
                for e in events
                if e.get("component") == component and e["event"].startswith("store.")
            ]
            # Once for the closed spell, and once for the restart if a look met an ended session.
            outages = len(said) // 2
            assert 1 <= outages <= 2 and said == ["store.unavailable", "store.recovered"] * outages
        assert not [e for e in events if e["event"] in ("dispatcher.claim_failed", "relay.failed")]
        unreleased = [e for e in events if e["event"] == "delivery.release_failed"]
        given_back = [e for e in events if e["event"] == "delivery.leases_given_back"]
        assert len(unreleased) == sum(e["deliveries"] for e in given_back)
        assert "[parameters: " not in log.read_text()  # no failed statement's values
    finally:
        if hub.process and hub.process.returncode is None:
            hub.kill()
        await sims.close()


async def test_graceful_shutdown_finishes_calls_in_flight_and_gives_back_leases(
    tmp_path: Path, unused_tcp_port_factory: Any, store_url: str, engine: AsyncEngine
) -> None:
    """SIGTERM while calls are in flight: they finish, no lease is left, the exit status is 0."""
    ports = write_config(tmp_path / "config", unused_tcp_port_factory)
    config = load_config(tmp_path / "config")
    sims = await start_sims(config, latency=1.0)
    hub = HubProcess(tmp_path / "config", store_url, ports["hub"], tmp_path / "hub.log")
    try:
        await hub.start()
        await submit_many(hub.url, 6)

        await until(lambda: calls_in_flight(engine), 30, "calls in flight")
        assert await hub.terminate() == 0
        async with engine.connect() as conn:
            unfinished = (
                await conn.execute(select(func.count()).where(attempts.c.outcome.is_(None)))
            ).scalar_one()
            leased = (
                await conn.execute(select(func.count()).where(deliveries.c.locked_by.is_not(None)))
            ).scalar_one()
        assert (unfinished, leased) == (0, 0)
        assert "dispatcher.stopped" in hub.logs.read_text()
    finally:
        if hub.process and hub.process.returncode is None:
            hub.kill()
        await sims.close()
