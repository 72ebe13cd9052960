"""Form field rules from the catalog: each type normalized, each limit enforced, all at once."""

from __future__ import annotations

import pydantic
import pytest

from hub.fields import FieldRule, validate_form
from hub.problems import ValidationProblem


def rules(**specs: dict) -> dict[str, FieldRule]:
    return {name: FieldRule.model_validate(spec) for name, spec in specs.items()}


def problems(ruleset: dict[str, FieldRule], form: dict) -> set[tuple[str, str]]:
    with pytest.raises(ValidationProblem) as info:
        validate_form(ruleset, form)
    return {(p.field, p.code) for p in info.value.problems}


def test_each_type_is_normalized() -> None:
    """Dates become ISO, phones E.164, IDs 18 digits, numbers numbers, text NFKC."""
    ruleset = rules(
        d={"type": "date"},
        p={"type": "phone"},
        r={"type": "resident_id"},
        c={"type": "credit_code"},
        i={"type": "integer"},
        n={"type": "number"},
        b={"type": "boolean"},
        s={"type": "string"},
    )
    form = {
        "d": "2024年11月5日",
        "p": "138 0013 8000",
        "r": "110105900307451",
        "c": "91350100m000100y43",
        "i": "12",
        "n": "3.5",
        "b": True,
        "s": " ＡＢ  c ",
    }
    assert validate_form(ruleset, form) == {
        "d": "2024-11-05",
        "p": "+8613800138000",
        "r": "11010519900307451X",
        "c": "91350100M000100Y43",
        "i": 12,
        "n": 3.5,
        "b": True,
        "s": "AB c",
    }


def test_every_broken_rule_is_reported_at_once() -> None:
    """Required, unknown, type, pattern, choice, length and range problems together."""
    ruleset = rules(
        need={"type": "string", "required": True},
        code={"type": "string", "pattern": "^[A-Z]{3}$"},
        bank={"type": "choice", "choices": ["icbc", "ccb"]},
        name={"type": "string", "min_length": 4},
        note={"type": "text", "max_length": 3},
        count={"type": "integer", "minimum": 1, "maximum": 9},
        big={"type": "integer", "maximum": 9},
        n={"type": "integer"},
        when={"type": "date"},
    )
    form = {
        "code": "sg",
        "bank": "hsbc",
        "name": "ab",
        "note": "abcd",
        "count": 0,
        "big": 10,
        "n": "ten",
        "when": "2024-02-30",
        "colour": "red",
    }
    assert problems(ruleset, form) == {
        ("form.need", "required"),
        ("form.code", "pattern"),
        ("form.bank", "invalid_choice"),
        ("form.name", "too_short"),
        ("form.note", "too_long"),
        ("form.count", "too_small"),
        ("form.big", "too_large"),
        ("form.n", "type"),
        ("form.when", "invalid_date"),
        ("form.colour", "unknown_field"),
    }


def test_booleans_are_not_numbers_and_numbers_are_not_text() -> None:
    """true is not 1, and 12 is not a string."""
    ruleset = rules(i={"type": "integer"}, s={"type": "string"})
    assert problems(ruleset, {"i": True, "s": 12}) == {("form.i", "type"), ("form.s", "type")}


def test_identity_fields_keep_their_codes() -> None:
    """A resident ID field reports checksum, like the record does."""
    assert problems(rules(r={"type": "resident_id"}), {"r": "110105199003074519"}) == {
        ("form.r", "checksum")
    }


def test_rule_definitions_are_checked() -> None:
    """A pattern that does not compile, or choices on a non-choice field, is refused."""
    with pytest.raises(pydantic.ValidationError, match="regular expression"):
        FieldRule(type="string", pattern="([")
    with pytest.raises(pydantic.ValidationError, match="choices"):
        FieldRule(type="string", choices=("a",))
    with pytest.raises(pydantic.ValidationError, match="choices"):
        FieldRule(type="choice")
