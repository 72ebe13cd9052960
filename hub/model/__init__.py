"""The work the center does, as pure rules: the record, identities, fields, the catalog,
departments, time limits, delivery states and configuration files.

Imports nothing of the hub's but itself: no store, no network, no web; everything else builds on it.
"""
