"""Lean statements (hub.store.lean): on SQLite they run straight on the driver, and read and
write exactly what SQLAlchemy's own execution of them would."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.applications.filing import file_application, new_id
from hub.model.configuration import HubConfig
from hub.model.states import DeliveryState
from hub.ops import maintenance
from hub.store import applications as app_store
from hub.store import attempts as attempt_store
from hub.store import breakers as breaker_store
from hub.store import deliveries as delivery_store
from hub.store.engine import create_engine, migrate
from hub.store.lean import LeanResult
from hub.store.types import utcnow
from tests.samples import CARD_APPLICATION, HOUSEHOLD_TRANSFER


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite store, run by the in-loop driver."""
    engine = create_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    await migrate(engine)
    yield engine
    await engine.dispose()


@contextmanager
def watched(engine: AsyncEngine) -> Iterator[list[str]]:
    """Statements as SQLAlchemy runs them: anything listening to statement events turns lean
    execution off, so that it sees every statement."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def run_both(engine: AsyncEngine, statement: Any, parameters: dict[str, Any]) -> Any:
    """The statement's result read lean and read through SQLAlchemy, both as plain values."""
    results = []
    for lean in (True, False):
        nothing: AbstractContextManager[list[str]] = nullcontext([])
        with nothing if lean else watched(engine) as seen:
            async with engine.connect() as conn:
                result = await conn.execute(statement, parameters)
        assert isinstance(result, LeanResult) is lean
        assert lean or seen, "SQLAlchemy's own execution was watched"
        keys = list(result.keys())
        results.append((keys, [tuple(row) for row in result]))
    return results


async def test_lean_reads_give_what_sqlalchemy_gives(
    engine: AsyncEngine, config: HubConfig
) -> None:
    """Every lean read of the store gives the same columns, names and typed values (aware
    datetimes, JSON, booleans) lean as through SQLAlchemy."""
    cards = [(await file_application(engine, config, None, CARD_APPLICATION)).id for _ in range(5)]
    household = await file_application(engine, config, None, HOUSEHOLD_TRANSFER)
    now = utcnow()
    past = now - timedelta(seconds=1)
    async with engine.begin() as conn:
        [leased] = await delivery_store.claim(
            conn, "social_security", worker="w1", limit=1, lease=timedelta(seconds=60), now=now
        )
        # One social_security delivery due for each kind of work besides the first sends.
        steps = [(await app_store.steps_of(conn, card))[0]["id"] for card in cards[1:4]]
        await delivery_store.set_state(
            conn, steps[0], DeliveryState.PENDING, now, next_attempt_at=past
        )
        await delivery_store.set_state(
            conn, steps[1], DeliveryState.IN_REVIEW, now, next_poll_at=past
        )
        await delivery_store.set_state(
            conn, steps[2], DeliveryState.PENDING, now, cancel_requested_at=past
        )
        await breaker_store.record_failure(
            conn, "tax", "timeout", threshold=1, cooldown=timedelta(seconds=30), now=now
        )
    await maintenance.pause(engine, "public_security", "upgrade", "duty-operator")
    application_id = household.id
    by_department = {"b_department": "social_security", "b_now": now}
    cases: list[tuple[Any, dict[str, Any]]] = [
        (delivery_store._BY_ID, {"b_id": leased["id"]}),
        (delivery_store._STANDING, {"b_id": leased["id"]}),
        (delivery_store._LEASES_HELD, {"b_department": "social_security", "b_now": now}),
        (delivery_store._ANY_DUE, by_department),
        *((query, {**by_department, "b_room": 5}) for query in delivery_store._DUE_KINDS),
        (app_store._STANDING, {"b_id": application_id}),
        (app_store._STEPS, {"b_id": application_id}),
        (app_store._RECORD, {"b_id": application_id}),
        (breaker_store._GATE, {"b_department": "tax"}),
        (breaker_store._ALL, {}),
        (maintenance._PAUSES, {}),
    ]
    for statement, parameters in cases:
        lean, reference = await run_both(engine, statement, parameters)
        assert lean == reference, statement
        assert reference[1], f"{statement} read nothing, so it was not compared"


async def test_lean_writes_count_and_key_as_sqlalchemy_does(
    engine: AsyncEngine, config: HubConfig
) -> None:
    """A lean UPDATE counts the rows it changed, a lean INSERT gives its new key, and what they
    wrote reads back the same through SQLAlchemy."""
    filed = await file_application(engine, config, None, CARD_APPLICATION)
    async with engine.connect() as conn:
        [delivery] = await app_store.steps_of(conn, filed.id)
    started = utcnow()
    async with engine.begin() as conn:
        attempt_id = await attempt_store.begin(
            conn,
            {
                "delivery_id": delivery["id"],
                "application_id": filed.id,
                "department": "social_security",
                "kind": "submit",
                "number": 1,
                "worker": "w1",
                "started_at": started,
            },
        )
        await attempt_store.finish(conn, attempt_id, {"outcome": "accepted", "duration_ms": 4.5})
        changed = await delivery_store.update_leased(conn, delivery["id"], "w1", {"in_doubt": True})
        unleased = await delivery_store.update_if_callable(
            conn, delivery["id"], "social_security", "w1", {"attempts": 1}, probing=False
        )
    assert (changed, unleased) == (False, False)  # nobody holds its lease
    async with engine.begin() as conn:
        await delivery_store.set_state(
            conn, delivery["id"], DeliveryState.SUBMITTED, started, attempts=3
        )
    with watched(engine):
        async with engine.connect() as conn:
            [row] = await attempt_store.search(conn, application_id=filed.id)
            current = await delivery_store.get(conn, delivery["id"])
    assert (row["id"], row["outcome"], row["duration_ms"], row["started_at"]) == (
        attempt_id,
        "accepted",
        4.5,
        started,
    )
    assert current is not None
    assert (current["state"], current["attempts"], current["updated_at"]) == (
        "submitted",
        3,
        started,
    )


async def test_a_lean_statement_fails_as_sqlalchemy_would_and_changes_nothing(
    engine: AsyncEngine,
) -> None:
    """A constraint broken by a lean statement raises SQLAlchemy's IntegrityError, and its
    transaction rolls back; a parameter missing is SQLAlchemy's own error."""
    values = {
        "delivery_id": "no-such-delivery",
        "application_id": "none",
        "department": "tax",
        "kind": "submit",
        "number": 1,
        "worker": "w1",
        "started_at": utcnow(),
    }
    with pytest.raises(exc.IntegrityError):
        async with engine.begin() as conn:
            await attempt_store.begin(conn, values)
    with pytest.raises(exc.StatementError, match="b_id"):
        async with engine.connect() as conn:
            await conn.execute(delivery_store._BY_ID, {})
    async with engine.connect() as conn:
        assert await attempt_store.search(conn) == []


async def test_a_filing_is_written_lean_with_its_columns_defaults(
    engine: AsyncEngine, config: HubConfig
) -> None:
    """A filing's inserts run lean, its deliveries as one executemany, and the columns it does
    not name get their declared defaults, as SQLAlchemy would give them."""
    filed = await file_application(engine, config, None, HOUSEHOLD_TRANSFER, idempotency_key="k")
    with watched(engine):
        async with engine.connect() as conn:
            application = await app_store.get_application(conn, filed.id)
            steps = await app_store.deliveries_of(conn, filed.id)
            found = await app_store.by_idempotency_key(conn, "k")
    assert application is not None and found is not None and found["id"] == filed.id
    assert application["record_version"] == 1
    assert len(steps) > 1
    assert {(s["retry_base"], s["polls_unchanged"], s["corrections"]) for s in steps} == {(0, 0, 0)}
    copies = [
        {k: v for k, v in s.items() if k not in ("retry_base", "polls_unchanged", "corrections")}
        | {"id": new_id(), "delivery_key": new_id()}
        for s in steps
    ]
    async with engine.begin() as conn:
        result: Any = await conn.execute(app_store._INSERT_DELIVERIES, copies)
    assert isinstance(result, LeanResult) and result.rowcount == len(steps)
    async with engine.connect() as conn:
        again = await app_store.deliveries_of(conn, filed.id)
    assert sorted(s["step"] for s in again) == sorted([s["step"] for s in steps] * 2)
    assert {(s["retry_base"], s["polls_unchanged"], s["corrections"]) for s in again} == {(0, 0, 0)}
