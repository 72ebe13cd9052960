"""The plugin system: entry-point discovery of a separately installed package, and the facade."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from hub import hookimpl
from hub.applications.intake import normalize_application
from hub.model.catalog import Step
from hub.model.configuration import load_config
from hub.model.departments import Department
from hub.model.problems import Problem, ValidationProblem
from hub.plugin.adapter import Adapter, DeliveryContext
from hub.plugin.manager import PluginError, Plugins, make_plugin_manager
from tests.conftest import CONFIG, REPO
from tests.samples import CARD_APPLICATION

FIXTURE = REPO / "tests" / "fixtures" / "acme_adapter"
BUILT_IN = {"public_security", "tax", "market_regulation", "social_security"}


@pytest.fixture(scope="module")
def acme_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The acme package installed by pip into its own directory, with its entry-point metadata."""
    target = tmp_path_factory.mktemp("acme-site")
    build = tmp_path_factory.mktemp("acme-build")
    # Built from a copy: setuptools builds in the source tree, and a build/ left in tests/ would
    # be type-checked (and fail) by the next `make test`.
    source = shutil.copytree(FIXTURE, build / "acme_adapter")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        env={**os.environ, "TMPDIR": str(build)},
        cwd=build,
    )
    assert list(target.glob("acme_archive_adapter-1.2.0.dist-info"))
    return target


@pytest.fixture
def with_acme(acme_site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The acme package importable, as if installed into this environment."""
    monkeypatch.syspath_prepend(str(acme_site))


def test_built_in_adapters_are_found_through_entry_points() -> None:
    """The hub's own adapters come from the hub.adapters entry point group, with their package."""
    adapters = Plugins(make_plugin_manager()).adapters()
    assert set(adapters) >= BUILT_IN
    assert {adapters[name].package for name in BUILT_IN} == {"one-window-hub"}
    assert Plugins(make_plugin_manager(entry_points=False)).adapters() == {}


@pytest.mark.usefixtures("with_acme")
async def test_separately_packaged_adapter_is_discovered_and_used(
    http: aiohttp.ClientSession, unused_tcp_port: int
) -> None:
    """A third party's installed package is found by entry point, then carries a delivery."""
    adapters = Plugins(make_plugin_manager()).adapters()
    info = adapters["acme_archive"]
    assert (info.package, info.version, info.plugin) == (
        "acme-archive-adapter",
        "1.2.0",
        "acme_archive",
    )

    received: list[dict] = []

    async def copies(request: web.Request) -> web.Response:
        received.append(
            {"body": await request.json(), "key": request.headers.get("Idempotency-Key")}
        )
        return web.json_response({"copy_id": "ARC-1"}, status=201)

    app = web.Application()
    app.router.add_post("/archive/copies", copies)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    try:
        department = Department(
            code="city_archives",
            name="City Archives",
            adapter="acme_archive",
            endpoint=f"http://127.0.0.1:{unused_tcp_port}/archive",
        )
        adapter = info.cls(department, http)
        record = normalize_application(CARD_APPLICATION, load_config(CONFIG).catalog)
        step = Step(name="archive", department="city_archives", operation="archive_copy")
        receipt = await adapter.submit(record, step, DeliveryContext("APP-9", "K-ARC-1"))
    finally:
        await runner.cleanup()
    assert receipt.reference == "ARC-1"
    assert received == [
        {"body": {"matter": "social_security.card", "kind": "person"}, "key": "K-ARC-1"}
    ]


def test_hub_adapters_command_lists_the_installed_package(acme_site: Path) -> None:
    """`hub adapters` in a process that has the package on its path lists it with its version."""
    env = {**os.environ, "PYTHONPATH": str(acme_site)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "adapters",
            "--config",
            str(CONFIG),
            "--env-file",
            str(CONFIG / "demo" / "demo.env"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    lines = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert lines["acme_archive"][1:4] == ["rest", "acme-archive-adapter", "1.2.0"]
    assert lines["tax"][1] == "soap"
    assert lines["tax"][-1] == "tax"


class _Twice:
    """A plugin offering an adapter name that a built-in adapter already has."""

    @hookimpl
    def hub_adapters(self) -> list[type[Adapter]]:
        from adapters.tax import TaxAdapter

        class Impostor(TaxAdapter):
            pass

        return [Impostor]


def test_two_plugins_offering_one_adapter_name_is_an_error_naming_both() -> None:
    """An adapter name clash is refused, naming both plugins."""
    with pytest.raises(PluginError, match=r"'tax'.*both plugin 'tax' and plugin '_Twice'"):
        Plugins(make_plugin_manager([_Twice()])).adapters()


class _Misspelt:
    @hookimpl
    def hub_adapter(self) -> list[type[Adapter]]:  # the s is missing
        return []


def test_misspelt_hook_is_refused_when_the_manager_is_built() -> None:
    """A hook implementation matching no spec fails loudly instead of never being called."""
    with pytest.raises(Exception, match="hub_adapter"):
        make_plugin_manager([_Misspelt()], entry_points=False)


class _NoPoBoxes:
    """A plugin that refuses P.O. box mailing addresses, reporting a problem."""

    @hookimpl
    def hub_normalize_record(self, record):
        if "信箱" in str(record.form.get("mailing_address", "")):
            return [Problem("form.mailing_address", "po_box", "cards are not mailed to P.O. boxes")]
        return None


class _AdultsOnly:
    """A plugin that raises ValidationProblem instead of returning problems."""

    @hookimpl
    def hub_normalize_record(self, record, matter):
        if matter.code == "social_security.card" and record.applicant.birth_date.year > 2010:
            raise ValidationProblem.single("applicant.id_number", "too_young", "applicant under 16")


def test_problems_of_every_plugin_are_reported_together() -> None:
    """Two plugins' problems, one returned and one raised, arrive in one ValidationProblem."""
    catalog = load_config(CONFIG).catalog
    data = {**CARD_APPLICATION, "form": {"bank": "icbc", "mailing_address": "示范市邮政信箱 88 号"}}
    data["applicant"] = {**data["applicant"], "id_number": "110105201203074514"}
    plugins = Plugins(make_plugin_manager([_NoPoBoxes(), _AdultsOnly()], entry_points=False))
    with pytest.raises(ValidationProblem) as info:
        normalize_application(data, catalog, plugins)
    assert {(p.field, p.code) for p in info.value.problems} == {
        ("form.mailing_address", "po_box"),
        ("applicant.id_number", "too_young"),
    }


class _Recorder:
    """A plugin that remembers every status change it is told of."""

    def __init__(self) -> None:
        self.heard: list[tuple[str | None, str]] = []

    @hookimpl
    async def hub_status_changed(self, application, old, new):
        self.heard.append((old, new))


class _Broken:
    """A plugin whose hook always fails."""

    @hookimpl
    def hub_status_changed(self, application):
        raise RuntimeError("gateway down")


async def test_status_changes_reach_plugins_once_in_order_despite_a_broken_one(
    store_url: str, config: Any
) -> None:
    """The relay announces each committed change once, in order; a failing plugin does not
    stop the others; a second process does not announce the same changes again."""
    from hub.applications.filing import file_application
    from hub.delivery.relay import Relay
    from hub.store.engine import create_engine, migrate

    engine = create_engine(store_url)
    await migrate(engine)
    recorder = _Recorder()
    plugins = Plugins(make_plugin_manager([_Broken(), recorder], entry_points=False))
    try:
        for _ in range(2):
            await file_application(engine, config, None, CARD_APPLICATION)
        first = Relay(engine, plugins, "worker-1", interval=0.05)
        second = Relay(engine, plugins, "worker-2", interval=0.05)
        await first.relay_once()
        await second.relay_once()  # the first holds the relay: nothing is announced twice
        assert recorder.heard == [(None, "submitted"), (None, "submitted")]
        await first.relay_once()
        assert len(recorder.heard) == 2
    finally:
        await engine.dispose()
