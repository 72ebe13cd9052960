"""Text as filed: legal text keeps the law's characters, person names are tidied, and control
characters or non-characters are refused at intake, never stripped."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.model.fields import FieldRule, validate_form
from hub.model.problems import InvalidValue, ValidationProblem
from hub.model.record import Organization, Person, parse_record
from hub.model.text import legal_text, person_name, refuse_unsafe
from hub.runtime import RuntimeOptions
from hub.store.tables import applications, deliveries
from tests.conftest import HubDriver, SimulatorControl, by_step
from tests.samples import BUSINESS_STARTUP, HOUSEHOLD_TRANSFER

COMPANY = "云帆（示范）科技有限公司"
SCOPE = "软件开发；信息技术咨询服务，技术转让：（除依法须经批准的项目外）。凭营业执照、依法经营"

# legal text

QUICK = {"status": {"poll_interval": 0.1, "poll_interval_max": 0.3}}
# Asked for decisions often: a later step waits for the approval of the one before it.
POLLED = pytest.mark.parametrize(
    "department_overrides",
    [dict.fromkeys(("market_regulation", "public_security", "tax", "social_security"), QUICK)],
)


def test_legal_text_keeps_full_width_punctuation_digits_and_letters() -> None:
    """（）；，：。、 and full-width １２ and ＡＢ stay as filed; only the ends are trimmed."""
    assert legal_text(f"\u3000 {COMPANY} ") == COMPANY
    assert legal_text(SCOPE) == SCOPE
    assert legal_text("人民路１２号ＡＢ座") == "人民路１２号ＡＢ座"


def test_legal_text_collapses_runs_of_white_space() -> None:
    """A run of white space, ideographic space included, becomes one space."""
    assert legal_text("示范市  新城区\u3000\u3000人民路") == "示范市 新城区 人民路"


def test_legal_text_is_composed_nfc_not_folded() -> None:
    """A decomposed accent is composed (NFC); the compatibility ligature ﬁ is not folded."""
    assert legal_text("Cafe\u0301 ﬁ") == "Café ﬁ"


def test_multiline_legal_text_keeps_its_line_breaks() -> None:
    """Line breaks stay (CRLF read as LF), each line is tidied, blank ends dropped."""
    assert legal_text("\r\n一、软件开发；\r\n二、\t技术  咨询。\n\n", multiline=True) == (
        "一、软件开发；\n二、 技术 咨询。"
    )


# person names


@pytest.mark.parametrize(
    "separator",
    [
        "\u00b7",
        "\u2022",
        "\u30fb",
        "\uff0e",
        "\u2027",
        "\uff65",
        "\u2219",
        "\u22c5",
        "\u0387",
        "\u16eb",
        ".",
        " \u2022 ",
        " . ",
    ],
)
def test_minority_name_separators_become_the_middle_dot(separator: str) -> None:
    """Whatever the input method wrote between the parts, the register's U+00B7 is filed."""
    assert person_name(f"阿依古丽{separator}买买提") == "阿依古丽\u00b7买买提"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("张\u3000伟", "张伟"),
        (" 张  伟 ", "张伟"),
        ("欧阳 娜娜", "欧阳娜娜"),
        ("Tan  Ah Kow", "Tan Ah Kow"),
        ("\u3000Tan\u3000Ah  Kow ", "Tan Ah Kow"),
        ("John F. Kennedy", "John F. Kennedy"),
        ("ＴＡＮ Ａｈ Ｋｏｗ", "TAN Ah Kow"),
    ],
)
def test_spaces_leave_a_chinese_name_and_stay_single_in_a_latin_one(
    value: str, expected: str
) -> None:
    """Spaces inside a Chinese name are typing noise; a Latin-script name keeps single ones."""
    assert person_name(value) == expected


# unsafe characters

UNSAFE = [
    ("\x00", "control_character"),
    ("\x1b", "control_character"),
    ("\x07", "control_character"),
    ("\x7f", "control_character"),
    ("\x85", "control_character"),
    ("\x9f", "control_character"),
    ("\ud800", "invalid_character"),
    ("\udfff", "invalid_character"),
    ("\ufffe", "invalid_character"),
    ("\uffff", "invalid_character"),
    ("\ufdd0", "invalid_character"),
    ("\ufdef", "invalid_character"),
    ("\U0001fffe", "invalid_character"),
    ("\U0010ffff", "invalid_character"),
]


@pytest.mark.parametrize(("char", "code"), UNSAFE)
def test_unsafe_characters_are_refused_naming_code_point_and_position(char: str, code: str) -> None:
    """The character is named by its code point and its position counted from 1."""
    with pytest.raises(InvalidValue) as info:
        refuse_unsafe(f"张{char}伟")
    assert info.value.code == code
    assert f"U+{ord(char):04X}" in info.value.message
    assert "at position 2" in info.value.message


@pytest.mark.parametrize("char", ["\t", "\n", "\r"])
def test_tab_and_line_breaks_are_refused_in_one_line_text_only(char: str) -> None:
    """A name cannot hold a tab or line break; multi-line text can."""
    with pytest.raises(InvalidValue) as info:
        refuse_unsafe(f"a{char}b")
    assert info.value.code == "control_character"
    assert refuse_unsafe(f"a{char}b", multiline=True) == f"a{char}b"


def test_ordinary_characters_outside_the_bmp_pass() -> None:
    """𠮷 and 䶮 are characters of names, not a problem (nor are U+FFFD and U+E000)."""
    assert refuse_unsafe("𠮷䶮\ufffd\ue000") == "𠮷䶮\ufffd\ue000"


def field(kind: str) -> FieldRule:
    """A one-field rule of a kind."""
    return FieldRule.model_validate({"type": kind, "label": kind})


@pytest.mark.parametrize(
    "kind", ["string", "name", "person_name", "address", "choice", "phone", "date"]
)
def test_form_fields_of_every_text_kind_refuse_control_characters(kind: str) -> None:
    """The check runs before any normalizing, for every field that takes text."""
    choices = {"choices": ["ab"]} if kind == "choice" else {}
    rule = FieldRule.model_validate({"type": kind, "label": kind, **choices})
    with pytest.raises(ValidationProblem) as info:
        validate_form({"f": rule}, {"f": "a\x00b"})
    [problem] = info.value.problems
    assert (problem.field, problem.code) == ("form.f", "control_character")
    assert "U+0000" in problem.message and "position 2" in problem.message


def test_a_multi_line_text_field_keeps_tab_and_line_breaks_but_refuses_nul() -> None:
    """text is the one form type that may span lines."""
    assert validate_form({"f": field("text")}, {"f": "一、\t开发；\n二、咨询"}) == {
        "f": "一、 开发；\n二、咨询"
    }
    with pytest.raises(ValidationProblem):
        validate_form({"f": field("text")}, {"f": "一\x00"})


def with_applicant(data: dict[str, Any], path: str, value: str) -> dict[str, Any]:
    """A copy of a sample with one applicant field (dotted path) set."""
    data = copy.deepcopy(data)
    target = data["applicant"]
    *parents, last = path.split(".")
    for part in parents:
        target = target[part]
    target[last] = value
    return data


@pytest.mark.parametrize(
    "path", ["name", "id_number", "phone", "address", "legal_representative.id_number"]
)
def test_a_control_character_anywhere_in_the_record_is_one_problem_at_its_field(
    path: str,
) -> None:
    """Names, ID numbers, phones and addresses alike; the NUL's other consequences (a bad ID
    format) are not reported on top of it."""
    base = BUSINESS_STARTUP if path.startswith("legal") else HOUSEHOLD_TRANSFER
    with pytest.raises(ValidationProblem) as info:
        parse_record(with_applicant(base, path, "11010\x0019900307451X"))
    [problem] = info.value.problems
    assert (problem.field, problem.code) == (f"applicant.{path}", "control_character")


def test_organization_name_is_legal_text_and_representative_name_a_person_name() -> None:
    """The company's name keeps （）; its representative's name loses its spaces."""
    data = with_applicant(BUSINESS_STARTUP, "name", COMPANY)
    data["applicant"]["legal_representative"]["name"] = "王\u3000建国"
    applicant = parse_record(data).applicant
    assert isinstance(applicant, Organization)
    assert applicant.name == COMPANY
    assert applicant.legal_representative.name == "王建国"


# through the API


@POLLED
async def test_a_company_name_and_scope_reach_the_departments_as_filed(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """（）and ；are not turned half-width anywhere between the window and the departments."""
    data = copy.deepcopy(BUSINESS_STARTUP)
    data["applicant"]["name"] = COMPANY
    data["form"].update(company_name=COMPANY, business_scope=SCOPE)
    view = await hub.delivered(await hub.submit(data))
    assert {d["state"] for d in by_step(view).values()} <= {"submitted", "in_review", "approved"}
    [registration] = (await sim.received("market_regulation"))["cases"]
    assert registration["fields"]["name"] == COMPANY
    assert registration["fields"]["businessScope"] == SCOPE
    [seal] = (await sim.received("public_security"))["cases"]
    assert seal["fields"]["CompanyName"] == COMPANY
    [employer] = (await sim.received("social_security"))["cases"]
    assert employer["fields"]["dwmc"] == COMPANY


@POLLED
@pytest.mark.parametrize(
    "separator",
    [
        "\u2022",
        "\u30fb",
        "\uff0e",
        "\u2027",
        "\uff65",
        "\u2219",
        "\u22c5",
        "\u0387",
        "\u16eb",
        ".",
        "\u00b7",
    ],
)
async def test_a_minority_name_reaches_the_police_with_the_middle_dot(
    hub: HubDriver, sim: SimulatorControl, separator: str
) -> None:
    """The household registration gets 阿依古丽·买买提 whatever separator the window typed."""
    data = with_applicant(HOUSEHOLD_TRANSFER, "name", f"阿依古丽 {separator}买买提")
    await hub.delivered(await hub.submit(data))
    [case] = (await sim.received("public_security"))["cases"]
    assert case["fields"]["Name"] == "阿依古丽\u00b7买买提"


class TestRefusedAtIntake:
    """Unsafe characters are a 422 naming the field, and nothing is stored."""

    @pytest.fixture
    def hub_options(self, store_url: str) -> RuntimeOptions:
        """No dispatcher: only what intake commits matters here."""
        return RuntimeOptions(store_url=store_url, dispatch=False)

    async def refused(self, hub: HubDriver, data: dict[str, Any]) -> dict[str, Any]:
        """The one problem of a 422 answer; the store holds nothing afterwards."""
        response = await hub.post("/api/v1/applications", json=data)
        assert response.status == 422
        body = await response.json()
        async with hub.hub.engine.connect() as conn:
            for table in (applications, deliveries):
                count = select(func.count()).select_from(table)
                assert (await conn.execute(count)).scalar_one() == 0
        [problem] = body["errors"]
        result: dict[str, Any] = problem
        return result

    @pytest.mark.parametrize(("char", "code"), UNSAFE)
    async def test_in_the_applicant_name(self, hub: HubDriver, char: str, code: str) -> None:
        """Every unsafe kind, in a person's name."""
        problem = await self.refused(hub, with_applicant(HOUSEHOLD_TRANSFER, "name", f"张伟{char}"))
        assert (problem["field"], problem["code"]) == ("applicant.name", code)
        assert f"U+{ord(char):04X}" in problem["message"]
        assert "at position 3" in problem["message"]

    @pytest.mark.parametrize(
        ("where", "value"),
        [
            ("applicant.name", "张\t伟"),
            ("applicant.name", "张\n伟"),
            ("applicant.id_number", "11010519900307451X\x00"),
            ("applicant.phone", "13800138000\x1b"),
            ("applicant.address", "北京市\x85朝阳区"),
            ("form.to_address", "示范市\x00人民路"),
            ("form.from_address", "示范市\ufffe人民路"),
        ],
    )
    async def test_in_every_text_of_record_and_form(
        self, hub: HubDriver, where: str, value: str
    ) -> None:
        """Names, ID numbers, phones, addresses and form fields alike."""
        data = copy.deepcopy(HOUSEHOLD_TRANSFER)
        part, name = where.split(".")
        data[part][name] = value
        problem = await self.refused(hub, data)
        assert problem["field"] == where
        assert problem["code"] in ("control_character", "invalid_character")

    async def test_in_a_business_scope_but_not_its_line_breaks(self, hub: HubDriver) -> None:
        """A multi-line text field may hold line breaks and tabs, never NUL or ESC."""
        data = copy.deepcopy(BUSINESS_STARTUP)
        data["form"]["business_scope"] = "软件开发；\n\t信息技术咨询\x1b服务"
        problem = await self.refused(hub, data)
        assert (problem["field"], problem["code"]) == ("form.business_scope", "control_character")
        assert "U+001B" in problem["message"]
        assert "at position 14" in problem["message"]


def test_parse_record_unifies_a_person_name_s_separator() -> None:
    """The applicant's name is a PersonName: •  becomes U+00B7 in the record itself."""
    record = parse_record(with_applicant(HOUSEHOLD_TRANSFER, "name", "阿依古丽•买买提"))
    assert isinstance(record.applicant, Person)
    assert record.applicant.name == "阿依古丽\u00b7买买提"


@pytest.mark.parametrize("value", ["\x85", " \x1c ", "\u3000\x1f"])
def test_a_control_character_that_counts_as_white_space_is_refused_not_taken_for_a_blank(
    value: str,
) -> None:
    """NEL and the information separators are white space to Python, but not to a department."""
    with pytest.raises(ValidationProblem) as info:
        validate_form({"f": field("address")}, {"f": value})
    assert [(p.field, p.code) for p in info.value.problems] == [("form.f", "control_character")]
    with pytest.raises(ValidationProblem) as info:
        parse_record(with_applicant(HOUSEHOLD_TRANSFER, "address", value))
    assert [(p.field, p.code) for p in info.value.problems] == [
        ("applicant.address", "control_character")
    ]
