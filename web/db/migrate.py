"""Bring a database to the newest schema with Alembic (run at every start, idempotent)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from web.db.connection import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK_ID = 727_271_001  # PostgreSQL advisory lock: one migrator at a time


def alembic_config() -> Config:
    """An Alembic configuration pointing at the project's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(db: Database, revision: str = "head") -> None:
    """Upgrade ``db`` to ``revision``; concurrent starters wait for each other."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    config = alembic_config()
    with db.engine.connect() as conn:
        if db.is_sqlite:
            conn.execution_options(skillgauge_write=True)
        else:
            conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _LOCK_ID})
            conn.commit()
        try:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            conn.commit()
        finally:
            if not db.is_sqlite:
                conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _LOCK_ID})
                conn.commit()
