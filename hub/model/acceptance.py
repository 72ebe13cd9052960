"""Acceptance rules (受理条件): what a matter's departments always refuse, checked at the window.

The Administrative Licensing Law (art. 32) wants an application the office cannot accept told
so at once and in full, not accepted and refused later. A matter lists its rules in its catalog
file as `[[acceptance]]` tables, each naming its kind in `rule`: data, never code.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, timedelta
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.model.documents import DOCUMENT_KINDS, DocumentType
from hub.model.fields import FieldRule
from hub.model.phones import PhoneKind, phone_kind
from hub.model.problems import Problem
from hub.model.record import ApplicationRecord, LegalRepresentative, Organization, Person

# A rule names documents by the hub's one table of them (hub.model.documents).
ID_TYPE_NAMES: Mapping[str, tuple[str, str]] = {
    code: (kind.name_zh, kind.name_en) for code, kind in DOCUMENT_KINDS.items()
}

# Whose document a rule reads: the person applying, or the one who signs for an organization.
Holder = Literal["applicant", "applicant.legal_representative"]
PhonePath = Literal["applicant.phone", "applicant.legal_representative.phone"]

# The simulated social insurance gateway takes an 11-digit mobile, 1[3-9]…: in E.164, +861[3-9]….
_PHONE_KINDS_ZH = {
    "mobile": "手机号码",
    "landline": "固定电话",
    "toll_free": "400/800电话",
    "foreign": "境外电话",
    "other": "其他电话",
}

CODES: Mapping[str, str] = {
    "id_types": "not_accepted.id_type",
    "age": "not_accepted.age",
    "region": "not_accepted.region",
    "date_window": "not_accepted.date",
    "phone": "not_accepted.phone",
    "require": "not_accepted.required",
}


def _holder(record: ApplicationRecord, path: str) -> Person | LegalRepresentative | None:
    """The person a rule is about, or None when this applicant has no such person."""
    applicant = record.applicant
    if path == "applicant":
        return applicant if isinstance(applicant, Person) else None
    return applicant.legal_representative if isinstance(applicant, Organization) else None


def _dig(record: ApplicationRecord, path: str) -> Any:
    """The value at a dotted record path (applicant.…, form.…), None where there is none."""
    head, *rest = path.split(".")
    value: Any = record.form if head == "form" else record.applicant
    for part in rest:
        value = value.get(part) if isinstance(value, Mapping) else getattr(value, part, None)
        if value is None:
            return None
    return value


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def age_on(born: date, day: date) -> int:
    """Full years of age on a day: a birthday not yet come this year does not count."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class BaseRule(BaseModel):
    """What every rule shares: the messages that replace its default ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ClassVar[str]
    message_zh: str | None = Field(default=None, min_length=1, description="replaces the default")
    message_en: str | None = Field(default=None, min_length=1, description="replaces the default")

    def _problem(self, field: str, zh: str, en: str) -> Problem:
        return Problem(
            field, CODES[self.kind], self.message_en or en, message_zh=self.message_zh or zh
        )

    def check(self, record: ApplicationRecord, today: date) -> list[Problem]:
        """The problems this rule finds with a normalized record filed on a day."""
        raise NotImplementedError

    def config_problems(
        self, fields: Mapping[str, FieldRule], applicants: Collection[str]
    ) -> list[tuple[str, str]]:
        """(key, message) for what the rule names that its matter does not have."""
        return []


def _holder_problems(path: str, applicants: Collection[str]) -> list[tuple[str, str]]:
    needed, who = (
        ("person", "a person") if path == "applicant" else ("organization", "an organization")
    )
    if needed not in applicants:
        return [("path", f"{path} is only there when {who} applies, which this matter is not")]
    return []


class IdTypesRule(BaseRule):
    """Who may apply, by the document they identify themselves with."""

    kind: ClassVar[str] = "id_types"
    rule: Literal["id_types"]
    path: Holder = "applicant"
    id_types: tuple[DocumentType, ...] = Field(min_length=1)

    def check(self, record: ApplicationRecord, today: date) -> list[Problem]:
        """A problem when the holder's document is not one of the accepted ones."""
        holder = _holder(record, self.path)
        if holder is None or holder.id_type in self.id_types:
            return []
        zh = "、".join(ID_TYPE_NAMES[t][0] for t in self.id_types)
        en = ", ".join(ID_TYPE_NAMES[t][1] for t in self.id_types)
        who_zh, who_en = (
            ("申请人", "the applicant")
            if self.path == "applicant"
            else (
                "法定代表人",
                "the legal representative",
            )
        )
        return [
            self._problem(
                f"{self.path}.id_type",
                f"本事项仅受理{who_zh}持以下证件申请：{zh}",
                f"this matter is accepted only when {who_en} holds: {en}",
            )
        ]

    def config_problems(
        self, fields: Mapping[str, FieldRule], applicants: Collection[str]
    ) -> list[tuple[str, str]]:
        """The holder must be someone this matter's applicants have."""
        return _holder_problems(self.path, applicants)


class AgeRule(BaseRule):
    """Age bounds, in full years on the filing day, from the applicant's birth date."""

    kind: ClassVar[str] = "age"
    rule: Literal["age"]
    min_age: int | None = Field(default=None, ge=0, le=150)
    max_age: int | None = Field(default=None, ge=0, le=150)

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.min_age is None and self.max_age is None:
            raise ValueError("give min_age, max_age or both")
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            raise ValueError("min_age is greater than max_age")
        return self

    def _bounds_text(self) -> tuple[str, str]:
        if self.max_age is None:
            return f"年满{self.min_age}周岁", f"at least {self.min_age} years old"
        if self.min_age is None:
            return f"不超过{self.max_age}周岁", f"at most {self.max_age} years old"
        return (
            f"年满{self.min_age}周岁且不超过{self.max_age}周岁",
            f"{self.min_age} to {self.max_age} years old",
        )

    def check(self, record: ApplicationRecord, today: date) -> list[Problem]:
        """A problem when the applicant's age is out of bounds, or cannot be told."""
        holder = _holder(record, "applicant")
        if not isinstance(holder, Person):
            return []
        zh, en = self._bounds_text()
        if holder.birth_date is None:
            # Only a resident ID number says when its holder was born; other documents need
            # the birth date written on the form, or the age cannot be checked at all.
            return [
                self._problem(
                    "applicant.birth_date",
                    f"请填写出生日期：本事项申请人须{zh}",
                    f"give the birth date: the applicant must be {en}",
                )
            ]
        age = age_on(holder.birth_date, today)
        too_young = self.min_age is not None and age < self.min_age
        too_old = self.max_age is not None and age > self.max_age
        if not (too_young or too_old):
            return []
        return [
            self._problem(
                "applicant.birth_date",
                f"本事项申请人须{zh}（申请日{age}周岁）",
                f"the applicant must be {en} (is {age} on the filing day)",
            )
        ]

    def config_problems(
        self, fields: Mapping[str, FieldRule], applicants: Collection[str]
    ) -> list[tuple[str, str]]:
        """Only a person has an age."""
        if "person" not in applicants:
            return [("rule", "an age rule needs a matter a person applies for")]
        return []


class RegionRule(BaseRule):
    """Residence: the region code that begins the holder's resident ID number (GB 11643)."""

    kind: ClassVar[str] = "region"
    rule: Literal["region"]
    path: Holder = "applicant"
    # Province (2 digits), prefecture (4) or county (6); GB 11643 regions begin with 1–8.
    region_prefixes: tuple[Annotated[str, Field(pattern=r"^[1-8][0-9]{1,5}$")], ...] = Field(
        min_length=1
    )

    def check(self, record: ApplicationRecord, today: date) -> list[Problem]:
        """A problem unless the holder's resident ID number begins with a listed prefix."""
        holder = _holder(record, self.path)
        if holder is None:
            return []
        if holder.id_type == "resident_id" and holder.id_number.startswith(self.region_prefixes):
            return []
        listed = "、".join(self.region_prefixes)
        return [
            self._problem(
                f"{self.path}.id_number",
                f"本事项仅受理本地居民申请（居民身份证号码以 {listed} 开头）",
                "this matter is accepted only from local residents (a resident ID number "
                f"beginning {', '.join(self.region_prefixes)})",
            )
        ]

    def config_problems(
        self, fields: Mapping[str, FieldRule], applicants: Collection[str]
    ) -> list[tuple[str, str]]:
        """The holder must be someone this matter's applicants have."""
        return _holder_problems(self.path, applicants)


def _offset_zh(days: int) -> str:
    if days == 0:
        return "申请当日"
    return f"申请日{'前' if days < 0 else '后'}{abs(days)}日"


def _offset_en(days: int) -> str:
    if days == 0:
        return "the filing day"
    return f"{abs(days)} days {'before' if days < 0 else 'after'} the filing day"


class DateWindowRule(BaseRule):
    """A form date within days of the filing day: negative days before it, positive after."""

    kind: ClassVar[str] = "date_window"
    rule: Literal["date_window"]
    field: str = Field(min_length=1, description="a form field of type date")
    not_before_days: int | None = Field(default=None, ge=-36600, le=36600)
    not_after_days: int | None = Field(default=None, ge=-36600, le=36600)

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        low, high = self.not_before_days, self.not_after_days
        if low is None and high is None:
            raise ValueError("give not_before_days, not_after_days or both")
        if low is not None and high is not None and low > high:
            raise ValueError("not_before_days is greater than not_after_days")
        return self

    def window(self, today: date) -> tuple[date | None, date | None]:
        """The first and last day the field may hold, for a filing on a day."""
        low, high = self.not_before_days, self.not_after_days
        return (
            None if low is None else today + timedelta(days=low),
            None if high is None else today + timedelta(days=high),
        )

    def check(self, record: ApplicationRecord, today: date) -> list[Problem]:
        """A problem when the field holds a day outside the window (a blank one is the field's)."""
        value = record.form.get(self.field)
        if not isinstance(value, str):
            return []
        day = date.fromisoformat(value)
        first, last = self.window(today)
        if (first is None or day >= first) and (last is None or day <= last):
            return []
        low, high = self.not_before_days, self.not_after_days
        if first is not None and last is not None and low is not None and high is not None:
            zh = f"须在{first}至{last}之间（{_offset_zh(low)}至{_offset_zh(high)}）"
            en = f"must be between {first} and {last} ({_offset_en(low)} to {_offset_en(high)})"
        elif last is not None and high is not None:
            zh = f"不得晚于{last}（{_offset_zh(high)}）"
            en = f"must be no later than {last} ({_offset_en(high)})"
        else:
            zh = f"不得早于{first}（{_offset_zh(low or 0)}）"
            en = f"must be no earlier than {first} ({_offset_en(low or 0)})"
        return [self._problem(f"form.{self.field}", zh, en)]

    def config_problems(
        self, fields: Mapping[str, FieldRule], applicants: Collection[str]
    ) -> list[tuple[str, str]]:
        """The field must be a date field of the matter's form."""
        rule = fields.get(self.field)
        if rule is None:
            known = ", ".join(sorted(fields)) or "none"
            return [("field", f"no form field {self.field!r} (fields: {known})")]
        if rule.type != "date":
            return [("field", f"form field {self.field!r} is of type {rule.type}, not date")]
        return []


class PhoneRule(BaseRule):
    """A contact phone the department must have, optionally of the kinds it can call."""

    kind: ClassVar[str] = "phone"
    rule: Literal["phone"]
    path: PhonePath = "applicant.phone"
    # The kinds the department takes (mobile, landline, toll_free, foreign, other); all if unset.
    kinds: tuple[PhoneKind, ...] | None = Field(default=None, min_length=1)

    def check(self, record: ApplicationRecord, today: date) -> list[Problem]:
        """A problem when the phone is missing, or of a kind the department cannot call."""
        holder = _holder(record, self.path.removesuffix(".phone"))
        if holder is None:
            return []
        if holder.phone is None:
            return [self._problem(self.path, "请填写联系电话", "a phone number is required")]
        if self.kinds is not None and phone_kind(holder.phone) not in self.kinds:
            zh = "、".join(_PHONE_KINDS_ZH[k] for k in self.kinds)
            en = ", ".join(k.replace("_", " ") for k in self.kinds)
            return [
                self._problem(self.path, f"联系电话须为{zh}", f"the phone must be one of: {en}")
            ]
        return []

    def config_problems(
        self, fields: Mapping[str, FieldRule], applicants: Collection[str]
    ) -> list[tuple[str, str]]:
        """The phone's holder must be someone this matter's applicants have."""
        return _holder_problems(self.path.removesuffix(".phone"), applicants)


def _record_paths() -> frozenset[str]:
    """Every path of the record's applicant that a `require` rule may name."""
    paths = {f"applicant.{name}" for name in (*Person.model_fields, *Organization.model_fields)}
    paths |= {f"applicant.legal_representative.{name}" for name in LegalRepresentative.model_fields}
    return frozenset(paths)


class RequireRule(BaseRule):
    """A part of the record that is optional in general but needed by this matter."""

    kind: ClassVar[str] = "require"
    rule: Literal["require"]
    path: str = Field(pattern=r"^(applicant|form)(\.[a-z][a-z0-9_]*)+$")

    def check(self, record: ApplicationRecord, today: date) -> list[Problem]:
        """A problem when the path holds nothing."""
        head, _, rest = self.path.partition(".")
        if head == "applicant" and rest.split(".")[0] not in type(record.applicant).model_fields:
            # A path of the other kind of applicant (a company's legal representative, a
            # person's phone): this filing has nothing there to ask for.
            return []
        if not _blank(_dig(record, self.path)):
            return []
        return [self._problem(self.path, "受理本事项须提供此项", "required to accept this matter")]

    def config_problems(
        self, fields: Mapping[str, FieldRule], applicants: Collection[str]
    ) -> list[tuple[str, str]]:
        """The path must name a form field of the matter or a part of the record."""
        head, _, rest = self.path.partition(".")
        if head == "form" and rest not in fields:
            known = ", ".join(sorted(fields)) or "none"
            return [("path", f"no form field {rest!r} (fields: {known})")]
        if head == "applicant" and self.path not in _record_paths():
            return [("path", f"the record has no {self.path}")]
        return []


AcceptanceRule = Annotated[
    IdTypesRule | AgeRule | RegionRule | DateWindowRule | PhoneRule | RequireRule,
    Field(discriminator="rule"),
]
RULE_KINDS: frozenset[str] = frozenset(CODES)


def check_acceptance(
    rules: Sequence[BaseRule], record: ApplicationRecord, today: date
) -> list[Problem]:
    """Every problem of every rule with a normalized record filed on a day, never only the first."""
    return [problem for rule in rules for problem in rule.check(record, today)]
