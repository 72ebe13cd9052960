"""What the frontend asks for: intake (a submission checked against record, catalog and plugins),
filing (stored with its deliveries in one transaction), corrections and cancellation.

Imports `hub.model`, `hub.store`, `hub.plugin`, `hub.ops` and `hub.delivery`; the API builds on it.
"""
