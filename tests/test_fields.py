"""Form field rules from the catalog: each type normalized, each limit enforced, all at once."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from hub.model.fields import FieldRule, validate_form
from hub.model.problems import ValidationProblem


def rule(kind: str, **spec: Any) -> FieldRule:
    """A field rule as a catalog file declares it (a choice field offers two banks by default)."""
    if kind == "choice":
        spec.setdefault("choices", ["icbc", "ccb"])
    return FieldRule.model_validate({"type": kind, "label": f"{kind} 字段", **spec})


def normalized(field: FieldRule, value: Any) -> Any:
    """The normalized value of a one-field form."""
    return validate_form({"f": field}, {"f": value})["f"]


def problems(rules: dict[str, FieldRule], form: dict[str, Any]) -> set[tuple[str, str]]:
    """(field, code) of every problem validate_form reports; every one has a message."""
    with pytest.raises(ValidationProblem) as info:
        validate_form(rules, form)
    assert all(p.message for p in info.value.problems)
    return {(p.field, p.code) for p in info.value.problems}


def problem(field: FieldRule, value: Any) -> str:
    """The one problem code of a one-field form."""
    [(_, code)] = problems({"f": field}, {"f": value})
    return code


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("string", " ＡＢ  c ", "AB c"),
        # Legal text keeps what was filed: full-width punctuation and digits, line breaks.
        ("text", "经营范围：\n软件开发\u3000咨询", "经营范围：\n软件开发 咨询"),
        ("address", "示范市人民路１２号（东）", "示范市人民路１２号（东）"),
        ("name", " 云帆（示范）科技有限公司 ", "云帆（示范）科技有限公司"),
        ("person_name", "阿依古丽•买买提", "阿依古丽·买买提"),
        ("date", "2024年11月5日", "2024-11-05"),
        ("date", "20241105", "2024-11-05"),
        ("phone", "138 0013 8000", "+8613800138000"),
        ("phone", "010-12345678", "+861012345678"),
        ("resident_id", "110105900307451", "11010519900307451X"),
        ("resident_id", "11010519900307451x", "11010519900307451X"),
        ("credit_code", "91350100m000100y43", "91350100M000100Y43"),
        ("integer", 12, 12),
        ("integer", "12", 12),
        ("integer", " -３ ", -3),
        ("integer", 12.0, 12),
        ("number", 3.5, 3.5),
        ("number", "3.5", 3.5),
        ("number", "500", 500),
        ("number", "1e3", 1000),
        ("boolean", True, True),
        ("boolean", False, False),
        ("boolean", "true", True),
        ("boolean", " False ", False),
    ],
)
def test_each_type_is_normalized(kind: str, value: Any, expected: Any) -> None:
    """Strings NFKC, legal text as filed, dates ISO, phones E.164, IDs 18 digits, codes upper."""
    result = normalized(rule(kind), value)
    assert result == expected
    assert type(result) is type(expected)  # 12 stays an int, "12" is no longer a string


def test_choice_is_compared_after_normalization() -> None:
    """A full-width or padded choice matches its plain spelling."""
    assert normalized(rule("choice", choices=["icbc", "ccb"]), " ｉｃｂｃ ") == "icbc"


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("string", 12),
        ("text", ["a"]),
        ("address", {"city": "示范市"}),
        ("choice", 1),
        ("integer", "abc"),
        ("integer", "12.5"),
        ("integer", 12.5),
        ("integer", True),
        ("integer", "1_000"),
        ("integer", "9" * 5000),
        ("number", "abc"),
        ("number", "nan"),
        ("number", "inf"),
        ("number", float("nan")),
        ("number", float("inf")),
        ("number", "1e999"),
        ("number", "0x10"),
        ("number", False),
        ("boolean", 1),
        ("boolean", "yes"),
        ("date", 20241105),
        ("phone", 13800138000),
        ("resident_id", 110105900307451),
        ("credit_code", 913501),
    ],
)
def test_wrong_type_is_a_type_problem(kind: str, value: Any) -> None:
    """Values are coerced only from their plain spelling: "12" is 12, "abc" and true are not."""
    assert problem(rule(kind), value) == "type"


def test_every_broken_rule_is_reported_at_once() -> None:
    """Required, unknown, type, pattern, choice, length, range and identity problems together."""
    rules = {
        "need": rule("string", required=True),
        "code": rule("string", pattern="[A-Z]{3}"),
        "bank": rule("choice", choices=["icbc", "ccb"]),
        "name": rule("string", min_length=4),
        "note": rule("text", max_length=3),
        "count": rule("integer", minimum=1, maximum=9),
        "big": rule("number", maximum=9),
        "n": rule("integer"),
        "when": rule("date"),
        "id": rule("resident_id"),
    }
    form = {
        "code": "sg",
        "bank": "hsbc",
        "name": "ab",
        "note": "abcd",
        "count": 0,
        "big": 9.5,
        "n": "ten",
        "when": "2024-02-30",
        "id": "110105199003074519",
        "colour": "red",
    }
    assert problems(rules, form) == {
        ("form.need", "required"),
        ("form.code", "pattern"),
        ("form.bank", "invalid_choice"),
        ("form.name", "too_short"),
        ("form.note", "too_long"),
        ("form.count", "too_small"),
        ("form.big", "too_large"),
        ("form.n", "type"),
        ("form.when", "invalid_date"),
        ("form.id", "checksum"),
        ("form.colour", "unknown_field"),
    }


@pytest.mark.parametrize("value", [None, "", " \u3000 "])
def test_blank_required_field_is_required(value: Any) -> None:
    """Missing, null and white space alike are a required problem."""
    field = rule("string", required=True)
    assert problems({"f": field}, {"f": value}) == {("form.f", "required")}
    assert problems({"f": field}, {}) == {("form.f", "required")}


def test_blank_optional_field_is_left_out() -> None:
    """An optional field left empty does not appear in the normalized form."""
    rules = {"a": rule("address"), "b": rule("date"), "c": rule("integer", required=True)}
    assert validate_form(rules, {"a": " ", "b": None, "c": 1}) == {"c": 1}


def test_limits_are_inclusive() -> None:
    """min_length, max_length, minimum and maximum themselves are allowed."""
    assert normalized(rule("string", min_length=2, max_length=2), "ab") == "ab"
    assert normalized(rule("integer", minimum=1, maximum=1), 1) == 1


def test_length_is_counted_after_normalization_in_characters() -> None:
    """Padding does not count, and one Chinese character is one character."""
    assert normalized(rule("string", max_length=4), "  示范市区  ") == "示范市区"


def test_pattern_must_match_the_whole_value() -> None:
    """A pattern without anchors still has to match from the first character to the last."""
    field = rule("string", pattern="[A-Z]{3}")
    assert normalized(field, "SGP") == "SGP"
    assert problem(field, "SGPX") == "pattern"
    assert problem(field, "xSGP") == "pattern"


@pytest.mark.parametrize(
    ("value", "code"),
    [("91350100M000100Y44", "checksum"), ("91350100O000100Y43", "format")],
)
def test_credit_code_fields_keep_their_identity_codes(value: str, code: str) -> None:
    """Identity problems in a form are reported with the identity module's codes."""
    assert problem(rule("credit_code"), value) == code


@pytest.mark.parametrize(("value", "code"), [("12345", "invalid"), ("call me", "format")])
def test_phone_fields_keep_their_identity_codes(value: str, code: str) -> None:
    """An invalid phone in a form is invalid or format, as in the record."""
    assert problem(rule("phone"), value) == code


def test_paths_use_the_given_prefix() -> None:
    """validate_form can check a form nested elsewhere, e.g. inside an amendment."""
    with pytest.raises(ValidationProblem) as info:
        validate_form({"d": rule("date")}, {"d": "soon"}, prefix="amendment.form")
    assert [p.field for p in info.value.problems] == ["amendment.form.d"]


def test_rule_with_a_pattern_that_does_not_compile_is_refused() -> None:
    """A broken regular expression is a validation error on pattern."""
    with pytest.raises(pydantic.ValidationError, match="regular expression") as info:
        rule("string", pattern="([")
    assert info.value.errors()[0]["loc"] == ("pattern",)


def test_choices_are_required_for_choice_and_only_allowed_there() -> None:
    """A choice field needs choices; any other field must not have them."""
    with pytest.raises(pydantic.ValidationError, match="choices"):
        rule("string", choices=["a"])
    with pytest.raises(pydantic.ValidationError, match="choices"):
        FieldRule(type="choice", label="银行")
    with pytest.raises(pydantic.ValidationError, match="choices"):
        rule("choice", choices=[])


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "string"},  # no label
        {"type": "string", "label": ""},
        {"type": "colour", "label": "颜色"},
        {"type": "string", "label": "名称", "min_length": 5, "max_length": 4},
        {"type": "string", "label": "名称", "min_length": -1},
        {"type": "integer", "label": "人数", "minimum": 10, "maximum": 1},
        {"type": "string", "label": "名称", "requried": True},
    ],
)
def test_rule_definitions_are_checked(spec: dict[str, Any]) -> None:
    """A missing label, an unknown type or key, and inverted or negative limits are refused."""
    with pytest.raises(pydantic.ValidationError):
        FieldRule.model_validate(spec)


def test_rules_are_frozen() -> None:
    """A rule loaded from the catalog cannot be changed afterwards."""
    field = rule("string")
    with pytest.raises(pydantic.ValidationError):
        field.required = True  # type: ignore[misc]
