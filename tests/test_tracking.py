"""The applicant's own view: reference and query code from the receipt, no personal data."""

from __future__ import annotations

from tests.conftest import HubDriver, by_step
from tests.samples import HOUSEHOLD_TRANSFER, ZHANG_WEI_ID


async def test_receipt_holder_sees_progress_without_personal_data(hub: HubDriver) -> None:
    """With reference and code (no token), the matter, each department's state and the due date."""
    receipt = await (await hub.post("/api/v1/applications", json=HOUSEHOLD_TRANSFER)).json()
    # The police hold the filing; social insurance's step waits for their approval.
    await hub.wait_for(
        receipt["id"],
        lambda v: by_step(v)["household_registration"]["state"] == "submitted",
    )
    reference, code = receipt["reference"], receipt["query_code"]
    response = await hub.get(f"/api/v1/track/{reference.lower()}?code={code}", token=None)
    assert response.status == 200
    view = await response.json()
    assert view["reference"] == reference
    assert view["matter"]["name"].startswith("Household registration")
    assert [(s["department"], s["state"]) for s in view["steps"]] == [
        ("Public Security Bureau", "submitted"),
        ("Social Insurance Center", "waiting"),
    ]
    assert view["due"]["promised"] == receipt["due"]["promised"]
    text = str(view)
    for personal in (ZHANG_WEI_ID, "张伟", "13800138000", "人民路", receipt["id"]):
        assert personal not in text


async def test_wrong_codes_are_404_then_the_reference_is_locked(hub: HubDriver) -> None:
    """A wrong code and an unknown reference look the same; ten wrong codes lock the reference."""
    receipt = await (await hub.post("/api/v1/applications", json=HOUSEHOLD_TRANSFER)).json()
    reference, code = receipt["reference"], receipt["query_code"]
    unknown = await hub.get("/api/v1/track/260101-0000-0000?code=123456", token=None)
    assert unknown.status == 404
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(10):
        response = await hub.get(f"/api/v1/track/{reference}?code={wrong}", token=None)
        assert response.status == 404
    locked = await hub.get(f"/api/v1/track/{reference}?code={code}", token=None)
    assert locked.status == 429
    assert locked.headers["Retry-After"] == "3600"


async def test_a_repeated_filing_prints_the_same_receipt(hub: HubDriver) -> None:
    """With the same Idempotency-Key, the second answer carries the same reference and code."""
    headers = {"Idempotency-Key": "receipt-printer-jam"}
    first = await (
        await hub.post("/api/v1/applications", json=HOUSEHOLD_TRANSFER, headers=headers)
    ).json()
    again = await (
        await hub.post("/api/v1/applications", json=HOUSEHOLD_TRANSFER, headers=headers)
    ).json()
    assert (first["reference"], first["query_code"]) == (again["reference"], again["query_code"])
