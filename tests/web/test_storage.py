"""The storage layer on SQLite and PostgreSQL: migrations, versions, sessions, append-only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import DBAPIError

from engine.policy import Policy
from engine.pool import compile_pool
from engine.session import Session
from item_banks.native import content_hash, read_bank
from item_banks.sample import sample_bank_path
from web.db.connection import Database, as_utc, utcnow
from web.db.fast import FastStatement
from web.db.migrate import migrate
from web.db.schema import learner_sessions, metadata, responses
from web.errors import ConflictError
from web.store import assessments, authors, banks, orgs, ratelimit, sessions


@pytest.fixture
def db(database_url: str) -> Database:
    database = Database(database_url)
    migrate(database)
    return database


def test_migrations_are_idempotent_and_match_the_schema(db: Database) -> None:
    migrate(db)  # a second start changes nothing
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_bank_versions_are_stored_once_by_content(db: Database) -> None:
    bank = read_bank(sample_bank_path())
    with db.write() as conn:
        digest, new = banks.store_bank(conn, bank, "bank.yaml", None)
    with db.write() as conn:
        again, new_again = banks.store_bank(conn, bank, "same.json", None)
    assert (digest, new, again, new_again) == (content_hash(bank), True, digest, False)
    with db.read() as conn:
        assert banks.load_bank(conn, digest) == bank
        versions = banks.list_versions(conn)
        assert [v.hash for v in versions] == [digest]
        assert banks.get_version(conn, digest) == versions[0]
        assert banks.load_bank(conn, "0" * 64) is None
    changed = msgspec.structs.replace(bank, version="1.1")
    with db.write() as conn:
        newer, fresh = banks.store_bank(conn, changed, "bank.yaml", None)
    assert fresh
    assert newer != digest


def _session_fixture(db: Database) -> tuple[str, Session]:
    bank = read_bank(sample_bank_path())
    with db.write() as conn:
        author = authors.ensure_author(conn, "a@example.org")
        digest, _ = banks.store_bank(conn, bank, "bank.yaml", author.id)
        record = assessments.create_assessment(
            conn,
            title="T",
            description="",
            bank_hash=digest,
            policy=Policy(),
            feedback_mode="instant",
            time_limit_seconds=None,
            owner_id=author.id,
        )
    return record.id, Session(compile_pool(bank), Policy())


def test_session_state_round_trip_and_optimistic_concurrency(db: Database) -> None:
    assessment_id, engine = _session_fixture(db)
    state = engine.next_item(engine.start(3))
    with db.write() as conn:
        sid = sessions.create_session(
            conn,
            assessment_id=assessment_id,
            state=state,
            learner_name=None,
            learner_email=None,
            deadline=None,
        )
    assert len(sid) >= 32
    with db.read() as conn:
        record = sessions.load_session(conn, sid)
    assert record is not None
    assert record.state == state
    assert record.version == 0
    assert state.pending is not None
    advanced = engine.next_item(engine.record(state, state.pending, 1))
    with db.write() as conn:
        sessions.save_state(conn, record, advanced, None)
    with db.read() as conn:
        stored = sessions.load_session(conn, sid)
    assert stored is not None
    assert stored.state == advanced
    assert stored.version == 1
    with pytest.raises(ConflictError), db.write() as conn:  # a stale writer is refused
        sessions.save_state(conn, record, state, None)
    with db.read() as conn:
        assert sessions.load_session(conn, sid) == stored  # and nothing changed


def test_responses_are_append_only(db: Database) -> None:
    assessment_id, engine = _session_fixture(db)
    with db.write() as conn:
        sid = sessions.create_session(
            conn,
            assessment_id=assessment_id,
            state=engine.start(1),
            learner_name=None,
            learner_email=None,
            deadline=None,
        )
        sessions.append_response(
            conn,
            session_id=sid,
            seq=1,
            item_id="py-001",
            answer="a",
            category=1,
            max_category=1,
            pretest=False,
            estimates={"python-core": (0.1, 0.9)},
            feedback=None,
            elapsed_ms=1200,
        )
    with pytest.raises(DBAPIError, match="append-only"), db.write() as conn:
        conn.execute(update(responses).values(category=0))
    with pytest.raises(DBAPIError, match="append-only"), db.write() as conn:
        conn.execute(delete(responses))
    with pytest.raises(DBAPIError), db.write() as conn:  # one answer per position
        conn.execute(
            insert(responses).values(
                session_id=sid,
                seq=1,
                item_id="py-002",
                answer='"b"',
                category=0,
                max_category=1,
                pretest=False,
                estimates="{}",
                answered_at=utcnow(),
            )
        )
    with db.read() as conn:
        (stored,) = sessions.responses_of(conn, sid)
    assert (stored.item_id, stored.category, stored.answer, stored.elapsed_ms) == (
        "py-001",
        1,
        "a",
        1200,
    )
    assert stored.estimates == {"python-core": (0.1, 0.9)}


def test_author_tokens_are_stored_hashed(db: Database) -> None:
    with db.write() as conn:
        author = authors.ensure_author(conn, " Someone@Example.org ")
        unbound = authors.issue_token(conn, author.id, "before any membership")
        org = orgs.create_org(conn, "someones", "Someone's")
        orgs.add_member(conn, org.id, author.id, "author")
        token = authors.issue_token(conn, author.id, "test")
    assert author.email == "someone@example.org"
    with db.read() as conn:
        stored = conn.execute(select(metadata.tables["author_tokens"].c.token_hash)).scalars().all()
        assert sorted(stored) == sorted([authors.hash_token(token), authors.hash_token(unbound)])
        assert token not in stored
        member = authors.author_for_token(conn, token)
        assert member is not None
        assert (member.id, member.email, member.org_id, member.role) == (
            author.id,
            author.email,
            org.id,
            "author",
        )
        assert authors.author_for_token(conn, unbound) is None  # a token of no membership
        assert authors.author_for_token(conn, token + "x") is None
        assert authors.author_for_token(conn, "nonsense") is None


def test_rate_limit_windows(db: Database) -> None:
    with db.write() as conn:
        counts = [ratelimit.hit(conn, "k", 60, now=120.0 + i)[0] for i in range(3)]
        later, _ = ratelimit.hit(conn, "k", 60, now=181.0)
        other, retry = ratelimit.hit(conn, "other", 60, now=150.0)
    assert counts == [1, 2, 3]
    assert later == 1  # a new window starts over
    assert other == 1
    assert retry == 31


def test_sqlite_file_is_created_in_wal_mode(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'sub' / 'x.db'}")
    migrate(database)
    with database.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    assert (tmp_path / "sub" / "x.db").exists()


def test_fast_statements_store_and_read_like_core(db: Database) -> None:
    """The hot-path statements convert values exactly as Connection.execute does."""
    table = learner_sessions
    assessment_id, engine = _session_fixture(db)
    moment = datetime(2026, 11, 29, 12, 34, 56, 789000, tzinfo=UTC)
    row = {
        "id": "fast-1",
        "assessment_id": assessment_id,
        "state": "{}",
        "version": 3,
        "learner_name": "Zoë",
        "learner_email": None,
        "learner_did": None,
        "created_at": moment,
        "updated_at": moment,
        "deadline": None,
        "finished_at": moment,
        "result": None,
        "integrity": None,
        "award_status": "held",
        "award_decided_at": moment,
        "award_decided_by": None,
        "email_verified_at": None,
        "did_verified_at": moment,
    }
    fast_insert = FastStatement(
        insert(table).values({c.name: bindparam(c.name) for c in table.columns})
    )
    select_one = select(table).where(table.c.id == bindparam("sid"))
    fast_select = FastStatement(select_one, tuple(table.columns))
    with db.write() as conn:
        assert fast_insert.execute(conn, row) == 1
        conn.execute(insert(table).values(**{**row, "id": "core-1"}))
    with db.read() as conn:
        by_core = conn.execute(select_one, {"sid": "fast-1"}).first()
        by_fast = fast_select.first(conn, {"sid": "core-1"})
        missing = fast_select.first(conn, {"sid": "nobody"})
    assert by_core is not None and by_fast is not None and missing is None
    core_values = dict(by_core._mapping)
    fast_values = dict(zip([c.name for c in table.columns], by_fast, strict=True))
    for values in (core_values, fast_values):
        values.pop("id")
        assert as_utc(values["created_at"]) == moment
        assert values["learner_name"] == "Zoë"
        assert values["version"] == 3
    assert core_values == fast_values
    del engine


def _response_row(sid: str, seq: int, item_id: str) -> dict[str, object]:
    return {
        "session_id": sid,
        "seq": seq,
        "item_id": item_id,
        "answer": "a",
        "category": 1,
        "max_category": 1,
        "pretest": False,
        "estimates": {"c": (0.1, 0.9)},
        "feedback": None,
        "elapsed_ms": 1200,
    }


def test_record_answer_writes_the_state_and_the_response_together_or_not_at_all(
    db: Database,
) -> None:
    assessment_id, engine = _session_fixture(db)
    state = engine.next_item(engine.start(5))
    with db.write() as conn:
        sid = sessions.create_session(
            conn,
            assessment_id=assessment_id,
            state=state,
            learner_name=None,
            learner_email=None,
            deadline=None,
        )
    with db.read_one() as conn:
        record = sessions.load_session(conn, sid)
    assert record is not None and state.pending is not None
    item_id = engine.pool.item_ids[state.pending]
    advanced = engine.next_item(engine.record(state, state.pending, 1))
    with db.write_one() as conn:
        sessions.record_answer(conn, record, advanced, _response_row(sid, 1, item_id))
    with db.read() as conn:
        stored = sessions.load_session(conn, sid)
        answers = sessions.responses_of(conn, sid)
    assert stored is not None
    assert (stored.state, stored.version) == (advanced, 1)
    assert [(r.seq, r.item_id, r.answer, r.elapsed_ms) for r in answers] == [
        (1, item_id, "a", 1200)
    ]
    assert answers[0].estimates == {"c": (0.1, 0.9)}
    # A writer that read the session before that answer is refused, and writes nothing.
    with pytest.raises(ConflictError), db.write_one() as conn:
        sessions.record_answer(conn, record, advanced, _response_row(sid, 2, item_id))
    # A second response at a stored position is refused, and the session is not moved.
    with pytest.raises(DBAPIError), db.write_one() as conn:
        sessions.record_answer(conn, stored, advanced, _response_row(sid, 1, item_id))
    with db.read() as conn:
        assert sessions.load_session(conn, sid) == stored
        assert len(sessions.responses_of(conn, sid)) == 1
    finished = msgspec.structs.replace(advanced, finished=True)
    with pytest.raises(ValueError, match="finishing"), db.write_one() as conn:
        sessions.record_answer(conn, stored, finished, _response_row(sid, 2, item_id))
