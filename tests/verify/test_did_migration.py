"""Revision 0006_did upgrades and downgrades on SQLite and PostgreSQL, keeping the sessions."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, text

from tests.verify.test_migration import _columns, _run, empty_url, seed_session
from web.db.connection import Database
from web.db.migrate import migrate

__all__ = ["empty_url"]


def test_0006_up_down_up_keeps_sessions(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        migrate(db, "0005_qti2")
        now = datetime.now(UTC)
        seed_session(db, now, did="did:key:z6Mk")
        assert "did_verified_at" not in _columns(db, "learner_sessions")
        migrate(db)
        assert "did_verified_at" in _columns(db, "learner_sessions")
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE learner_sessions SET did_verified_at = :now"), {"now": now})
            conn.execute(
                text(
                    "INSERT INTO did_challenges (nonce_hash, session_id, did, created_at,"
                    " expires_at) VALUES ('n', 's1', 'did:key:z6Mk', :now, :now)"
                ),
                {"now": now},
            )
        _run(db, "downgrade", "0005_qti2")
        assert "did_verified_at" not in _columns(db, "learner_sessions")
        assert "did_challenges" not in inspect(db.engine).get_table_names()
        with db.engine.connect() as conn:
            kept = conn.execute(text("SELECT id, learner_did FROM learner_sessions")).all()
        assert [tuple(r) for r in kept] == [("s1", "did:key:z6Mk")]
        migrate(db)
        with db.engine.connect() as conn:
            verified = conn.execute(text("SELECT did_verified_at FROM learner_sessions")).scalar()
            challenges = conn.execute(text("SELECT count(*) FROM did_challenges")).scalar()
        assert verified is None and challenges == 0
    finally:
        db.dispose()
