"""Revision 0004_verify upgrades and downgrades on SQLite and PostgreSQL, keeping the data."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from tests.web.conftest import POSTGRES_ADMIN_URL, _admin, _drop
from web.db.connection import Database
from web.db.migrate import alembic_config, migrate

NEW_COLUMNS = {
    "integrity",
    "award_status",
    "award_decided_at",
    "award_decided_by",
    "email_verified_at",
}


def _run(db: Database, action: str, revision: str) -> None:
    config = alembic_config()
    with db.engine.connect() as conn:
        if db.is_sqlite:
            conn.execution_options(skillgauge_write=True)
        config.attributes["connection"] = conn
        getattr(command, action)(config, revision)
        conn.commit()


def _columns(db: Database, table: str) -> set[str]:
    return {c["name"] for c in inspect(db.engine).get_columns(table)}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no revision applied) on each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    if os.environ.get("SKILLGAUGE_TEST_POSTGRES") == "skip":
        pytest.skip("PostgreSQL tests skipped on purpose (SKILLGAUGE_TEST_POSTGRES=skip)")
    name = f"sg_empty_{secrets.token_hex(6)}"
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    _drop(admin, name)
    admin.dispose()


def seed_session(db: Database, now: datetime, did: str | None = None) -> None:
    """One bank version, one assessment and one session ``s1`` (with ``did`` if given)."""
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO bank_versions (hash, bank_id, version_label, title, item_count,"
                " content, source_name, created_at) VALUES ('h', 'b', '1', 't', 0, '{}',"
                " 'x', :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO assessments (id, title, description, bank_hash, policy,"
                " feedback_mode, status, created_at) VALUES ('a1', 't', '', 'h', '{}',"
                " 'instant', 'open', :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO learner_sessions (id, assessment_id, state, version, learner_did,"
                " created_at, updated_at) VALUES ('s1', 'a1', '{}', 0, :did, :now, :now)"
            ),
            {"now": now, "did": did},
        )


def test_0004_up_down_up_keeps_sessions(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        migrate(db, "0003_i11")
        now = datetime.now(UTC)
        seed_session(db, now)
        assert not NEW_COLUMNS & _columns(db, "learner_sessions")
        migrate(db)
        assert _columns(db, "learner_sessions") >= NEW_COLUMNS
        assert "learner_links" in inspect(db.engine).get_table_names()
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE learner_sessions SET award_status = 'held' WHERE id = 's1'"))
            conn.execute(
                text(
                    "INSERT INTO learner_links (token_hash, purpose, email, session_id,"
                    " created_at, expires_at) VALUES ('t', 'verify', 'a@b.c', 's1', :now, :now)"
                ),
                {"now": now},
            )
        _run(db, "downgrade", "0003_i11")
        assert not NEW_COLUMNS & _columns(db, "learner_sessions")
        assert "learner_links" not in inspect(db.engine).get_table_names()
        with db.engine.connect() as conn:
            kept = conn.execute(text("SELECT id, assessment_id FROM learner_sessions")).all()
        assert [tuple(r) for r in kept] == [("s1", "a1")]
        migrate(db)
        with db.engine.connect() as conn:
            status = conn.execute(text("SELECT award_status FROM learner_sessions")).scalar_one()
        assert status is None
    finally:
        db.dispose()
