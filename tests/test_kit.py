"""The adapter kit fails a careless adapter, test by test, saying what to change: it can fail."""

from __future__ import annotations

import os

import pytest

from tests.conftest import REPO

pytest_plugins = ["pytester"]

CARELESS = '''
import structlog

from adapters.social_security import SocialSecurityAdapter
from hub.plugin.adapter import DepartmentState, DepartmentStatus, PermanentError, TransientError
import tests.test_conformance as shipped

log = structlog.get_logger("careless")


class CarelessAdapter(SocialSecurityAdapter):
    """Three mistakes a new adapter author makes."""

    name = "careless"

    def prepare(self, record, step, context):
        log.info("preparing", applicant=record.applicant.name)  # personal data in a log
        return super().prepare(record, step, context)

    async def send(self, payload, context):
        try:
            return await super().send(payload, context)
        except TransientError as exc:  # "the department is down": not retried, ever
            raise PermanentError("down", str(exc)) from exc

    async def query_status(self, receipt):
        return DepartmentStatus(DepartmentState.IN_REVIEW)  # every state, and no code


class TestCareless(shipped.TestSocialSecurity):
    adapter = CarelessAdapter
'''


def test_the_kit_fails_a_careless_adapter_and_says_what_to_change(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    )
    pytester.makepyfile(test_careless=CARELESS)
    # An adapter package's own settings, in pytest-asyncio's strict mode: the kit must not
    # depend on the hub's asyncio_mode = "auto".
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist", "-rf")
    failed = {
        "test_a_timeout_is_transient",
        "test_server_errors_are_transient[500]",
        "test_server_errors_are_transient[503]",
        "test_a_dropped_connection_is_transient",
        "test_query_status_maps_every_department_state",
        "test_no_personal_data_in_the_adapters_log_events",
        "test_the_hub_delivers_through_the_adapter",  # the approval never shows
    }
    output = result.stdout.str()
    for name in failed:
        assert f"FAILED test_careless.py::TestCareless::{name}" in output, output
    result.stdout.fnmatch_lines(["*What to change: *TransientError*", "*What to change: log *"])
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == len(failed), result.stdout.str()
    assert outcomes.get("passed") == 5, output  # what it does right still passes
