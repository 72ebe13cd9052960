"""The adapter kit: what a department's IT team uses to test an adapter against the contract.

Subclass `AdapterConformance` in your adapter's tests; the pytest plugin (registered through the
`pytest11` entry point as `hub_adapter_kit`) provides the `kit` fixture its tests use.

Imports whatever of the hub it runs in process (the API included); nothing of the hub imports it.
"""

from hub.testing.conformance import AdapterConformance
from hub.testing.proxy import FaultProxy

__all__ = ["AdapterConformance", "FaultProxy"]
