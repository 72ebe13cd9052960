"""The OpenAPI 3.1 document of the API, made from the answer models and the record's own schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from hub import __version__
from hub.api import schemas
from hub.model.record import ApplicationRecord
from hub.model.states import ApplicationStatus, DeliveryState
from hub.ops.auth import public

routes = web.RouteTableDef()
REF = "#/components/schemas/{model}"

ERRORS = {
    400: "Malformed request (JSON that does not parse, a bad header such as X-Hub-Actor)",
    401: "No valid bearer token (or, for callbacks, no valid signature)",
    403: "The token's client lacks the role this needs",
    404: "No such resource",
    409: "Conflicts with the resource's state",
    413: "Body larger than 1 MiB",
    415: "Body is not application/json",
    422: "Field-level problems, all of them in `errors`",
    429: "Too many requests; see Retry-After",
}


@dataclass(frozen=True)
class Operation:
    """One route as the document describes it."""

    method: str
    path: str
    id: str
    summary: str
    ok: tuple[int, type[BaseModel] | None]
    errors: tuple[int, ...] = ()
    roles: tuple[str, ...] | None = ("operator",)
    """Roles that may call it (operators always may); None for a public route."""
    query: tuple[dict[str, Any], ...] = ()
    headers: tuple[dict[str, Any], ...] = ()
    body: type[BaseModel] | None = None
    raw_body: bool = False
    tags: tuple[str, ...] = field(default=())


def _param(
    name: str, where: str, schema: dict[str, Any], description: str, required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": required,
        "description": description,
        "schema": schema,
    }


PAGE = (
    _param("cursor", "query", {"type": "string"}, "next_cursor of the previous page"),
    _param(
        "limit",
        "query",
        {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
        "page size",
    ),
)
ID = _param("id", "path", {"type": "string"}, "the application's id", required=True)
FRONTEND = ("frontend",)
SUPERVISORS = ("supervisor",)
ACTOR = _param(
    "X-Hub-Actor",
    "header",
    {"type": "string", "minLength": 1, "maxLength": 64},
    "the person acting (the window's clerk), kept in the audit trail; required of a frontend's"
    " acts where [api] require_actor is set",
)

OPERATIONS = (
    Operation(
        "post",
        "/api/v1/applications",
        "fileApplication",
        "File an application: 202 once it and one delivery per step are committed",
        (202, schemas.Acknowledgement),
        (400, 401, 403, 409, 413, 415, 422),
        FRONTEND,
        headers=(
            ACTOR,
            _param(
                "Idempotency-Key",
                "header",
                {"type": "string", "minLength": 1, "maxLength": 200},
                "the same key and body answer the same application; another body is 409",
            ),
        ),
        body=ApplicationRecord,
        tags=("applications",),
    ),
    Operation(
        "get",
        "/api/v1/applications",
        "listApplications",
        "Applications, newest first",
        (200, schemas.ApplicationPage),
        (401, 403, 422),
        FRONTEND,
        query=(
            _param(
                "status",
                "query",
                {"type": "string", "enum": [s.value for s in ApplicationStatus]},
                "only this status",
            ),
            _param("matter", "query", {"type": "string"}, "only this matter"),
            _param(
                "department",
                "query",
                {"type": "string"},
                "only those with a step at this department",
            ),
            _param(
                "overdue",
                "query",
                {"type": "string", "enum": ["true", "false"]},
                "past the promised limit",
            ),
            _param(
                "submitted_after",
                "query",
                {"type": "string", "format": "date-time"},
                "filed at or after",
            ),
            _param(
                "submitted_before",
                "query",
                {"type": "string", "format": "date-time"},
                "filed before",
            ),
            *PAGE,
        ),
        tags=("applications",),
    ),
    Operation(
        "get",
        "/api/v1/applications/{id}",
        "readApplication",
        "An application: masked record, status, due dates, each delivery with its calls",
        (200, schemas.Application),
        (401, 403, 404),
        FRONTEND,
        query=(ID,),
        tags=("applications",),
    ),
    Operation(
        "get",
        "/api/v1/applications/{id}/versions",
        "recordVersions",
        "Every version of the application's record (the filing is 1), each masked, with who"
        " filed it and when",
        (200, schemas.RecordVersions),
        (400, 401, 403, 404),
        FRONTEND,
        query=(ID,),
        tags=("applications",),
    ),
    Operation(
        "get",
        "/api/v1/audit",
        "auditTrail",
        "The audit trail, oldest first: every act with its client and person",
        (200, schemas.AuditPage),
        (400, 401, 403, 422),
        query=(
            _param("application_id", "query", {"type": "string"}, "acts on this application"),
            _param("actor", "query", {"type": "string"}, "acts of this client or person"),
            _param(
                "kind",
                "query",
                {"type": "string"},
                "an act (application.correct) or its family (application)",
            ),
            _param("since", "query", {"type": "string", "format": "date-time"}, "at or after"),
            _param("until", "query", {"type": "string", "format": "date-time"}, "before"),
            _param(
                "cursor", "query", {"type": "integer", "minimum": 1}, "next_cursor of the last page"
            ),
            _param(
                "limit",
                "query",
                {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
                "page size",
            ),
        ),
        tags=("operations",),
    ),
    Operation(
        "get",
        "/api/v1/applications/{id}/events",
        "streamEvents",
        "Status events as Server-Sent Events (`id:`, `event: status`, `data:` an Event); resumable",
        (200, None),
        (400, 401, 403, 404),
        FRONTEND,
        query=(
            ID,
            _param(
                "after", "query", {"type": "string", "pattern": "^[0-9]+$"}, "like Last-Event-ID"
            ),
        ),
        headers=(
            _param(
                "Last-Event-ID",
                "header",
                {"type": "string", "pattern": "^[0-9]+$"},
                "resume after this event",
            ),
        ),
        tags=("applications",),
    ),
    Operation(
        "post",
        "/api/v1/applications/{id}/cancel",
        "cancelApplication",
        "Cancel every undecided step (through the departments that support it)",
        (202, schemas.CancelOutcome),
        (401, 403, 404, 409),
        FRONTEND,
        query=(ID,),
        headers=(ACTOR,),
        tags=("applications",),
    ),
    Operation(
        "post",
        "/api/v1/applications/{id}/corrections",
        "correctApplication",
        "The corrected filing, sent to each department that asked for a correction",
        (202, schemas.CorrectionOutcome),
        (400, 401, 403, 404, 409, 413, 415, 422),
        FRONTEND,
        query=(ID,),
        body=ApplicationRecord,
        headers=(ACTOR,),
        tags=("applications",),
    ),
    Operation(
        "post",
        "/api/v1/applications/{id}/extensions",
        "extendTimeLimit",
        "Extend the limits by working days, within the matter's extension_days_max (art. 42)",
        (201, schemas.TimeLimitOutcome),
        (400, 401, 403, 404, 409, 413, 415, 422),
        SUPERVISORS,
        query=(ID,),
        body=schemas.ExtensionBody,
        tags=("supervision",),
    ),
    Operation(
        "post",
        "/api/v1/applications/{id}/suspensions",
        "suspendTimeLimit",
        "Stop the clock for a procedure that does not count (art. 45); 409 unless running",
        (201, schemas.TimeLimitOutcome),
        (400, 401, 403, 404, 409, 413, 415, 422),
        SUPERVISORS,
        query=(ID,),
        body=schemas.SuspensionBody,
        tags=("supervision",),
    ),
    Operation(
        "post",
        "/api/v1/applications/{id}/suspensions/current/resume",
        "resumeTimeLimit",
        "End the current suspension; the limits move on by the working days it lasted",
        (200, schemas.TimeLimitOutcome),
        (401, 403, 404, 409),
        SUPERVISORS,
        query=(ID,),
        tags=("supervision",),
    ),
    Operation(
        "get",
        "/api/v1/supervision",
        "listSupervisedCases",
        "Undecided applications in amber or red (效能监察), newest first",
        (200, schemas.SupervisionPage),
        (401, 403, 422),
        SUPERVISORS,
        query=(
            _param(
                "state", "query", {"type": "string", "enum": ["amber", "red"]}, "only this state"
            ),
            _param("matter", "query", {"type": "string"}, "only this matter"),
            *PAGE,
        ),
        tags=("supervision",),
    ),
    Operation(
        "get",
        "/api/v1/matters",
        "listMatters",
        "The matters offered, with fields, steps and time limits",
        (200, schemas.Matters),
        (401, 403),
        FRONTEND,
        tags=("catalog",),
    ),
    Operation(
        "get",
        "/api/v1/deliveries",
        "listDeliveries",
        "Deliveries by state (dead letters), oldest first",
        (200, schemas.DeliveryPage),
        (401, 403, 422),
        query=(
            _param(
                "state",
                "query",
                {"type": "string", "enum": [s.value for s in DeliveryState]},
                "only this state",
            ),
            _param("department", "query", {"type": "string"}, "only this department"),
            _param("application_id", "query", {"type": "string"}, "only this application's"),
            *PAGE,
        ),
        tags=("operations",),
    ),
    Operation(
        "post",
        "/api/v1/deliveries/{id}/replay",
        "replayDelivery",
        "Send a dead letter (or a failed delivery) again, under its own delivery key",
        (202, schemas.Replayed),
        (401, 403, 404, 409),
        query=(_param("id", "path", {"type": "string"}, "the delivery's id", required=True),),
        headers=(ACTOR,),
        tags=("operations",),
    ),
    Operation(
        "get",
        "/api/v1/departments",
        "listDepartments",
        "Each department's breaker and queue",
        (200, schemas.Departments),
        (401, 403),
        tags=("operations",),
    ),
    Operation(
        "post",
        "/api/v1/departments/{code}/pause",
        "pauseDepartment",
        "Maintenance mode: the department's deliveries wait, no call goes out (audited)",
        (200, schemas.PauseOutcome),
        (400, 401, 403, 404, 409, 413, 415, 422),
        query=(_param("code", "path", {"type": "string"}, "the department's code", required=True),),
        body=schemas.PauseRequest,
        headers=(ACTOR,),
        tags=("operations",),
    ),
    Operation(
        "post",
        "/api/v1/departments/{code}/resume",
        "resumeDepartment",
        "End maintenance mode: what waited is sent, within the limits (audited)",
        (200, schemas.PauseOutcome),
        (401, 403, 404, 409),
        query=(_param("code", "path", {"type": "string"}, "the department's code", required=True),),
        headers=(ACTOR,),
        tags=("operations",),
    ),
    Operation(
        "get",
        "/api/v1/sync-log",
        "syncLog",
        "Every call to a department, newest first; a department's client sees its own",
        (200, schemas.SyncLog),
        (401, 403, 422),
        ("department:<code>",),
        query=(
            _param("application_id", "query", {"type": "string"}, "calls for this application"),
            _param("delivery_key", "query", {"type": "string"}, "calls for this delivery key"),
            _param("department", "query", {"type": "string"}, "calls to this department"),
            _param("outcome", "query", {"type": "string"}, "accepted, transient, permanent, …"),
            _param("error_code", "query", {"type": "string"}, "the department's error code"),
            _param(
                "since", "query", {"type": "string", "format": "date-time"}, "started at or after"
            ),
            _param("until", "query", {"type": "string", "format": "date-time"}, "started before"),
            _param(
                "min_duration_ms", "query", {"type": "integer", "minimum": 0}, "slow calls only"
            ),
            _param(
                "cursor", "query", {"type": "integer", "minimum": 1}, "next_cursor of the last page"
            ),
            _param(
                "limit",
                "query",
                {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                "page size",
            ),
        ),
        tags=("operations",),
    ),
    Operation(
        "post",
        "/api/v1/callbacks/{department}",
        "departmentCallback",
        "A department pushes a decision, signed: "
        "X-Hub-Signature = sha256=HMAC(secret, timestamp + '.' + body)",
        (200, schemas.CallbackApplied),
        (401, 404, 409, 422),
        None,
        query=(
            _param(
                "department", "path", {"type": "string"}, "the department's code", required=True
            ),
        ),
        headers=(
            _param(
                "X-Hub-Timestamp",
                "header",
                {"type": "string"},
                "seconds since the epoch",
                required=True,
            ),
            _param(
                "X-Hub-Signature", "header", {"type": "string"}, "sha256=<hex HMAC>", required=True
            ),
        ),
        raw_body=True,
        tags=("departments",),
    ),
    Operation(
        "get",
        "/api/v1/track/{reference}",
        "trackApplication",
        "The public view for the receipt's holder: no personal data; rate limited",
        (200, schemas.Tracking),
        (404, 429),
        None,
        query=(
            _param(
                "reference",
                "path",
                {"type": "string"},
                "the reference on the receipt",
                required=True,
            ),
            _param(
                "code", "query", {"type": "string"}, "the query code on the receipt", required=True
            ),
        ),
        tags=("public",),
    ),
    Operation(
        "get",
        "/healthz",
        "health",
        "The process is up",
        (200, schemas.Health),
        (),
        None,
        tags=("health",),
    ),
    Operation(
        "get",
        "/readyz",
        "readiness",
        "Store reachable, schema current, dispatcher running (else 503)",
        (200, schemas.Readiness),
        (),
        None,
        tags=("health",),
    ),
    Operation(
        "get",
        "/metrics",
        "metrics",
        "Prometheus metrics, text exposition format",
        (200, None),
        (),
        None,
        tags=("health",),
    ),
    Operation(
        "get",
        "/api/v1/openapi.json",
        "openapi",
        "This document",
        (200, None),
        (),
        None,
        tags=("health",),
    ),
)


def _link(operation: str, name: str, expression: str) -> dict[str, Any]:
    return {"operationId": operation, "parameters": {name: expression}}


# Where an answer's ids lead: for clients, and for fuzzers that follow them (schemathesis).
# Only from answers that always hold the id: a link from a list's first item cannot be resolved
# when the list is empty, and schemathesis reports that as an error.
LINKS = {
    "fileApplication": {
        "read": _link("readApplication", "id", "$response.body#/id"),
        "cancel": _link("cancelApplication", "id", "$response.body#/id"),
        "correct": _link("correctApplication", "id", "$response.body#/id"),
        "track": _link("trackApplication", "reference", "$response.body#/reference"),
    },
}


def _response(
    status: int, description: str, model: type[BaseModel] | None, content_type: str
) -> dict[str, Any]:
    schema = (
        {"$ref": REF.format(model=model.__name__)}
        if model
        else {"type": "object" if content_type.endswith("json") else "string"}
    )
    return {
        "description": description,
        "headers": {
            "X-Request-Id": {
                "schema": {"type": "string"},
                "description": "echoed, or made by the hub",
            }
        },
        "content": {content_type: {"schema": schema}},
    }


def build_document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    models: list[type[BaseModel]] = [
        schemas.Problem,
        ApplicationRecord,
        schemas.Acknowledgement,
        schemas.ApplicationPage,
        schemas.Application,
        schemas.RecordVersions,
        schemas.AuditPage,
        schemas.Event,
        schemas.CancelOutcome,
        schemas.CorrectionOutcome,
        schemas.Matters,
        schemas.DeliveryPage,
        schemas.Replayed,
        schemas.Departments,
        schemas.CallbackApplied,
        schemas.PauseRequest,
        schemas.PauseOutcome,
        schemas.SyncLog,
        schemas.TimeLimitOutcome,
        schemas.ExtensionBody,
        schemas.SuspensionBody,
        schemas.SupervisionPage,
        schemas.Tracking,
        schemas.Health,
        schemas.Readiness,
    ]
    components: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template=REF, mode="serialization")
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        ok_status, ok_model = op.ok
        ok_type = {"streamEvents": "text/event-stream", "metrics": "text/plain"}.get(
            op.id, "application/json"
        )
        responses = {str(ok_status): _response(ok_status, op.summary, ok_model, ok_type)}
        if op.id in LINKS:
            responses[str(ok_status)]["links"] = LINKS[op.id]
        if op.id == "readiness":
            responses["503"] = _response(
                503, "Not ready: see checks", schemas.Readiness, "application/json"
            )
        # A bad X-Hub-Actor is a 400 wherever the header is taken.
        errors = sorted({*op.errors, 400}) if ACTOR in op.headers else op.errors
        for status in errors:
            responses[str(status)] = _response(
                status, ERRORS[status], schemas.Problem, "application/problem+json"
            )
        responses["default"] = _response(
            500,
            "Unexpected error (500), or the store out of reach for a moment (503, with"
            " Retry-After: send the request again)",
            schemas.Problem,
            "application/problem+json",
        )
        operation: dict[str, Any] = {
            "operationId": op.id,
            "summary": op.summary,
            "tags": list(op.tags),
            "parameters": [*op.query, *op.headers],
            "responses": responses,
            "security": [] if op.roles is None else [{"bearer": []}],
        }
        if op.roles is not None:
            roles = dict.fromkeys((*op.roles, "operator"))
            operation["description"] = f"Roles: {', '.join(roles)}."
        if op.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": REF.format(model=op.body.__name__)}}
                },
            }
        elif op.raw_body:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        paths.setdefault(op.path, {})[op.method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "One Window Hub API",
            "version": __version__,
            "description": "File one application for one matter; the hub carries it to every "
            "department and collects each decision. Errors are RFC 9457 problem+json.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


DOCUMENT = web.AppKey("openapi", dict)


@routes.get("/api/v1/openapi.json")
@public
async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document."""
    return web.json_response(request.app[DOCUMENT])
