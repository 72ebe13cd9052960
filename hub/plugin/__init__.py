"""The contract with adapters and plugins: every hook (hookspecs), the adapter base class and its
errors (adapter), the pluggy manager and its one typed facade (manager), one adapter per department
(registry).

Imports `hub.model` only; adapters and plugins import this, never the other way round.
"""
