"""RFC 9457 problem details: every error the API answers has this one shape."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from hub.model.problems import Problem

PROBLEM_TYPE = "urn:one-window-hub:problem:"
CONTENT_TYPE = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    kind: str | None = None,
    errors: Iterable[Problem] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> web.Response:
    """A problem+json response; `kind` names the problem type, `errors` lists field problems."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + kind if kind else "about:blank",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = [p.as_dict() for p in errors]
    body.update(extra)
    return web.Response(
        status=status,
        text=json.dumps(body, ensure_ascii=False),
        content_type=CONTENT_TYPE,
        headers=headers,
    )


class ProblemError(Exception):
    """Raised by a handler to answer with a problem; the middleware renders it."""

    def __init__(self, status: int, title: str, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.kwargs = kwargs

    def response(self) -> web.Response:
        """This problem as a response."""
        return problem(self.status, self.title, self.detail, **self.kwargs)
