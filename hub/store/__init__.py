"""The store: SQLAlchemy Core over SQLite (embedded) or PostgreSQL (many hub processes): tables,
queries, leases, Alembic migrations; the store is the queue.

Imports `hub.model` only; everything above the model may import it.
"""
