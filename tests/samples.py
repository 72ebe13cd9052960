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
