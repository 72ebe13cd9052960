"""The store: SQLAlchemy Core over SQLite (embedded) or PostgreSQL (many hub processes)."""
