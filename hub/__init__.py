"""One Window Hub: one application at one window, carried to every department that must act."""

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("hub")
"""Marks a plugin's hook implementations: `@hookimpl def hub_adapters(): ...`."""
