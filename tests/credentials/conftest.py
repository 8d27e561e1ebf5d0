"""The web fixtures (SQLite app, throwaway PostgreSQL databases) for the credential tests."""

from tests.web.conftest import postgres_template, postgres_url, sqlite_url

__all__ = ["postgres_template", "postgres_url", "sqlite_url"]
