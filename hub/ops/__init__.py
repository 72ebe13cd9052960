"""What operators and auditors rely on: the audit trail, metrics, department health, maintenance
(pauses, replays), structured logging, privacy (masking personal data) and who may call what (auth).

Imports `hub.model` and `hub.store`; the engine, the API and the console build on it.
"""
