"""Structured logs: structlog over the standard library, context from contextvars, PII masked.

Personal data is masked twice: by key (a field named id_number, phone, name … is masked the way
its kind of value is) and, as the last line of defence, by scrubbing ID and mobile numbers out of
the rendered line, so that a number that slipped into a free-text message never reaches a file.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

from hub.ops.privacy import PERSONAL_KEYS, mask_value, scrub_text


def _mask(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: mask_value(k, v) if k in PERSONAL_KEYS else _mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return value


def mask_personal_data(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """A structlog processor: mask every value stored under a personal-data key, at any depth."""
    return _mask(event)  # type: ignore[no-any-return]


class _Scrubbed:
    """Wraps a renderer and scrubs ID and mobile numbers out of whatever it renders."""

    def __init__(self, renderer: Processor) -> None:
        self.renderer = renderer

    def __call__(self, logger: WrappedLogger, method: str, event: EventDict) -> str:
        return scrub_text(str(self.renderer(logger, method, event)))


def configure_logging(
    level: str = "INFO", *, json: bool | None = None, stream: TextIO | None = None
) -> None:
    """Send every log line (the hub's and the libraries') through one masked pipeline.

    JSON lines when the stream is not a terminal (or json=True); readable lines on a terminal.
    """
    stream = stream or sys.stderr
    if json is None:
        json = not stream.isatty()
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        mask_personal_data,
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    structlog.configure(
        # A line below the level is dropped before any of the work on it is done.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _Scrubbed(renderer),
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # Alembic announces every plugin and migration step at INFO; only its problems matter here.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
