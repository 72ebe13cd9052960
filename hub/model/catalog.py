"""The matter catalog: the services the center offers, their fields, steps and time limits."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.model.acceptance import RULE_KINDS, AcceptanceRule
from hub.model.configfiles import ConfigError, ConfigProblem, problems_from_pydantic, read_toml
from hub.model.departments import CODE_PATTERN
from hub.model.fields import FieldRule

MATTER_CODE = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"
# A step reads an earlier step's output as "step_name.output_name".
OUTPUT_REF = re.compile(r"^(?P<step>[a-z][a-z0-9_]*)\.(?P<output>[a-z][a-z0-9_]*)$")


class Step(BaseModel):
    """One department's part of a matter: what it is asked to do and what it needs first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=CODE_PATTERN)
    department: str = Field(pattern=CODE_PATTERN)
    operation: str = Field(pattern=CODE_PATTERN)
    after: tuple[str, ...] = ()
    """Steps whose approval this one waits for."""
    after_received: tuple[str, ...] = ()
    """Steps whose receipt is enough: their departments work in parallel on a received case
    (and this step is withdrawn if one of them is refused)."""
    uses: dict[str, str] = {}
    label: str = ""
    # A step's own limit in working days from the day it reached its department, where the
    # matter's rules give one (市场主体登记管理条例 art. 19: registration within 3 working days).
    limit_days: int | None = Field(default=None, ge=1, le=365)

    @property
    def predecessors(self) -> tuple[str, ...]:
        """Every step this one runs after, on approval or on receipt."""
        return self.after + self.after_received

    @field_validator("uses")
    @classmethod
    def _refs(cls, value: dict[str, str]) -> dict[str, str]:
        for name, ref in value.items():
            if not OUTPUT_REF.match(ref):
                raise ValueError(f"uses.{name} must read 'step.output', not {ref!r}")
        return value


class Matter(BaseModel):
    """A kind of service the center offers, e.g. household.transfer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=MATTER_CODE)
    name: str = Field(min_length=1)
    description: str = ""
    applicant: tuple[Literal["person", "organization"], ...] = Field(min_length=1)
    statutory_days: int = Field(ge=1, le=365, description="statutory time limit, working days")
    promised_days: int = Field(ge=1, le=365, description="promised time limit, working days")
    amber_days: int = Field(
        default=2, ge=0, le=60, description="working days before the due date that warn (amber)"
    )
    # What the law lets a head of office add, with approval (Administrative Licensing Law
    # art. 42: +10 working days); 0 where it allows none.
    extension_days_max: int = Field(
        default=0, ge=0, le=365, description="working days an extension may add, in all"
    )
    fields: dict[str, FieldRule] = {}
    steps: dict[str, Step] = Field(min_length=1)
    # What the departments always refuse, checked at intake so the window can say so at once.
    acceptance: tuple[AcceptanceRule, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _name_steps(cls, data: Any) -> Any:
        # Steps are TOML tables keyed by name; the name is carried into the Step itself.
        if isinstance(data, dict) and isinstance(data.get("steps"), dict):
            steps = {}
            for name, step in data["steps"].items():
                steps[name] = {"name": name, **step} if isinstance(step, dict) else step
            data = {**data, "steps": steps}
        return data

    @model_validator(mode="after")
    def _limits(self) -> Matter:
        if self.promised_days > self.statutory_days:
            raise ValueError("promised_days must not exceed statutory_days")
        return self

    def ordered_steps(self) -> list[Step]:
        """Steps in an order where every step comes after those it depends on."""
        graph = {s.name: s.predecessors for s in self.steps.values()}
        order = TopologicalSorter(graph).static_order()
        return [self.steps[name] for name in order]

    def upstream(self, step: str) -> set[str]:
        """Every step that must finish before the given one, directly or through others."""
        seen: set[str] = set()
        stack = list(self.steps[step].predecessors)
        while stack:
            name = stack.pop()
            if name not in seen:
                seen.add(name)
                stack.extend(self.steps[name].predecessors)
        return seen


@dataclass(frozen=True)
class Catalog:
    """Every matter the deployment offers, by code."""

    matters: Mapping[str, Matter]

    def __getitem__(self, code: str) -> Matter:
        return self.matters[code]

    def __contains__(self, code: object) -> bool:
        return code in self.matters

    def __iter__(self) -> Iterator[Matter]:
        return iter(self.matters.values())


def _check_graph(path: Path, matter: Matter, departments: Collection[str]) -> list[ConfigProblem]:
    """Problems with a matter's steps that need the whole graph or the department list."""
    problems = []
    for step in matter.steps.values():
        key = f"steps.{step.name}"
        if step.department not in departments:
            known = ", ".join(sorted(departments)) or "none"
            problems.append(
                ConfigProblem(
                    path,
                    f"{key}.department",
                    f"unknown department {step.department!r} (known: {known})",
                )
            )
        for list_key in ("after", "after_received"):
            for i, dep in enumerate(getattr(step, list_key)):
                if dep not in matter.steps:
                    problems.append(
                        ConfigProblem(path, f"{key}.{list_key}[{i}]", f"no step named {dep!r}")
                    )
        for i, dep in enumerate(step.after_received):
            if dep in step.after:
                problems.append(
                    ConfigProblem(
                        path,
                        f"{key}.after_received[{i}]",
                        f"{dep!r} is in both after (wait for its approval) and after_received "
                        "(its receipt is enough): name it in one of them",
                    )
                )
    if problems:
        return problems
    try:
        matter.ordered_steps()
    except CycleError as exc:
        nodes = exc.args[1]  # each node waits for the one before it
        cycle = " → ".join(nodes)
        waiting = matter.steps[nodes[1]]
        list_key = "after_received" if nodes[0] in waiting.after_received else "after"
        return [ConfigProblem(path, f"steps.{nodes[1]}.{list_key}", f"steps form a cycle: {cycle}")]
    for step in matter.steps.values():
        upstream = matter.upstream(step.name)
        for name, ref in step.uses.items():
            source = ref.split(".", 1)[0]
            if source not in upstream:
                problems.append(
                    ConfigProblem(
                        path,
                        f"steps.{step.name}.uses.{name}",
                        f"{ref!r} reads step {source!r}, which is not one this step runs after",
                    )
                )
    return problems


def _check_acceptance(path: Path, matter: Matter) -> list[ConfigProblem]:
    """Problems with what a matter's acceptance rules name: form fields, applicants."""
    return [
        ConfigProblem(path, f"acceptance[{i}].{key}", message)
        for i, rule in enumerate(matter.acceptance)
        for key, message in rule.config_problems(matter.fields, matter.applicant)
    ]


def load_catalog(directory: Path, departments: Collection[str]) -> Catalog:
    """Load every matter file against the known department codes; raise listing all problems."""
    matters: dict[str, Matter] = {}
    problems: list[ConfigProblem] = []
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise ConfigError([ConfigProblem(directory, "", "no matter files (*.toml) found")])
    for path in files:
        try:
            data = read_toml(path)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        data.setdefault("code", path.stem)
        try:
            matter = Matter.model_validate(data)
        except pydantic.ValidationError as exc:
            # A rule's kind is the tag of a union, which pydantic puts into the error's location
            # (acceptance[0].age.min_age): the file has no such key, so it is left out.
            problems.extend(problems_from_pydantic(path, exc, tags=RULE_KINDS))
            continue
        if matter.code != path.stem:
            problems.append(
                ConfigProblem(path, "code", f"must match the file name ({path.stem!r})")
            )
            continue
        graph_problems = _check_graph(path, matter, departments) + _check_acceptance(path, matter)
        problems.extend(graph_problems)
        if not graph_problems:
            matters[matter.code] = matter
    if problems:
        raise ConfigError(problems)
    return Catalog(matters)
