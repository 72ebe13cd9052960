"""Request ids and problem+json errors, around every route."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from ulid import ULID

from hub.api.problems import ProblemError, problem
from hub.problems import ValidationProblem

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = structlog.get_logger("hub.api")
REQUEST_ID = "X-Request-Id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


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
    """Render every error as problem+json; an unexpected one is logged and answered 500."""
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
    except Exception:
        log.exception("api.unexpected_error", path=request.path)
        return problem(
            500,
            "Internal Server Error",
            "the hub failed unexpectedly; the request id identifies it in the logs",
            kind="internal",
        )
