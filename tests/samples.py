"""Sample applications as a frontend would send them: one per matter, with real check digits."""

from __future__ import annotations

import copy
from typing import Any

# 18-digit resident ID numbers with valid GB 11643 check digits (made up, never real people).
ZHANG_WEI_ID = "11010519900307451X"
LI_NA_ID = "310115198511202624"
WANG_JIANGUO_ID = "440306197806150031"

HOUSEHOLD_TRANSFER: dict[str, Any] = {
    "matter": "household.transfer",
    "applicant": {
        "kind": "person",
        "name": "张伟",
        "id_type": "resident_id",
        "id_number": "11010519900307451x",  # lower-case check letter, as people type it
        "phone": "138 0013 8000",
        "address": "北京市朝阳区建国路88号",
    },
    "form": {
        "from_address": "北京市朝阳区建国路88号",
        "to_address": "示范市新城区人民路１２号",  # full-width digits
        "reason": "employment",
        "move_date": "2026年11月20日",
    },
}

BUSINESS_STARTUP: dict[str, Any] = {
    "matter": "business.startup",
    "applicant": {
        "kind": "organization",
        "name": "示范市云帆科技有限公司",
        "legal_representative": {
            "name": "王建国",
            "id_type": "resident_id",
            "id_number": WANG_JIANGUO_ID,
            "phone": "+86 139-0013-9000",
        },
    },
    "form": {
        "company_name": "示范市云帆科技有限公司",
        "company_type": "foreign_invested",
        "registered_capital": 500,
        "business_address": "示范市高新区创新大道1号",
        "business_scope": "软件开发；信息技术咨询服务",
        "employees": 12,
        "investor_country": "SGP",
        "seal_kinds": "official,finance,invoice",
    },
}

CARD_APPLICATION: dict[str, Any] = {
    "matter": "social_security.card",
    "applicant": {
        "kind": "person",
        "name": "李娜",
        "id_type": "resident_id",
        "id_number": LI_NA_ID,
        "phone": "13700137000",
        "address": "示范市老城区解放路5号",
    },
    "form": {"bank": "icbc", "mailing_address": "示范市老城区解放路5号"},
}

ALL = {m["matter"]: m for m in (HOUSEHOLD_TRANSFER, BUSINESS_STARTUP, CARD_APPLICATION)}


def sample(matter: str, **form: Any) -> dict[str, Any]:
    """A fresh copy of a matter's sample application, with form fields overridden."""
    data = copy.deepcopy(ALL[matter])
    data["form"].update(form)
    return data
