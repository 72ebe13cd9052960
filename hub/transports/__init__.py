"""How adapters reach legacy systems: one aiohttp stack for SOAP and REST, every call recorded.

Imports `hub.model` and `hub.plugin` (the adapter contract) only; adapters build on it.
"""
