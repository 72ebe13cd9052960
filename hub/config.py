"""The deployment's shape: config/hub.toml, config/departments/*.toml and config/matters/*.toml."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from hub.catalog import Catalog, load_catalog
from hub.configfiles import ConfigError, ConfigProblem, problems_from_pydantic, read_toml
from hub.departments import Department, read_departments


class ApiSettings(BaseModel):
    """Where `hub serve` listens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8700, ge=0, le=65535)


class HubSettings(BaseModel):
    """Settings of the hub itself, from config/hub.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "One Window Hub"
    api: ApiSettings = ApiSettings()


@dataclass(frozen=True)
class HubConfig:
    """Everything the configuration directory holds, loaded and validated together."""

    directory: Path
    hub: HubSettings
    departments: Mapping[str, Department]
    catalog: Catalog

    def department_file(self, code: str) -> Path:
        """The file a department was loaded from, for messages that name it."""
        return self.directory / "departments" / f"{code}.toml"


def _load_hub_settings(path: Path) -> HubSettings:
    if not path.exists():
        return HubSettings()
    data = read_toml(path)
    try:
        return HubSettings.model_validate(data.get("hub", {}) | {"api": data.get("api", {})})
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
    if problems:
        raise ConfigError(problems)
    return HubConfig(directory, hub, departments, catalog)
