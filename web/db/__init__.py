"""Storage: one schema (SQLAlchemy Core), migrated by Alembic on SQLite and PostgreSQL."""
