"""Applicant notifications: an SMS gateway stand-in that writes each message to a JSON-lines file.

A real deployment replaces the write with its SMS or e-mail gateway's API; what to say, and to
whom, stays here. The file is HUB_NOTIFICATIONS_FILE (default var/notifications.jsonl).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub import hookimpl
from hub.ops.privacy import mask_phone

WORDS = {
    "submitted": "已受理",
    "in_progress": "办理中",
    "needs_correction": "需补正材料，请按通知补正",
    "approved": "已办结",
    "rejected": "未通过",
    "cancelled": "已撤回",
    "failed": "办理受阻，工作人员正在处理",
}


def outbox() -> Path:
    """Where messages are written."""
    return Path(os.environ.get("HUB_NOTIFICATIONS_FILE", "var/notifications.jsonl"))


def recipient(record: Mapping[str, Any]) -> str | None:
    """The applicant's mobile: the person's own, or the legal representative's."""
    applicant = record.get("applicant", {})
    phone = applicant.get("phone") or applicant.get("legal_representative", {}).get("phone")
    return str(phone) if phone else None


def message(application: Mapping[str, Any], new: str) -> str:
    """The text: the reference and the status in words, never the applicant's personal data."""
    return f"【政务服务中心】您的申请（受理编号 {application['reference']}）{WORDS.get(new, new)}。"


def _append(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")


@hookimpl
async def hub_status_changed(application: Mapping[str, Any], old: str | None, new: str) -> None:
    """Send (here: write) one message to the applicant for each change of status."""
    phone = recipient(application["record"])
    if not phone:
        return
    entry = {
        "at": datetime.now(UTC).isoformat(),
        "channel": "sms",
        # The gateway stand-in keeps the number masked: the file is read by people, like a log.
        "to": mask_phone(phone),
        "application_id": application["id"],
        "reference": application["reference"],
        "status": new,
        "text": message(application, new),
    }
    await asyncio.to_thread(_append, outbox(), json.dumps(entry, ensure_ascii=False))


SUPERVISION_WORDS = {"amber": "临近承诺时限（黄灯）", "red": "已超过承诺时限（红灯）"}


@hookimpl
async def hub_supervision_changed(application: Mapping[str, Any], old: str, new: str) -> None:
    """Alert the center's supervisors (here: write one line) when a case turns amber or red.

    The alert names the reference, matter and promised date only: supervisors look the case up;
    the applicant's personal data stays out of the message.
    """
    promised = application.get("promised_due")
    entry = {
        "at": datetime.now(UTC).isoformat(),
        "channel": "supervisors",
        "application_id": application["id"],
        "reference": application["reference"],
        "supervision": new,
        "text": f"【效能监察】受理编号 {application['reference']}（{application['matter']}）"
        f"{SUPERVISION_WORDS.get(new, new)}，承诺办结日 {promised}。",
    }
    await asyncio.to_thread(_append, outbox(), json.dumps(entry, ensure_ascii=False, default=str))
