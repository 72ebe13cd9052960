"""The deployment's shape: config/hub.toml, config/departments/*.toml and config/matters/*.toml."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.model.catalog import Catalog, load_catalog
from hub.model.configfiles import ConfigError, ConfigProblem, problems_from_pydantic, read_toml
from hub.model.departments import Department, EnvCredential, read_departments
from hub.model.timelimits import Calendar, Clock, calendar_file, load_calendar


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CenterSettings(_Section):
    """[hub]: who this deployment is, and the time zone its working days are counted in."""

    name: str = "One Window Hub"
    timezone: str = "Asia/Shanghai"
    secret_key: EnvCredential = EnvCredential(env="HUB_SECRET_KEY")
    """Signs the query codes on applicants' receipts and the console's session cookies."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name, e.g. Asia/Shanghai)"
            ) from None
        return value


class ApiSettings(_Section):
    """[api]: where `hub serve` listens, and what it asks of its callers."""

    host: str = "127.0.0.1"
    port: int = Field(default=8700, ge=0, le=65535)
    require_actor: bool = Field(
        default=False,
        description="a frontend's acts (POST) must name the clerk in X-Hub-Actor",
    )


class DispatchSettings(_Section):
    """[dispatch]: how each hub process looks for work and lets go of it."""

    poll_interval: float = Field(default=0.5, gt=0, le=60, description="seconds between looks")
    lease_margin: float = Field(
        default=30.0, ge=0, le=3600, description="seconds a lease outlasts its longest claim"
    )
    shutdown_deadline: float = Field(
        default=30.0, ge=0, le=3600, description="seconds calls in flight get after SIGTERM"
    )


class StoreSettings(_Section):
    """[store]: the connections each hub process keeps open to a PostgreSQL store (a SQLite
    store has one per process whatever is set here)."""

    api_connections: int = Field(
        default=10, ge=1, le=200, description="connections for the API's requests"
    )
    work_connections: int = Field(
        default=10, ge=1, le=200, description="connections for delivery work"
    )


ROLE = r"^(frontend|operator|supervisor|department:[a-z][a-z0-9_]*)$"


class ApiClient(_Section):
    """[[clients]]: one caller of the API, its roles, and the SHA-256 of its bearer token."""

    name: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    roles: tuple[Annotated[str, Field(pattern=ROLE)], ...] = Field(min_length=1)
    token_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class HubSettings(_Section):
    """config/hub.toml: the hub itself, its API and its clients."""

    hub: CenterSettings = CenterSettings()
    api: ApiSettings = ApiSettings()
    dispatch: DispatchSettings = DispatchSettings()
    store: StoreSettings = StoreSettings()
    clients: tuple[ApiClient, ...] = ()


@dataclass(frozen=True)
class HubConfig:
    """Everything the configuration directory holds, loaded and validated together."""

    directory: Path
    settings: HubSettings
    departments: Mapping[str, Department]
    catalog: Catalog
    calendar: Calendar = field(default_factory=Calendar)

    @property
    def secret_key(self) -> str:
        """The hub's secret key, from the environment variable hub.toml names."""
        return os.environ[self.settings.hub.secret_key.env]

    @property
    def clock(self) -> Clock:
        """The calendar in the center's time zone."""
        return Clock(self.calendar, ZoneInfo(self.settings.hub.timezone))

    def department_file(self, code: str) -> Path:
        """The file a department was loaded from, for messages that name it."""
        return self.directory / "departments" / f"{code}.toml"


def _load_hub_settings(path: Path) -> HubSettings:
    if not path.exists():
        return HubSettings()
    data = read_toml(path)
    try:
        return HubSettings.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ConfigError(problems_from_pydantic(path, exc)) from exc


def load_config(directory: Path) -> HubConfig:
    """Load and cross-check the whole configuration; a ConfigError lists every problem found."""
    if not directory.is_dir():
        raise ConfigError([ConfigProblem(directory, "", "configuration directory not found")])
    problems: list[ConfigProblem] = []
    hub = HubSettings()
    try:
        hub = _load_hub_settings(directory / "hub.toml")
    except ConfigError as exc:
        problems.extend(exc.problems)
    departments, department_problems = read_departments(directory / "departments")
    problems.extend(department_problems)
    # Files that failed to validate still name departments; matters naming them are not at fault.
    codes = {p.stem for p in (directory / "departments").glob("*.toml")}
    try:
        catalog = load_catalog(directory / "matters", codes)
    except ConfigError as exc:
        problems.extend(exc.problems)
    secret = hub.hub.secret_key.env
    if len(os.environ.get(secret, "")) < 16:
        problems.append(
            ConfigProblem(
                directory / "hub.toml",
                "hub.secret_key.env",
                f"environment variable {secret} must hold a secret of 16 characters or more",
            )
        )
    calendar = Calendar()
    try:
        calendar = load_calendar(calendar_file(directory))
    except ConfigError as exc:
        problems.extend(exc.problems)
    for i, client in enumerate(hub.clients):
        for j, role in enumerate(client.roles):
            department = role.partition(":")[2]
            if department and department not in codes:
                problems.append(
                    ConfigProblem(
                        directory / "hub.toml",
                        f"clients[{i}].roles[{j}]",
                        f"no department {department!r}",
                    )
                )
    if problems:
        raise ConfigError(problems)
    return HubConfig(directory, hub, departments, catalog, calendar)
