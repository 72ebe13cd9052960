"""Dead letters: a delivery past its retry limit keeps its history; an operator replays it."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.conftest import OPERATOR, HubDriver, SimulatorControl, by_step, hub_command
from tests.samples import CARD_APPLICATION

# The social insurance gateway gets one try per claim and three in all.
pytestmark = pytest.mark.parametrize(
    "department_overrides",
    [{"social_security": {"retry": {"max_attempts": 3, "quick_attempts": 1}}}],
)


def delivered(view: dict[str, Any]) -> bool:
    return all(d["state"] not in ("waiting", "pending") for d in view["deliveries"])


async def dead_card(hub: HubDriver, sim: SimulatorControl) -> tuple[str, dict[str, Any]]:
    """A card application whose only delivery died: the gateway was busy on every try."""
    await sim.faults("social_security", error_rate=1.0)
    application_id = await hub.submit(CARD_APPLICATION)
    view = await hub.wait_for(application_id, delivered, within=30)
    card = by_step(view)["card_application"]
    assert card["state"] == "dead"
    assert view["status"] == "failed"
    assert [a["outcome"] for a in card["attempts"]] == ["transient"] * 3
    return application_id, card


async def test_dead_letter_is_replayed_once_the_fault_is_gone(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """The gateway busy past the retry limit: a dead letter with its history; after the fault, an
    operator's replay delivers it once, with the same payload bytes."""
    application_id, card = await dead_card(hub, sim)
    response = await hub.get("/api/v1/deliveries?state=dead", token=OPERATOR)
    assert [d["id"] for d in (await response.json())["items"]] == [card["id"]]
    await sim.faults("social_security")
    response = await hub.post(f"/api/v1/deliveries/{card['id']}/replay", token=OPERATOR)
    assert response.status == 202
    view = await hub.wait_for(application_id, delivered, within=30)
    card = by_step(view)["card_application"]
    assert card["state"] == "submitted"
    assert view["status"] == "in_progress"
    assert [a["outcome"] for a in card["attempts"]][-1] == "accepted"
    assert len({a["payload_sha256"] for a in card["attempts"] if a["kind"] == "submit"}) == 1
    report = await sim.received("social_security")
    assert report["by_key"][card["delivery_key"]]["cases"] == 1
    again = await hub.post(f"/api/v1/deliveries/{card['id']}/replay", token=OPERATOR)
    assert again.status == 409


async def test_hub_replay_command_sends_every_dead_letter_again(
    hub: HubDriver, sim: SimulatorControl, store_url: str
) -> None:
    """`hub deliveries --state dead` lists it; `hub replay --all-dead` replays it from the shell,
    and the running hub delivers it."""
    application_id, card = await dead_card(hub, sim)
    env = {**os.environ, "HUB_STORE_URL": store_url}
    listed = await hub_command(env, "deliveries", "--state", "dead")
    assert listed.returncode == 0, listed.stderr
    assert card["id"] in listed.stdout
    assert "E999" in listed.stdout
    await sim.faults("social_security")
    replayed = await hub_command(env, "replay", "--all-dead", "--by", "duty-operator")
    assert replayed.returncode == 0, replayed.stderr
    assert "replayed 1 deliveries" in replayed.stdout
    view = await hub.wait_for(application_id, delivered, within=30)
    assert by_step(view)["card_application"]["state"] == "submitted"
    refused = await hub_command(env, "replay", card["id"])
    assert refused.returncode == 1
    assert "it is submitted, not dead or failed" in refused.stderr
