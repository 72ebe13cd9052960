"""The store as a work queue, on SQLite and PostgreSQL: migrations, claims, leases, limits."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.applications.filing import file_application
from hub.delivery.flow import settle
from hub.model.configuration import HubConfig
from hub.model.states import ApplicationStatus, DeliveryState
from hub.store import applications as app_store
from hub.store import deliveries as delivery_store
from hub.store.engine import SQLiteEngine, create_engine, migrate, migration_status
from hub.store.tables import breakers, deliveries, department_pauses
from hub.store.turns import Turns
from hub.store.types import utcnow
from tests.samples import CARD_APPLICATION, HOUSEHOLD_TRANSFER

LEASE = timedelta(seconds=60)


@pytest.fixture
async def engine(store_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated store."""
    engine = create_engine(store_url)
    await migrate(engine)
    yield engine
    await engine.dispose()


async def file_cards(engine: AsyncEngine, config: HubConfig, count: int) -> None:
    """`count` card applications: one pending social_security delivery each."""
    for _ in range(count):
        await file_application(engine, config, None, CARD_APPLICATION)


async def claim(engine: AsyncEngine, worker: str, limit: int, now=None) -> list[str]:
    async with engine.begin() as conn:
        rows = await delivery_store.claim(
            conn, "social_security", worker=worker, limit=limit, lease=LEASE, now=now or utcnow()
        )
    assert all(row["locked_by"] == worker for row in rows)
    return [row["id"] for row in rows]


async def test_migrations_reach_head_and_can_run_again(engine: AsyncEngine) -> None:
    """A migrated store is at the newest revision; migrating again changes nothing."""
    current, head = await migration_status(engine)
    assert current == head is not None
    await migrate(engine)
    assert await migration_status(engine) == (current, head)


async def test_department_limit_counts_every_workers_leases(
    engine: AsyncEngine, config: HubConfig
) -> None:
    """With 3 allowed at once, a second worker gets nothing while the first holds 3 leases."""
    await file_cards(engine, config, 5)
    first = await claim(engine, "worker-a", 3)
    assert len(first) == 3
    assert await claim(engine, "worker-b", 3) == []
    later = utcnow() + LEASE + timedelta(seconds=1)  # worker-a died; its leases ran out
    taken_over = await claim(engine, "worker-b", 3, now=later)
    assert len(taken_over) == 3
    assert set(taken_over) & set(first)  # expired leases are claimable again


async def test_given_back_leases_are_claimable_at_once(
    engine: AsyncEngine, config: HubConfig
) -> None:
    """release_all frees a stopping worker's deliveries for the others without waiting."""
    await file_cards(engine, config, 2)
    first = await claim(engine, "worker-a", 2)
    async with engine.begin() as conn:
        assert await delivery_store.release_all(conn, "worker-a") == 2
    assert sorted(await claim(engine, "worker-b", 2)) == sorted(first)


async def test_concurrent_claims_never_hand_out_one_delivery_twice(
    store_url: str, engine: AsyncEngine, config: HubConfig
) -> None:
    """Four workers with their own connections claim at once: no overlap, the limit holds."""
    await file_cards(engine, config, 12)
    engines = [create_engine(store_url) for _ in range(4)]
    try:
        results = await asyncio.gather(*(claim(e, f"worker-{i}", 5) for i, e in enumerate(engines)))
    finally:
        for e in engines:
            await e.dispose()
    claimed = [d for result in results for d in result]
    assert len(claimed) == len(set(claimed)) == 5


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
async def test_two_deliveries_deciding_at_once_both_count(
    engine: AsyncEngine, config: HubConfig
) -> None:
    """Two steps of one application approved in two transactions at once (two processes, or two
    calls of one, on PostgreSQL): the second to settle waits for the first and sees its step
    decided, so the application is approved, not left in progress with every step final."""
    filed = await file_application(engine, config, None, HOUSEHOLD_TRANSFER)
    now = utcnow()
    async with engine.begin() as conn:
        steps = await app_store.deliveries_of(conn, filed.id)
        for step in steps:
            await delivery_store.set_state(conn, step["id"], DeliveryState.SUBMITTED, now)
    first, second = steps
    async with engine.connect() as one, engine.connect() as two:
        await one.begin()
        await two.begin()
        await delivery_store.set_state(one, first["id"], DeliveryState.APPROVED, now)
        await delivery_store.set_state(two, second["id"], DeliveryState.APPROVED, now)
        await settle(one, filed.id, now, config.clock)
        later = asyncio.create_task(settle(two, filed.id, now, config.clock))
        # Let the second settle run until it is done (the flaw) or waits on the first's lock.
        # No event says "blocked on a row lock": the server's activity view is read until then.
        async with engine.connect() as watch:
            for _ in range(1000):
                if later.done() or await waiting_on_a_lock(watch):
                    break
                await asyncio.sleep(0.01)
        await one.commit()
        assert await later == ApplicationStatus.APPROVED
        await two.commit()
    async with engine.connect() as conn:
        application = await app_store.get_application(conn, filed.id)
    assert application is not None and application["status"] == ApplicationStatus.APPROVED


async def waiting_on_a_lock(conn: AsyncConnection) -> bool:
    """Whether another session of this database waits on a row lock now."""
    result = await conn.execute(
        text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    )
    return bool(result.scalar_one())


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_the_api_takes_the_next_turn_at_sqlites_connection(engine: AsyncEngine) -> None:
    """Delivery work (the background engine) and API requests take turns at the one
    connection: a waiting request goes before delivery work that waited longer; each lane is
    first come, first served; begin() and a failing block end their turn."""
    assert isinstance(engine, SQLiteEngine)
    background = engine.background()
    entered: list[str] = []

    async def use(which: AsyncEngine, name: str) -> None:
        async with which.begin() as conn:
            await conn.execute(text("SELECT 1"))
            entered.append(name)

    async with background.connect() as conn:
        await conn.execute(text("SELECT 1"))
        waiting = [asyncio.create_task(use(background, "work 1"))]
        await asyncio.sleep(0)  # in this order: each reaches its lane before the next starts
        waiting.append(asyncio.create_task(use(background, "work 2")))
        await asyncio.sleep(0)
        waiting.append(asyncio.create_task(use(engine, "request")))
        await asyncio.sleep(0)
        assert engine.turns.waiting(front=True) == 1 and engine.turns.waiting(front=False) == 2
        assert not entered
    await asyncio.gather(*waiting)
    assert entered == ["request", "work 1", "work 2"] and not engine.turns.taken
    with pytest.raises(RuntimeError):
        async with engine.connect():
            raise RuntimeError("a failing block ends its turn too")
    assert not engine.turns.taken


async def test_a_turn_given_back_goes_to_the_waiter_not_to_a_newcomer() -> None:
    """A turn handed to a waiter is not taken by one arriving before the waiter runs; a wait
    cancelled is passed over, and a turn handed over to a wait cancelled at that moment is
    passed on."""
    turns = Turns()
    await turns.take(front=False)
    order: list[str] = []

    async def wait(name: str, *, front: bool) -> None:
        await turns.take(front=front)
        order.append(name)
        turns.give_back()

    gone = asyncio.create_task(wait("cancelled", front=True))
    first = asyncio.create_task(wait("first", front=False))
    await asyncio.sleep(0)
    gone.cancel()
    turns.give_back()  # to "first": "cancelled" no longer waits
    await wait("newcomer", front=True)  # arrives before "first" has run: it waits
    await first
    assert order == ["first", "newcomer"] and gone.cancelled()

    await turns.take(front=False)
    handed = asyncio.create_task(wait("handed over, then cancelled", front=False))
    after = asyncio.create_task(wait("after", front=False))
    await asyncio.sleep(0)
    turns.give_back()  # to "handed …", whose task is cancelled before it runs
    handed.cancel()
    async with asyncio.timeout(10):  # a turn lost with the cancelled wait: "after" never runs
        await asyncio.gather(handed, after, return_exceptions=True)
    assert order[2:] == ["after"] and handed.cancelled() and not turns.taken


async def test_a_rush_of_requests_leaves_delivery_work_one_turn_in_every_few() -> None:
    """Requests waiting all the time do not keep delivery work from the store: after
    `front_run` of their turns in a row, a delivery waiting gets the next one."""
    turns = Turns(front_run=3)
    await turns.take(front=True)
    order: list[str] = []

    async def wait(name: str, *, front: bool) -> None:
        await turns.take(front=front)
        order.append(name)

    waits = [asyncio.create_task(wait(f"request {i}", front=True)) for i in range(7)]
    waits.append(asyncio.create_task(wait("delivery", front=False)))
    await asyncio.sleep(0)
    for _ in waits:
        turns.give_back()
        await asyncio.sleep(0)
    await asyncio.gather(*waits)
    assert order == [
        *("request 0", "request 1", "request 2"),
        "delivery",
        *("request 3", "request 4", "request 5", "request 6"),
    ]
    turns.give_back()
    assert not turns.taken


async def test_a_wait_for_a_turn_that_never_comes_times_out() -> None:
    """A block that waits for a second connection while it holds the one (a deadlock within
    one process) fails with TimeoutError, as a pool's checkout would, instead of hanging; the
    turn stays with its holder and the next one goes to whoever waits after."""
    turns = Turns(timeout=0.05)
    await turns.take(front=True)
    with pytest.raises(TimeoutError):
        await turns.take(front=True)
    assert turns.taken and turns.waiting(front=True) == 0
    later = asyncio.create_task(turns.take(front=False))
    await asyncio.sleep(0)
    turns.give_back()
    await later
    assert turns.taken
    turns.give_back()
    assert not turns.taken


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_a_claim_reads_due_work_by_index_in_the_order_it_takes_it(
    engine: AsyncEngine, config: HubConfig
) -> None:
    """The claim's queries are answered from indexes on the department: its finished
    deliveries, months of them, are never read to find its due work or to count its live
    leases, nor are the filings queued behind the few it takes (SQLite's plan, which needs no
    statistics)."""
    await file_cards(engine, config, 1)
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM deliveries" in statement:
            seen.append((statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        assert len(await claim(engine, "w1", 4)) == 1
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    plans = []
    async with engine.connect() as conn:
        for statement, params in seen:
            rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            plans.append(" | ".join(str(row[-1]) for row in rows))
    # The live leases, then each kind of due work: first sends, retries, status queries and
    # withdrawals, each by its own index. Sends and retries come in the order they are taken,
    # so a claim reads as many of them as it takes, however many wait behind; status queries
    # and withdrawals read only what has fallen due.
    assert len(plans) == 5, plans
    leases, sends, retries, polls, withdrawals = plans
    assert "ix_deliveries_department_lease (department=? AND locked_until>?)" in leases
    assert "ix_deliveries_department_due (department=? AND state=? AND next_attempt_at=?)" in sends
    assert (
        "ix_deliveries_department_due (department=? AND state=? AND next_attempt_at<?)" in retries
    )
    assert "TEMP B-TREE" not in sends + retries, (sends, retries)
    assert "ix_deliveries_department_poll (department=? AND state=? AND next_poll_at<?)" in polls
    assert "ix_deliveries_department_cancel (department=? AND cancel_requested_at>?)" in withdrawals


def _thread_function(dbapi_connection: Any, _record: Any) -> None:
    # A SQL function runs in whichever thread SQLite runs the statement in.
    dbapi_connection.create_function("running_thread", 0, threading.get_ident)


async def _file_and_read_back(url: str, config: HubConfig) -> tuple[str, list[Any], list[Any], int]:
    """Migrate a store, file one application and read it back, buffered then streamed; and the
    thread SQLite ran a statement in."""
    engine = create_engine(url)
    event.listen(engine.sync_engine, "connect", _thread_function)
    try:
        await migrate(engine)
        filed = await file_application(engine, config, None, HOUSEHOLD_TRANSFER)
        async with engine.begin() as conn:
            buffered = await conn.execute(
                select(deliveries.c.step).where(deliveries.c.application_id == filed.id)
            )
        # Read after its transaction ended and the connection went back to the pool.
        steps = sorted(buffered.scalars())
        async with engine.connect() as conn:
            streamed = await conn.stream(
                select(deliveries.c.step).where(deliveries.c.application_id == filed.id)
            )
            steps_streamed = sorted([row.step async for row in streamed])
            thread = (await conn.execute(text("SELECT running_thread()"))).scalar_one()
        return engine.dialect.driver, steps, steps_streamed, thread
    finally:
        await engine.dispose()


async def test_sqlite_runs_in_the_event_loop_and_reads_like_any_async_driver(
    tmp_path: Path, config: HubConfig
) -> None:
    """`sqlite:///` runs each statement in the loop's own thread, with no hand-off; its results
    outlive their transaction and can be streamed, as aiosqlite's do. `sqlite+aiosqlite:///`
    still opens a store that works the same, from a thread of its own."""
    loop_thread = threading.get_ident()
    steps = ["household_registration", "insurance_transfer"]
    inloop = await _file_and_read_back(f"sqlite:///{tmp_path / 'inloop.db'}", config)
    assert inloop == ("inloop", steps, steps, loop_thread)
    *threaded, thread = await _file_and_read_back(
        f"sqlite+aiosqlite:///{tmp_path / 'thread.db'}", config
    )
    assert threaded == ["aiosqlite", steps, steps]
    assert thread != loop_thread


async def test_the_oldest_filings_due_work_is_taken_first_whatever_its_kind(
    engine: AsyncEngine, config: HubConfig
) -> None:
    """A retry of the first filing is taken before the first sends of the filings queued after
    it: an application under way moves on before newer ones start."""
    await file_cards(engine, config, 5)
    async with engine.begin() as conn:
        rows = await delivery_store.search(conn, department="social_security")
        retry = min(rows, key=lambda row: row["created_at"])
        await delivery_store.set_state(
            conn,
            retry["id"],
            DeliveryState.PENDING,
            utcnow(),
            next_attempt_at=utcnow() - timedelta(seconds=1),
            attempts=1,
        )
    assert await claim(engine, "worker-a", 1) == [retry["id"]]
    assert len(await claim(engine, "worker-a", 5)) == 4  # then the filings, up to the limit


async def test_a_retry_that_failed_again_goes_behind_the_other_retries(
    engine: AsyncEngine, config: HubConfig
) -> None:
    """Among retries, the one waiting longest is taken: a breaker's single probe goes round
    the failing deliveries instead of taking the oldest filing's again and again until it is
    a dead letter while the others are never tried."""
    await file_cards(engine, config, 3)
    now = utcnow()
    async with engine.begin() as conn:
        rows = sorted(
            await delivery_store.search(conn, department="social_security"),
            key=lambda row: row["created_at"],
        )
        for row, waited in zip(rows, (1, 3, 2), strict=True):  # the oldest failed last
            await delivery_store.set_state(
                conn,
                row["id"],
                DeliveryState.PENDING,
                now,
                next_attempt_at=now - timedelta(seconds=waited),
                attempts=1,
            )
    assert await claim(engine, "worker-a", 1) == [rows[1]["id"]]


@pytest.mark.parametrize(
    ("paused", "breaker", "probe_by", "probing", "goes"),
    [
        (False, None, None, False, True),  # never failed
        (False, "closed", None, False, True),
        (True, None, None, False, False),  # an operator paused the department
        (True, "half_open", "w1", True, False),  # paused: not even the probe
        (False, "open", None, False, False),
        (False, "open", "w1", True, False),  # open, not yet half open: no probe either
        (False, "half_open", "w1", True, True),  # this process's probe, with its delivery
        (False, "half_open", "w1", False, False),  # its other deliveries wait for the probe
        (False, "half_open", "w2", True, False),  # another process's probe
        (False, "half_open", None, True, False),
    ],
)
async def test_a_call_goes_ahead_only_while_its_department_may_be_called(
    engine: AsyncEngine,
    config: HubConfig,
    paused: bool,
    breaker: str | None,
    probe_by: str | None,
    probing: bool,
    goes: bool,
) -> None:
    """The statement that records a call's start checks the pause and the breaker itself, as
    the gate read before every call did; and the lease: another worker's update goes nowhere."""
    await file_cards(engine, config, 1)
    [delivery_id] = await claim(engine, "w1", 1)
    now = utcnow()
    async with engine.begin() as conn:
        if paused:
            await conn.execute(
                department_pauses.insert().values(
                    department="social_security", paused_at=now, paused_by="op", reason="test"
                )
            )
        if breaker is not None:
            await conn.execute(
                breakers.insert().values(
                    department="social_security",
                    state=breaker,
                    failures=0,
                    probe_by=probe_by,
                    changed_at=now,
                )
            )

    async def update(worker: str) -> bool:
        async with engine.begin() as conn:
            return await delivery_store.update_if_callable(
                conn, delivery_id, "social_security", worker, {"updated_at": now}, probing=probing
            )

    assert await update("w1") is goes
    assert await update("w2") is False


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_sqlites_transactions_commit_roll_back_and_reconnect_without_greenlets(
    engine: AsyncEngine,
) -> None:
    """The in-loop driver's connections are used directly (hub.store.engine): a block that
    fails rolls back, a savepoint rolls back alone, a connection made anew after one was
    invalidated works, and every block ends its turn."""
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER)"))

    async def insert_then_fail() -> None:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (1)"))
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        await insert_then_fail()
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO t VALUES (2)"))
        savepoint = conn.begin_nested()
        await savepoint.start()
        await conn.execute(text("INSERT INTO t VALUES (3)"))
        await savepoint.rollback()
    async with engine.connect() as conn:
        await conn.invalidate()
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT n FROM t"))).scalars().all() == [2]
        await conn.rollback()
    assert not cast(SQLiteEngine, engine).turns.taken


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_delivery_work_passes_the_turn_on_at_the_next_turn_of_the_loop(
    engine: AsyncEngine,
) -> None:
    """So that about one of its transactions runs per turn of the loop, and a request read
    meanwhile is handed the turn first; a request's turn passes on at once."""
    store = cast(SQLiteEngine, engine)

    def taken() -> bool:
        return store.turns.taken

    async with store.background().begin() as conn:
        await conn.execute(select(deliveries.c.id))
    assert taken()
    await asyncio.sleep(0)
    assert not taken()
    async with engine.connect() as conn:
        await conn.execute(select(deliveries.c.id))
    assert not taken()

    order: list[str] = []

    async def take(engine: AsyncEngine, name: str) -> None:
        async with engine.connect():
            order.append(name)

    async with store.background().begin():
        request = asyncio.create_task(take(store, "request"))
        await asyncio.sleep(0)
        assert store.turns.waiting(front=True) == 1
    await asyncio.gather(take(store.background(), "delivery"), request)
    assert order == ["request", "delivery"]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_sqlites_one_connection_is_kept_between_turns_with_nothing_left_begun(
    engine: AsyncEngine,
) -> None:
    """Each turn gets the same connection, with no transaction left from the turn before (a
    read's would hold SQLite's checkpoints back); disposing of the engine gives it back."""
    store = cast(SQLiteEngine, engine)
    async with engine.connect() as conn:
        await conn.execute(select(deliveries.c.id))
        first = conn.sync_connection
        assert first is not None and first.in_transaction()
    assert not first.in_transaction()
    async with store.background().begin() as conn:
        assert conn.sync_connection is first
        await conn.execute(text("CREATE TABLE t (n INTEGER)"))
    assert not first.in_transaction() and not first.closed
    await engine.dispose()
    given_back: Any = first  # mypy holds on to the `not closed` asserted above
    assert given_back.closed and cast(Any, store.sync_engine.pool).checkedout() == 0
