"""The engine: the dispatcher claims due deliveries and hands each to the job that does it (sending,
status, withdrawal), through calls that are recorded first; the relay announces status changes;
flow releases and settles steps; dead letters wait for a replay.

Imports `hub.model`, `hub.store`, `hub.plugin`, `hub.transports` and `hub.ops`; never the API.
"""

from __future__ import annotations

import warnings
from typing import Any


def __getattr__(name: str) -> Any:
    # Release 0.1's `hub.delivery` was the module of delivery states, now `hub.model.states`.
    from hub.model import states

    if name.startswith("__") or not hasattr(states, name):
        raise AttributeError(f"module 'hub.delivery' has no attribute {name!r}")
    warnings.warn(
        f"hub.delivery.{name} has moved to hub.model.states.{name}; import it from there "
        "(the old path goes away in release 0.3)",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(states, name)
