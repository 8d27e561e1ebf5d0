"""Revision 0007_org moves a 0006_did database with data into one organisation, losing nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from litestar.testing import TestClient
from sqlalchemy import inspect, text

from tests.credentials.helpers import take
from tests.verify.test_migration import _columns, _run, empty_url, seed_session
from tests.web.conftest import settings_for
from web.app import create_app
from web.credentials import service
from web.credentials.awards import issuer_of
from web.db.connection import Database
from web.db.migrate import migrate
from web.db.schema import metadata
from web.demo import ensure_demo
from web.runtime import Runtime
from web.store import credentials as credential_store
from web.store import orgs as org_store

__all__ = ["empty_url"]

OWNED = ("assessments", "achievements", "credentials", "status_lists", "webhook_endpoints")


def _seed_0006(db: Database, now: datetime) -> None:
    """Two authors with tokens, a bank, an assessment with a session, an achievement, a
    status list, a credential and a webhook endpoint: a service in use at 0006_did."""
    seed_session(db, now, did="did:key:z6Mk")
    with db.engine.begin() as conn:
        for i, email in enumerate(("one@example.org", "two@example.org"), start=1):
            # no explicit id: PostgreSQL's sequence must move on as in real use (ids 1, 2)
            conn.execute(
                text("INSERT INTO authors (email, created_at) VALUES (:e, :now)"),
                {"e": email, "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO author_tokens (token_hash, author_id, label, created_at)"
                    " VALUES (:h, :i, 'cli', :now)"
                ),
                {"h": f"{i:064d}", "i": i, "now": now},
            )
        conn.execute(text("UPDATE assessments SET owner_id = 1"))
        conn.execute(text("UPDATE bank_versions SET uploaded_by = 2"))
        conn.execute(
            text(
                "INSERT INTO achievements (id, assessment_id, definition, created_at, updated_at)"
                " VALUES ('ach', 'a1', '{}', :now, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO status_lists (id, purpose, size, used, revision, created_at)"
                " VALUES (1, 'revocation', 131072, 1, 0, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO credentials (id, session_id, assessment_id, achievement_id,"
                " status_list_id, status_index, document, jwt, issued_at) VALUES"
                " ('c1', 's1', 'a1', 'ach', 1, 0, '{}', 'x.y.z', :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO webhook_endpoints (id, owner_id, url, description, event_types,"
                " secret, status, created_at) VALUES ('w1', 2, 'https://r.example', '', '[]',"
                " 's', 'active', :now)"
            ),
            {"now": now},
        )


def test_0007_moves_everything_into_one_organisation_and_back(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        migrate(db, "0006_did")
        now = datetime.now(UTC)
        _seed_0006(db, now)
        migrate(db)
        with db.engine.connect() as conn:
            orgs = conn.execute(
                text("SELECT id, slug, keys_dir, legacy_issuer FROM organisations")
            ).all()
            assert [(r.slug, r.keys_dir, bool(r.legacy_issuer)) for r in orgs] == [
                ("skillgauge", "keys", True)
            ]
            org = orgs[0].id
            members = conn.execute(
                text("SELECT author_id, org_id, role FROM memberships ORDER BY author_id")
            ).all()
            assert [tuple(r) for r in members] == [(1, org, "owner"), (2, org, "owner")]
            tokens = conn.execute(
                text(
                    "SELECT t.author_id, m.author_id, m.org_id FROM author_tokens t"
                    " JOIN memberships m ON m.id = t.membership_id ORDER BY t.author_id"
                )
            ).all()
            assert [tuple(r) for r in tokens] == [(1, 1, org), (2, 2, org)]
            for table in OWNED:
                owners = conn.execute(text(f"SELECT org_id FROM {table}")).scalars().all()
                assert owners == [org], table
            held = conn.execute(
                text("SELECT org_id, bank_hash, added_by FROM org_bank_versions")
            ).all()
            assert [tuple(r) for r in held] == [(org, "h", 2)]
            assert conn.execute(text("SELECT learner_did FROM learner_sessions")).scalar() == (
                "did:key:z6Mk"
            )
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
        _run(db, "downgrade", "0006_did")
        assert "org_id" not in _columns(db, "assessments")
        assert "membership_id" not in _columns(db, "author_tokens")
        assert "organisations" not in inspect(db.engine).get_table_names()
        with db.engine.connect() as conn:
            kept = conn.execute(text("SELECT id, owner_id FROM assessments")).all()
            creds = conn.execute(text("SELECT id, assessment_id FROM credentials")).all()
            hooks = conn.execute(text("SELECT id, owner_id FROM webhook_endpoints")).all()
        assert [tuple(r) for r in kept] == [("a1", 1)]
        assert [tuple(r) for r in creds] == [("c1", "a1")]
        assert [tuple(r) for r in hooks] == [("w1", 2)]
        migrate(db)  # and up again
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM memberships")).scalar() == 2
    finally:
        db.dispose()


def test_the_audit_log_is_append_only(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        migrate(db)
        now = datetime.now(UTC)
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO organisations (slug, name, url, email, image, description,"
                    " keys_dir, legacy_issuer, created_at) VALUES ('o', 'O', '', '', '', '',"
                    " 'keys/o', false, :now)"
                ),
                {"now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO audit_events (org_id, at, actor_email, action, object, detail)"
                    " SELECT id, :now, 'a@b.c', 'bank.upload', 'h', '' FROM organisations"
                ),
                {"now": now},
            )
        for statement in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"):
            try:
                with db.engine.begin() as conn:
                    conn.execute(text(statement))
            except Exception as exc:
                assert "append-only" in str(exc)
            else:
                raise AssertionError(f"{statement} was allowed")
    finally:
        db.dispose()


def test_credentials_signed_before_organisations_still_verify_after_the_upgrade(
    empty_url: str, tmp_path: Path
) -> None:
    """A service in use at 0006 upgrades: its issuer ({base}/issuer, keys under keys/) is now
    the migrated organisation's, so what it signed before still verifies, and nothing else."""
    db = Database(empty_url)
    try:
        migrate(db, "0006_did")
        _seed_0006(db, datetime.now(UTC))
    finally:
        db.dispose()
    app = create_app(settings_for(empty_url, tmp_path))
    with TestClient(app) as client:
        rt: Runtime = app.state.runtime
        info = ensure_demo(rt)
        view = take(client, info.assessment_url.rsplit("/", 1)[1])
        with rt.db.read() as conn:
            record = credential_store.get(conn, view["credential_url"].rsplit("/", 1)[1])
            legacy = org_store.legacy(conn)
        assert record is not None and legacy is not None and legacy.slug == "skillgauge"
        service_issuer = issuer_of(rt)  # what signed credentials before 0007
        earlier = {
            k: v for k, v in record.document.items() if k not in ("proof", "credentialStatus")
        }
        earlier["issuer"] = service_issuer.embedded_profile()
        signed, token = service_issuer.sign(earlier, record.issued_at)
        assert signed["issuer"]["id"].endswith("/issuer")
        for given in (signed, token):
            report = service.verify_given(rt, given)
            assert report.verified, report
            assert report.summary is not None and report.summary.issuer == legacy.name
        # the demo organisation (not the migrated one) does not answer to that identity
        demo_named = {
            **earlier,
            "issuer": {**earlier["issuer"], "id": record.document["issuer"]["id"]},
        }
        forged, _ = service_issuer.sign(demo_named, record.issued_at)
        assert not service.verify_given(rt, forged).verified
