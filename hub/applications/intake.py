"""Intake: one submitted application checked against the record, the catalog and the plugins."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from hub.model.acceptance import check_acceptance
from hub.model.catalog import Catalog, Matter
from hub.model.departments import Department
from hub.model.fields import validate_form
from hub.model.problems import Problem, ValidationProblem
from hub.model.record import ApplicationRecord, parse_record
from hub.model.repertoire import refusals, unrepresentable
from hub.plugin.manager import Plugins


def normalize_application(
    data: Mapping[str, Any],
    catalog: Catalog,
    plugins: Plugins | None = None,
    *,
    today: date | None = None,
    departments: Mapping[str, Department] | None = None,
) -> ApplicationRecord:
    """The normalized record, or a ValidationProblem with every problem found, never only the first.

    The record's own rules, the matter's form field rules and every plugin are all asked; the
    plugins' normalizers only once the hub's own checks pass, so that they see a normalized
    record. Given the filing day (`today`), the matter's acceptance rules and the plugins'
    `hub_accept` are asked too, together with the field rules (一次性告知: all at once); without
    it (an adapter's test kit building a record that only a department refuses) they are not.
    Given the departments, a text one of the matter's departments cannot store is refused where
    its `[text]` setting says so.
    """
    problems: list[Problem] = []
    record: ApplicationRecord | None = None
    try:
        record = parse_record(data)
    except ValidationProblem as exc:
        problems.extend(exc.problems)
    code = data.get("matter")
    matter = catalog.matters.get(code) if isinstance(code, str) else None
    if matter is None:
        if not any(p.field == "matter" for p in problems):
            known = ", ".join(sorted(catalog.matters))
            problems.append(
                Problem("matter", "unknown_matter", f"no matter {code!r}; offered: {known}")
            )
        raise ValidationProblem(problems)
    form: dict[str, Any] = {}
    raw_form = data.get("form", {})
    if isinstance(raw_form, Mapping):
        try:
            form = validate_form(matter.fields, raw_form)
        except ValidationProblem as exc:
            problems.extend(exc.problems)
            # The fields that passed, normalized again on their own (they pass again), so that
            # acceptance can still judge them: every reason is told at once.
            failed = {p.field.removeprefix("form.") for p in exc.problems}
            passed = {n: r for n, r in matter.fields.items() if n not in failed}
            form = validate_form(passed, {n: v for n, v in raw_form.items() if n in passed})
    if record is not None and record.applicant.kind not in matter.applicant:
        allowed = " or ".join(matter.applicant)
        problems.append(
            Problem("applicant.kind", "not_allowed", f"{matter.code} is filed by a {allowed}")
        )
    if record is not None and today is not None and record.applicant.kind in matter.applicant:
        # Asked of a record that parsed even when some form fields did not: the applicant is
        # told every reason at once. A field that failed its own rules is not in `form`.
        filed = record.model_copy(update={"form": form})
        problems.extend(check_acceptance(matter.acceptance, filed, today))
        if departments is not None:
            problems.extend(_unstorable(filed, matter, departments))
        if plugins is not None:
            problems.extend(plugins.accept(filed, matter, today))
    if problems or record is None:
        raise ValidationProblem(problems)
    record = record.model_copy(update={"form": form})
    if plugins is not None:
        problems.extend(plugins.normalize_record(record, matter))
    if problems:
        raise ValidationProblem(problems)
    return record


def _unstorable(
    record: ApplicationRecord, matter: Matter, departments: Mapping[str, Department]
) -> list[Problem]:
    """A problem for each text a department that refuses them cannot store, once per field."""
    found: dict[str, Problem] = {}
    data = record.model_dump(mode="json")
    for code in dict.fromkeys(step.department for step in matter.ordered_steps()):
        department = departments.get(code)
        if department is None or department.text.charset is None:
            continue
        if department.text.unrepresentable != "refuse":
            continue
        missing = unrepresentable(data, department.text.charset)
        for problem in refusals(missing, department.name, department.text.charset):
            found.setdefault(problem.field, problem)
    return list(found.values())


def flagged(record: ApplicationRecord, department: Department) -> dict[str, dict[str, str]] | None:
    """A delivery's flags for the operators: the characters its department takes but cannot
    store, by field (its `[text]` setting says flag), or None."""
    if department.text.charset is None or department.text.unrepresentable != "flag":
        return None
    missing = unrepresentable(record.model_dump(mode="json"), department.text.charset)
    return {"unrepresentable": missing} if missing else None
