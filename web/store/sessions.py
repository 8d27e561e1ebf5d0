"""Learner sessions and their append-only responses.

A session row holds the engine's serialised :class:`~engine.session.SessionState`; every
answer inserts one response row and rewrites the state in the same transaction. ``version``
makes concurrent writers detectable (optimistic concurrency on top of the row lock).

In practice mode a wrong first try is held in the same ``state`` document, under the extra
key ``"practice"`` (a :class:`PracticeHold`), until the learner's second try or "show the
answer" settles the item; only then is the response row appended (responses are
append-only, so the row is written once, complete). Documents without the key are plain
engine states, so no schema change was needed.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import msgspec
from sqlalchemy import Connection, bindparam, insert, select, update

from engine.feedback import Feedback
from engine.integrity import IntegrityEvidence
from engine.session import SessionResult, SessionState
from web.db.connection import as_utc, utcnow
from web.db.fast import FastStatement
from web.db.schema import learner_sessions, responses
from web.errors import ConflictError

RawAnswer = str | list[str]


class PracticeHold(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A practice answer whose second try is still open.

    Attributes
    ----------
    position, item_id
        The question (its number in the session) and its item.
    answer, category, max_category
        The first try and its score: what the engine records when the item is settled.
    feedback
        The first try's full feedback (shown only once the item is settled).
    hints_shown
        How many of the item's hints the learner has seen (one at a time).
    elapsed_ms
        Time taken by the first try.
    """

    position: int
    item_id: str
    answer: RawAnswer
    category: int
    max_category: int
    feedback: Feedback
    hints_shown: int = 0
    elapsed_ms: int | None = None


class _StoredState(SessionState, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``state`` document: the engine's state plus, in practice mode, an open hold."""

    practice: PracticeHold | None = None


_ENGINE_FIELDS = SessionState.__struct_fields__


def encode_state(state: SessionState, practice: PracticeHold | None = None) -> str:
    """The ``state`` column's text: the engine state, with the practice hold if any."""
    if practice is None:
        return msgspec.json.encode(state).decode("utf-8")
    stored = _StoredState(**{f: getattr(state, f) for f in _ENGINE_FIELDS}, practice=practice)
    return msgspec.json.encode(stored).decode("utf-8")


def decode_state(text: str | bytes) -> tuple[SessionState, PracticeHold | None]:
    """Split the ``state`` column into the engine state and the practice hold."""
    stored = msgspec.json.decode(text, type=_StoredState)
    state = SessionState(**{f: getattr(stored, f) for f in _ENGINE_FIELDS})
    return state, stored.practice


class SessionRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A stored learner session (``practice``: an open practice second try, if any)."""

    id: str
    assessment_id: str
    state: SessionState
    version: int
    learner_name: str | None
    learner_email: str | None
    created_at: datetime
    updated_at: datetime
    deadline: datetime | None
    finished_at: datetime | None
    result: SessionResult | None
    learner_did: str | None = None
    practice: PracticeHold | None = None
    integrity: IntegrityEvidence | None = None
    award_status: str | None = None
    award_decided_at: datetime | None = None
    award_decided_by: int | None = None
    email_verified_at: datetime | None = None
    did_verified_at: datetime | None = None


class ResponseRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One stored answer."""

    seq: int
    item_id: str
    answer: RawAnswer
    category: int
    max_category: int
    pretest: bool
    estimates: dict[str, tuple[float, float]]
    feedback: bytes | None
    answered_at: datetime
    elapsed_ms: int | None


def new_session_id() -> str:
    """An unguessable session id (192 random bits), used as a capability in URLs."""
    return secrets.token_urlsafe(24)


def create_session(
    conn: Connection,
    *,
    assessment_id: str,
    state: SessionState,
    learner_name: str | None,
    learner_email: str | None,
    deadline: datetime | None,
    learner_did: str | None = None,
) -> str:
    """Store a new session and return its id."""
    session_id = new_session_id()
    now = utcnow()
    conn.execute(
        insert(learner_sessions).values(
            id=session_id,
            assessment_id=assessment_id,
            state=msgspec.json.encode(state).decode("utf-8"),
            version=0,
            learner_name=learner_name,
            learner_email=learner_email,
            learner_did=learner_did,
            created_at=now,
            updated_at=now,
            deadline=deadline,
            finished_at=now if state.finished else None,
        )
    )
    return session_id


def _record(row: Any) -> SessionRecord:
    state, practice = decode_state(row.state)
    return SessionRecord(
        id=row.id,
        assessment_id=row.assessment_id,
        state=state,
        practice=practice,
        version=row.version,
        learner_name=row.learner_name,
        learner_email=row.learner_email,
        created_at=as_utc(row.created_at) or utcnow(),
        updated_at=as_utc(row.updated_at) or utcnow(),
        deadline=as_utc(row.deadline),
        finished_at=as_utc(row.finished_at),
        result=None if row.result is None else msgspec.json.decode(row.result, type=SessionResult),
        learner_did=row.learner_did,
        integrity=(
            None
            if row.integrity is None
            else msgspec.json.decode(row.integrity, type=IntegrityEvidence)
        ),
        award_status=row.award_status,
        award_decided_at=as_utc(row.award_decided_at),
        award_decided_by=row.award_decided_by,
        email_verified_at=as_utc(row.email_verified_at),
        did_verified_at=as_utc(row.did_verified_at),
    )


def load_session(
    conn: Connection, session_id: str, *, for_update: bool = False
) -> SessionRecord | None:
    """The session with ``session_id``; ``for_update`` locks its row until commit."""
    if len(session_id) > 64:
        return None
    query = _LOAD_LOCKED if for_update else _LOAD
    row = query.first(conn, {"session_id": session_id})
    if row is None:
        return None
    return _record(SimpleNamespace(**dict(zip(_SESSION_COLUMNS, row, strict=True))))


_SAVE_STATE = (
    update(learner_sessions)
    .where(learner_sessions.c.id == bindparam("session_id"))
    .where(learner_sessions.c.version == bindparam("expected_version"))
)
_SAVE_FINISHED = FastStatement(
    _SAVE_STATE.values(
        state=bindparam("state"),
        version=bindparam("version"),
        updated_at=bindparam("updated_at"),
        finished_at=bindparam("finished_at"),
        result=bindparam("result"),
    )
)
_SAVE_RUNNING = FastStatement(
    _SAVE_STATE.values(
        state=bindparam("state"), version=bindparam("version"), updated_at=bindparam("updated_at")
    )
)
_APPEND = FastStatement(
    insert(responses).values(
        {column.name: bindparam(column.name) for column in responses.columns if column.name != "id"}
    )
)
# PostgreSQL: the running session's update and the response insert as one statement; the
# insert takes its session id from the updated row, so a stale version inserts nothing.
_MOVED = (
    _SAVE_STATE.values(
        state=bindparam("state"), version=bindparam("version"), updated_at=bindparam("updated_at")
    )
    .returning(learner_sessions.c.id)
    .cte("moved")
)
_RESPONSE_COLUMNS = [column for column in responses.columns if column.name != "id"]
_RECORD_ANSWER = FastStatement(
    insert(responses).from_select(
        [column.name for column in _RESPONSE_COLUMNS],
        select(
            *(
                _MOVED.c.id
                if column.name == "session_id"
                else bindparam(column.name, type_=column.type)
                for column in _RESPONSE_COLUMNS
            )
        ).select_from(_MOVED),
    )
)
_SESSION_COLUMNS = tuple(column.name for column in learner_sessions.columns)
_SELECT = select(learner_sessions).where(learner_sessions.c.id == bindparam("session_id"))
_LOAD = FastStatement(_SELECT, tuple(learner_sessions.columns))
_LOAD_LOCKED = FastStatement(_SELECT.with_for_update(), tuple(learner_sessions.columns))


def save_state(
    conn: Connection,
    record: SessionRecord,
    state: SessionState,
    result: SessionResult | None,
    practice: PracticeHold | None = None,
) -> None:
    """Replace the session's state (and practice hold); refuses if another writer changed it."""
    now = utcnow()
    params: dict[str, Any] = {
        "session_id": record.id,
        "expected_version": record.version,
        "state": encode_state(state, practice),
        "version": record.version + 1,
        "updated_at": now,
    }
    statement = _SAVE_RUNNING
    if state.finished or result is not None:
        statement = _SAVE_FINISHED
        params["finished_at"] = record.finished_at or now
        params["result"] = None if result is None else msgspec.json.encode(result).decode("utf-8")
    if statement.execute(conn, params) != 1:
        raise ConflictError("this session was changed by another request; reload the page")


def _response_params(
    *,
    session_id: str,
    seq: int,
    item_id: str,
    answer: RawAnswer,
    category: int,
    max_category: int,
    pretest: bool,
    estimates: dict[str, tuple[float, float]],
    feedback: bytes | None,
    elapsed_ms: int | None,
) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "seq": seq,
        "item_id": item_id,
        "answer": msgspec.json.encode(answer).decode("utf-8"),
        "category": category,
        "max_category": max_category,
        "pretest": pretest,
        "estimates": msgspec.json.encode(estimates).decode("utf-8"),
        "feedback": None if feedback is None else feedback.decode("utf-8"),
        "answered_at": utcnow(),
        "elapsed_ms": elapsed_ms,
    }


def record_answer(
    conn: Connection, record: SessionRecord, state: SessionState, row: dict[str, Any]
) -> None:
    """Store one answer of a session that goes on: its next state and its response row.

    ``row`` holds :func:`append_response`'s arguments; ``state`` must not be finished (a
    finishing answer also writes the result: :func:`save_state`). Both rows change or
    neither: on PostgreSQL in ONE statement (an ``UPDATE ... RETURNING`` whose row feeds the
    ``INSERT``), so it is atomic even on an autocommit connection
    (:meth:`web.db.connection.Database.write_one`) and costs one round trip; on SQLite as
    :func:`save_state` then :func:`append_response`, in the caller's transaction.

    Raises
    ------
    ConflictError
        Another writer changed the session (its version moved): nothing was written.
    sqlalchemy.exc.IntegrityError
        A response is already stored at this position: nothing was written.
    """
    if state.finished:
        raise ValueError("a finishing answer is stored with save_state and append_response")
    if conn.dialect.name == "sqlite":
        save_state(conn, record, state, None)
        append_response(conn, **row)
        return
    params = _response_params(**row)
    params.update(
        expected_version=record.version,
        state=encode_state(state),
        version=record.version + 1,
        updated_at=params["answered_at"],
    )
    if _RECORD_ANSWER.execute(conn, params) != 1:
        raise ConflictError("this session was changed by another request; reload the page")


def append_response(
    conn: Connection,
    *,
    session_id: str,
    seq: int,
    item_id: str,
    answer: RawAnswer,
    category: int,
    max_category: int,
    pretest: bool,
    estimates: dict[str, tuple[float, float]],
    feedback: bytes | None,
    elapsed_ms: int | None,
) -> None:
    """Append one answer (the unique (session, seq) key refuses a second one)."""
    _APPEND.execute(
        conn,
        _response_params(
            session_id=session_id,
            seq=seq,
            item_id=item_id,
            answer=answer,
            category=category,
            max_category=max_category,
            pretest=pretest,
            estimates=estimates,
            feedback=feedback,
            elapsed_ms=elapsed_ms,
        ),
    )


def _response(row: Any) -> ResponseRecord:
    return ResponseRecord(
        seq=row.seq,
        item_id=row.item_id,
        answer=msgspec.json.decode(row.answer),
        category=row.category,
        max_category=row.max_category,
        pretest=bool(row.pretest),
        estimates=msgspec.json.decode(row.estimates, type=dict[str, tuple[float, float]]),
        feedback=None if row.feedback is None else row.feedback.encode("utf-8"),
        answered_at=as_utc(row.answered_at) or utcnow(),
        elapsed_ms=row.elapsed_ms,
    )


def responses_of(conn: Connection, session_id: str) -> list[ResponseRecord]:
    """A session's answers in order."""
    rows = conn.execute(
        select(responses).where(responses.c.session_id == session_id).order_by(responses.c.seq)
    ).all()
    return [_response(r) for r in rows]


def response_at(conn: Connection, session_id: str, seq: int) -> ResponseRecord | None:
    """One answer of a session."""
    row = conn.execute(
        select(responses).where(responses.c.session_id == session_id).where(responses.c.seq == seq)
    ).first()
    return None if row is None else _response(row)


def set_outcome(
    conn: Connection,
    session_id: str,
    *,
    integrity: IntegrityEvidence | None,
    award_status: str | None,
) -> None:
    """Store a finished session's integrity evidence and what stands in its award's way."""
    conn.execute(
        update(learner_sessions)
        .where(learner_sessions.c.id == session_id)
        .values(
            integrity=None if integrity is None else msgspec.json.encode(integrity).decode(),
            award_status=award_status,
        )
    )


def decide_award(
    conn: Connection,
    session_id: str,
    *,
    expected: str,
    status: str,
    author_id: int | None,
    now: datetime,
) -> bool:
    """Move the session's award from ``expected`` to ``status``; False if it was not there.

    The condition on the current status makes each decision happen once, whatever the
    number of concurrent requests: only one update finds the row in ``expected``.
    """
    done = conn.execute(
        update(learner_sessions)
        .where(learner_sessions.c.id == session_id)
        .where(learner_sessions.c.award_status == expected)
        .values(award_status=status, award_decided_at=now, award_decided_by=author_id)
    )
    return done.rowcount == 1
