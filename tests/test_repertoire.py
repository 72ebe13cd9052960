"""Characters a department cannot store: refused at the window, or taken and flagged, as the
department's [text] setting says; never silently stored as "?"."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hub.model.repertoire import known_charset, unrepresentable
from tests.conftest import CONFIG, REPO, HubDriver, SimulatorControl, by_step
from tests.samples import CARD_APPLICATION, HOUSING_FUND_ACCOUNT

JI = "\U00020bb7"  # 𠮷, the "tsuchiyoshi" variant of 吉: outside GBK, in GB18030


def test_what_a_charset_cannot_encode_is_found_field_by_field() -> None:
    """Each text of applicant and form is checked; each missing character is named once."""
    record = {
        "applicant": {"name": f"{JI}{JI}祥", "investors": [{"name": f"张{JI}"}]},
        "form": {"company_name": "云帆（示范）科技有限公司", "count": 3},
        "matter": JI,  # not the applicant's or the form's: not a department's to store
    }
    assert unrepresentable(record, "GBK") == {
        "applicant.name": JI,
        "applicant.investors.0.name": JI,
    }
    assert unrepresentable(record, "GB18030") == {}
    assert known_charset("gb2312") == "GB2312"
    with pytest.raises(ValueError, match="not a charset"):
        known_charset("big-five-ish")


async def test_a_name_the_insurance_gateway_cannot_store_is_refused_at_the_window(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """Social insurance stores GBK and refuses such names (its [text] says refuse): 422 naming
    the field, the character and the department, in both languages; nothing is stored or sent."""
    data = copy.deepcopy(CARD_APPLICATION)
    data["applicant"]["name"] = f"{JI}田花子"
    response = await hub.post("/api/v1/applications", json=data)
    assert response.status == 422
    [problem] = (await response.json())["errors"]
    assert problem["field"] == "applicant.name"
    assert problem["code"] == "unrepresentable_character"
    assert "U+20BB7" in problem["message"] and "GBK" in problem["message"]
    assert JI in problem["message_zh"]
    listed = await (await hub.get("/api/v1/applications")).json()
    assert listed["items"] == []
    assert (await sim.received("social_security"))["total_requests"] == 0


async def test_a_name_the_housing_fund_cannot_store_is_taken_and_its_delivery_flagged(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """The housing fund keeps such a character as "?" (its [text] says flag): the filing is
    taken, and the delivery tells the operators exactly which characters of which field."""
    data = copy.deepcopy(HOUSING_FUND_ACCOUNT)
    data["applicant"]["name"] = f"{JI}田花子"
    view = await hub.delivered(await hub.submit(data))
    delivery = by_step(view)["account_opening"]
    assert delivery["flags"] == {"unrepresentable": {"applicant.name": JI}}
    [case] = (await sim.received("housing_fund"))["cases"]
    assert case["fields"]["name"] == "?田花子"


def test_an_unknown_charset_is_named_by_file_and_key(tmp_path: Path) -> None:
    """check-config names the department file and `text.charset`."""
    broken = tmp_path / "config"
    shutil.copytree(CONFIG, broken)
    path = broken / "departments" / "housing_fund.toml"
    path.write_text(path.read_text().replace('charset = "GBK"', 'charset = "GBX"'))
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "check-config", "--config", str(broken)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "HUB_SECRET_KEY": "s" * 32},
    )
    assert result.returncode == 2
    assert "housing_fund.toml: text.charset" in result.stderr
    assert "'GBX' is not a charset the hub knows" in result.stderr
