"""The API's answers checked against its own OpenAPI document, whichever test caused them."""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from hub.api.openapi import build_document

BASE = "urn:one-window-hub:openapi"


class Contract:
    """Finds the operation and response a real answer belongs to, and validates its body."""

    def __init__(self, document: dict[str, Any] | None = None) -> None:
        self.document = document or build_document()
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self.registry = Registry().with_resource(BASE, resource)
        self.templates = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path)
            for path in self.document["paths"]
        ]
        self.checked = 0

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        """The documented operation for a request, or None when the document has none."""
        for pattern, template in self.templates:
            if pattern.match(path):
                found: dict[str, Any] | None = self.document["paths"][template].get(method.lower())
                return found
        return None

    def check(self, method: str, path: str, status: int, content_type: str, body: Any) -> None:
        """Fail unless the status, content type and body are what the document promises."""
        operation = self.operation(method, path)
        if operation is None:
            return  # no such route (404) or no such method (405): the router's answers
        responses = operation["responses"]
        documented = responses.get(str(status)) or (responses["default"] if status >= 500 else None)
        assert documented is not None, f"{method} {path}: status {status} is not in the document"
        assert content_type in documented["content"], (
            f"{method} {path} {status}: {content_type} not documented"
        )
        schema = documented["content"][content_type]["schema"]
        if "$ref" in schema:
            schema = {"$ref": BASE + schema["$ref"]}
        errors = sorted(
            Draft202012Validator(schema, registry=self.registry).iter_errors(body),
            key=lambda e: e.path,
        )
        assert not errors, f"{method} {path} {status} does not match the document: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
        )
        self.checked += 1
