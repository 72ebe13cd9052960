"""Acceptance at the window (受理 / 不予受理): what a department always refuses is told at once."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub import hookimpl
from hub.applications.intake import normalize_application
from hub.model import acceptance
from hub.model.catalog import Catalog, Matter
from hub.model.configfiles import ConfigError
from hub.model.configuration import load_config
from hub.model.problems import Problem, ValidationProblem
from hub.model.record import ApplicationRecord, Person
from hub.plugin.manager import Plugins, make_plugin_manager
from hub.runtime import RuntimeOptions
from tests.conftest import CONFIG, HubDriver, SimulatorControl
from tests.samples import (
    CARD_APPLICATION,
    DOMESTIC_STARTUP,
    HOUSEHOLD_TRANSFER,
    HOUSING_FUND_ACCOUNT,
    sample,
)

# Zhang Wei (ZHANG_WEI_ID, region 110105) was born on 1990-03-07: on this day he is 35.
TODAY = date(2026, 3, 6)
PASSPORT = {
    "id_type": "passport",
    "id_number": "E12345678",
    "nationality": "GBR",
    "sex": "male",
    "birth_date": "1990-03-07",
}


def catalog_with(*rules: dict[str, Any], applicant: tuple[str, ...] = ("person",)) -> Catalog:
    """A catalog of one matter with the given acceptance rules, a date field and a text field."""
    matter = Matter.model_validate(
        {
            "code": "test.matter",
            "name": "Test matter",
            "applicant": list(applicant),
            "statutory_days": 5,
            "promised_days": 1,
            "fields": {
                "start": {"type": "date", "label": "start"},
                "note": {"type": "string", "label": "note"},
            },
            "steps": {"only": {"department": "tax", "operation": "taxpayer_registration"}},
            "acceptance": list(rules),
        }
    )
    return Catalog({matter.code: matter})


def person(**changes: Any) -> dict[str, Any]:
    """Zhang Wei, applying for the test matter; None removes a field."""
    applicant = {**HOUSEHOLD_TRANSFER["applicant"], **changes}
    return {k: v for k, v in applicant.items() if v is not None}


def refusals(
    rule: dict[str, Any],
    applicant: dict[str, Any],
    form: dict[str, Any] | None = None,
    today: date = TODAY,
) -> set[tuple[str, str]]:
    """(field, code) of every problem filing the test matter gives, empty when it is accepted."""
    catalog = catalog_with(rule, applicant=("person", "organization"))
    data = {"matter": "test.matter", "applicant": applicant, "form": form or {}}
    try:
        normalize_application(data, catalog, today=today)
    except ValidationProblem as exc:
        return {(p.field, p.code) for p in exc.problems}
    return set()


ID_TYPE = ("applicant.id_type", "not_accepted.id_type")
AGE = ("applicant.birth_date", "not_accepted.age")
REGION = ("applicant.id_number", "not_accepted.region")
START = ("form.start", "not_accepted.date")
PHONE = ("applicant.phone", "not_accepted.phone")
RESIDENT_ONLY = {"rule": "id_types", "id_types": ["resident_id"]}
ADULT_36 = {"rule": "age", "min_age": 36}
UP_TO_35 = {"rule": "age", "max_age": 35}
IN_CHINA = {"rule": "phone", "kinds": ["mobile", "landline", "toll_free"]}
WINDOW = {"rule": "date_window", "field": "start", "not_before_days": -30, "not_after_days": 90}


def day(offset: int) -> str:
    """The ISO date so many days from TODAY."""
    return (TODAY + timedelta(days=offset)).isoformat()


@pytest.mark.parametrize(
    ("rule", "applicant", "form", "today", "expected"),
    [
        (RESIDENT_ONLY, person(), {}, TODAY, set()),
        (RESIDENT_ONLY, person(**PASSPORT), {}, TODAY, {ID_TYPE}),
        (
            {"rule": "id_types", "id_types": ["passport", "hk_macao_taiwan_residence"]},
            person(**PASSPORT),
            {},
            TODAY,
            set(),
        ),
        # The day before his 36th birthday he is 35; on it, 36.
        (ADULT_36, person(), {}, TODAY, {AGE}),
        (ADULT_36, person(), {}, TODAY + timedelta(days=1), set()),
        (UP_TO_35, person(), {}, TODAY, set()),
        (UP_TO_35, person(), {}, TODAY + timedelta(days=1), {AGE}),
        # A passport says nothing of its holder's birth: without the date the age is unknown.
        (ADULT_36, person(**PASSPORT), {}, TODAY, {AGE}),
        (ADULT_36, person(**{**PASSPORT, "birth_date": "1980-01-01"}), {}, TODAY, set()),
        ({"rule": "region", "region_prefixes": ["11"]}, person(), {}, TODAY, set()),
        ({"rule": "region", "region_prefixes": ["31", "110105"]}, person(), {}, TODAY, set()),
        ({"rule": "region", "region_prefixes": ["33"]}, person(), {}, TODAY, {REGION}),
        ({"rule": "region", "region_prefixes": ["11"]}, person(**PASSPORT), {}, TODAY, {REGION}),
        (WINDOW, person(), {"start": day(90)}, TODAY, set()),
        (WINDOW, person(), {"start": day(91)}, TODAY, {START}),
        (WINDOW, person(), {"start": day(-30)}, TODAY, set()),
        (WINDOW, person(), {"start": day(-31)}, TODAY, {START}),
        (WINDOW, person(), {}, TODAY, set()),  # blank: whether it is needed is the field's rule
        ({"rule": "phone"}, person(), {}, TODAY, set()),
        ({"rule": "phone"}, person(phone=None), {}, TODAY, {PHONE}),
        ({"rule": "phone"}, person(phone=""), {}, TODAY, {PHONE}),
        ({"rule": "phone"}, person(phone="010-62345678"), {}, TODAY, set()),
        ({"rule": "phone", "kinds": ["mobile"]}, person(phone="010-62345678"), {}, TODAY, {PHONE}),
        ({"rule": "phone", "kinds": ["mobile"]}, person(), {}, TODAY, set()),
        (IN_CHINA, person(phone="010-62345678"), {}, TODAY, set()),
        (IN_CHINA, person(phone="+44 20 7946 0958"), {}, TODAY, {PHONE}),
        ({"rule": "require", "path": "applicant.address"}, person(), {}, TODAY, set()),
        (
            {"rule": "require", "path": "applicant.address"},
            person(address=None),
            {},
            TODAY,
            {("applicant.address", "not_accepted.required")},
        ),
        ({"rule": "require", "path": "form.note"}, person(), {"note": "x"}, TODAY, set()),
        (
            {"rule": "require", "path": "form.note"},
            person(),
            {"note": "  "},
            TODAY,
            {("form.note", "not_accepted.required")},
        ),
    ],
)
def test_each_rule_kind_passes_and_fails(
    rule: dict[str, Any],
    applicant: dict[str, Any],
    form: dict[str, Any],
    today: date,
    expected: set[tuple[str, str]],
) -> None:
    """Every kind of rule accepts what it should and refuses, at its field, what it should not."""
    assert refusals(rule, applicant, form, today) == expected


def test_rules_about_the_legal_representative_read_the_organizations_signatory() -> None:
    """`path = "applicant.legal_representative"` reads the signatory; a person is not asked."""
    rule = {
        "rule": "id_types",
        "path": "applicant.legal_representative",
        "id_types": ["resident_id"],
    }
    company = copy.deepcopy(DOMESTIC_STARTUP["applicant"])
    assert refusals(rule, company) == set()
    company["legal_representative"].update(PASSPORT)
    assert refusals(rule, company) == {
        ("applicant.legal_representative.id_type", "not_accepted.id_type")
    }
    assert refusals(rule, person(**PASSPORT)) == set()
    # Paths of the other kind of applicant ask nothing of this one.
    assert refusals({"rule": "require", "path": "applicant.phone"}, company) == set()
    signatory = {"rule": "require", "path": "applicant.legal_representative.phone"}
    assert refusals(signatory, person()) == set()
    phone = {"rule": "phone", "path": "applicant.legal_representative.phone"}
    del company["legal_representative"]["phone"]
    assert refusals(phone, company) == {
        ("applicant.legal_representative.phone", "not_accepted.phone")
    }


def problem_of(rule: dict[str, Any], applicant: dict[str, Any], **form: Any) -> Problem:
    """The one problem a rule finds."""
    data = {"matter": "test.matter", "applicant": applicant, "form": form}
    with pytest.raises(ValidationProblem) as info:
        normalize_application(data, catalog_with(rule), today=TODAY)
    [problem] = info.value.problems
    return problem


def test_messages_are_in_chinese_and_english_and_a_matter_may_word_its_own() -> None:
    """Defaults name what is accepted in both languages; message_zh/message_en replace them."""
    found = problem_of(RESIDENT_ONLY, person(**PASSPORT))
    assert found.message_zh is not None and "居民身份证" in found.message_zh
    assert "resident identity card" in found.message
    window = problem_of(WINDOW, person(), start=day(91))
    assert window.message_zh == f"须在{day(-30)}至{day(90)}之间（申请日前30日至申请日后90日）"
    assert window.message == (
        f"must be between {day(-30)} and {day(90)} "
        "(30 days before the filing day to 90 days after the filing day)"
    )
    later = {"rule": "date_window", "field": "start", "not_before_days": 0}
    assert problem_of(later, person(), start=day(-1)).message_zh == f"不得早于{day(0)}（申请当日）"
    age = problem_of(ADULT_36, person())
    assert age.message_zh == "本事项申请人须年满36周岁（申请日35周岁）"
    worded = {**RESIDENT_ONLY, "message_zh": "外国人没有户籍", "message_en": "no hukou"}
    found = problem_of(worded, person(**PASSPORT))
    assert (found.message_zh, found.message) == ("外国人没有户籍", "no hukou")
    assert found.as_dict() == {
        "field": "applicant.id_type",
        "code": "not_accepted.id_type",
        "message": "no hukou",
        "message_zh": "外国人没有户籍",
    }


def test_every_rule_and_every_field_problem_is_reported_at_once() -> None:
    """A passport holder, without a phone, moving in 200 days, for a reason not offered: four
    reasons in one answer (一次性告知), form and acceptance problems together."""
    catalog = load_config(CONFIG).catalog
    data = sample("household.transfer", move_date=(date.today() + timedelta(days=200)).isoformat())
    data["applicant"] = person(**PASSPORT, phone=None)
    data["form"]["reason"] = "holiday"
    with pytest.raises(ValidationProblem) as info:
        normalize_application(data, catalog, today=date.today())
    assert {(p.field, p.code) for p in info.value.problems} == {
        ID_TYPE,
        PHONE,
        ("form.move_date", "not_accepted.date"),
        ("form.reason", "invalid_choice"),
    }


def test_a_record_that_does_not_parse_is_not_judged_for_acceptance() -> None:
    """Acceptance reads a normalized record: while the record itself is wrong, only that is said."""
    data = copy.deepcopy(HOUSEHOLD_TRANSFER)
    data["applicant"] = person(**PASSPORT, nickname="x")
    with pytest.raises(ValidationProblem) as info:
        normalize_application(data, load_config(CONFIG).catalog, today=date.today())
    assert {(p.field, p.code) for p in info.value.problems} == {
        ("applicant.nickname", "unknown_field")
    }


# --- A department's own rule, in code ---


class _NoPoBoxCards:
    """A social insurance plugin: cards are never mailed to a P.O. box (邮政信箱)."""

    @hookimpl
    def hub_accept(
        self, record: ApplicationRecord, matter: Matter, today: date
    ) -> list[Problem] | None:
        if matter.code == "social_security.card" and "信箱" in record.form.get(
            "mailing_address", ""
        ):
            return [
                Problem(
                    "form.mailing_address",
                    "not_accepted.po_box",
                    "cards are not mailed to a P.O. box",
                    message_zh="社保卡不寄往邮政信箱",
                )
            ]
        return None


class _WorkingAge:
    """A plugin that raises instead of returning, and reads the filing day."""

    @hookimpl
    def hub_accept(self, record: ApplicationRecord, today: date) -> None:
        born = record.applicant.birth_date if isinstance(record.applicant, Person) else None
        if born is not None and acceptance.age_on(born, today) >= 120:
            raise ValidationProblem.single("applicant.birth_date", "not_accepted.age", "too old")


def test_the_hook_is_asked_with_the_filing_day_together_with_the_matters_rules() -> None:
    """Both plugins' problems (returned and raised) come with the catalog's, in one answer."""
    catalog = load_config(CONFIG).catalog
    plugins = Plugins(make_plugin_manager([_NoPoBoxCards(), _WorkingAge()], entry_points=False))
    data = sample("social_security.card", mailing_address="示范市邮政信箱 88 号")
    del data["applicant"]["phone"]
    with pytest.raises(ValidationProblem) as info:
        normalize_application(data, catalog, plugins, today=date(2105, 11, 20))
    assert {(p.field, p.code) for p in info.value.problems} == {
        ("form.mailing_address", "not_accepted.po_box"),
        ("applicant.birth_date", "not_accepted.age"),
        PHONE,
    }
    # Without the filing day (an adapter's kit building a record) the window is not asked.
    applicant = normalize_application(data, catalog, plugins).applicant
    assert isinstance(applicant, Person)
    assert applicant.phone is None


# --- Through the API: the four filings the departments always refused ---

PASSPORT_HOLDER = {"name": "John Smith", **PASSPORT, "phone": "13700137000"}
FAR = (date.today() + timedelta(days=200)).isoformat()
REFUSED = {
    "passport holder moving a hukou": (
        {**HOUSEHOLD_TRANSFER, "applicant": {"kind": "person", **PASSPORT_HOLDER}},
        {ID_TYPE},
    ),
    "move date beyond the police's 90 days": (
        sample("household.transfer", move_date=FAR),
        {("form.move_date", "not_accepted.date")},
    ),
    "social security card without a phone": (
        {**CARD_APPLICATION, "applicant": person(phone=None)},
        {PHONE},
    ),
    "passport holder opening a housing fund account": (
        {**HOUSING_FUND_ACCOUNT, "applicant": {"kind": "person", **PASSPORT_HOLDER}},
        {ID_TYPE},
    ),
}


@pytest.fixture
def hub_options(store_url: str) -> RuntimeOptions:
    """The hub with the dispatcher (so a stored filing would reach a simulator) and a plugin."""
    return RuntimeOptions(store_url=store_url, plugins=(_NoPoBoxCards(),))


@pytest.mark.parametrize("case", list(REFUSED))
async def test_what_a_department_always_refuses_is_422_and_nothing_is_stored_or_sent(
    hub: HubDriver, sim: SimulatorControl, case: str
) -> None:
    """Each is answered 422 with its reason in Chinese and English; nothing stored, nothing sent."""
    data, expected = REFUSED[case]
    response = await hub.post("/api/v1/applications", json=data)
    assert response.status == 422
    body = await response.json()
    assert {(e["field"], e["code"]) for e in body["errors"]} == expected
    assert all(e["message"] and e["message_zh"] for e in body["errors"])
    listed = await hub.get("/api/v1/applications")
    assert (await listed.json())["items"] == []
    for department in ("public_security", "social_security", "housing_fund"):
        assert (await sim.received(department))["total_requests"] == 0


async def test_accepted_filings_still_pass_and_the_plugins_rule_refuses_through_the_api(
    hub: HubDriver,
) -> None:
    """The demo's filings meet every rule; the plugin's P.O. box rule answers 422 in Chinese."""
    for data in (HOUSEHOLD_TRANSFER, CARD_APPLICATION, HOUSING_FUND_ACCOUNT):
        await hub.submit(data)
    response = await hub.post(
        "/api/v1/applications",
        json=sample("social_security.card", mailing_address="示范市邮政信箱 88 号"),
    )
    assert response.status == 422
    assert (await response.json())["errors"] == [
        {
            "field": "form.mailing_address",
            "code": "not_accepted.po_box",
            "message": "cards are not mailed to a P.O. box",
            "message_zh": "社保卡不寄往邮政信箱",
        }
    ]


async def test_matters_publish_their_acceptance_rules(hub: HubDriver) -> None:
    """GET /api/v1/matters lists each matter's rules, as typed in the OpenAPI document."""
    response = await hub.get("/api/v1/matters")
    matters = {m["code"]: m for m in (await response.json())["items"]}
    transfer = matters["household.transfer"]["acceptance"]
    assert transfer[0]["rule"] == "id_types"
    assert transfer[0]["id_types"] == ["resident_id"]
    assert {"rule": "date_window", "field": "move_date", "not_after_days": 90} in transfer
    assert {
        "rule": "phone",
        "path": "applicant.phone",
        "kinds": ["mobile", "landline", "toll_free"],
    } in transfer
    assert matters["business.startup"]["acceptance"] == []
    document = await (await hub.get("/api/v1/openapi.json", token=None)).json()
    rules = document["components"]["schemas"]["Matter"]["properties"]["acceptance"]["items"]
    assert rules["discriminator"]["propertyName"] == "rule"
    assert set(rules["discriminator"]["mapping"]) == acceptance.RULE_KINDS


# --- check-config: every rule's fields and values ---


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped configuration to break."""
    target = tmp_path / "config"
    shutil.copytree(CONFIG, target)
    return target


BROKEN_RULES = """
[[acceptance]]
rule = "nationality"

[[acceptance]]
rule = "id_types"
id_types = ["resident_id", "driving_licence"]

[[acceptance]]
rule = "age"
min_age = 60
max_age = 18

[[acceptance]]
rule = "date_window"
field = "move_date"
not_before_days = 10
not_after_days = -10

[[acceptance]]
rule = "phone"
mobil = true

[[acceptance]]
not_after_days = 90
"""

# Rules that read well but name what household.transfer has not.
WRONG_REFERENCES = """
[[acceptance]]
rule = "date_window"
field = "moving_day"
not_after_days = 90

[[acceptance]]
rule = "date_window"
field = "reason"
not_after_days = 90

[[acceptance]]
rule = "require"
path = "applicant.nickname"

[[acceptance]]
rule = "id_types"
path = "applicant.legal_representative"
id_types = ["resident_id"]

[[acceptance]]
rule = "require"
path = "form.pet_name"
"""


def add_rules(config_dir: Path, rules: str) -> None:
    """household.transfer with rules added after its own three, before its steps."""
    path = config_dir / "matters" / "household.transfer.toml"
    steps = "[steps.household_registration]"
    path.write_text(path.read_text().replace(steps, f"{rules}\n{steps}", 1))


def problems(config_dir: Path) -> dict[str, str]:
    """Every problem loading the configuration reports, by key (all of household.transfer)."""
    with pytest.raises(ConfigError) as info:
        load_config(config_dir)
    assert {p.file.name for p in info.value.problems} == {"household.transfer.toml"}
    return {p.key: p.message for p in info.value.problems}


def test_every_broken_rule_is_named_by_file_and_key(config_dir: Path) -> None:
    """Unknown kind, id type and key, inverted bounds, a missing kind: all at once."""
    add_rules(config_dir, BROKEN_RULES)
    found = problems(config_dir)
    assert set(found) == {
        "acceptance[3].rule",
        "acceptance[4].id_types[1]",
        "acceptance[5]",
        "acceptance[6]",
        "acceptance[7].mobil",
        "acceptance[8].rule",
    }
    assert found["acceptance[3].rule"].startswith("unknown kind 'nationality' (known: ")
    assert "driving_licence" not in found["acceptance[4].id_types[1]"]
    assert "'resident_id'" in found["acceptance[4].id_types[1]"]
    assert found["acceptance[5]"] == "min_age is greater than max_age"
    assert found["acceptance[6]"] == "not_before_days is greater than not_after_days"
    assert found["acceptance[7].mobil"] == "unknown key (misspelt, or not supported here)"
    assert found["acceptance[8].rule"] == "required key is missing"


def test_rules_naming_what_the_matter_has_not_are_named_by_file_and_key(
    config_dir: Path,
) -> None:
    """A date window on an unknown or non-date field, unknown record paths, a wrong holder."""
    add_rules(config_dir, WRONG_REFERENCES)
    assert problems(config_dir) == {
        "acceptance[3].field": "no form field 'moving_day' "
        "(fields: from_address, move_date, reason, to_address)",
        "acceptance[4].field": "form field 'reason' is of type choice, not date",
        "acceptance[5].path": "the record has no applicant.nickname",
        "acceptance[6].path": "applicant.legal_representative is only there when an "
        "organization applies, which this matter is not",
        "acceptance[7].path": "no form field 'pet_name' "
        "(fields: from_address, move_date, reason, to_address)",
    }


def test_check_config_reports_a_broken_rule_and_fails(config_dir: Path) -> None:
    """`hub check-config` names the matter file and the rule's key, and exits 2."""
    path = config_dir / "matters" / "social_security.card.toml"
    text = path.read_text()
    path.write_text(text.replace('id_types = ["resident_id"]', 'id_types = ["hukou_book"]', 1))
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "check-config", "--config", str(config_dir)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )
    assert result.returncode == 2
    assert "social_security.card.toml: acceptance[0].id_types[0]: Input should be" in result.stderr
