"""The docs as a checked contract: their commands run, and every hook is documented and tested."""

from __future__ import annotations

import inspect
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from hub.plugin import hookspecs
from tests.conftest import REPO

# docs/api.md's curl session is run as a whole by tests/test_api_docs.py.
DOCS = [REPO / "README.md", *sorted(p for p in (REPO / "docs").glob("*.md") if p.name != "api.md")]
# Commands that run until stopped or take minutes; each is exercised by the named test instead.
EXERCISED_ELSEWHERE = {
    "hub simulate": "tests/test_cli.py::test_hub_simulate_serves_every_system",
    "python -m bench --quick": (
        "tests/test_bench.py::test_quick_benchmark_completes_every_application"
    ),
}


def console_commands() -> list[tuple[str, str]]:
    """(doc file, command) for every `$ ` line inside a ```console block of the docs."""
    found = []
    for path in DOCS:
        for block in re.findall(r"```console\n(.*?)```", path.read_text(), re.S):
            for line in block.splitlines():
                if line.startswith("$ "):
                    found.append((path.name, line[2:].strip()))
    return found


def test_docs_show_commands() -> None:
    """The collection below is not empty: the docs do show commands."""
    assert len(console_commands()) >= 2


@pytest.mark.parametrize(("doc", "command"), console_commands())
def test_command_in_docs_runs(doc: str, command: str, tmp_path: Path) -> None:
    """Every `hub …` command shown in the docs succeeds as shown, from the repository root."""
    if command in EXERCISED_ELSEWHERE:
        file, _, name = EXERCISED_ELSEWHERE[command].partition("::")
        assert f"def {name}(" in (REPO / file).read_text()
        return
    argv = shlex.split(command)
    if argv[0] == "make":
        pytest.skip("make targets are what CI itself runs")
    assert argv[0] == "hub", f"{doc}: only hub commands may be shown in console blocks: {command}"
    # Commands that touch a store get an empty one of their own, not the working tree's var/.
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "HUB_STORE_URL": f"sqlite:///{tmp_path / 'hub.db'}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", *argv[1:]],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, f"{doc}: `{command}` failed:\n{result.stderr}"


def hooks() -> dict[str, str]:
    """Every hook spec: name → signature as written in the docs."""
    specs = {}
    for name, func in inspect.getmembers(hookspecs, inspect.isfunction):
        if name.startswith("hub_"):
            specs[name] = f"{name}{inspect.signature(func)}".replace("'", "")
    return specs


def test_every_hook_is_documented_with_its_signature() -> None:
    """docs/hooks.md has a section per hook, with its exact signature."""
    text = (REPO / "docs" / "hooks.md").read_text()
    for name, signature in hooks().items():
        assert f"## {name}\n" in text, f"{name} has no section in docs/hooks.md"
        assert signature in text, f"docs/hooks.md does not show {signature}"


def test_every_hook_has_a_test() -> None:
    """Each hook is implemented by some test's plugin, so its calling is exercised."""
    tests = "\n".join(
        p.read_text() for p in (REPO / "tests").rglob("*.py") if p.name != "test_docs.py"
    )
    for name in hooks():
        assert re.search(rf"def {name}\(", tests), f"no test implements {name}"
