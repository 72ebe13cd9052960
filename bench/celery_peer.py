"""The peer: the same fan-out as a team would build it with Celery and Redis.

One task per department call (a submit, a status query), chained in the DAG's order, the steps
after the first in a chord whose callback records the application as done. Transient errors
are retried by Celery (`autoretry_for`). Workers load this module with `celery -A`; their
settings (broker, endpoints, credentials) come from the environment the runner gives them.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

import redis
import requests
from celery import Celery, Task, chain, chord, group
from celery.canvas import Signature

from bench.wire import (
    Call,
    Endpoints,
    WireError,
    query_request,
    read_receipt,
    read_status,
    submit_request,
)
from bench.workload import WIRE_FIELDS, PlannedStep

BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/0")
PREFIX = os.environ.get("BENCH_PREFIX", "bench")
DONE_KEY = f"{PREFIX}:done"
REQUERY_AFTER = 0.01

app = Celery("bench_peer", broker=BROKER, backend=BROKER)
app.conf.update(
    broker_transport_options={"global_keyprefix": f"{PREFIX}:"},
    result_backend_transport_options={"global_keyprefix": f"{PREFIX}:"},
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
    result_expires=3600,
    broker_connection_retry_on_startup=True,
)


class Transient(Exception):
    """A department said "not now": Celery retries the task."""


_local = threading.local()


def _session() -> requests.Session:
    # One connection pool per worker thread, as a requests-based team would keep.
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def _endpoints() -> Endpoints:
    return Endpoints(json.loads(os.environ["BENCH_URLS"]), dict(os.environ))


def _send(department: str, request: Any) -> tuple[int, bytes]:
    try:
        response = _session().request(
            request.method,
            request.url,
            data=request.body or None,
            headers=request.headers,
            timeout=15,
        )
    except requests.RequestException as exc:
        raise Transient(f"{department}: {exc}") from exc
    return response.status_code, response.content


def queue(department: str) -> str:
    """The queue of one department's calls; its worker's concurrency is the department's."""
    return f"{PREFIX}.{department}"


RETRY = {
    "autoretry_for": (Transient,),
    "retry_backoff": 0.01,
    "retry_backoff_max": 1,
    "retry_jitter": False,
    "max_retries": 30,
}


@app.task(name="bench.submit", **RETRY)  # type: ignore[untyped-decorator]
def submit(previous: Any, step: dict[str, Any], application_id: str, matter: str) -> dict[str, Any]:
    """File one step; the receipt, with the outputs of the steps before it carried along."""
    before: dict[str, dict[str, str]] = {}
    for item in previous if isinstance(previous, list) else [previous]:
        before |= item or {}
    inputs = {}
    for name, ref in step["uses"].items():
        name_before, _, output = ref.partition(".")
        inputs[name] = before[name_before][output]
    call = Call(
        step["department"],
        step["operation"],
        WIRE_FIELDS[matter],
        f"{application_id}:{step['name']}",
        application_id,
        inputs,
    )
    status, body = _send(call.department, submit_request(_endpoints(), call))
    try:
        reference, outputs = read_receipt(call.department, status, body)
    except WireError as exc:
        if exc.transient:
            raise Transient(str(exc)) from exc
        raise
    return {
        "step": step["name"],
        "department": call.department,
        "reference": reference,
        "outputs": {**outputs, "reference": reference},
    }


@app.task(name="bench.query", bind=True, **RETRY)  # type: ignore[untyped-decorator]
def query(self: Task, receipt: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Ask until the department has decided; the step's outputs for the steps after it."""
    department = receipt["department"]
    status, body = _send(department, query_request(_endpoints(), department, receipt["reference"]))
    try:
        decided, given = read_status(department, status, body)
    except WireError as exc:
        if exc.transient:
            raise Transient(str(exc)) from exc
        raise
    if not decided:
        raise self.retry(countdown=REQUERY_AFTER, max_retries=None)
    # Outputs given with the decision (registration's credit code) go on to the next steps.
    return {receipt["step"]: {**receipt["outputs"], **given}}


@app.task(name="bench.done")  # type: ignore[untyped-decorator]
def done(application_id: str, started: float) -> None:
    """Record that every step of an application is decided."""
    client = getattr(_local, "redis", None)
    if client is None:
        client = _local.redis = redis.Redis.from_url(BROKER)
    client.rpush(DONE_KEY, json.dumps([application_id, started, time.time()]))


def _step(step: PlannedStep, application_id: str, matter: str, *, first: bool = False) -> Signature:
    spec = {
        "name": step.name,
        "department": step.department,
        "operation": step.operation,
        "uses": dict(step.uses),
    }
    # A step after another gets that one's outputs as its first argument from the chain.
    args = (None, spec, application_id, matter) if first else (spec, application_id, matter)
    return chain(
        submit.s(*args).set(queue=queue(step.department)),
        query.s().set(queue=queue(step.department)),
    )


def workflow(steps: list[PlannedStep], application_id: str, matter: str, started: float) -> Any:
    """One application's canvas: steps in DAG order, those after the first in parallel."""
    first = [s for s in steps if not s.after]
    rest = [s for s in steps if s.after]
    # A chain link starts when the one before has decided: each step waits for approval.
    if len(first) != 1 or any(s.after != (first[0].name,) or s.after_received for s in rest):
        raise ValueError("the peer carries a matter whose steps all follow its first one")
    final = done.si(application_id, started).set(queue=queue("done"))
    head = _step(first[0], application_id, matter, first=True)
    # Chain links get the previous link's result: a second step after the first gets its
    # outputs, and a chord's members all do.
    if len(rest) == 1:
        return chain(head, _step(rest[0], application_id, matter), final)
    return chain(head, chord(group(_step(s, application_id, matter) for s in rest), final))
