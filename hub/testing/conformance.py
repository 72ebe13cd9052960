"""The adapter contract as tests: subclass `AdapterConformance`, say where your test system is,
and every test tells you, when it fails, what the hub expected and what to change."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, NoReturn

import pytest
import structlog
from structlog.testing import capture_logs

from hub.model.states import FINAL, DeliveryState
from hub.ops.privacy import PERSONAL_KEYS
from hub.plugin.adapter import (
    Adapter,
    DepartmentError,
    DepartmentState,
    DepartmentStatus,
    PermanentError,
    Receipt,
    TransientError,
    supports,
)
from hub.testing.kit import STEP, Kit
from hub.testing.proxy import Mode

# Where a delivery ends in the hub: decided, or failed before it could be sent.
FINAL_STATES = {state.value for state in (*FINAL, DeliveryState.FAILED)}


def fail(found: str, change: str) -> NoReturn:
    """Fail a conformance test with what was found and what to change, without a traceback."""
    pytest.fail(f"{found}\n\n  What to change: {change}", pytrace=False)


def personal_values(data: Any, key: str = "") -> Iterator[str]:
    """Every personal value in an application body (a phone also without +86), to find in logs."""
    if isinstance(data, Mapping):
        for name, value in data.items():
            yield from personal_values(value, name)
    elif isinstance(data, list | tuple):
        for item in data:
            yield from personal_values(item, key)
    elif key in PERSONAL_KEYS and isinstance(data, str) and len(data) >= 2:
        yield data
        if data.startswith("+86"):
            yield data[3:]


@contextmanager
def captured_logs() -> Iterator[list[str]]:
    """Every structlog event and standard logging record emitted inside, rendered as text."""
    rendered: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            rendered.append(record.getMessage())

    handler = Collect(logging.DEBUG)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        with capture_logs() as events:
            yield rendered
        rendered.extend(json.dumps(event, default=str, ensure_ascii=False) for event in events)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


class AdapterConformance:
    """The hub's adapter contract, as a test class to subclass in an adapter package's tests.

    Set the class attributes below and provide two things: a `department` fixture that yields
    the base URL of a running test system of the department's, and `decide()`, which makes that
    system decide a case. The `kit` fixture (from the `hub_adapter_kit` pytest plugin) puts a
    fault proxy between the adapter and the test system.
    """

    # Inherited by subclasses: the tests run on asyncio whatever the author's asyncio_mode.
    pytestmark = pytest.mark.asyncio

    adapter: ClassVar[type[Adapter]]
    """The adapter class under test."""
    department_file: ClassVar[Path]
    """The department's configuration file (its endpoint is replaced by the kit's proxy)."""
    matter_file: ClassVar[Path]
    """A matter file whose fields and applicant kind `application` fits; its steps are not used."""
    operation: ClassVar[str]
    """The step operation under test."""
    application: ClassVar[Mapping[str, Any]]
    """An application body the department accepts (its "matter" is filled in by the kit)."""
    refused: ClassVar[Mapping[str, Any] | None] = None
    """An application body the department refuses for its content; None to skip that test."""
    refused_inputs: ClassVar[Mapping[str, Any] | None] = None
    """Inputs for the refused application, when they are what the department refuses."""
    refusal_code: ClassVar[str | None] = None
    """The department's own code for that refusal, as the adapter must report it."""
    inputs: ClassVar[Mapping[str, Any]] = {}
    """Earlier steps' outputs the operation reads (e.g. a credit code), as the hub passes them."""
    credentials: ClassVar[Mapping[str, str]] = {}
    """Test values of the department's credentials, by name (set in their environment variables)."""
    states: ClassVar[Mapping[str, str]] = {}
    """Every state code the department reports, mapped to the hub state it must become."""
    timeout: ClassVar[float] = 1.0
    """Seconds the kit lets a call take before the hang test calls it a timeout."""

    async def decide(self, endpoint: str, receipt: Receipt, code: str) -> None:
        """Make the test system at `endpoint` put a submitted case into its state `code`."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement decide(endpoint, receipt, code) so the kit "
            "can walk a case through the department's states"
        )

    # ---- submission -------------------------------------------------------------------------

    async def test_submit_returns_a_receipt(self, kit: Kit) -> None:
        """A submission the department accepts comes back as a Receipt with its reference."""
        _, receipt = await kit.submit()
        if not isinstance(receipt, Receipt):
            fail(
                f"send() returned {receipt!r}",
                "return hub.plugin.adapter.Receipt(reference, outputs) from send()/receipt_from()",
            )
        if not isinstance(receipt.reference, str) or not receipt.reference.strip():
            fail(
                f"the receipt's reference is {receipt.reference!r}",
                "read the department's own case number into Receipt.reference (a non-empty str)",
            )
        try:
            json.dumps(dict(receipt.outputs))
        except (TypeError, ValueError) as exc:
            fail(
                f"the receipt's outputs cannot be stored as JSON: {exc}",
                "put only strings, numbers, booleans, lists and dicts in Receipt.outputs",
            )
        if receipt.state in FINAL_STATES - {"approved"}:
            fail(
                f"an accepted submission came back as {receipt.state}",
                "raise PermanentError for a refusal; a Receipt means the department took it in",
            )

    async def test_prepare_gives_the_same_bytes_every_time(self, kit: Kit) -> None:
        """The payload is built once and stored: building it again must give the same bytes."""
        context = kit.context()
        record = kit.record()
        first = kit.adapter.prepare(record, kit.step, context)
        second = kit.adapter.prepare(record, kit.step, context)
        if first.body != second.body or first.operation != second.operation:
            fail(
                "prepare() built different payloads for the same record and delivery",
                "keep prepare() deterministic (no clock, random or nonce in it); add what must "
                "be fresh per call (a WS-Security nonce, a timestamp) in send()",
            )

    async def test_the_delivery_key_and_application_id_reach_the_department(self, kit: Kit) -> None:
        """Every call carries the delivery key and application id, so both logs can be matched."""
        context, _ = await kit.submit()
        seen = kit.proxy.seen
        if not seen:
            fail(
                "no request reached the department",
                "send through self.request()/self.call() (or hub.transports.http.exchange) to "
                "the department's configured endpoint",
            )
        for value, what in (
            (context.delivery_key, "delivery key"),
            (context.application_id, "application id"),
        ):
            if not any(
                value.encode() in request.body or value in " ".join(request.headers.values())
                for request in seen
            ):
                fail(
                    f"the {what} {value!r} was in no header and no body the department received",
                    "send it: the REST and SOAP bases add X-Hub-Delivery-Key and "
                    "X-Hub-Application-Id headers when you pass the context to request()/call(); "
                    "put the delivery key in the department's own request-id field as well",
                )

    # ---- failures ---------------------------------------------------------------------------

    async def _expect_transient(self, kit: Kit, mode: Mode, change: str) -> TransientError:
        kit.proxy.misbehave(mode)
        try:
            await kit.submit()
        except Exception as exc:  # judged below, outside the handler, for a report without a chain
            raised: Exception | None = exc
        else:
            raised = None
        finally:
            kit.proxy.misbehave("pass")
        if isinstance(raised, TransientError):
            return raised
        outcome = "returned a receipt" if raised is None else f"raised {raised!r}"
        fail(f"with the department answering {mode!r}, submit {outcome}", change)

    async def test_a_timeout_is_transient(self, kit: Kit) -> None:
        """A department that does not answer in time: TransientError, outcome unknown."""
        error = await self._expect_transient(
            kit,
            "hang",
            "let timeouts propagate from the base class's exchange() (it raises TransientError); "
            "do not catch asyncio.TimeoutError or aiohttp errors yourself",
        )
        if not error.outcome_unknown:
            fail(
                "a timeout after sending was reported with outcome_unknown=False",
                "set outcome_unknown=True: the department may have taken the filing in",
            )

    @pytest.mark.parametrize("mode", ["500", "503"])
    async def test_server_errors_are_transient(self, kit: Kit, mode: Mode) -> None:
        """HTTP 500 and 503 from the department: TransientError, so the hub retries."""
        await self._expect_transient(
            kit,
            mode,
            "map 5xx answers to TransientError (RestAdapter.check_status and SoapAdapter.call do; "
            "if you override them, keep that)",
        )

    async def test_a_dropped_connection_is_transient(self, kit: Kit) -> None:
        """The connection reset mid-request: TransientError."""
        await self._expect_transient(
            kit,
            "reset",
            "let aiohttp's connection errors reach the base class's exchange(), which maps them",
        )

    async def test_a_refusal_is_permanent_with_the_departments_code(self, kit: Kit) -> None:
        """A refusal of the content: PermanentError carrying the department's own code."""
        if self.refused is None:
            pytest.skip("no `refused` application given")
        try:
            await kit.submit(self.refused, inputs=self.refused_inputs)
        except DepartmentError as exc:  # judged below, outside the handler
            error: DepartmentError | None = exc
        else:
            error = None
        if error is None:
            fail("the department's refusal came back as a receipt", "raise PermanentError for it")
        if isinstance(error, TransientError):
            fail(
                f"a refusal was reported as transient ({error.code}): the hub would retry it",
                "raise PermanentError for validation faults (4xx, SOAP Client faults, the "
                "department's refusal codes)",
            )
        if self.refusal_code is not None and error.code != self.refusal_code:
            fail(
                f"the refusal carried code {error.code!r}, not the department's "
                f"{self.refusal_code!r}",
                "read the department's own error code into PermanentError(code, message)",
            )
        if not error.message:
            fail(
                "the refusal has no message",
                "pass the department's own message on: the clerk shows it to the applicant",
            )

    # ---- status -----------------------------------------------------------------------------

    async def test_query_status_maps_every_department_state(
        self, kit: Kit, department: str
    ) -> None:
        """Each state the department reports becomes the hub's state, its own code kept."""
        if not self.states:
            fail(
                "no department states listed in `states`",
                "list every state code the department reports and the hub state it means",
            )
        vocabulary = {state.value for state in DepartmentState}
        for code, expected in self.states.items():
            if expected not in vocabulary:
                fail(
                    f"states[{code!r}] = {expected!r} is not a hub state",
                    f"use one of {sorted(vocabulary)}",
                )
            _, receipt = await kit.submit()
            await self.decide(department, receipt, code)
            status = await kit.adapter.query_status(receipt)
            if not isinstance(status, DepartmentStatus) or status.state != expected:
                fail(
                    f"the department's state {code!r} came back as {status!r}, not {expected!r}",
                    "map each of the department's codes to a DepartmentState in query_status",
                )
            if status.code != code:
                fail(
                    f"the department's own code {code!r} was reported as {status.code!r}",
                    "keep the department's code beside the state: DepartmentStatus(state, code=…)",
                )

    # ---- lookup -----------------------------------------------------------------------------

    async def test_an_earlier_submission_is_found_or_not_filed_twice(self, kit: Kit) -> None:
        """After a lost answer the hub must not file twice: lookup finds the earlier filing, or
        the department deduplicates on the delivery key."""
        context, receipt = await kit.submit()
        if supports(kit.adapter, "lookup"):
            found = await kit.adapter.lookup(context.delivery_key)
            if found is None or found.reference != receipt.reference:
                fail(
                    f"lookup({context.delivery_key!r}) found {found!r}, not {receipt.reference!r}",
                    "search the department by the delivery key you sent as its request id",
                )
            if await kit.adapter.lookup(kit.context().delivery_key) is not None:
                fail(
                    "lookup found a submission for a delivery key never sent",
                    "return None when the department has no filing with that key",
                )
            return
        _, again = await kit.submit(context=context)
        if again.reference != receipt.reference:
            fail(
                "sending the same delivery twice filed two cases "
                f"({receipt.reference!r}, {again.reference!r})",
                "send the delivery key where the department deduplicates on it, or implement "
                "lookup(delivery_key) so the hub can ask before sending again",
            )

    # ---- privacy ----------------------------------------------------------------------------

    async def test_no_personal_data_in_the_adapters_log_events(self, kit: Kit) -> None:
        """Names, ID numbers, phones and addresses never appear in clear in log events."""
        with captured_logs() as logs:
            structlog.get_logger("hub.testing").info("kit.start")
            _, receipt = await kit.submit()
            await kit.adapter.query_status(receipt)
            if self.refused is not None:
                with pytest.raises(PermanentError):
                    await kit.submit(self.refused, inputs=self.refused_inputs)
        text = "\n".join(logs)
        if "kit.start" not in text:
            fail("the kit could not capture log events", "report this to the hub's maintainers")
        for value in set(personal_values(self.application)) | set(
            personal_values(self.refused or {})
        ):
            if value in text:
                fail(
                    f"a personal value ({value[:1]}…) appears in clear in the log events",
                    "log references, codes and sizes, never record fields; mask with "
                    "hub.ops.privacy.mask_value(key, value) if a field must be shown",
                )

    # ---- end to end -------------------------------------------------------------------------

    async def test_the_hub_delivers_through_the_adapter(self, kit: Kit, department: str) -> None:
        """The hub, in this process, files an application through the adapter and follows the
        department's decision to the end."""
        async with kit.hub() as hub:
            application_id = await hub.file({**self.application, "matter": kit.matter.code})
            event = await hub.until(application_id, STEP, {"submitted", "in_review", *FINAL_STATES})
            if event["new"] in FINAL_STATES - {"approved"}:
                view = await hub.view(application_id)
                fail(
                    f"the hub's delivery ended {event['new']}: {view['deliveries']}",
                    "see the delivery's last_error and attempts above",
                )
            view = await hub.view(application_id)
            delivery = next(d for d in view["deliveries"] if d["step"] == STEP)
            if delivery["receipt"] is None:
                fail("the delivery has no receipt", "return Receipt(reference, …) from send()")
            approved = [code for code, state in self.states.items() if state == "approved"]
            if approved:
                receipt = Receipt(delivery["receipt"]["reference"])
                await self.decide(department, receipt, approved[0])
                await hub.until(application_id, STEP, {"approved"})
