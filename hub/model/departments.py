"""Department settings from config/departments/*.toml: endpoint, adapter, limits, retry policy."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.model.configfiles import ConfigError, ConfigProblem, problems_from_pydantic, read_toml
from hub.model.repertoire import known_charset

CODE_PATTERN = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EnvCredential(_Strict):
    """A credential is named by the environment variable that holds it, never written in a file."""

    env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$")


class RetryPolicy(_Strict):
    """How hard the hub tries one delivery.

    A few quick tries inside one claim ride out blips; after those the next try is scheduled
    in the store, with a growing backoff, until max_attempts or max_age makes it a dead letter.
    """

    quick_attempts: int = Field(default=3, ge=1, le=20, description="tries inside one claim")
    quick_backoff: float = Field(default=0.2, gt=0, le=60, description="first wait, seconds")
    quick_backoff_max: float = Field(default=5.0, gt=0, le=600)
    jitter: float = Field(default=0.2, ge=0, le=60, description="random seconds added to waits")
    backoff: float = Field(default=10.0, gt=0, le=86400, description="first scheduled wait")
    backoff_max: float = Field(default=900.0, gt=0, le=86400, description="cap of scheduled waits")
    max_attempts: int = Field(default=30, ge=1, le=10000, description="then a dead letter")
    max_age: float = Field(default=86400.0, gt=0, description="seconds since the first try")

    @model_validator(mode="after")
    def _backoff_order(self) -> RetryPolicy:
        if self.quick_backoff_max < self.quick_backoff:
            raise ValueError("quick_backoff_max must not be smaller than quick_backoff")
        if self.backoff_max < self.backoff:
            raise ValueError("backoff_max must not be smaller than backoff")
        return self


class BreakerPolicy(_Strict):
    """When to stop calling a department that keeps failing, and for how long."""

    failures: int = Field(default=5, ge=1, le=1000, description="failures in a row that open it")
    cooldown: float = Field(default=30.0, gt=0, le=86400, description="seconds before one probe")


class StatusPolicy(_Strict):
    """How the hub learns a department's decisions: by asking, or by being told."""

    callbacks: bool = Field(
        default=False, description="the department pushes decisions to /api/v1/callbacks/<code>"
    )
    poll_interval: float = Field(default=300.0, gt=0, le=86400, description="first wait, seconds")
    poll_interval_max: float = Field(
        default=3600.0, gt=0, le=7 * 86400, description="cap while nothing changes"
    )

    @model_validator(mode="after")
    def _order(self) -> StatusPolicy:
        if self.poll_interval_max < self.poll_interval:
            raise ValueError("poll_interval_max must not be smaller than poll_interval")
        return self


class TextPolicy(_Strict):
    """What the department's system can store, and what to do with a character it cannot."""

    charset: str | None = Field(
        default=None, description="the charset it stores text in (GBK, GB2312…); None: any"
    )
    unrepresentable: Literal["refuse", "flag"] = Field(
        default="refuse",
        description="refuse such a filing at intake, or take it and flag the delivery",
    )

    @field_validator("charset")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        return None if value is None else known_charset(value)


class Department(_Strict):
    """One department's legacy system as the hub reaches it."""

    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1)
    adapter: str = Field(pattern=CODE_PATTERN)
    endpoint: str
    timeout: float = Field(default=10.0, gt=0, le=600, description="seconds per call")
    concurrency: int = Field(default=4, ge=1, le=1000)
    retry: RetryPolicy = RetryPolicy()
    breaker: BreakerPolicy = BreakerPolicy()
    status: StatusPolicy = StatusPolicy()
    text: TextPolicy = TextPolicy()
    credentials: dict[str, EnvCredential] = {}
    options: dict[str, Any] = {}

    @field_validator("endpoint")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
            raise ValueError("endpoint must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("credentials", mode="before")
    @classmethod
    def _no_inline_secrets(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            for name, item in value.items():
                if not isinstance(item, Mapping):
                    raise ValueError(
                        f"credentials.{name} must name an environment variable, "
                        f'as {name} = {{ env = "HUB_..." }}; secrets never go in the file'
                    )
        return value

    def secret(self, name: str) -> str:
        """The credential's value from the environment; KeyError if the department has none."""
        return os.environ[self.credentials[name].env]

    def with_endpoint(self, endpoint: str) -> Department:
        """A copy that talks to another endpoint (tests and simulators on free ports)."""
        return self.model_copy(update={"endpoint": endpoint.rstrip("/")})


def missing_credentials(department: Department, path: Path) -> list[ConfigProblem]:
    """A problem for each credential whose environment variable is not set."""
    return [
        ConfigProblem(
            path, f"credentials.{name}.env", f"environment variable {cred.env} is not set"
        )
        for name, cred in department.credentials.items()
        if not os.environ.get(cred.env)
    ]


def read_department(path: Path) -> Department:
    """One department file, validated; a ConfigError names the file and each bad key."""
    data = read_toml(path)
    data.setdefault("code", path.stem)
    try:
        return Department.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ConfigError(problems_from_pydantic(path, exc)) from exc


def read_departments(directory: Path) -> tuple[dict[str, Department], list[ConfigProblem]]:
    """Every department file that validates, and the problems of all files.

    A department whose only fault is an unset credential variable is still returned, so that
    the matters that name it are not reported as naming an unknown department as well.
    """
    departments: dict[str, Department] = {}
    problems: list[ConfigProblem] = []
    files = sorted(directory.glob("*.toml"))
    if not files:
        return {}, [ConfigProblem(directory, "", "no department files (*.toml) found")]
    for path in files:
        try:
            department = read_department(path)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        if department.code != path.stem:
            problems.append(
                ConfigProblem(path, "code", f"must match the file name ({path.stem!r})")
            )
            continue
        problems.extend(missing_credentials(department, path))
        departments[department.code] = department
    return departments, problems
