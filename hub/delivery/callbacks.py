"""Departments pushing decisions: each callback signed with the department's own shared secret."""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Hub-Timestamp"
SIGNATURE_HEADER = "X-Hub-Signature"
MAX_SKEW = 300
"""Seconds a callback's timestamp may be off: older ones are refused as possible replays."""


class CallbackRefused(Exception):
    """A callback that is not the department's, or not fresh."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: HMAC-SHA256 over "<timestamp>." and the body."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def verify(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float | None = None
) -> None:
    """Accept a callback signed with the secret within MAX_SKEW seconds; else CallbackRefused."""
    if not timestamp or not signature:
        raise CallbackRefused(f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required")
    try:
        sent = int(timestamp)
    except ValueError:
        raise CallbackRefused(f"{TIMESTAMP_HEADER} must be seconds since the epoch") from None
    if abs((now if now is not None else time.time()) - sent) > MAX_SKEW:
        raise CallbackRefused(f"the timestamp is more than {MAX_SKEW} s away from the hub's clock")
    if not hmac.compare_digest(sign(secret, sent, body).encode(), signature.strip().encode()):
        raise CallbackRefused("the signature does not match the body")
