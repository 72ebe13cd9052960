"""Request ids and problem+json errors, around every route."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from ulid import ULID

from hub.api.problems import ProblemError, problem
from hub.model.problems import Problem, ValidationProblem
from hub.ops.audit import Actor
from hub.ops.auth import FRONTEND, OPERATOR, Caller, authenticate, roles_of
from hub.runtime import HUB
from hub.store.outages import error_class, store_unavailable

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = structlog.get_logger("hub.api")
REQUEST_ID = "X-Request-Id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
CALLER = web.RequestKey("caller", Caller)
ACTOR_HEADER = "X-Hub-Actor"
ACTOR = web.RequestKey("actor", Actor)
_READS = ("GET", "HEAD", "OPTIONS")


def _person(request: web.Request, caller: Caller) -> str | None:
    """The person in X-Hub-Actor: 1 to 64 printable characters; required of a frontend's acts
    where [api] require_actor says so. A bad or missing one is a 400 naming the header."""
    given = request.headers.get(ACTOR_HEADER)
    if given is None:
        required = request.app[HUB].config.settings.api.require_actor
        if (
            required
            and request.method not in _READS
            and FRONTEND in caller.roles
            and OPERATOR not in caller.roles
        ):
            raise _bad_actor("required", "name the clerk acting at the window")
        return None
    # str.isprintable() is False for every control and separator character but the space.
    if not given.strip() or len(given) > 64 or not given.isprintable():
        raise _bad_actor("format", "1 to 64 printable characters, no control characters")
    return given


def _bad_actor(code: str, message: str) -> ProblemError:
    return ProblemError(
        400,
        f"Bad {ACTOR_HEADER} header",
        f"{ACTOR_HEADER}: {message}",
        kind="bad-actor",
        errors=[Problem(f"header.{ACTOR_HEADER}", code, message)],
    )


def acting(request: web.Request) -> Actor:
    """Who acts in this request: the authenticated client and the person it names."""
    return request[ACTOR]


@web.middleware
async def request_id(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Take the caller's X-Request-Id (or make one), bind it to every log line, send it back."""
    given = request.headers.get(REQUEST_ID, "")
    rid = given if _SANE_ID.match(given) else str(ULID())
    with structlog.contextvars.bound_contextvars(request_id=rid):
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers[REQUEST_ID] = rid
            raise
        response.headers[REQUEST_ID] = rid
        return response


@web.middleware
async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every error as problem+json; the store out of reach is 503 with Retry-After, any
    other unexpected error is logged and answered 500."""
    try:
        return await handler(request)
    except ValidationProblem as exc:
        return problem(
            422,
            "The input has problems",
            f"{len(exc.problems)} problem(s); see errors",
            kind="validation",
            errors=exc.problems,
        )
    except ProblemError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problem(
            exc.status,
            exc.reason,
            exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else None,
            headers={k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")},
        )
    except Exception as exc:
        if store_unavailable(exc):
            log.warning("api.store_unavailable", path=request.path, error=error_class(exc))
            return problem(
                503,
                "Store unavailable",
                "the hub cannot reach its store just now; send the request again (a filing with"
                " the same Idempotency-Key files nothing twice)",
                kind="store-unavailable",
                headers={"Retry-After": "1"},
            )
        log.exception("api.unexpected_error", path=request.path)
        return problem(
            500,
            "Internal Server Error",
            "the hub failed unexpectedly; the request id identifies it in the logs",
            kind="internal",
        )


@web.middleware
async def authentication(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bearer token → caller; 401 without a valid one, 403 for a role the route does not allow."""
    match = request.match_info
    if match.http_exception is not None:  # no such route: let it be answered 404/405
        return await handler(request)
    if isinstance(match.route.resource, web.StaticResource):  # the console's CSS and script
        return await handler(request)
    allowed = roles_of(match.handler)
    if allowed is None:
        return await handler(request)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    caller = None
    if scheme.lower() == "bearer" and token:
        caller = authenticate(token.strip(), request.app[HUB].config.settings.clients)
    if caller is None:
        raise ProblemError(
            401,
            "Unauthorized",
            "send Authorization: Bearer <token> with a token the hub knows",
            kind="unauthorized",
            headers={"WWW-Authenticate": 'Bearer realm="one-window-hub"'},
        )
    if not caller.may(allowed):
        raise ProblemError(
            403,
            "Forbidden",
            f"client {caller.name!r} lacks the role this needs ({', '.join(sorted(allowed))})",
            kind="forbidden",
        )
    request[CALLER] = caller
    request[ACTOR] = Actor(caller.name, _person(request, caller))
    with structlog.contextvars.bound_contextvars(client=caller.name):
        return await handler(request)
