"""Operators: the sync log, department health, metrics, maintenance mode and the audit trail."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete, func, select, update

from hub.store import attempts as attempt_store
from hub.store.tables import attempts, audit_log
from hub.store.types import utcnow
from tests.conftest import OPERATOR, TAX_IT, HubDriver, SimulatorControl, by_step, hub_command
from tests.samples import BUSINESS_STARTUP, CARD_APPLICATION

QUICK = {"status": {"poll_interval": 0.1, "poll_interval_max": 0.3}}
# Asked for decisions often: company start-up's later steps wait for registration's approval.
POLLED = pytest.mark.parametrize(
    "department_overrides",
    [dict.fromkeys(("market_regulation", "public_security", "tax", "social_security"), QUICK)],
)
HELD = frozenset({"submitted", "in_review", "approved"})


@POLLED
async def test_metrics_parse_and_the_call_counters_match_the_sync_log(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """/metrics is valid Prometheus text; its call counters equal the sync log's rows."""
    await sim.faults("tax", fail_next=1, fail_kind="error")
    for data in (BUSINESS_STARTUP, CARD_APPLICATION):  # decided at once: no call after that
        await hub.wait_for(await hub.submit(data), lambda v: v["status"] == "approved")
    response = await hub.get("/metrics", token=None)
    families = {f.name: f for f in text_string_to_metric_families(await response.text())}
    counted: Counter[tuple[str, str, str]] = Counter()
    for sample in families["hub_department_calls"].samples:
        if sample.name == "hub_department_calls_total":
            labels = sample.labels
            counted[(labels["department"], labels["kind"], labels["outcome"])] += int(sample.value)
    async with hub.hub.engine.connect() as conn:
        rows = await conn.execute(
            select(
                attempts.c.department, attempts.c.kind, attempts.c.outcome, func.count()
            ).group_by(attempts.c.department, attempts.c.kind, attempts.c.outcome)
        )
        logged = Counter({(d, k, o): n for d, k, o, n in rows})
    assert counted == logged
    assert logged[("tax", "submit", "transient")] == 1
    filed = {
        s.labels["matter"]: s.value
        for s in families["hub_applications_filed"].samples
        if s.name.endswith("_total")
    }
    assert filed == {"business.startup": 1.0, "social_security.card": 1.0}
    gauges = {
        (s.labels.get("department"), s.labels.get("state")): s.value
        for s in families["hub_deliveries"].samples
    }
    assert gauges[("market_regulation", "approved")] == 1
    assert {s.value for s in families["hub_breaker_state"].samples} == {0.0}
    for family in families.values():  # no ids in labels: every value is from a bounded set
        for sample in family.samples:
            assert not any(
                len(v) == 26 and v.isalnum() and v.isupper() for v in sample.labels.values()
            )


@POLLED
async def test_sync_log_filters_and_a_department_sees_only_its_own(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """Filters narrow the log; the tax bureau's client sees tax calls and nothing else."""
    await sim.faults("tax", fail_next=1, fail_kind="error")
    application_id = await hub.submit(BUSINESS_STARTUP)
    # Decided at once by every department: no call after that.
    await hub.wait_for(application_id, lambda v: v["status"] == "approved")
    everything = await (await hub.get("/api/v1/sync-log?limit=500", token=OPERATOR)).json()
    assert len([i for i in everything["items"] if i["kind"] == "submit"]) == 5
    ids = [item["id"] for item in everything["items"]]
    assert ids == sorted(ids, reverse=True)  # newest first
    failed = await (
        await hub.get("/api/v1/sync-log?outcome=transient&error_code=SW-E9999", token=OPERATOR)
    ).json()
    assert [(i["department"], i["step"]) for i in failed["items"]] == [("tax", "tax_registration")]
    mine = await (
        await hub.get(f"/api/v1/sync-log?application_id={application_id}", token=TAX_IT)
    ).json()
    assert {i["department"] for i in mine["items"]} == {"tax"}
    other = await (
        await hub.get("/api/v1/sync-log?department=market_regulation", token=TAX_IT)
    ).json()
    assert other["items"] == []
    page = await (await hub.get("/api/v1/sync-log?limit=2", token=OPERATOR)).json()
    rest = await (
        await hub.get(f"/api/v1/sync-log?limit=500&cursor={page['next_cursor']}", token=OPERATOR)
    ).json()
    assert [i["id"] for i in page["items"] + rest["items"]] == ids
    assert "张伟" not in json.dumps(everything) and "王建国" not in json.dumps(everything)


@POLLED
async def test_pause_holds_deliveries_and_resume_sends_them(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """While tax is paused nothing is sent to it (others carry on); resumed, it gets its filing."""
    response = await hub.post(
        "/api/v1/departments/tax/pause",
        json={"reason": "bureau upgrade until 14:00"},
        token=OPERATOR,
    )
    assert response.status == 200
    assert (
        await hub.post("/api/v1/departments/tax/pause", json={"reason": "again"}, token=OPERATOR)
    ).status == 409
    application_id = await hub.submit(BUSINESS_STARTUP)
    view = await hub.wait_for(
        application_id,
        lambda v: all(d["state"] in HELD for s, d in by_step(v).items() if s != "tax_registration"),
    )
    health = {
        d["code"]: d
        for d in (await (await hub.get("/api/v1/departments", token=OPERATOR)).json())["items"]
    }
    assert health["tax"]["paused"]["reason"] == "bureau upgrade until 14:00"
    assert health["tax"]["deliveries"]["pending"] == 1
    assert by_step(view)["tax_registration"]["attempts"] == []
    assert (await sim.received("tax"))["traces"] == []
    assert (await hub.post("/api/v1/departments/tax/resume", token=OPERATOR)).status == 200
    view = await hub.delivered(application_id)
    assert by_step(view)["tax_registration"]["state"] in HELD
    async with hub.hub.engine.connect() as conn:
        trail = (
            await conn.execute(
                select(audit_log.c.actor, audit_log.c.action, audit_log.c.subject).where(
                    audit_log.c.action.like("department.%")
                )
            )
        ).all()
    assert [tuple(r) for r in trail] == [
        ("duty-operator", "department.pause", "tax"),
        ("duty-operator", "department.resume", "tax"),
    ]


async def test_department_health_reports_calls_and_latency(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """Calls, success rate and p50/p95/p99 per window; the last success is known."""
    await sim.faults("social_security", fail_next=1, fail_kind="error")
    await hub.delivered(await hub.submit(CARD_APPLICATION))
    items = (await (await hub.get("/api/v1/departments", token=OPERATOR)).json())["items"]
    gateway = next(d for d in items if d["code"] == "social_security")
    for window in ("5m", "1h", "1d"):
        stats = gateway["windows"][window]
        assert stats["attempts"] == 2 and stats["success_rate"] == 0.5
        assert 0 < stats["p50_ms"] <= stats["p95_ms"] <= stats["p99_ms"]
    assert gateway["breaker"]["last_success_at"] is not None
    idle = next(d for d in items if d["code"] == "tax")
    assert idle["windows"]["1h"] == {
        "attempts": 0,
        "success_rate": None,
        "p50_ms": None,
        "p95_ms": None,
        "p99_ms": None,
    }


async def test_audit_verify_names_an_edited_or_deleted_entry(
    hub: HubDriver, store_url: str
) -> None:
    """`hub audit verify` passes on the untouched trail and fails, naming the entry, after an
    edit or a deletion made directly in the database."""
    for _ in range(3):
        await hub.post("/api/v1/departments/tax/pause", json={"reason": "drill"}, token=OPERATOR)
        await hub.post("/api/v1/departments/tax/resume", token=OPERATOR)
    env = {**os.environ, "HUB_STORE_URL": store_url}
    intact = await hub_command(env, "audit", "verify")
    assert (intact.returncode, intact.stdout.strip()) == (0, "audit trail intact: 6 entries")
    async with hub.hub.engine.begin() as conn:
        await conn.execute(
            update(audit_log).where(audit_log.c.id == 3).values(actor="someone-else")
        )
    edited = await hub_command(env, "audit", "verify")
    assert edited.returncode == 1
    assert "entry 3: its contents were changed" in edited.stderr
    async with hub.hub.engine.begin() as conn:
        await conn.execute(
            update(audit_log).where(audit_log.c.id == 3).values(actor="duty-operator")
        )
        await conn.execute(delete(audit_log).where(audit_log.c.id == 4))
    gap = await hub_command(env, "audit", "verify")
    assert gap.returncode == 1 and "entry 4" in gap.stderr and "deleted" in gap.stderr
    async with hub.hub.engine.begin() as conn:
        await conn.execute(delete(audit_log).where(audit_log.c.id >= 4))
    cut = await hub_command(env, "audit", "verify")
    assert cut.returncode == 1 and "entry 6" in cut.stderr and "deleted" in cut.stderr


async def test_hub_logs_and_departments_from_the_shell(
    hub: HubDriver, sim: SimulatorControl, store_url: str
) -> None:
    """`hub logs --json` prints the calls, `hub logs -f` tails new ones, `hub departments` reads."""
    await hub.delivered(await hub.submit(CARD_APPLICATION))
    env = {**os.environ, "HUB_STORE_URL": store_url}
    listed = await hub_command(env, "logs", "--json", "--department", "social_security")
    calls = [json.loads(line) for line in listed.stdout.splitlines()]
    # A status query may have followed the send by now, under load.
    assert [(c["kind"], c["outcome"]) for c in calls][:1] == [("submit", "accepted")]
    assert {c["department"] for c in calls} == {"social_security"}
    table = await hub_command(env, "departments")
    assert table.returncode == 0 and "social_security" in table.stdout and "serving" in table.stdout
    async with following(env, "--limit", "1") as next_call:
        await next_call()  # the newest call so far
        second = await hub.submit(CARD_APPLICATION)
        await hub.delivered(second)
        # The first application's status queries may end in between: read up to the new send.
        while (fresh := await next_call())["application_id"] != second:
            pass
    assert fresh["department"] == "social_security"
    assert (fresh["kind"], fresh["outcome"]) == ("submit", "accepted")


@contextlib.asynccontextmanager
async def following(
    env: dict[str, str], *args: str
) -> AsyncIterator[Callable[[], Awaitable[dict[str, Any]]]]:
    """`hub logs --follow --json ARGS…` running; gives a function that reads its next call."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "hub.cli", "logs", "--follow", "--json", *args),
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    stdout = process.stdout

    async def next_call() -> dict[str, Any]:
        call: dict[str, Any] = json.loads(await asyncio.wait_for(stdout.readline(), 30))
        return call

    try:
        yield next_call
    finally:
        # SIGTERM, not Ctrl-C's SIGINT: a test run started in the background by a
        # non-interactive shell starts its children with SIGINT ignored.
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)


async def test_hub_logs_follow_shows_a_slow_call_when_it_ends(
    hub: HubDriver, store_url: str
) -> None:
    """`hub logs -f` shows a call that ends after a later one did, and applies --outcome to
    each call as it ends."""
    application_id = await hub.submit(CARD_APPLICATION)
    [delivery] = (await hub.delivered(application_id))["deliveries"]

    async def begin(number: int) -> int:
        async with hub.hub.engine.begin() as conn:
            return await attempt_store.begin(
                conn,
                {
                    "delivery_id": delivery["id"],
                    "application_id": application_id,
                    "department": "social_security",
                    "kind": "query",
                    "number": number,
                    "worker": "test",
                    "started_at": utcnow(),
                },
            )

    async def end(attempt_id: int, outcome: str) -> None:
        async with hub.hub.engine.begin() as conn:
            await attempt_store.finish(conn, attempt_id, {"outcome": outcome, "duration_ms": 5.0})

    env = {**os.environ, "HUB_STORE_URL": store_url}
    async with following(env, "--outcome", "transient") as next_call:
        slow, answered, quick = await begin(91), await begin(92), await begin(93)
        await end(answered, "answered")
        await end(quick, "transient")
        # The tail has passed the slow call, still in flight.
        assert (await next_call())["id"] == quick
        await end(slow, "transient")
        assert (await next_call())["id"] == slow
