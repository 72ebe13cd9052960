"""What a department's WSDL offers: its operations and the fields each takes and gives back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zeep
from zeep.transports import Transport


@dataclass(frozen=True, slots=True)
class Field:
    """One element of a message, with a dotted path for nested ones."""

    path: str
    type: str
    optional: bool
    repeated: bool


@dataclass(frozen=True, slots=True)
class Operation:
    """One WSDL operation: the fields of its request and of its reply."""

    name: str
    inputs: tuple[Field, ...]
    outputs: tuple[Field, ...]


def fetch(source: str) -> bytes:
    """The WSDL's bytes from a file or an http(s) URL (zeep's own transport fetches URLs)."""
    if source.startswith(("http://", "https://")):
        data = Transport(timeout=30).load(source)
        assert isinstance(data, bytes)
        return data
    return Path(source).read_bytes()


def _fields(elements: Any, prefix: str = "", depth: int = 0) -> list[Field]:
    found: list[Field] = []
    for name, element in elements:
        path = f"{prefix}{name}"
        kind = getattr(element.type, "name", None) or "complex"
        found.append(
            Field(
                path,
                kind,
                optional=element.min_occurs == 0,
                repeated=element.max_occurs not in (1, None),
            )
        )
        nested = getattr(element.type, "elements", None)
        if nested and depth < 4:  # deep enough for real services; a recursive type would not end
            found.extend(_fields(nested, f"{path}.", depth + 1))
    return found


def _message_fields(message: Any) -> tuple[Field, ...]:
    body = getattr(message, "body", None)
    if body is None or getattr(body, "type", None) is None:
        return ()
    return tuple(_fields(body.type.elements))


def operations(wsdl: Path) -> list[Operation]:
    """Every operation of the WSDL's first port, in the order the binding declares them."""
    client = zeep.Client(str(wsdl))
    service = next(iter(client.wsdl.services.values()))
    binding = next(iter(service.ports.values())).binding
    return [
        Operation(name, _message_fields(op.input), _message_fields(op.output))
        for name, op in binding._operations.items()  # zeep offers no public way to list them
    ]
