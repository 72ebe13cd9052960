"""One HTTP exchange with a department: timing, headers, error mapping and the sync-log facts."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import aiohttp
import structlog
from multidict import CIMultiDictProxy

from hub import __version__
from hub.model.departments import Department
from hub.plugin.adapter import DeliveryContext, TransientError
from hub.transports.exchange import Exchange, record

log = structlog.get_logger("hub.transports")

APPLICATION_ID_HEADER = "X-Hub-Application-Id"
DELIVERY_KEY_HEADER = "X-Hub-Delivery-Key"
USER_AGENT = f"one-window-hub/{__version__}"


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A department's answer: status, headers and the raw body bytes."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    @property
    def charset(self) -> str | None:
        """The charset named in the Content-Type header, if any."""
        for part in self.headers.get("Content-Type", "").split(";")[1:]:
            name, _, value = part.strip().partition("=")
            if name.lower() == "charset" and value:
                return value.strip('"')
        return None

    def retry_after(self) -> float | None:
        """Seconds the department asked us to wait (Retry-After as seconds or an HTTP date)."""
        value = self.headers.get("Retry-After")
        if not value:
            return None
        if value.strip().isdigit():
            return float(value)
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(UTC)).total_seconds())


def tracing_headers(context: DeliveryContext | None) -> dict[str, str]:
    """Headers that let a department match its own logs with the hub's sync log."""
    headers = {"User-Agent": USER_AGENT}
    if context is not None:
        headers[APPLICATION_ID_HEADER] = context.application_id
        headers[DELIVERY_KEY_HEADER] = context.delivery_key
    return headers


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def exchange(
    session: aiohttp.ClientSession,
    department: Department,
    method: str,
    url: str,
    *,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    """Send one request within the department's timeout; network trouble becomes TransientError.

    Whatever happens, the exchange is recorded for the sync log and logged without its body.
    """
    started_at = datetime.now(UTC)
    start = time.perf_counter()
    status: int | None = None
    response_body: bytes | None = None
    error: str | None = None
    try:
        async with session.request(
            method,
            url,
            data=body or None,
            headers=dict(headers or {}),
            timeout=aiohttp.ClientTimeout(total=department.timeout),
            allow_redirects=False,
        ) as response:
            status = response.status
            response_body = await response.read()
            return HttpResponse(response.status, response.headers, response_body)
    except TimeoutError as exc:
        error = "timeout"
        raise TransientError(
            "timeout",
            f"{department.code} gave no answer within {department.timeout:g} s",
            outcome_unknown=True,
        ) from exc
    except aiohttp.ClientConnectorError as exc:
        error = "connect_failed"
        raise TransientError(
            "connect_failed", f"cannot connect to {department.code}: {exc.os_error}"
        ) from exc
    except (
        aiohttp.ServerDisconnectedError,
        aiohttp.ClientOSError,
        aiohttp.ClientPayloadError,
    ) as exc:
        error = "connection_lost"
        raise TransientError(
            "connection_lost",
            f"{department.code} dropped the connection: {exc}",
            outcome_unknown=True,
        ) from exc
    except aiohttp.ClientError as exc:
        error = "http_error"
        raise TransientError(
            "http_error", f"HTTP error talking to {department.code}: {exc}", outcome_unknown=True
        ) from exc
    finally:
        duration = time.perf_counter() - start
        record(
            Exchange(
                department=department.code,
                method=method,
                url=url,
                started_at=started_at,
                duration=duration,
                request_size=len(body),
                request_sha256=_sha256(body),
                response_size=None if response_body is None else len(response_body),
                response_sha256=None if response_body is None else _sha256(response_body),
                http_status=status,
                error=error,
            )
        )
        # DEBUG: at INFO the call's attempt.finished line says the same once per try (status,
        # sizes, duration); this one is per HTTP exchange, for an adapter that makes several.
        log.debug(
            "department.call",
            department=department.code,
            method=method,
            path=urlsplit(url).path,
            http_status=status,
            duration_ms=round(duration * 1000, 1),
            request_bytes=len(body),
            response_bytes=None if response_body is None else len(response_body),
            error=error,
        )
