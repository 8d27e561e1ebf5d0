"""The web fixtures (SQLite app, throwaway PostgreSQL databases) for the LTI tests."""

from tests.web.conftest import database_url, postgres_template, postgres_url, sqlite_url

__all__ = ["database_url", "postgres_template", "postgres_url", "sqlite_url"]
