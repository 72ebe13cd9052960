"""What is filed: the demo applications of two matters, alternating, and their steps' DAG."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.model.catalog import Catalog

MATTERS = ("business.startup", "household.transfer")
"""Company start-up (four departments, three after the first) and household transfer (two in
a row): between them SOAP with WS-Security digests, SOAP in GB18030, JSON REST and a legacy
form gateway, and both shapes of DAG."""

# The record as the hub normalizes it and its adapters map it (codes, legal text as filed, E.164):
# the bare clients send these very values.
WIRE_FIELDS: dict[str, dict[str, Any]] = {
    "business.startup": {
        "company_name": "示范市云帆科技有限公司",
        "enterprise_type": "5100",
        "tax_type": "330",
        "registered_capital": 500,
        "business_address": "示范市高新区创新大道1号",
        "business_scope": "软件开发；信息技术咨询服务",
        "employees": 12,
        "investors": [
            {
                "type": "organization",
                "name": "Cloudsail Holdings Pte. Ltd.",
                "country": "SGP",
                "creditCode": None,
                "registrationNo": "201912345K",
                "contribution": 300.0,
            },
            {
                "type": "person",
                "name": "陈大文",
                "idType": "210",
                "idNumber": "H12345678",
                "nationality": "HKG",
                "contribution": 200.0,
            },
        ],
        "legal_name": "Tan Ah Kow",
        "legal_id_type": "208",
        "legal_id_number": "K1234567A",
        "legal_nationality": "SGP",
        "legal_sex": "male",
        "legal_birth_date": "1978-06-15",
        "legal_phone": "+8613900139000",
        "seal_kinds": ["01", "02", "04"],
    },
    "household.transfer": {
        "name": "张伟",
        "id_number": "11010519900307451X",
        "phone": "+8613800138000",
        "from_address": "北京市朝阳区建国路88号",
        "to_address": "示范市新城区人民路12号",
        "reason": "01",
        "move_date": "2026-11-20",
    },
}


@dataclass(frozen=True)
class PlannedStep:
    """One step of a matter as the bare clients carry it."""

    name: str
    department: str
    operation: str
    after: tuple[str, ...]
    """Steps whose decision this one waits for (the hub's default: their approval)."""
    uses: Mapping[str, str]
    after_received: tuple[str, ...] = ()
    """Steps whose receipt is enough."""


def matter_of(index: int) -> str:
    """The matter of the index-th application: the two alternate."""
    return MATTERS[index % len(MATTERS)]


def plans(catalog: Catalog) -> dict[str, list[PlannedStep]]:
    """Each benchmarked matter's steps, from the catalog the hub itself reads."""
    return {
        code: [
            PlannedStep(s.name, s.department, s.operation, s.after, dict(s.uses), s.after_received)
            for s in catalog.matters[code].steps.values()
        ]
        for code in MATTERS
    }


def bodies(config_dir: Path) -> dict[str, bytes]:
    """The API request body of each matter, from the demo's sample applications."""
    return {
        code: json.dumps(json.loads((config_dir / "demo" / f"{code}.json").read_text())).encode()
        for code in MATTERS
    }
