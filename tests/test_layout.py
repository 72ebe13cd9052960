"""The house's rules: which of hub's packages may import which, checked on the source itself.

docs/architecture.md draws the same layers. Each rule is also broken on purpose, in a copy of the
tree, to show that the check would notice.
"""

from __future__ import annotations

import ast
import importlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

HUB = REPO / "hub"

LAYERS = (
    "model",
    "store",
    "plugin",
    "transports",
    "ops",
    "delivery",
    "applications",
    "runtime",
    "console",
    "api",
    "scaffold",
    "testing",
    "cli",
)
"""hub's packages (and top-level modules) from the bottom up: each imports only those before it."""

NETWORK_OR_STORE = (
    "aiohttp",
    "asyncpg",
    "aiosqlite",
    "http",
    "httpx",
    "requests",
    "socket",
    "sqlalchemy",
    "sqlite3",
    "urllib3",
    "zeep",
)
"""What `hub.model` may not import: it is pure rules, with no store and no network."""

WEB_SERVER = ("aiohttp.web", "aiohttp.web_", "aiohttp_jinja2")
"""aiohttp's web server; its importers are the API, the console and the runtime they share."""

WEB_SERVER_USERS = ("api", "console", "runtime", "testing.proxy")
"""The runtime is the web app's cleanup context and the typed key through which API and console
reach the hub; the kit's fault proxy is a server of its own, standing between hub and system."""

CLI_LIBRARIES = ("click",)
"""The command line's library, imported by `hub.cli` alone."""


def imports_of(path: Path) -> Iterator[str]:
    """Every module a source file imports, anywhere in it (lazy imports inside functions too)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            # `from hub import ops` and `from aiohttp import web` import modules by their names.
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def unit_of(root: Path, path: Path) -> tuple[str, str]:
    """(the top-level package or module a file belongs to, its dotted name within it)."""
    parts = path.relative_to(root).with_suffix("").parts
    dotted = ".".join(p for p in parts if p != "__init__")
    return parts[0], dotted


def graph(root: Path) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """hub's units and the units each imports; and the outside modules each file imports."""
    units = {p.name.removesuffix(".py") for p in root.iterdir() if p.name != "__init__.py"}
    edges: dict[str, set[str]] = {}
    outside: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        unit, dotted = unit_of(root, path)
        if unit == "__init__" or "migrations" in path.parts:
            continue  # the root holds only the version and hookimpl; migrations are Alembic's
        edges.setdefault(unit, set())
        for name in imports_of(path):
            parts = name.split(".")
            if parts[0] != "hub":
                outside.setdefault(dotted, set()).add(name)
            elif len(parts) > 1 and parts[1] in units and parts[1] != unit:
                edges[unit].add(parts[1])
    return edges, outside


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Each cycle of imports between units, found by depth-first search."""
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(unit: str, path: list[str]) -> None:
        if unit in path:
            found.append([*path[path.index(unit) :], unit])
            return
        if unit in done:
            return
        for target in sorted(edges.get(unit, ())):
            visit(target, [*path, unit])
        done.add(unit)

    for unit in sorted(edges):
        visit(unit, [])
    return found


def is_under(name: str, prefixes: tuple[str, ...]) -> bool:
    """Whether a dotted name is one of the prefixes or within one (`aiohttp.web_` prefixes too)."""
    return any(name == p or name.startswith(p if p.endswith("_") else p + ".") for p in prefixes)


def violations(root: Path) -> list[str]:
    """Every broken rule of the house, one line each, naming the rule and the offender."""
    edges, outside = graph(root)
    found = []
    for unit, targets in sorted(edges.items()):
        if unit not in LAYERS:
            found.append(f"layers: {unit} is in no layer; add it to LAYERS and the architecture")
            continue
        for target in sorted(targets):
            if target in LAYERS and LAYERS.index(target) > LAYERS.index(unit):
                found.append(f"layers: {unit} imports {target}, which is above it")
        if unit == "model":
            for target in sorted(targets):
                found.append(f"model is pure: it imports hub.{target}")
        if unit == "store":
            for target in sorted(targets - {"model"}):
                found.append(f"store sits just above model: it imports hub.{target}")
    for cycle in cycles(edges):
        found.append("cycle: " + " -> ".join(cycle))
    for module, names in sorted(outside.items()):
        unit = module.split(".")[0]
        for name in sorted(names):
            if unit == "model" and is_under(name, NETWORK_OR_STORE):
                found.append(f"model is pure: hub.{module} imports {name}")
            if is_under(name, WEB_SERVER) and not is_under(module, WEB_SERVER_USERS):
                found.append(f"web server: hub.{module} imports {name}")
            if is_under(name, CLI_LIBRARIES) and unit != "cli":
                found.append(f"command line: hub.{module} imports {name}")
            if is_under(name, ("adapters", "plugins")):
                found.append(f"entry points: hub.{module} imports {name}")
    return found


def test_hub_keeps_the_rules_of_the_house() -> None:
    """No package imports one above it, none is in a cycle, model is pure, and aiohttp's web
    server, click, adapters/ and plugins/ are imported only where they belong."""
    assert violations(HUB) == []


BROKEN = {
    "layers": ("delivery/flow.py", "from hub.api import app"),
    "model is pure": ("model/record.py", "from hub.store import tables"),
    "store sits just above model": ("store/tables.py", "from hub.delivery import flow"),
    "cycle": ("transports/http.py", "from hub.delivery import calls"),
    "web server": ("delivery/status.py", "from aiohttp import web"),
    "command line": ("api/query.py", "import click"),
    "entry points": ("delivery/dispatch.py", "import adapters.tax"),
}


@pytest.mark.parametrize("rule", sorted(BROKEN))
def test_each_rule_notices_it_is_broken(rule: str, tmp_path: Path) -> None:
    """A copy of hub/ with one offending import breaks exactly the rule it offends."""
    root = shutil.copytree(HUB, tmp_path / "hub", ignore=shutil.ignore_patterns("__pycache__"))
    file, line = BROKEN[rule]
    target = root / file
    target.write_text(target.read_text() + f"\n{line}\n")
    broken = violations(root)
    assert any(v.startswith(rule + ":") for v in broken), broken


def test_model_imports_no_network_library(tmp_path: Path) -> None:
    """The model may not reach the network either, even through a library of its own choosing."""
    root = shutil.copytree(HUB, tmp_path / "hub", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "model" / "fetching.py").write_text("import aiohttp\n")
    assert violations(root) == ["model is pure: hub.model.fetching imports aiohttp"]


def test_hub_lists_few_entries_each_a_documented_package_or_module() -> None:
    """hub/ reads as the architecture: at most 14 entries, each package saying what it holds and
    what it may import."""
    entries = sorted(
        p.name for p in HUB.iterdir() if p.name not in ("__init__.py", "__pycache__", "py.typed")
    )
    assert len(entries) <= 14, entries
    for name in entries:
        path = HUB / name
        unit = name.removesuffix(".py")
        assert unit in LAYERS, f"hub/{name} is in no layer of tests/test_layout.py"
        source = path / "__init__.py" if path.is_dir() else path
        docstring = ast.get_docstring(ast.parse(source.read_text()))
        assert docstring, f"{source} says nothing of what it holds"
        if path.is_dir():
            assert "import" in docstring.lower(), f"{source} does not say what it may import"


def test_old_import_paths_still_work_for_one_release_with_a_warning() -> None:
    """Adapters written against release 0.1 import the moved modules by their old paths: they get
    the very same module, and a DeprecationWarning naming the new path."""
    script = """
import json, sys, warnings
from hub import MOVED
seen = {}
for old, new in MOVED.items():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = __import__(old, fromlist=["_"])
    seen[old] = [module is sys.modules[new], [str(w.message) for w in caught
                 if w.category is DeprecationWarning]]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from hub.delivery import DeliveryState
    from hub.model.states import DeliveryState as moved
seen["hub.delivery"] = [DeliveryState is moved, [str(w.message) for w in caught]]
print(json.dumps(seen))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO
    )
    seen = json.loads(result.stdout)
    assert len(seen) > 20
    for old, (same, warned) in seen.items():
        assert same, f"{old} is not the moved module"
        assert warned and all("has moved to hub." in w for w in warned), (old, warned)
    engine = importlib.import_module("hub.delivery")
    with pytest.raises(AttributeError, match="NoSuchName"):
        _ = engine.NoSuchName
