"""The operators' web console at /console: server-rendered pages, a little script, no CDN.

Imports the engine, the applications, `hub.ops`, `hub.store` and `hub.runtime`; the API mounts it.
"""
