"""Sample applications as a frontend sends them: the demo's own filings, one per matter."""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.conftest import CONFIG

# 18-digit resident ID numbers with valid GB 11643 check digits (made up, never real people).
ZHANG_WEI_ID = "11010519900307451X"
LI_NA_ID = "310115198511202624"
WANG_JIANGUO_ID = "440306197806150031"


def _load(matter: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CONFIG / "demo" / f"{matter}.json").read_text())
    return data


HOUSEHOLD_TRANSFER = _load("household.transfer")
BUSINESS_STARTUP = _load("business.startup")
# The demo's start-up is foreign-invested (a passport-holding legal representative, a Singapore
# company and a Hong Kong investor); this one is a mainland company of one mainland investor.
DOMESTIC_STARTUP = copy.deepcopy(BUSINESS_STARTUP)
DOMESTIC_STARTUP["applicant"]["legal_representative"] = {
    "name": "王建国",
    "id_type": "resident_id",
    "id_number": WANG_JIANGUO_ID,
    "phone": "+86 139-0013-9000",
}
DOMESTIC_STARTUP["applicant"]["investors"] = [
    {
        "kind": "person",
        "name": "王建国",
        "id_type": "resident_id",
        "id_number": WANG_JIANGUO_ID,
        "contribution": BUSINESS_STARTUP["form"]["registered_capital"],
    }
]
CARD_APPLICATION = _load("social_security.card")
HOUSING_FUND_ACCOUNT = _load("housing_fund.account")
ALL = {
    m["matter"]: m
    for m in (HOUSEHOLD_TRANSFER, BUSINESS_STARTUP, CARD_APPLICATION, HOUSING_FUND_ACCOUNT)
}


def sample(matter: str, **form: Any) -> dict[str, Any]:
    """A fresh copy of a matter's sample application, with form fields overridden."""
    data = copy.deepcopy(ALL[matter])
    data["form"].update(form)
    return data
