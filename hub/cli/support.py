"""What the `hub` commands share: the configuration and store options, and printing tables."""

from __future__ import annotations

import getpass
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
import dotenv
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.model.configfiles import ConfigError
from hub.model.configuration import HubConfig, load_config
from hub.ops.audit import Actor
from hub.plugin.manager import PluginError, Plugins, make_plugin_manager

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def config_options(func: F) -> F:
    """--config and --env-file, shared by every command that reads the configuration."""
    func = click.option(
        "--env-file",
        "env_files",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="KEY=VALUE lines added to the environment; variables already set win.",
    )(func)
    return click.option(
        "--config",
        "config_dir",
        default=Path("config"),
        envvar="HUB_CONFIG",
        show_default=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="The configuration directory (hub.toml, departments/, matters/).",
    )(func)


def load(config_dir: Path, env_files: tuple[Path, ...]) -> HubConfig:
    """Load the environment files, then the configuration; exit 2 listing every problem."""
    for env_file in env_files:
        dotenv.load_dotenv(env_file, override=False)
    try:
        return load_config(config_dir)
    except ConfigError as exc:
        report_problems(exc)
        raise SystemExit(2) from None


def report_problems(exc: ConfigError) -> None:
    """Print configuration problems one per line, file and key first."""
    click.echo(f"configuration has {len(exc.problems)} problem(s):", err=True)
    for problem in exc.problems:
        click.echo(f"  {problem}", err=True)


def plugins() -> Plugins:
    """The plugin facade over a fresh manager; a broken plugin exits 2 with its name."""
    try:
        return Plugins(make_plugin_manager())
    except (PluginError, Exception) as exc:  # pluggy raises its own validation errors
        click.echo(f"plugin error: {exc}", err=True)
        raise SystemExit(2) from None


def store_option(func: F) -> F:
    """--store, for commands that work on the store directly."""
    return click.option(
        "--store",
        "store_url",
        default=None,
        envvar="HUB_STORE_URL",
        help="Store URL (default: var/hub.db).",
    )(func)


async def with_engine(store_url: str | None, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    from hub.store.engine import create_engine, migrate

    engine = create_engine(store_url)
    try:
        await migrate(engine)
        return await work(engine)
    finally:
        await engine.dispose()


def echo_table(rows: Sequence[Sequence[str]]) -> None:
    """Columns aligned, for people."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


CLI = "cli"
"""The client an operator's command acts as, in the audit trail."""


def login_name() -> str:
    """Who runs the command, by default: the login name (or `operator` where there is none)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no USER/LOGNAME and no password entry (a bare container)
        return "operator"


def as_option(func: F) -> F:
    """--as NAME (alias --by): the person the audit trail records for the command."""
    return click.option(
        "--as",
        "--by",
        "person",
        default=login_name,
        show_default="your login name",
        help="Who runs this (recorded in the audit trail).",
    )(func)


def operator(person: str) -> Actor:
    """The actor an operator's command records: the `cli` client and the person."""
    return Actor(CLI, person)
