"""The `hub` command: serve, simulate, check the configuration, list adapters."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import aiohttp
import click
import pydantic
from sqlalchemy.ext.asyncio import AsyncEngine

from hub import __version__
from hub.cli import operations
from hub.cli.support import (
    as_option,
    config_options,
    echo_table,
    load,
    operator,
    plugins,
    report_problems,
    store_option,
    with_engine,
)
from hub.model.configfiles import ConfigError
from hub.model.configuration import HubConfig
from hub.model.states import DeliveryState
from hub.model.timelimits import calendar_file, check_coverage
from hub.ops.logging import configure_logging
from hub.plugin.manager import PluginError
from hub.plugin.registry import build_adapters, check_adapters, probe_departments
from hub.store.types import utcnow


@click.group()
@click.version_option(__version__, prog_name="hub")
@click.option("--log-level", default="INFO", show_default=True, envvar="HUB_LOG_LEVEL")
def main(log_level: str) -> None:
    """One Window Hub: one application at one window, carried to every department."""
    configure_logging(log_level)


@main.command("check-config")
@config_options
@click.option("--online", is_flag=True, help="Also check that every department's endpoint answers.")
def check_config(config_dir: Path, env_files: tuple[Path, ...], online: bool) -> None:
    """Validate the configuration, its adapters and calendar years; exit non-zero on a problem.

    The calendar must cover this year; from 1 November a missing next year is a warning.
    """
    config = load(config_dir, env_files)
    facade = plugins()
    try:
        adapters = facade.adapters()
    except PluginError as exc:
        click.echo(f"plugin error: {exc}", err=True)
        raise SystemExit(2) from None
    coverage = check_coverage(
        config.calendar, calendar_file(config.directory), config.clock.today(utcnow())
    )
    problems = [*coverage.problems, *check_adapters(config, adapters)]
    if not problems and online:
        problems = asyncio.run(_probe(config, adapters))
    for warning in coverage.warnings:
        click.echo(f"warning: {warning}", err=True)
    if problems:
        report_problems(ConfigError(problems))
        raise SystemExit(2)
    click.echo(
        f"configuration OK: {len(config.departments)} departments, "
        f"{len(config.catalog.matters)} matters ({config_dir})"
        + ("; every endpoint answers" if online else "")
    )


async def _probe(config: HubConfig, adapters: Any) -> list[Any]:
    async with aiohttp.ClientSession() as http:
        return await probe_departments(build_adapters(config, adapters, http), config)


@main.command("adapters")
@config_options
def list_adapters(config_dir: Path, env_files: tuple[Path, ...]) -> None:
    """List the adapters the installed plugins offer, and which departments use them."""
    users: dict[str, list[str]] = {}
    if config_dir.is_dir():
        for code, department in load(config_dir, env_files).departments.items():
            users.setdefault(department.adapter, []).append(code)
    rows = [("ADAPTER", "PROTOCOL", "PACKAGE", "VERSION", "DEPARTMENTS")]
    for name, info in sorted(plugins().adapters().items()):
        rows.append(
            (
                name,
                info.cls.protocol,
                info.package or "-",
                info.version or "-",
                ", ".join(users.get(name, [])) or "-",
            )
        )
    echo_table(rows)


@main.command("new-adapter")
@click.argument("name")
@click.option("--protocol", type=click.Choice(["soap", "rest"]), required=True)
@click.option("--wsdl", metavar="FILE_OR_URL", help="The department's WSDL (SOAP): a file or URL.")
@click.option("--operation", help="The step operation it carries out (default: NAME).")
@click.option("--title", help="The department's name, for docs and messages.")
@click.option("--endpoint", help="The system's base URL (default: where the WSDL is published).")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where to create the package.",
)
def new_adapter(
    name: str,
    protocol: str,
    wsdl: str | None,
    operation: str | None,
    title: str | None,
    endpoint: str | None,
    directory: Path,
) -> None:
    """Create an installable adapter package for one department's system, with kit tests."""
    from hub.scaffold import ScaffoldError
    from hub.scaffold import new_adapter as scaffold

    try:
        made = scaffold(
            name,
            "soap" if protocol == "soap" else "rest",
            directory,
            wsdl=wsdl,
            operation=operation,
            title=title,
            endpoint=endpoint,
        )
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from exc
    for path in made.files:
        click.echo(f"created {path}")
    for op in made.operations:
        fields = ", ".join(field.path for field in op.inputs) or "no fields"
        click.echo(f"WSDL operation {op.name}: {fields}")
    if made.wsdl is not None and not wsdl:
        click.echo(f"\nNo --wsdl: put the department's WSDL at {made.wsdl}")
    click.echo(
        f"\nNext: fill in the TODOs in {made.adapter} and tests/test_adapter.py, then\n"
        f"  cd {made.root} && pip install -e '.[test]' && pytest"
    )


@main.command("simulate")
@config_options
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="DEPT:KEY=VALUE",
    help="A fault to inject from the start, e.g. tax:error_rate=0.3 (repeatable).",
)
@click.option(
    "--decide-after", type=float, default=None, help="Seconds until each case is decided."
)
def simulate(
    config_dir: Path,
    env_files: tuple[Path, ...],
    faults: tuple[str, ...],
    decide_after: float | None,
) -> None:
    """Serve the simulated legacy systems on the ports of the configured endpoints."""
    from simulators.cli import run_simulators  # the simulators are a tool, not part of the hub

    config = load(config_dir, env_files)
    try:
        asyncio.run(run_simulators(config, faults, decide_after))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--fault") from None


@main.command("serve")
@config_options
@click.option("--host", default=None, help="Address to listen on (default: hub.toml's [api] host).")
@click.option(
    "--port", type=int, default=None, help="Port to listen on (default: hub.toml's [api] port)."
)
@click.option(
    "--store",
    "store_url",
    default=None,
    envvar="HUB_STORE_URL",
    help="Store URL (default: var/hub.db).",
)
@click.option("--no-dispatch", is_flag=True, help="Serve the API only; other processes deliver.")
def serve(
    config_dir: Path,
    env_files: tuple[Path, ...],
    host: str | None,
    port: int | None,
    store_url: str | None,
    no_dispatch: bool,
) -> None:
    """Run the hub: the API, and the dispatcher carrying deliveries to the departments."""
    from hub.api.app import create_app, run
    from hub.runtime import RuntimeOptions, freeze_startup_heap

    config = load(config_dir, env_files)
    options = RuntimeOptions(store_url=store_url, dispatch=not no_dispatch)
    app = create_app(config, options)
    # Last of the startup handlers: after the hub has started, in a process of its own.
    app.on_startup.append(freeze_startup_heap)
    run(
        app,
        host or config.settings.api.host,
        port if port is not None else config.settings.api.port,
        say=lambda message: click.echo(message, err=True),
    )


@main.command("demo")
@config_options
@click.option("--exit-when-done", is_flag=True, help="Exit 0 once every delivery is final (CI).")
@click.option(
    "--timeout", type=float, default=120.0, show_default=True, help="Give up after this long."
)
@click.option(
    "--decide-after",
    type=float,
    default=3.0,
    show_default=True,
    help="Seconds the simulated departments take to decide.",
)
@click.option(
    "--store",
    "store_url",
    default=None,
    envvar="HUB_STORE_URL",
    help="Store URL (default: var/hub.db).",
)
def demo(
    config_dir: Path,
    env_files: tuple[Path, ...],
    exit_when_done: bool,
    timeout: float,
    decide_after: float,
    store_url: str | None,
) -> None:
    """Start the simulated departments and the hub, file one application of each matter, watch."""
    from rich.console import Console

    from hub.cli.demo import run_demo

    config = load(config_dir, env_files or (config_dir / "demo" / "demo.env",))
    # The terminal shows the progress table; the structured log goes to a file beside the store.
    log_path = Path("var") / "log" / "hub-demo.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = log_path.open("a", encoding="utf-8")
    configure_logging(logging.getLevelName(logging.getLogger().level), json=True, stream=log_file)
    # Off a terminal (CI logs) the table is printed wide rather than cut.
    console = Console() if Console().is_terminal else Console(width=260)
    console.print(f"structured log: {log_path}")
    code = asyncio.run(
        run_demo(
            config,
            store_url=store_url,
            exit_when_done=exit_when_done,
            give_up_after=timeout,
            decide_after=decide_after,
            console=console,
        )
    )
    log_file.close()
    raise SystemExit(code)


@main.command("deliveries")
@store_option
@click.option(
    "--state", type=click.Choice([s.value for s in DeliveryState]), help="Only this state."
)
@click.option("--department", help="Only this department.")
@click.option("--application", "application_id", help="Only this application.")
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, for machines.")
def list_deliveries(
    store_url: str | None,
    state: str | None,
    department: str | None,
    application_id: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List deliveries: `hub deliveries --state dead` shows the dead letters."""
    from hub.store import deliveries as delivery_store

    async def work(engine: AsyncEngine) -> list[Any]:
        async with engine.connect() as conn:
            return await delivery_store.search(
                conn,
                states=[state] if state else None,
                department=department,
                application_id=application_id,
                limit=limit,
            )

    rows = asyncio.run(with_engine(store_url, work))
    if as_json:
        for row in rows:
            click.echo(json.dumps({k: row[k] for k in LISTED}, default=str, ensure_ascii=False))
        return
    table = [("DELIVERY", "APPLICATION", "STEP", "DEPARTMENT", "STATE", "TRIES", "LAST ERROR")]
    for row in rows:
        error = (
            f"{row['last_error_code']}: {row['last_error_message'] or ''}"[:60]
            if row["last_error_code"]
            else ""
        )
        table.append(
            (
                row["id"],
                row["application_id"],
                row["step"],
                row["department"],
                row["state"],
                str(row["attempts"]),
                error,
            )
        )
    echo_table(table)
    click.echo(f"{len(rows)} deliveries", err=True)


LISTED = (
    "id",
    "application_id",
    "step",
    "department",
    "state",
    "delivery_key",
    "attempts",
    "next_attempt_at",
    "last_error_code",
    "last_error_message",
    "record_version",
    "correction_requests",
)


@main.command("replay")
@config_options
@store_option
@click.argument("delivery_ids", nargs=-1)
@click.option("--department", help="Replay every dead letter of this department.")
@click.option("--all-dead", is_flag=True, help="Replay every dead letter.")
@as_option
def replay_command(
    config_dir: Path,
    env_files: tuple[Path, ...],
    store_url: str | None,
    delivery_ids: tuple[str, ...],
    department: str | None,
    all_dead: bool,
    person: str,
) -> None:
    """Send dead letters again, under their own delivery keys: `hub replay ID…`,
    `hub replay --department tax` or `hub replay --all-dead`. A running hub picks them up."""
    from rich.progress import Progress

    from hub.delivery.deadletters import dead_letter_ids, replay

    if bool(delivery_ids) + bool(department) + all_dead != 1:
        raise click.UsageError("give delivery ids, or --department D, or --all-dead (one of them)")
    clock = load(config_dir, env_files).clock

    async def work(engine: AsyncEngine) -> tuple[int, list[str]]:
        ids = list(delivery_ids) or await dead_letter_ids(engine, department)
        done, refused = 0, []
        with Progress(transient=True) as progress:
            bar = progress.add_task("replaying", total=len(ids))
            for delivery_id in ids:
                [result] = await replay(engine, [delivery_id], by=operator(person), clock=clock)
                if result.replayed:
                    done += 1
                else:
                    refused.append(f"{delivery_id}: {result.reason}")
                progress.advance(bar)
        return done, refused

    done, refused = asyncio.run(with_engine(store_url, work))
    for line in refused:
        click.echo(f"not replayed: {line}", err=True)
    click.echo(f"replayed {done} deliveries")
    if refused:
        raise SystemExit(1)


@main.group("token")
def token() -> None:
    """API client tokens."""


@token.command("new")
@click.argument("name")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    help="frontend, operator or department:<code> (repeatable).",
)
def new_token_command(name: str, roles: tuple[str, ...]) -> None:
    """Make a bearer token for a client: prints the token once, and its [[clients]] entry."""
    from hub.model.configuration import ApiClient
    from hub.ops.auth import new_token, token_hash

    token_value = new_token()
    try:
        ApiClient(name=name, roles=roles, token_sha256=token_hash(token_value))
    except pydantic.ValidationError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(f"token (give it to the client; it is not stored): {token_value}", err=True)
    click.echo("[[clients]]")
    click.echo(f'name = "{name}"')
    click.echo("roles = [" + ", ".join(f'"{r}"' for r in roles) + "]")
    click.echo(f'token_sha256 = "{token_hash(token_value)}"')


for command in (operations.logs, operations.departments, operations.audit):
    main.add_command(command)
