"""Child processes of a run (the simulators, `hub serve`) and what they cost in CPU and memory."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil

from bench.deployment import Deployment

READY_TIMEOUT = 60.0
PROBE_INTERVAL = 0.05


class ChildFailed(RuntimeError):
    """A child process exited or never got ready; the tail of its log says why."""


@dataclass
class Child:
    """One child process, its output in a log file."""

    name: str
    process: asyncio.subprocess.Process
    log: Path

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    def tail(self) -> str:
        """The end of its log."""
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    async def wait_ready(self, url: str) -> None:
        """Wait until `url` answers 200.

        Readiness is in another process: there is no event to await, so it is probed.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT
        async with aiohttp.ClientSession() as http:
            while loop.time() < deadline:
                if self.process.returncode is not None:
                    raise ChildFailed(
                        f"{self.name} exited {self.process.returncode}:\n{self.tail()}"
                    )
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(url) as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(PROBE_INTERVAL)
        raise ChildFailed(f"{self.name} did not get ready:\n{self.tail()}")

    async def stop(self) -> None:
        """SIGTERM, and SIGKILL if it has not ended within 30 s."""
        if self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


async def spawn(name: str, argv: Sequence[str], deployment: Deployment, log: Path) -> Child:
    """Start a process with the deployment's environment, its output going to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env=deployment.environ(),
        )
    return Child(name, process, log)


async def start_simulators(deployment: Deployment, logs: Path, faults: Sequence[str] = ()) -> Child:
    """`hub simulate` in its own process, deciding every case at once, with the given faults."""
    argv = [
        sys.executable,
        "-m",
        "hub.cli",
        "simulate",
        "--config",
        str(deployment.directory),
        "--decide-after",
        "0",
    ]
    for fault in faults:
        argv += ["--fault", fault]
    child = await spawn("simulators", argv, deployment, logs / "simulators.log")
    try:
        for url in deployment.urls.values():
            base = url.split("/", 3)
            await child.wait_ready(f"{base[0]}//{base[2]}/_sim/faults")
    except BaseException:
        await child.stop()
        raise
    return child


async def start_hub(
    deployment: Deployment,
    store_url: str,
    port: int,
    log: Path,
    *,
    log_level: str = "INFO",
    dispatch: bool = True,
) -> Child:
    """`hub serve` on the given store and port (API only, without dispatch), once /readyz says
    it is ready."""
    argv = [
        sys.executable,
        "-m",
        "hub.cli",
        "--log-level",
        log_level,
        "serve",
        "--config",
        str(deployment.directory),
        "--store",
        store_url,
        "--port",
        str(port),
        *(() if dispatch else ("--no-dispatch",)),
    ]
    child = await spawn(f"hub:{port}", argv, deployment, log)
    try:
        await child.wait_ready(f"http://127.0.0.1:{port}/readyz")
    except BaseException:
        await child.stop()
        raise
    return child


@dataclass
class Usage:
    """CPU seconds and resident memory of some processes, sampled while they work."""

    pids: Sequence[int]
    interval: float = 0.2
    peak_rss: int = 0
    _cpu_start: float = 0.0
    _task: asyncio.Task[None] | None = None
    _procs: list[psutil.Process] = field(default_factory=list)

    def rss(self) -> int:
        """Their resident set size now, in bytes, summed."""
        return sum(p.memory_info().rss for p in self._procs)

    def cpu(self) -> float:
        """Their CPU seconds (user + system) so far, summed."""
        total = 0.0
        for p in self._procs:
            times = p.cpu_times()
            total += times.user + times.system
        return total

    def start(self) -> None:
        """Begin counting CPU from now and sampling memory."""
        self._procs = [psutil.Process(pid) for pid in self.pids]
        self._cpu_start = self.cpu()
        self.peak_rss = self.rss()
        self._task = asyncio.create_task(self._sample())

    async def _sample(self) -> None:
        # Memory of another process changes with no event to await: it is sampled.
        while True:
            await asyncio.sleep(self.interval)
            with contextlib.suppress(psutil.Error):
                self.peak_rss = max(self.peak_rss, self.rss())

    async def stop(self) -> tuple[float, int]:
        """Stop sampling; CPU seconds since start() and the peak RSS seen."""
        cpu = self.cpu() - self._cpu_start
        self.peak_rss = max(self.peak_rss, self.rss())
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return cpu, self.peak_rss
