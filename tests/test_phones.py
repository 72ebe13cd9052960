"""Phone numbers: E.164 with their kind and extension, and each department's form of them with
no digit lost (a landline keeps its trunk 0)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from adapters.mapping_rules import Source
from hub.model.fields import FieldRule, validate_form
from hub.model.identity import normalize_phone
from hub.model.phones import PhoneKind, e164_phone, national_phone, parse_phone, phone_kind
from hub.model.problems import InvalidValue
from hub.model.record import Person, parse_record
from hub.ops.privacy import mask_phone
from tests.conftest import HubDriver, SimulatorControl, by_step
from tests.samples import CARD_APPLICATION, HOUSING_FUND_ACCOUNT


@pytest.mark.parametrize(
    ("value", "e164", "kind", "extension", "national"),
    [
        ("13800138000", "+8613800138000", "mobile", None, "13800138000"),
        ("+86 138-0013-8000", "+8613800138000", "mobile", None, "13800138000"),
        ("0571-88888888", "+8657188888888", "landline", None, "057188888888"),
        ("(010) 1234-5678", "+861012345678", "landline", None, "01012345678"),
        ("0571-88888888 转 123", "+8657188888888", "landline", "123", "057188888888-123"),
        ("0571-88888888分机123", "+8657188888888", "landline", "123", "057188888888-123"),
        ("0571 8888 8888 ext. 123", "+8657188888888", "landline", "123", "057188888888-123"),
        ("010-12345678 x9", "+861012345678", "landline", "9", "01012345678-9"),
        ("0571-88888888-123", "+8657188888888", "landline", "123", "057188888888-123"),
        ("０５７１－８８８８８８８８ 转 １２３", "+8657188888888", "landline", "123", None),
        ("+8657188888888;ext=123", "+8657188888888", "landline", "123", None),
        ("400-812-3123", "+864008123123", "toll_free", None, "4008123123"),
        ("400 812 3123 转 2", "+864008123123", "toll_free", "2", "4008123123-2"),
        ("800-810-8888", "+868008108888", "toll_free", None, "8008108888"),
        ("+44 20 7946 0958", "+442079460958", "foreign", None, "00442079460958"),
        ("0044 20 7946 0958", "+442079460958", "foreign", None, "00442079460958"),
        ("+852 6123 4567", "+85261234567", "foreign", None, "0085261234567"),
        ("+1 212-555-0123", "+12125550123", "foreign", None, "0012125550123"),
    ],
)
def test_each_kind_of_number_is_e164_with_its_kind_and_extension(
    value: str, e164: str, kind: PhoneKind, extension: str | None, national: str | None
) -> None:
    """Mobile, landline (with extension), 400/800 and foreign numbers, in common spellings."""
    phone = parse_phone(value)
    assert (phone.e164, phone.kind, phone.extension) == (e164, kind, extension)
    stored = normalize_phone(value)
    assert stored == e164 + (f";ext={extension}" if extension else "")
    # What the record stores reads back as itself, kind and all.
    assert normalize_phone(stored) == stored
    assert phone_kind(stored) == kind
    assert e164_phone(stored) == e164
    if national is not None:
        assert national_phone(stored) == national


def test_a_landline_keeps_its_trunk_zero_where_plus_86_alone_would_lose_it() -> None:
    """The bug this module ends: +8657188888888 minus "+86" is 57188888888, no longer a number."""
    assert national_phone("+8657188888888") == "057188888888"
    assert national_phone("+861012345678") == "01012345678"
    assert national_phone(None) == national_phone("") == ""


def test_a_mobile_has_no_extension() -> None:
    """转 after a mobile number is a typing mistake, not an extension."""
    with pytest.raises(InvalidValue) as info:
        parse_phone("138 0013 8000 转 12")
    assert info.value.code == "invalid"


@pytest.mark.parametrize("value", ["0571-888", "400-812", "13800138000-1"])
def test_numbers_no_plan_gives_out_are_invalid(value: str) -> None:
    """A short number, or a dash group after a mobile (which has no extension)."""
    with pytest.raises(InvalidValue) as info:
        parse_phone(value)
    assert info.value.code == "invalid"


def test_the_extension_is_masked_with_the_number() -> None:
    """Masking keeps the shape, not the digits."""
    assert mask_phone("+8657188888888;ext=123") == "+86571****8888;ext=***"


def test_a_record_and_a_form_store_the_landline_with_its_extension() -> None:
    """The record's phone stays a string: E.164, ;ext= appended when there is one."""
    data = copy.deepcopy(CARD_APPLICATION)
    data["applicant"]["phone"] = "0571-88888888 转 123"
    applicant = parse_record(data).applicant
    assert isinstance(applicant, Person)
    assert applicant.phone == "+8657188888888;ext=123"
    rules = {"p": FieldRule.model_validate({"type": "phone", "label": "电话"})}
    assert validate_form(rules, {"p": "400-812-3123"}) == {"p": "+864008123123"}


def source(**spec: Any) -> Source:
    """A generic adapter's field rule, as a department file declares it."""
    return Source.model_validate({"path": "applicant.phone", **spec})


@pytest.mark.parametrize(
    ("stored", "national", "e164"),
    [
        ("+8613800138000", "13800138000", "+8613800138000"),
        ("+8657188888888", "057188888888", "+8657188888888"),
        ("+8657188888888;ext=123", "057188888888-123", "+8657188888888"),
        ("+442079460958", "00442079460958", "+442079460958"),
    ],
)
def test_generic_mapping_writes_phones_nationally_or_in_e164(
    stored: str, national: str, e164: str
) -> None:
    """phone = "national" keeps the trunk 0; phone = "e164" drops only the extension."""
    scope = {"applicant": {"phone": stored}}
    assert source(phone="national").read(scope) == national
    assert source(phone="e164").read(scope) == e164


def test_strip_prefix_cannot_be_used_to_make_a_phone_national() -> None:
    """Configuration that would drop a landline's 0 is refused when it is loaded."""
    with pytest.raises(ValueError, match='phone = "national"'):
        source(strip_prefix="+86")


async def test_a_landline_reaches_social_security_with_its_leading_zero(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """The gateway gets 057188888888-123, not 57188888888123 (which it refuses)."""
    data = copy.deepcopy(CARD_APPLICATION)
    data["applicant"]["phone"] = "0571-88888888 转 123"
    view = await hub.delivered(await hub.submit(data))
    assert by_step(view)["card_application"]["state"] == "submitted"
    [case] = (await sim.received("social_security"))["cases"]
    assert case["fields"]["lxdh"] == "057188888888-123"


@pytest.mark.parametrize(
    ("phone", "sent"),
    [("0571-88888888", "057188888888"), ("400-812-3123", "4008123123"), ("13700137000", None)],
)
async def test_a_phone_reaches_the_housing_fund_as_dialled_in_china(
    hub: HubDriver, sim: SimulatorControl, phone: str, sent: str | None
) -> None:
    """The configuration-only adapter writes the number the national way, trunk 0 kept."""
    data = copy.deepcopy(HOUSING_FUND_ACCOUNT)
    data["applicant"]["phone"] = phone
    await hub.delivered(await hub.submit(data))
    [case] = (await sim.received("housing_fund"))["cases"]
    assert case["fields"]["mobile"] == (sent or phone)
