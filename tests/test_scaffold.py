"""`hub new-adapter` refuses what it cannot make, with a clear message, and writes nothing then."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli.main import main
from tests.conftest import REPO


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Land-Registry", "--protocol", "rest"], "lower-case letters, digits and _"),
        (["land", "--protocol", "rest", "--wsdl", "x.wsdl"], "--wsdl is for --protocol soap"),
        (["land", "--protocol", "soap", "--wsdl", "missing.wsdl"], "cannot read the WSDL"),
        (["land", "--protocol", "soap", "--wsdl", str(REPO / "README.md")], "not a WSDL"),
        (["land", "--protocol", "rest", "--operation", "Bad Op"], "operation 'Bad Op'"),
    ],
)
def test_bad_requests_are_refused_and_write_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(main, ["new-adapter", *args, "--dir", str(tmp_path)])
    assert result.exit_code != 0
    assert message in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_existing_package_is_never_overwritten(tmp_path: Path) -> None:
    command = ["new-adapter", "land", "--protocol", "rest", "--dir", str(tmp_path)]
    assert CliRunner().invoke(main, command).exit_code == 0
    adapter = tmp_path / "hub-adapter-land" / "src" / "hub_adapter_land" / "adapter.py"
    adapter.write_text("# the author's work\n")
    again = CliRunner().invoke(main, command)
    assert again.exit_code != 0 and "exists and is not empty" in again.output
    assert adapter.read_text() == "# the author's work\n"


def test_a_soap_package_vendors_the_wsdl_and_lists_its_operations(tmp_path: Path) -> None:
    wsdl = REPO / "adapters" / "wsdl" / "public_security.wsdl"
    result = CliRunner().invoke(
        main,
        ["new-adapter", "hukou", "--protocol", "soap", "--wsdl", str(wsdl), "--dir", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    package = tmp_path / "hub-adapter-hukou" / "src" / "hub_adapter_hukou"
    assert (package / "wsdl" / "hukou.wsdl").read_bytes() == wsdl.read_bytes()
    module = (package / "adapter.py").read_text()
    listed = [line for line in module.splitlines() if line.startswith("#   ") and "(" in line]
    assert len(listed) >= 2 and all(line.count("(") == 1 for line in listed)
    compile(module, "adapter.py", "exec")  # what it makes is Python
