"""`hub new-adapter`: a separate, installable adapter package for one department's system.

Imports `hub.model` only; `hub.cli` runs it.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import jinja2

from hub import __version__
from hub.model.departments import CODE_PATTERN
from hub.scaffold.wsdl import Field, Operation, fetch, operations

Protocol = Literal["soap", "rest"]
CREDENTIALS = {"rest": ("token",), "soap": ("username", "password")}
# A sample the test system is likely to accept; the author replaces it with one that fits.
SAMPLE_APPLICATION = {
    "applicant": {
        "kind": "person",
        "name": "张三",
        "id_type": "resident_id",
        "id_number": "11010519900307451X",
        "phone": "+8613800138000",
        "address": "示范市新城区人民路12号",
    },
    "form": {},
}


class ScaffoldError(Exception):
    """The scaffold cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class Scaffold:
    """What `new_adapter` made: the package's directory and its files."""

    root: Path
    files: list[Path]
    operations: list[Operation]
    adapter: Path
    """The module whose mapping the author fills in."""
    wsdl: Path | None
    """Where a SOAP adapter's WSDL goes (None for REST), whether or not one was given."""


def _field(field: Field) -> str:
    marks = ("?" if field.optional else "") + ("*" if field.repeated else "")
    return f"{field.path}{marks}"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("hub.scaffold", "templates"),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Python, TOML and Markdown, never HTML
    )
    env.filters["field"] = _field
    return env


def _endpoint(endpoint: str | None, wsdl: str | None) -> str:
    """The department's endpoint: as given, else where the WSDL was published (without ?wsdl),
    else a stand-in to replace."""
    if endpoint:
        return endpoint
    if wsdl and wsdl.startswith(("http://", "https://")):
        parts = urlsplit(wsdl)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return "http://127.0.0.1:8799"


def new_adapter(
    name: str,
    protocol: Protocol,
    directory: Path,
    *,
    wsdl: str | None = None,
    operation: str | None = None,
    title: str | None = None,
    endpoint: str | None = None,
) -> Scaffold:
    """Create the package `hub-adapter-<name>` in `directory` (which must not exist or be empty)."""
    if not re.match(CODE_PATTERN, name):
        raise ScaffoldError(f"{name!r}: a name is lower-case letters, digits and _ (land_registry)")
    operation = operation or name
    if not re.match(CODE_PATTERN, operation):
        raise ScaffoldError(f"operation {operation!r}: lower-case letters, digits and _")
    if wsdl and protocol != "soap":
        raise ScaffoldError("--wsdl is for --protocol soap")
    root = directory / f"hub-adapter-{name.replace('_', '-')}"
    if root.exists() and any(root.iterdir()):
        raise ScaffoldError(f"{root} exists and is not empty")
    package = f"hub_adapter_{name}"
    wsdl_file = f"{name}.wsdl"
    found: list[Operation] = []
    with tempfile.TemporaryDirectory() as scratch:
        if wsdl:
            try:
                data = fetch(wsdl)
            except Exception as exc:
                raise ScaffoldError(f"cannot read the WSDL {wsdl}: {exc}") from exc
            (Path(scratch) / wsdl_file).write_bytes(data)
            try:
                found = operations(Path(scratch) / wsdl_file)
            except Exception as exc:
                raise ScaffoldError(f"{wsdl} is not a WSDL zeep can read: {exc}") from exc
        context = {
            "name": name,
            "title": title or name.replace("_", " ").title(),
            "protocol": protocol,
            "operation": operation,
            "package": package,
            "distribution": root.name,
            "class_name": "".join(p.title() for p in name.split("_")) + "Adapter",
            "hub_version": __version__,
            "endpoint": _endpoint(endpoint, wsdl),
            "endpoint_variable": f"HUB_TEST_{name.upper()}_ENDPOINT",
            "credentials": CREDENTIALS[protocol],
            "wsdl_file": wsdl_file,
            "operations": found,
            "submit": found[0] if found else None,
            "status": found[1] if len(found) > 1 else None,
        }
        env = _environment()
        outputs = {
            "pyproject.toml": "pyproject.toml.j2",
            "README.md": "README.md.j2",
            f"src/{package}/adapter.py": f"adapter_{protocol}.py.j2",
            f"config/departments/{name}.toml": "department.toml.j2",
            f"config/matters/{name}.example.toml": "matter.toml.j2",
            "tests/test_adapter.py": "test_adapter.py.j2",
        }
        files: list[Path] = []
        for relative, template in outputs.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(env.get_template(template).render(context), encoding="utf-8")
            files.append(path)
        extras = {
            root / "src" / package / "__init__.py": f'"""{context["title"]}: a hub adapter."""\n',
            root / "tests" / "application.json": json.dumps(
                SAMPLE_APPLICATION, ensure_ascii=False, indent=2
            )
            + "\n",
        }
        for path, text in extras.items():
            path.write_text(text, encoding="utf-8")
            files.append(path)
        target = None
        if protocol == "soap":
            target = root / "src" / package / "wsdl" / wsdl_file
            target.parent.mkdir(parents=True, exist_ok=True)
            if wsdl:
                shutil.copyfile(Path(scratch) / wsdl_file, target)
                files.append(target)
    return Scaffold(root, sorted(files), found, root / "src" / package / "adapter.py", target)
