"""The operators' web console in a real browser: headless Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.store.tables import audit_log
from tests.conftest import FRONTEND, OPERATOR, REPO, HubDriver, SimulatorControl, by_step
from tests.samples import CARD_APPLICATION, DOMESTIC_STARTUP, WANG_JIANGUO_ID

CHROMIUM = (
    os.environ.get("HUB_TEST_CHROMIUM")
    or shutil.which("chromium")
    or shutil.which("chromium-browser")
)
if CHROMIUM is None:
    if os.environ.get("CI"):
        raise RuntimeError(
            "CI must run the browser tests: install Debian's chromium (.ci/run does)"
        )
    pytest.skip(
        "no Chromium found (install Debian's chromium, or set HUB_TEST_CHROMIUM)",
        allow_module_level=True,
    )

from playwright.async_api import Browser, Page, async_playwright, expect  # noqa: E402

SCREENSHOTS = REPO / "docs" / "images"
pytestmark = [
    pytest.mark.parametrize("store_url", ["sqlite"], indirect=True),
    pytest.mark.parametrize(
        "department_overrides",
        [
            {
                # Later steps wait for the registration's approval: ask for it often.
                "market_regulation": {"status": {"poll_interval": 0.1, "poll_interval_max": 0.3}},
                "social_security": {"retry": {"max_attempts": 2, "quick_attempts": 1}},
            }
        ],
    ),
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium from the system (tests never download a browser)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        await browser.close()


@pytest.fixture
async def page(
    browser: Browser, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Page]:
    """A browser tab; on failure, a screenshot goes to the test's temp dir."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    tab = await context.new_page()
    yield tab
    if getattr(request.node, "failed", False):
        await tab.screenshot(path=tmp_path / "failure.png", full_page=True)
    await context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        item.failed = True


async def shot(page: Page, name: str) -> None:
    """Keep a screenshot for docs/operations.md when HUB_UPDATE_SCREENSHOTS is set."""
    if os.environ.get("HUB_UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=SCREENSHOTS / f"console-{name}.png", full_page=True)


OPERATOR_NAME = "李值班"


async def log_in(page: Page, base: str, token: str = OPERATOR) -> None:
    await page.goto(f"{base}/console")
    await expect(page).to_have_url(f"{base}/console/login?next=/console")
    await page.fill("#name", OPERATOR_NAME)
    await page.fill("#token", token)
    await page.click("#login")


async def test_operator_finds_a_failure_replays_a_dead_letter_and_logs_out(
    hub: HubDriver, sim: SimulatorControl, page: Page
) -> None:
    """Log in, find a failed call through the sync log's filters, open the application's timeline,
    replay a dead letter and watch it turn delivered without a reload, log out."""
    base = str(hub.client.make_url("")).rstrip("/")
    await sim.faults("tax", fail_next=1, fail_kind="error")
    startup = await hub.submit(DOMESTIC_STARTUP)
    await hub.delivered(startup)
    await sim.faults("social_security", error_rate=1.0)
    card = await hub.submit(CARD_APPLICATION)
    dead = by_step(await hub.delivered(card))["card_application"]
    assert dead["state"] == "dead"

    await log_in(page, base)
    await expect(page).to_have_url(f"{base}/console")
    await expect(page.locator(".card.status-failed .n")).to_have_text("1")
    await shot(page, "overview")

    await page.click("text=Sync log")
    await page.select_option("#outcome", "transient")
    await page.fill("input[name=error_code]", "SW-E9999")
    await page.click("#apply-filters")
    rows = page.locator("table.sync-log tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("tax_registration")
    await shot(page, "sync-log")
    await rows.first.locator("a.application-link").click()
    await expect(page.locator("#application-status")).to_have_text("in_progress")
    await expect(page.locator("#delivery-tax_registration .state")).to_have_text("submitted")
    await expect(page.locator("#delivery-tax_registration")).to_contain_text("SW-E9999")
    assert WANG_JIANGUO_ID not in await page.content() and "王建国" not in await page.content()
    await shot(page, "application")

    await page.click("text=Departments")
    await expect(page.locator("#department-tax svg.chart circle")).to_have_count(1)
    await shot(page, "departments")

    await sim.faults("social_security")  # the cause is mended
    await page.click("text=Dead letters")
    row = page.locator(f"#delivery-{dead['id']}")
    await expect(row.locator(".state")).to_have_text("dead")
    await shot(page, "dead-letters")
    await page.evaluate("window.notReloaded = true")
    page.once("dialog", lambda dialog: dialog.accept())
    await row.locator("button.replay").click()
    await expect(row.locator(".state")).to_have_text("submitted", timeout=15_000)
    assert await page.evaluate("window.notReloaded") is True  # it turned live, without a reload

    await page.click("#logout")
    await expect(page).to_have_url(f"{base}/console/login")
    await page.goto(f"{base}/console/dead-letters")
    await expect(page).to_have_url(f"{base}/console/login?next=/console/dead-letters")

    operators_acts = select(audit_log.c.actor, audit_log.c.action).where(
        audit_log.c.action.not_like("application.%")  # the frontend's filings are acts too
    )
    async with hub.hub.engine.connect() as conn:
        trail = [tuple(r) for r in (await conn.execute(operators_acts)).all()]
    assert trail == [
        ("duty-operator", "console.login"),
        ("duty-operator", "delivery.replay"),
        ("duty-operator", "console.logout"),
    ]


async def test_personal_data_is_shown_only_on_request_and_the_view_is_audited(
    hub: HubDriver, page: Page
) -> None:
    """The record is masked; "show personal data" reveals it once, and the audit trail says who."""
    base = str(hub.client.make_url("")).rstrip("/")
    application_id = await hub.submit(DOMESTIC_STARTUP)
    await log_in(page, base)
    await page.goto(f"{base}/console/applications/{application_id}")
    assert "王建国" not in await page.content()
    await page.click("#reveal")
    await expect(page.locator("pre.record")).to_contain_text("王建国")
    await expect(page.locator(".revealed")).to_be_visible()
    await page.goto(f"{base}/console/applications/{application_id}")
    assert "王建国" not in await page.content()
    async with hub.hub.engine.connect() as conn:
        views = (
            await conn.execute(
                select(audit_log.c.actor, audit_log.c.person, audit_log.c.subject).where(
                    audit_log.c.action == "application.view_personal_data"
                )
            )
        ).all()
    # The client and the person: the operator gave a name at login.
    assert [tuple(v) for v in views] == [("duty-operator", OPERATOR_NAME, application_id)]

    await page.click("text=Audit trail")
    await page.fill("input[name=application_id]", application_id)
    await page.click("#apply-audit-filters")
    rows = page.locator("table.audit-trail tbody tr.audit-entry")
    await expect(rows).to_have_count(2)  # newest first: the view, then the filing
    await expect(rows.nth(0)).to_contain_text("application.view_personal_data")
    await expect(rows.nth(0)).to_contain_text("duty-operator")
    await expect(rows.nth(1)).to_contain_text("application.file")
    await expect(rows.nth(1)).to_contain_text("window-frontend")
    assert "王建国" not in await page.content() and WANG_JIANGUO_ID not in await page.content()


async def test_only_operators_may_log_in(hub: HubDriver, page: Page) -> None:
    """A frontend's token opens no console session."""
    base = str(hub.client.make_url("")).rstrip("/")
    await log_in(page, base, token=FRONTEND)
    await expect(page.locator(".error")).to_contain_text("not an operator")
    await page.goto(f"{base}/console")
    await expect(page).to_have_url(f"{base}/console/login?next=/console")


async def test_the_console_asks_who_logs_in(hub: HubDriver, page: Page) -> None:
    """A login without the operator's name opens no session: acts are audited under a person."""
    base = str(hub.client.make_url("")).rstrip("/")
    await page.goto(f"{base}/console/login")
    await page.fill("#token", OPERATOR)
    await page.eval_on_selector("#name", "e => e.removeAttribute('required')")
    await page.click("#login")
    await expect(page.locator("body")).to_contain_text("Give your name")
    await page.goto(f"{base}/console")
    await expect(page).to_have_url(f"{base}/console/login?next=/console")
