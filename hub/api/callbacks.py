"""/api/v1/callbacks/{department}: a department pushes a decision, signed with its own secret."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from hub.api.problems import ProblemError
from hub.delivery.callbacks import SIGNATURE_HEADER, TIMESTAMP_HEADER, CallbackRefused, verify
from hub.delivery.status import apply_pushed_status
from hub.ops.auth import public
from hub.plugin.adapter import supports
from hub.runtime import HUB
from hub.store.types import utcnow

routes = web.RouteTableDef()


@routes.post("/api/v1/callbacks/{department}")
@public  # no bearer token: the department's HMAC signature over the body is its credential
async def callback(request: web.Request) -> web.Response:
    """Take a department's decision: 200 when applied; 401 for a bad or stale signature, 404 for
    an unknown receipt, 409 for a callback already received; nothing changes unless 200."""
    hub = request.app[HUB]
    code = request.match_info["department"]
    department = hub.config.departments.get(code)
    adapter = hub.adapters.get(code)
    if department is None or adapter is None or not department.status.callbacks:
        raise ProblemError(
            404, "Not Found", f"no department {code!r} takes callbacks", kind="not-found"
        )
    if not supports(adapter, "parse_callback") or "callback_secret" not in department.credentials:
        raise ProblemError(404, "Not Found", f"{code} has no callback configured", kind="not-found")
    body = await request.read()
    signature = request.headers.get(SIGNATURE_HEADER)
    try:
        verify(
            department.secret("callback_secret"),
            request.headers.get(TIMESTAMP_HEADER),
            signature,
            body,
        )
    except CallbackRefused as exc:
        raise ProblemError(
            401,
            "Unauthorized",
            str(exc),
            kind="bad-signature",
            headers={"WWW-Authenticate": "HMAC-SHA256"},
        ) from exc
    try:
        reference, status = adapter.parse_callback(body, request.content_type)
    except ValueError as exc:
        raise ProblemError(422, "Not a callback", str(exc), kind="bad-callback") from exc
    assert signature is not None
    try:
        applied = await apply_pushed_status(
            hub.engine, hub.config, code, reference, status, signature=signature, now=utcnow()
        )
    except IntegrityError as exc:
        raise ProblemError(
            409, "Already received", "this callback was received before", kind="replayed"
        ) from exc
    if not applied:
        raise ProblemError(
            404,
            "Unknown receipt",
            f"{code} has no filing {reference!r} from this hub",
            kind="unknown-receipt",
        )
    if hub.dispatcher is not None:
        hub.dispatcher.notify()
    return web.json_response({"applied": True, "reference": reference, "state": status.state})
