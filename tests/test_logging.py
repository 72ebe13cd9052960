"""Logs: structured, with bound context, and no personal data in clear text."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from hub.ops.logging import configure_logging
from tests.samples import LI_NA_ID, ZHANG_WEI_ID


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Logging configured to JSON lines in memory; the previous configuration restored after."""
    saved = logging.getLogger().handlers[:], logging.getLogger().level
    buffer = io.StringIO()
    configure_logging("DEBUG", json=True, stream=buffer)
    yield buffer
    structlog.reset_defaults()
    logging.getLogger().handlers, level = saved
    logging.getLogger().setLevel(level)


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_personal_fields_are_masked_by_key(stream: io.StringIO) -> None:
    """Values under id_number, phone, name and address keys never appear in clear."""
    structlog.get_logger("test").info(
        "applicant.seen",
        id_number=ZHANG_WEI_ID,
        phone="+8613800138000",
        name="张伟",
        address="示范市新城区人民路12号",
        applicant={"legal_representative": {"name": "王建国", "id_number": LI_NA_ID}},
    )
    text = stream.getvalue()
    for secret in (ZHANG_WEI_ID, "13800138000", "张伟", "人民路12号", "王建国", LI_NA_ID):
        assert secret not in text
    [line] = lines(stream)
    assert line["id_number"].startswith("110105")
    assert line["id_number"].endswith("451X")
    assert line["event"] == "applicant.seen"


def test_numbers_inside_free_text_are_scrubbed(stream: io.StringIO) -> None:
    """An ID or mobile number that slipped into a message is scrubbed from the line."""
    structlog.get_logger("test").warning(f"department said: {LI_NA_ID} 13700137000 is invalid")
    logging.getLogger("aiohttp.client").error("failed for %s", ZHANG_WEI_ID)
    text = stream.getvalue()
    assert LI_NA_ID not in text
    assert "13700137000" not in text
    assert ZHANG_WEI_ID not in text
    assert len(lines(stream)) == 2


def test_context_is_bound_once_and_carried_by_every_event(stream: io.StringIO) -> None:
    """application_id, delivery_id, department and attempt bound once appear on each line."""
    with structlog.contextvars.bound_contextvars(
        application_id="APP-1", delivery_id="D-1", department="tax", attempt=2
    ):
        structlog.get_logger("test").info("one")
        logging.getLogger("library").info("two")
    structlog.get_logger("test").info("three")
    one, two, three = lines(stream)
    for line in (one, two):
        assert (
            line["application_id"],
            line["delivery_id"],
            line["department"],
            line["attempt"],
        ) == ("APP-1", "D-1", "tax", 2)
    assert "application_id" not in three
