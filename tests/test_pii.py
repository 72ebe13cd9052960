"""No personal data in clear text in logs, the sync log, metrics or the console (save the one
audited view), over a demo-like run through real processes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.applications.filing import file_application
from hub.model.configuration import HubConfig, load_config
from hub.store.engine import create_engine, migrate
from hub.store.lean import lean
from hub.store.tables import applications, attempts, audit_log, status_events
from simulators.cli import build_settings
from simulators.runner import start_simulators
from tests.conftest import FRONTEND, OPERATOR
from tests.processes import HubProcess, write_config
from tests.samples import ALL

# The demo applicants' personal data, as typed and as normalized.
SECRETS = [
    "11010519900307451X",
    "11010519900307451x",
    "310115198511202624",
    "440306197806150031",
    "13800138000",
    "138 0013 8000",
    "13700137000",
    "13900139000",
    "139-0013-9000",
    "张伟",
    "李娜",
    "王建国",
]


def found_in(texts: dict[str, str]) -> dict[str, list[str]]:
    """Which secrets appear in which text."""
    return {
        name: hits for name, text in texts.items() if (hits := [s for s in SECRETS if s in text])
    }


async def store_texts(engine: AsyncEngine) -> dict[str, str]:
    """The sync log, the status events and the audit trail as text."""
    texts = {}
    async with engine.connect() as conn:
        for table in (attempts, status_events, audit_log):
            rows = (await conn.execute(select(table))).mappings().all()
            texts[f"table {table.name}"] = json.dumps(
                [dict(r) for r in rows], default=str, ensure_ascii=False
            )
    return texts


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_no_personal_data_in_logs_sync_log_metrics_or_console(
    tmp_path: Path, unused_tcp_port_factory: Any, store_url: str, notifications: Path
) -> None:
    """Every log line, sync-log row, metric and console page of a run holds no ID number, phone
    number or name in clear; the one audited view does (so the search itself works)."""
    statuses = {"status": {"poll_interval": 0.2, "poll_interval_max": 0.5}}
    ports = write_config(tmp_path / "config", unused_tcp_port_factory, department=statuses)
    config = load_config(tmp_path / "config")
    hub = HubProcess(tmp_path / "config", store_url, ports["hub"], tmp_path / "hub.log")
    settings = build_settings(
        config, ("tax:malformed_rate=0.3", "tax:seed=3", "social_security:reset_rate=0.2"), 1.0
    )
    settings["market_regulation"] = settings["market_regulation"].model_copy(
        update={"callback_url": f"{hub.url}/api/v1/callbacks/market_regulation"}
    )
    sims = await start_simulators(config.departments, settings=settings)
    engine = create_engine(store_url)
    texts: dict[str, str] = {}
    try:
        await hub.start()
        async with aiohttp.ClientSession(
            hub.url, headers={"Authorization": f"Bearer {FRONTEND}"}
        ) as http:
            ids = []
            for data in ALL.values():
                async with http.post("/api/v1/applications", json=data) as response:
                    assert response.status == 202
                    ids.append((await response.json())["id"])
            bad = {
                **ALL["household.transfer"],
                "applicant": {**ALL["household.transfer"]["applicant"], "phone": "12345"},
            }
            async with http.post("/api/v1/applications", json=bad) as response:
                texts["422 answer"] = await response.text()
            for _ in range(300):
                views = []
                for application_id in ids:
                    async with http.get(f"/api/v1/applications/{application_id}") as response:
                        views.append(await response.json())
                if all(v["status"] == "approved" for v in views):
                    break
                await asyncio.sleep(0.1)
            assert [v["status"] for v in views] == ["approved"] * len(ids)
            texts["application views"] = json.dumps(views, ensure_ascii=False)
        # unsafe=True: the cookie jar keeps cookies from an IP address host (127.0.0.1).
        async with aiohttp.ClientSession(
            hub.url, cookie_jar=aiohttp.CookieJar(unsafe=True)
        ) as browser:
            async with browser.post(
                "/console/login", data={"token": OPERATOR, "name": "Wang Fang", "next": "/console"}
            ) as response:
                assert response.status == 200  # followed the redirect to the overview
            pages = [
                "/console",
                "/console/departments",
                "/console/sync-log",
                "/console/dead-letters",
            ]
            pages += [f"/console/applications/{i}" for i in ids]
            for path in pages:
                async with browser.get(path) as response:
                    texts[f"console {path}"] = await response.text()
                    assert "Log out" in texts[f"console {path}"], path  # a page, not the login form
            async with browser.get(f"/console/applications/{ids[0]}") as response:
                page = await response.text()
            csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            async with browser.post(
                f"/console/applications/{ids[0]}/reveal", data={"csrf": csrf}
            ) as response:
                revealed = await response.text()
        async with aiohttp.ClientSession(
            hub.url, headers={"Authorization": f"Bearer {OPERATOR}"}
        ) as http:
            for path in ("/api/v1/sync-log?limit=1000", "/metrics", "/api/v1/departments"):
                async with http.get(path) as response:
                    texts[f"api {path}"] = await response.text()
        assert await hub.terminate() == 0
        texts["hub log"] = await asyncio.to_thread(hub.logs.read_text)
        texts["notifications"] = await asyncio.to_thread(notifications.read_text)
        texts.update(await store_texts(engine))
    finally:
        if hub.process and hub.process.returncode is None:
            hub.kill()
        await sims.close()
        await engine.dispose()
    assert len(texts["hub log"].splitlines()) > 50 and "attempt.finished" in texts["hub log"]
    assert "transient" in texts["table attempts"]  # the faults did produce failed calls
    assert found_in(texts) == {}
    assert "张伟" in revealed  # the audited view shows them: the search can find what is there


async def test_a_failed_statement_keeps_the_values_it_was_given_out_of_its_error(
    store_url: str, config: HubConfig
) -> None:
    """A statement that fails (here a duplicate key) raises an error that every log line and
    traceback showing it would quote: it names the statement, not the record's values, whether
    SQLAlchemy ran it or the lean path did."""
    engine = create_engine(store_url)
    try:
        await migrate(engine)
        filed = await file_application(engine, config, None, ALL["household.transfer"])
        async with engine.connect() as conn:
            found = await conn.execute(select(applications).where(applications.c.id == filed.id))
            row = dict(found.mappings().one())
        assert [s for s in SECRETS if s in str(row)], "the row carries personal data to hide"
        for statement in (applications.insert(), lean(applications.insert())):
            with pytest.raises(IntegrityError) as failed:
                async with engine.begin() as conn:
                    await conn.execute(statement, row)
            message = str(failed.value)
            assert "INSERT INTO applications" in message
            assert "parameters hidden" in message
            assert [s for s in SECRETS if s in message] == []
    finally:
        await engine.dispose()
