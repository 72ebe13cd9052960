"""The adapter kit's pytest plugin (entry point `hub_adapter_kit`): the `kit` fixture that
`AdapterConformance` tests use."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pydantic
import pytest
import pytest_asyncio

from hub.model.catalog import Matter
from hub.model.configfiles import problems_from_pydantic, read_toml
from hub.model.departments import read_department
from hub.testing.kit import GIVEN, GIVEN_DEPARTMENT, STEP, Kit
from hub.testing.proxy import FaultProxy


def _matter(path: Path, department: str, operation: str, inputs: list[str]) -> Matter:
    """The author's matter reduced to the step under test, after a stand-in for earlier steps."""
    data = read_toml(path)
    steps: dict[str, object] = {}
    if inputs:
        steps[GIVEN] = {"department": GIVEN_DEPARTMENT, "operation": GIVEN}
    steps[STEP] = {
        "department": department,
        "operation": operation,
        "after": [GIVEN] if inputs else [],
        "uses": {name: f"{GIVEN}.{name}" for name in inputs},
    }
    try:
        return Matter.model_validate({**data, "code": f"kit.{department}", "steps": steps})
    except pydantic.ValidationError as exc:
        problems = "\n".join(f"  {p}" for p in problems_from_pydantic(path, exc))
        pytest.fail(f"the matter file does not load:\n{problems}", pytrace=False)


@pytest_asyncio.fixture
async def kit(
    request: pytest.FixtureRequest,
    department: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Kit]:
    """The adapter under test talking to the class's `department` (the test system's endpoint,
    a fixture the test class provides) through a fault proxy."""
    case = request.instance
    if case is None or not hasattr(case, "adapter"):
        pytest.fail("the kit fixture is for subclasses of hub.testing.AdapterConformance")
    parts = urlsplit(department)
    proxy = FaultProxy(f"{parts.scheme}://{parts.netloc}")
    base = await proxy.start()
    system = read_department(case.department_file).with_endpoint(base + parts.path)
    system = system.model_copy(update={"timeout": case.timeout})
    missing = set(system.credentials) - set(case.credentials)
    if missing:
        pytest.fail(
            f"{type(case).__name__}.credentials has no test value for {sorted(missing)}: "
            f"{case.department_file} names them",
            pytrace=False,
        )
    for name, credential in system.credentials.items():
        monkeypatch.setenv(credential.env, case.credentials[name])
    if len(os.environ.get("HUB_SECRET_KEY", "")) < 16:
        monkeypatch.setenv("HUB_SECRET_KEY", secrets.token_urlsafe(24))
    matter = _matter(case.matter_file, system.code, case.operation, list(case.inputs))
    async with aiohttp.ClientSession() as http:
        try:
            yield Kit(
                adapter=case.adapter(system, http),
                department=system,
                proxy=proxy,
                http=http,
                matter=matter,
                step=matter.steps[STEP],
                application=case.application,
                inputs=case.inputs,
                directory=tmp_path,
            )
        finally:
            await proxy.close()
