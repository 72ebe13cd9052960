"""Reading a JSON request body: malformed, wrong type or too large are clear problems."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from hub.api.problems import ProblemError
from hub.model.problems import Problem

MAX_BODY = 1024 * 1024
"""Largest request body accepted, in bytes; a larger one is answered 413."""


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or a problem saying what is wrong with it."""
    if request.content_type != "application/json":
        raise ProblemError(
            415,
            "Unsupported Media Type",
            f"send application/json, not {request.content_type or 'no content type'}",
            kind="unsupported-media-type",
        )
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise ProblemError(
            413, "Content Too Large", f"the body exceeds {MAX_BODY} bytes", kind="too-large"
        ) from exc
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProblemError(
            400, "Malformed JSON", f"the body is not valid JSON: {exc}", kind="malformed-json"
        ) from exc
    if not isinstance(data, dict):
        raise ProblemError(
            422,
            "The input has problems",
            "the body must be a JSON object",
            kind="validation",
            errors=[Problem("", "type", "the body must be a JSON object")],
        )
    return data
