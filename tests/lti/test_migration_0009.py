"""Revision 0009_lti2 adds and drops ``lti_launches.lineitems_url`` on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect

from tests.verify.test_migration import _run, empty_url
from web.db.connection import Database
from web.db.migrate import migrate

__all__ = ["empty_url"]


def columns(db: Database) -> set[str]:
    return {c["name"] for c in inspect(db.engine).get_columns("lti_launches")}


def test_0009_up_down_up(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        migrate(db, "0008_lti")
        assert "lineitems_url" not in columns(db)
        migrate(db)
        assert "lineitems_url" in columns(db)
        _run(db, "downgrade", "0008_lti")
        assert "lineitems_url" not in columns(db) and "lineitem_url" in columns(db)
        migrate(db)
        assert "lineitems_url" in columns(db)
    finally:
        db.dispose()
