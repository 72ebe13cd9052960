"""/api/v1/matters: the services the center offers, for the frontend to build its forms from."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.model.catalog import Matter
from hub.ops.auth import FRONTEND, allow
from hub.runtime import HUB

routes = web.RouteTableDef()


def matter_view(matter: Matter) -> dict[str, Any]:
    """A matter as the frontend needs it: fields and acceptance rules, steps in order, limits."""
    return {
        "code": matter.code,
        "name": matter.name,
        "description": matter.description,
        "applicant": list(matter.applicant),
        "statutory_days": matter.statutory_days,
        "promised_days": matter.promised_days,
        "fields": {
            name: rule.model_dump(exclude_none=True) for name, rule in matter.fields.items()
        },
        "acceptance": [rule.model_dump(exclude_none=True) for rule in matter.acceptance],
        "steps": [
            {
                "name": s.name,
                "label": s.label,
                "department": s.department,
                "after": list(s.after),
                "after_received": list(s.after_received),
            }
            for s in matter.ordered_steps()
        ],
    }


@routes.get("/api/v1/matters")
@allow(FRONTEND)
async def list_matters(request: web.Request) -> web.Response:
    """Every matter of the catalog."""
    catalog = request.app[HUB].config.catalog
    return web.json_response({"items": [matter_view(m) for m in catalog]})
