"""Revision 0008_lti upgrades and downgrades on SQLite and PostgreSQL, keeping the sessions."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, text

from tests.verify.test_migration import _run, empty_url, seed_session
from web.db.connection import Database
from web.db.migrate import migrate

__all__ = ["empty_url"]

LTI_TABLES = {"lti_platforms", "lti_states", "lti_nonces", "lti_deep_links", "lti_launches"}


def test_0008_up_down_up_keeps_sessions(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        migrate(db, "0006_did")
        now = datetime.now(UTC)
        seed_session(db, now)
        migrate(db, "0007_org")  # the seeded data moves into one organisation
        assert not LTI_TABLES & set(inspect(db.engine).get_table_names())
        migrate(db)
        assert set(inspect(db.engine).get_table_names()) >= LTI_TABLES
        with db.engine.begin() as conn:
            org = conn.execute(text("SELECT min(id) FROM organisations")).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO lti_platforms (id, org_id, name, issuer, client_id,"
                    " deployment_ids, auth_url, token_url, jwks_url, created_at) VALUES"
                    " ('p1', :owner, 'LMS', 'https://lms', 'c', '[\"d\"]', 'https://lms/a',"
                    " 'https://lms/t', 'https://lms/k', :now)"
                ),
                {"owner": org, "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO lti_launches (id, platform_id, deployment_id, subject,"
                    " resource_link_id, assessment_id, session_id, created_at, score_status,"
                    " retry_step, attempts) VALUES ('l1', 'p1', 'd', 'u', 'r', 'a1', 's1',"
                    " :now, 'waiting', 0, 0)"
                ),
                {"now": now},
            )
        _run(db, "downgrade", "0007_org")
        assert not LTI_TABLES & set(inspect(db.engine).get_table_names())
        with db.engine.connect() as conn:
            kept = conn.execute(text("SELECT id FROM learner_sessions")).scalars().all()
        assert kept == ["s1"]
        migrate(db)
        with db.engine.connect() as conn:
            launches = conn.execute(text("SELECT count(*) FROM lti_launches")).scalar()
        assert launches == 0
    finally:
        db.dispose()
