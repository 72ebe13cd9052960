"""docs/writing-an-adapter.md, followed to the letter: each tutorial's commands run in a shell,
its files written where it says, against the simulated systems it uses as test systems.

`hub new-adapter` makes a package, the tutorial's mapping is filled in, the package is installed,
its own kit tests pass against a simulator, and the hub discovers it and checks its endpoint.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub.model.configuration import HubConfig
from simulators.runner import Simulators
from tests.conftest import REPO

TUTORIAL = REPO / "docs" / "writing-an-adapter.md"
BLOCK = re.compile(
    r"(?:<!-- (?P<directive>file|section|replace): (?P<path>\S+) -->\s*\n)?"
    r"```(?P<lang>\w*)\n(?P<body>.*?)```",
    re.S,
)
# The one command not run as written: `pip install -e` would change the environment every other
# test runs in. The same package goes into a directory of its own, on PYTHONPATH, instead.
EDITABLE_INSTALL = "pip install -e '.[test]'"
ISOLATED_INSTALL = (
    f"{shlex.quote(sys.executable)} -m pip install --quiet --no-deps --no-build-isolation "
    '--target "$ADAPTER_SITE" .'
)
DEFAULT_PORTS = {"market_regulation": "http://127.0.0.1:8703", "tax": "http://127.0.0.1:8702"}


@dataclass
class Step:
    """One thing the tutorial has the reader do."""

    kind: str  # "sh", "file", "section" or "replace"
    body: str
    path: str = ""


def tutorial(name: str) -> list[Step]:
    """The steps of one tutorial of the page, in order."""
    text = TUTORIAL.read_text()
    start = text.index(f"<!-- tutorial: {name} -->")
    ends = [text.find(m, start + 1) for m in ("<!-- tutorial:", "<!-- end of tutorial -->")]
    part = text[start : min(e for e in ends if e > 0)]
    steps = []
    for match in BLOCK.finditer(part):
        if match["directive"]:
            steps.append(Step(match["directive"], match["body"], match["path"]))
        elif match["lang"] == "sh":
            steps.append(Step("sh", match["body"]))
    return steps


def replace_section(text: str, block: str) -> str:
    """The file with the lines from the block's first line to its last replaced by the block."""
    lines = block.rstrip("\n").split("\n")
    first = text.index(lines[0])
    last = text.index(lines[-1], first) + len(lines[-1])
    return text[:first] + "\n".join(lines) + text[last:]


def replace_line(text: str, line: str) -> str:
    """The file with the line that starts like `line` (up to its `=`) replaced by it."""
    line = line.rstrip("\n")
    head = line.split("=")[0]
    found = [i for i, old in enumerate(text.split("\n")) if old.startswith(head)]
    assert len(found) == 1, f"the tutorial's line {line!r} matches {len(found)} lines"
    lines = text.split("\n")
    lines[found[0]] = line
    return "\n".join(lines)


async def follow(steps: list[Step], workdir: Path, site: Path, ports: dict[str, str]) -> list[str]:
    """Do each step in order, in one shell session; what each command printed."""
    state = workdir / ".tutorial-env.sh"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
        "ADAPTER_SITE": str(site),
        "PYTEST_ADDOPTS": "-p no:cacheprovider",
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    cwd = workdir
    printed = []
    for step in steps:
        body = step.body
        for department, default in DEFAULT_PORTS.items():
            body = body.replace(default, ports[department])
        if step.kind == "sh":
            script = body.replace(EDITABLE_INSTALL, ISOLATED_INSTALL)
            wrapped = (
                f"set -euo pipefail\n[ -f {state} ] && source {state}\ncd {shlex.quote(str(cwd))}\n"
                f"{script}\nexport -p > {state}\npwd > {state}.cwd\n"
            )
            process = await asyncio.create_subprocess_exec(
                "bash",
                "-c",
                wrapped,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            out, _ = await asyncio.wait_for(process.communicate(), 240)
            printed.append(out.decode())
            assert process.returncode == 0, f"the tutorial's\n{script}\nfailed:\n{out.decode()}"
            cwd = Path((workdir / ".tutorial-env.sh.cwd").read_text().strip())
            continue
        target = cwd / step.path
        assert target.exists() or step.kind == "file", f"the tutorial edits {target}: not there"
        if step.kind == "file":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body)
        elif step.kind == "section":
            target.write_text(replace_section(target.read_text(), body))
        else:
            target.write_text(replace_line(target.read_text(), body))
    return printed


@pytest.fixture
def simulated_ports(simulators: Simulators, config: HubConfig) -> dict[str, str]:
    """Where the simulated systems the tutorials use listen in this test."""
    return {code: simulators[code].base_url for code in DEFAULT_PORTS}


def test_the_tutorial_has_steps() -> None:
    """The page still holds both tutorials, with commands and files (so the tests below test)."""
    for name in ("rest", "soap"):
        kinds = {step.kind for step in tutorial(name)}
        assert {"sh", "file", "section"} <= kinds, (name, kinds)


async def test_rest_tutorial_from_nothing_to_an_adapter_the_hub_uses(
    tmp_path: Path, simulated_ports: dict[str, str]
) -> None:
    """Scaffold, mapping, the kit's tests passing against the simulated regulator, then the
    hub listing the installed adapter with its package and reaching its endpoint."""
    printed = await follow(tutorial("rest"), tmp_path, tmp_path / "site", simulated_ports)
    everything = "\n".join(printed)
    assert "created adapters/hub-adapter-company-registry/pyproject.toml" in everything
    kit_run = next(out for out in printed if " passed" in out)
    assert re.search(r"\b12 passed\b", kit_run) and "failed" not in kit_run, kit_run
    listing = next(out for out in printed if "ADAPTER" in out)
    row = next(line for line in listing.splitlines() if line.startswith("company_registry"))
    assert row.split() == [
        "company_registry",
        "rest",
        "hub-adapter-company-registry",
        "0.1.0",
        "company_registry",
    ]
    assert "every endpoint answers" in printed[-1], printed[-1]


async def test_soap_tutorial_lists_the_wsdl_and_passes_the_kit(
    tmp_path: Path, simulated_ports: dict[str, str]
) -> None:
    """A SOAP package from the published WSDL: operations and fields listed in the module, the
    filled-in mapping passing the kit against the simulated tax bureau."""
    printed = await follow(tutorial("soap"), tmp_path, tmp_path / "site", simulated_ports)
    assert "WSDL operation RegisterTaxpayer: Lsh, Sqbh, Nsrsbh" in printed[0]
    module = tmp_path / "adapters/hub-adapter-taxpayer-registry/src"
    text = (module / "hub_adapter_taxpayer_registry/adapter.py").read_text()
    assert "#   QueryAcceptance(Slbh)" in text
    assert (module / "hub_adapter_taxpayer_registry/wsdl/taxpayer_registry.wsdl").exists()
    kit_run = printed[-1]
    assert re.search(r"\b12 passed\b", kit_run) and "failed" not in kit_run, kit_run
