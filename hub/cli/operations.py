"""The operators' commands: `hub logs`, `hub departments`, `hub audit verify` and `show`."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.cli.support import (
    as_option,
    config_options,
    echo_table,
    load,
    operator,
    store_option,
    with_engine,
)
from hub.ops import audit as audit_trail
from hub.ops import maintenance
from hub.ops.department_health import department_health
from hub.store import attempts as attempt_store
from hub.store.types import utcnow


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise click.BadParameter(f"{value!r} needs an offset, e.g. 2026-11-26T08:00:00+08:00")
    return moment


def _row(row: Any) -> dict[str, Any]:
    keys = (
        "id",
        "started_at",
        "department",
        "step",
        "kind",
        "number",
        "outcome",
        "error_code",
        "http_status",
        "duration_ms",
        "request_bytes",
        "response_bytes",
        "application_id",
        "delivery_key",
        "error_message",
    )
    return {k: row[k].isoformat() if isinstance(row[k], datetime) else row[k] for k in keys}


@click.command("logs")
@store_option
@click.option("--application", "application_id", help="Calls for this application.")
@click.option("--delivery-key", help="Calls for this delivery key.")
@click.option("--department", help="Calls to this department.")
@click.option("--outcome", help="accepted, transient, permanent, answered, …")
@click.option("--error-code", help="The department's error code.")
@click.option("--since", help="Started at or after (ISO 8601 with offset).")
@click.option("--until", help="Started before (ISO 8601 with offset).")
@click.option("--min-duration-ms", type=float, help="Only calls at least this slow.")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@click.option(
    "--follow", "-f", is_flag=True, help="Keep printing calls as they end, in the order they end."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, for machines.")
def logs(
    store_url: str | None,
    application_id: str | None,
    delivery_key: str | None,
    department: str | None,
    outcome: str | None,
    error_code: str | None,
    since: str | None,
    until: str | None,
    min_duration_ms: float | None,
    limit: int,
    follow: bool,
    as_json: bool,
) -> None:
    """The sync log: every call to a department, newest last; `--follow` to tail it."""
    filters: dict[str, Any] = {
        "application_id": application_id,
        "delivery_key": delivery_key,
        "departments": [department] if department else None,
        "outcome": outcome,
        "error_code": error_code,
        "since": _moment(since),
        "until": _moment(until),
        "min_duration_ms": min_duration_ms,
    }

    def show(rows: list[Any], header: bool) -> None:
        if as_json:
            for row in rows:
                click.echo(json.dumps(_row(row), ensure_ascii=False))
            return
        table = (
            [("ID", "STARTED", "DEPARTMENT", "STEP", "CALL", "OUTCOME", "CODE", "HTTP", "MS")]
            if header
            else []
        )
        for row in rows:
            table.append(
                (
                    str(row["id"]),
                    row["started_at"].strftime("%Y-%m-%d %H:%M:%S"),
                    row["department"],
                    row["step"],
                    f"{row['kind']} #{row['number']}",
                    row["outcome"] or "in flight",
                    row["error_code"] or "",
                    str(row["http_status"] or ""),
                    f"{row['duration_ms']:.0f}" if row["duration_ms"] is not None else "",
                )
            )
        if table:
            echo_table(table)

    # What a call's end decides: a call in flight cannot match these yet, so a tail asks for
    # its calls without them and applies them to each call as it ends.
    ended = ("outcome", "error_code", "min_duration_ms")
    started = {k: v for k, v in filters.items() if k not in ended}

    def as_asked(row: Any) -> bool:
        return (
            (outcome is None or row["outcome"] == outcome)
            and (error_code is None or row["error_code"] == error_code)
            and (min_duration_ms is None or (row["duration_ms"] or 0) >= min_duration_ms)
        )

    async def tail(engine: AsyncEngine, last: int, waiting: set[int], listed: set[int]) -> None:
        # Calls end out of order: a call in flight is asked after until it ends, where a cursor
        # alone would pass it by as soon as a later call ended. `listed` ended before the list
        # was read and were shown there.
        while True:
            await asyncio.sleep(0.5)
            async with engine.connect() as conn:
                ended = (
                    await attempt_store.search(conn, ids=waiting, limit=len(waiting), **started)
                    if waiting
                    else []
                )
                new = await attempt_store.search(conn, after_id=last, limit=1000, **started)
            if new:
                last = new[-1]["id"]
            done = [
                r
                for r in (*reversed(ended), *new)
                if r["outcome"] is not None and r["id"] not in listed
            ]
            waiting -= {r["id"] for r in done}
            waiting |= {r["id"] for r in new if r["outcome"] is None}
            show([r for r in done if as_asked(r)], header=False)

    async def work(engine: AsyncEngine) -> None:
        async with engine.connect() as conn:
            if follow:  # read before the list, so that no call ends unseen in between
                newest = await attempt_store.search(conn, limit=1, **started)
                last = newest[0]["id"] if newest else 0
                waiting = {
                    r["id"]
                    for r in await attempt_store.search(
                        conn, in_flight=True, before_id=last + 1, limit=10_000, **started
                    )
                }
            rows = list(reversed(await attempt_store.search(conn, limit=limit, **filters)))
        show(rows, header=True)
        if follow:
            listed = {r["id"] for r in rows if r["outcome"] is not None}
            await tail(engine, last, waiting - listed, listed)

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends --follow
        asyncio.run(with_engine(store_url, work))


@click.group("departments", invoke_without_command=True)
@config_options
@store_option
@click.option("--json", "as_json", is_flag=True, help="The full report as JSON.")
@click.pass_context
def departments(
    ctx: click.Context,
    config_dir: Path,
    env_files: tuple[Path, ...],
    store_url: str | None,
    as_json: bool,
) -> None:
    """Each department's health (`hub departments`), and maintenance mode (pause, resume)."""
    ctx.obj = {"config_dir": config_dir, "env_files": env_files, "store_url": store_url}
    if ctx.invoked_subcommand is not None:
        return
    config = load(config_dir, env_files)
    report = asyncio.run(with_engine(store_url, lambda e: department_health(e, config, utcnow())))
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    table = [
        (
            "DEPARTMENT",
            "STATE",
            "BREAKER",
            "CALLS 1H",
            "OK 1H",
            "P95 MS",
            "OPEN",
            "RETRYING",
            "DEAD",
            "LAST OK",
        )
    ]
    for d in report:
        hour = d["windows"]["1h"]
        table.append(
            (
                d["code"],
                f"paused: {d['paused']['reason']}" if d["paused"] else "serving",
                d["breaker"]["state"],
                str(hour["attempts"]),
                f"{hour['success_rate']:.0%}" if hour["success_rate"] is not None else "-",
                str(hour["p95_ms"] if hour["p95_ms"] is not None else "-"),
                str(d["deliveries"]["open"]),
                str(d["deliveries"]["retries_scheduled"]),
                str(d["deliveries"]["dead"]),
                (d["breaker"]["last_success_at"] or "-")[:19],
            )
        )
    echo_table(table)


@departments.command("pause")
@click.argument("department")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
@as_option
@click.pass_context
def pause(ctx: click.Context, department: str, reason: str, person: str) -> None:
    """Pause a department: its deliveries wait; no call goes out until `resume`."""
    config = load(ctx.obj["config_dir"], ctx.obj["env_files"])
    if department not in config.departments:
        raise click.BadParameter(f"no department {department!r}", param_hint="DEPARTMENT")
    done = asyncio.run(
        with_engine(
            ctx.obj["store_url"],
            lambda e: maintenance.pause(e, department, reason, operator(person)),
        )
    )
    click.echo(f"{department} paused" if done else f"{department} was paused already")


@departments.command("resume")
@click.argument("department")
@as_option
@click.pass_context
def resume(ctx: click.Context, department: str, person: str) -> None:
    """Resume a paused department: what waited is sent, within its limits."""
    done = asyncio.run(
        with_engine(
            ctx.obj["store_url"], lambda e: maintenance.resume(e, department, operator(person))
        )
    )
    click.echo(f"{department} resumed" if done else f"{department} was not paused")


@click.group("audit")
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
@store_option
def verify(store_url: str | None) -> None:
    """Check the audit trail's hash chain; exit 1 naming the first edited or deleted entry."""
    checked, broken = asyncio.run(with_engine(store_url, audit_trail.verify))
    if broken is not None:
        click.echo(f"audit trail broken at entry {broken.entry_id}: {broken.reason}", err=True)
        raise SystemExit(1)
    click.echo(f"audit trail intact: {checked} entries")


@audit.command("show")
@store_option
@click.option("--application", "application_id", help="Acts on this application.")
@click.option("--actor", help="Acts of this client or person.")
@click.option("--kind", help="An act (application.correct) or its family (application).")
@click.option("--since", help="At or after (ISO 8601 with offset).")
@click.option("--until", help="Before (ISO 8601 with offset).")
@click.option("--after", "after_id", type=click.IntRange(0), help="Entries after this id.")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, for machines.")
def show(
    store_url: str | None,
    application_id: str | None,
    actor: str | None,
    kind: str | None,
    since: str | None,
    until: str | None,
    after_id: int | None,
    limit: int,
    as_json: bool,
) -> None:
    """The audit trail, oldest first: who (client and person) did what, when."""
    filters: dict[str, Any] = {
        "application_id": application_id,
        "actor": actor,
        "kind": kind,
        "since": _moment(since),
        "until": _moment(until),
        "after_id": after_id,
        "limit": limit,
    }

    async def work(engine: AsyncEngine) -> list[Any]:
        async with engine.connect() as conn:
            return await audit_trail.search(conn, **filters)

    entries = [audit_trail.entry_view(r) for r in asyncio.run(with_engine(store_url, work))]
    if as_json:
        for entry in entries:
            click.echo(json.dumps(entry, ensure_ascii=False))
        return
    table = [("ID", "AT", "CLIENT", "PERSON", "KIND", "SUBJECT", "DETAIL")]
    for e in entries:
        table.append(
            (
                str(e["id"]),
                e["at"][:19].replace("T", " "),
                e["client"],
                e["person"] or "-",
                e["kind"],
                e["subject"] or "",
                json.dumps(e["detail"], ensure_ascii=False, separators=(",", ":")),
            )
        )
    echo_table(table)
