"""Who may call what: bearer tokens per client, stored as SHA-256, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from hub.model.configuration import ApiClient

OPERATOR = "operator"
FRONTEND = "frontend"
SUPERVISOR = "supervisor"
"""The center's supervisors (效能监察): time-limit acts and the amber and red cases."""
DEPARTMENT_PREFIX = "department:"

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def token_hash(token: str) -> str:
    """The SHA-256 a client's token is stored as (tokens are long random strings, not passwords)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh random bearer token."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated API client."""

    name: str
    roles: frozenset[str]

    def may(self, allowed: Iterable[str]) -> bool:
        """Whether one of the caller's roles is allowed; operators may all. "department" in the
        allowed roles admits any department:<code> role (the route narrows to that department)."""
        allowed = set(allowed)
        if OPERATOR in self.roles or self.roles & allowed:
            return True
        return "department" in allowed and bool(self.departments())

    def departments(self) -> set[str]:
        """The departments this caller speaks for."""
        return {
            r.removeprefix(DEPARTMENT_PREFIX) for r in self.roles if r.startswith(DEPARTMENT_PREFIX)
        }


def authenticate(token: str, clients: Iterable[ApiClient]) -> Caller | None:
    """The client whose token this is, comparing against every client in constant time."""
    presented = token_hash(token)
    found = None
    for client in clients:
        # Every client is compared (no early exit), so timing tells nothing about which matched.
        if hmac.compare_digest(presented, client.token_sha256):
            found = Caller(client.name, frozenset(client.roles))
    return found


def allow(*roles: str) -> Callable[[F], F]:
    """Mark a handler with the roles that may call it (operators always may)."""

    def mark(handler: F) -> F:
        handler.__hub_roles__ = frozenset(roles)  # type: ignore[attr-defined]
        return handler

    return mark


def public(handler: F) -> F:
    """Mark a handler that anyone may call (health checks, public tracking)."""
    handler.__hub_public__ = True  # type: ignore[attr-defined]
    return handler


def roles_of(handler: Any) -> frozenset[str] | None:
    """The roles a handler allows; None if public; operators only if unmarked."""
    if getattr(handler, "__hub_public__", False):
        return None
    roles: frozenset[str] = getattr(handler, "__hub_roles__", frozenset({OPERATOR}))
    return roles
