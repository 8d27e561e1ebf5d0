"""Taking an assessment: start a session, show the current question, answer it, see the result.

Every answer is stored in ONE transaction together with the session's next state, before
the reply is sent. Concurrency is optimistic: the session is read, the answer scored and the
engine advanced outside any transaction, then the write transaction updates the session
only if its version is still the one read (and appends the response). A request that lost
the race reads again, and finds its answer stored (a replay) or the session moved on. Write
locks are therefore held for two statements, not for the engine's work.

Feedback modes (``assessments.feedback_mode``):

``instant``
    The elaborated feedback (:mod:`engine.feedback`) right after each answer.
``end``
    Nothing before the end; the explanations appear in the final report.
``practice``
    A wrong (or partly right) first try is not explained yet: the learner gets the item's
    first hint, may ask for the others one at a time, and has one second try (or may ask
    to see the answer). The FIRST try is what the engine scores, so the ability estimate
    measures unaided answers; the second try is feedback only and is stored inside the
    response's feedback record. Until the item is settled the first try is held in the
    session's state document (:class:`web.store.sessions.PracticeHold`), written in the
    same optimistic transaction as any answer; settling appends the one response row.
    Practice sessions never count toward a credential (the result says so).

The feedback stored with each response is the complete record of what the learner was (or,
in ``end`` mode, will be) shown for that answer; the report adds question texts, levels and
resources from the bank version the session used, which its content hash pins.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from engine.feedback import Feedback, SecondTry, feedback_for
from engine.session import Session, SessionResult, SessionState
from engine.stopping import length_bound
from item_banks.model import Item
from item_banks.scoring import RawAnswer, score_answer
from web.answers import OptionIds, refuse_empty
from web.credentials import awards
from web.db.connection import disconnected, utcnow
from web.errors import ConflictError, InvalidInputError, NotFoundError, RateLimitedError
from web.integrity import evidence_for, learner_note
from web.markdown import render
from web.runtime import CompiledBank, Runtime
from web.store import achievements as achievement_store
from web.store import credentials as credential_store
from web.store import ratelimit
from web.store import sessions as store
from web.store.assessments import AssessmentRecord
from web.verification import send_verification, settle_awaiting
from web.views import (
    AnswerOutcome,
    FeedbackView,
    PracticeView,
    SessionView,
    feedback_view,
    item_kind,
    item_view,
    practice_view,
    progress_view,
    result_view,
)

TIME_LIMIT_REASON = "the time limit was reached"
_DID = re.compile(r"did:[a-z0-9]+:[A-Za-z0-9._:%-]+")


def _session_parts(
    rt: Runtime, conn: Connection, assessment_id: str
) -> tuple[AssessmentRecord, CompiledBank, Session]:
    assessment = rt.assessment(conn, assessment_id)
    compiled = rt.compiled(conn, assessment.bank_hash)
    return assessment, compiled, rt.engine_session(compiled, assessment.policy)


def start_session(
    rt: Runtime,
    assessment_id: str,
    *,
    client: str,
    name: str | None = None,
    email: str | None = None,
    did: str | None = None,
) -> str:
    """Start a session and choose its first item; return the session id.

    ``name``, ``email`` and ``did`` identify the learner on a credential (asked for only when
    the assessment has an achievement).
    """
    with rt.db.write() as conn:
        count, retry_after = ratelimit.hit(conn, f"start:{client}", 60, now=rt.clock())
        if count > rt.settings.sessions_per_minute:
            raise RateLimitedError(
                "too many assessments started from this address; try again in a minute",
                retry_after,
            )
    did = (did or "").strip() or None
    if did is not None and (len(did) > 400 or not _DID.fullmatch(did)):
        raise InvalidInputError(
            "that does not look like a DID (did:method:identifier)", ["did: not a DID"]
        )
    email = (email or "").strip() or None
    if email is not None and ("@" not in email or len(email) > 320 or " " in email):
        raise InvalidInputError("the email address does not look right", ["email: not an address"])
    seed = secrets.randbits(31)
    with rt.db.write() as conn:
        assessment = rt.assessment(conn, assessment_id, fresh=True)
        if assessment.status != "open":
            raise NotFoundError("this assessment is closed")
        _, _, engine = _session_parts(rt, conn, assessment_id)
        state = engine.next_item(engine.start(seed))
        deadline = (
            utcnow() + timedelta(seconds=assessment.time_limit_seconds)
            if assessment.time_limit_seconds
            else None
        )
        session_id = store.create_session(
            conn,
            assessment_id=assessment_id,
            state=state,
            learner_name=(name or "").strip() or None,
            learner_email=(email or "").strip().lower() or None,
            deadline=deadline,
            learner_did=did,
        )
        awarding = (
            email is not None
            and assessment.feedback_mode != "practice"
            and achievement_store.for_assessment(conn, assessment_id) is not None
        )
    if awarding and email is not None:
        # After the commit: a mail server that is down never stops the assessment (the
        # learner can ask for another link from the results page).
        send_verification(rt, session_id, email.lower(), assessment.title)
    return session_id


def _view(
    rt: Runtime,
    *,
    compiled: CompiledBank,
    assessment: AssessmentRecord,
    record: store.SessionRecord,
    state: SessionState,
    engine: Session,
    credential_url: str | None = None,
    completion: awards.Completion | None = None,
) -> SessionView:
    max_items = length_bound(assessment.policy.stopping)
    award_status, integrity = record.award_status, record.integrity
    if completion is not None:
        award_status, integrity = completion.award_status, completion.integrity
    result = None
    item = None
    practice = None
    if state.finished:
        result = result_view(
            compiled, engine.result(state), practice=assessment.feedback_mode == "practice"
        )
    elif state.pending is not None:
        item_id = compiled.pool.item_ids[state.pending]
        ids = OptionIds(rt.settings.secret_key, record.id)
        item = item_view(compiled, compiled.items[item_id], len(state.items) + 1, ids)
        hold = record.practice
        if hold is not None and hold.item_id == item_id and hold.position == item.position:
            practice = _practice_view(compiled, hold)
    return SessionView(
        id=record.id,
        assessment_id=record.assessment_id,
        status="finished" if state.finished else "in_progress",
        progress=progress_view(compiled, state, max_items),
        item=item,
        result=result,
        deadline=record.deadline,
        feedback_mode=assessment.feedback_mode,
        practice=practice,
        credential_url=credential_url,
        award_status=award_status if state.finished else None,
        award_note=learner_note(award_status, integrity) if state.finished else None,
    )


def _credential_url(rt: Runtime, record: store.SessionRecord) -> str | None:
    """The URL of the credential awarded for a finished session, if one was."""
    with rt.db.read() as conn:
        credential = credential_store.for_session(conn, record.id)
    return None if credential is None else awards.issuer_of(rt).credential_url(credential.id)


def _practice_view(compiled: CompiledBank, hold: store.PracticeHold) -> PracticeView:
    return practice_view(
        compiled.items[hold.item_id], hold.position, hold.hints_shown, hold.feedback.verdict
    )


def _expired(record: store.SessionRecord, now: datetime) -> bool:
    return record.deadline is not None and now >= record.deadline and not record.state.finished


def _finish_for_time(engine: Session, state: SessionState) -> SessionState:
    return engine.finish(state, TIME_LIMIT_REASON)


def view_session(rt: Runtime, session_id: str) -> SessionView:
    """The session as its learner sees it now (finishing it if its time ran out).

    A state without a pending question (possible only after an interrupted write) gets its
    next question chosen and stored, so a reload always shows the same question.
    """
    with rt.db.read() as conn:
        record = store.load_session(conn, session_id)
        if record is None:
            raise NotFoundError("no such session")
        assessment, compiled, engine = _session_parts(rt, conn, record.assessment_id)
    state = record.state
    completion: awards.Completion | None = None
    if _expired(record, utcnow()) or (not state.finished and state.pending is None):
        for attempt in range(2):
            try:
                with rt.db.write() as conn:
                    locked = store.load_session(conn, session_id, for_update=True)
                    assert locked is not None
                    state = locked.state
                    if _expired(locked, utcnow()):
                        if locked.practice is not None:
                            state, settled = _settle(
                                compiled, engine, locked, None, choose_next=False
                            )
                            store.append_response(conn, **settled)
                        state = _finish_for_time(engine, state)
                    elif not state.finished and state.pending is None:
                        state = engine.next_item(state)
                    if state != locked.state:
                        result = engine.result(state) if state.finished else None
                        store.save_state(conn, locked, state, result)
                        if result is not None:
                            # A time-limit finish (rare): the award is prepared in the
                            # transaction that holds the session's row.
                            completion = awards.prepare(
                                rt,
                                conn,
                                assessment=assessment,
                                compiled=compiled,
                                record=locked,
                                result=result,
                                now=utcnow(),
                                integrity=evidence_for(
                                    rt,
                                    conn,
                                    compiled=compiled,
                                    engine=engine,
                                    session_id=locked.id,
                                    state=state,
                                ),
                            )
                            awards.write(conn, completion)
                        locked = msgspec.structs.replace(
                            locked, state=state, practice=None, version=locked.version + 1
                        )
                    record = locked
                break
            except IntegrityError:  # a status-list slot was taken meanwhile: once more
                if attempt:
                    raise
        if completion is not None:
            awards.notify_worker(rt)
            if completion.award_status == "awaiting_email":
                settle_awaiting(rt, session_id)
    return _view(
        rt,
        compiled=compiled,
        assessment=assessment,
        record=record,
        state=state,
        engine=engine,
        credential_url=_credential_url(rt, record) if state.finished else None,
        completion=completion,
    )


def submit_answer(
    rt: Runtime,
    session_id: str,
    *,
    item_id: str,
    position: int,
    answer: str | list[str],
    attempt: int = 1,
) -> AnswerOutcome:
    """Score and store one answer, advance the session, and say what comes next.

    Resubmitting the answer to an earlier position (a double click, a retried request)
    returns what was stored for it, without storing anything again. ``attempt = 2`` is a
    practice second try; a repeated first try while the second is open is a replay too.
    If the database connection is lost (the database restarted or dropped it), the answer is
    tried again on a new one: whether or not the write had committed, that is safe (it finds
    the answer stored, a replay, or stores it).

    Raises
    ------
    NotFoundError
        Unknown session.
    ConflictError
        The answer is for a question that is not the current one, or the session is over.
    item_banks.errors.AnswerError
        The answer does not fit the question (unknown option, not a number...).
    """
    for tries_left in reversed(range(_ATTEMPTS)):
        try:
            return _submit_answer(
                rt, session_id, item_id=item_id, position=position, answer=answer, attempt=attempt
            )
        except DBAPIError as error:
            if not disconnected(error) or tries_left == 0:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _submit_answer(
    rt: Runtime,
    session_id: str,
    *,
    item_id: str,
    position: int,
    answer: str | list[str],
    attempt: int = 1,
) -> AnswerOutcome:
    """:func:`submit_answer` without its retries after a lost connection."""
    for _attempt in range(_ATTEMPTS):
        now = utcnow()
        with rt.db.read_one() as conn:
            record = store.load_session(conn, session_id)
            if record is None:
                raise NotFoundError("no such session")
            assessment, compiled, engine = _session_parts(rt, conn, record.assessment_id)
            if position <= len(record.state.items):
                return _replay(
                    rt,
                    conn=conn,
                    compiled=compiled,
                    assessment=assessment,
                    record=record,
                    engine=engine,
                    item_id=item_id,
                    position=position,
                )
        hold = record.practice
        if hold is not None and hold.position == position and hold.item_id == item_id:
            if attempt == 1:  # the first try again (double click, retry): what it got
                view = _view(
                    rt,
                    compiled=compiled,
                    assessment=assessment,
                    record=record,
                    state=record.state,
                    engine=engine,
                )
                return AnswerOutcome(
                    feedback=None, practice=_practice_view(compiled, hold), session=view
                )
            item = compiled.items[hold.item_id]
            second = _second_try(compiled, hold, bank_answer(rt, record.id, item, answer))
            try:
                return _settle_and_store(
                    rt,
                    record=record,
                    assessment=assessment,
                    compiled=compiled,
                    engine=engine,
                    second=second,
                    now=now,
                )
            except _RaceLostError:
                continue
        if attempt != 1:
            raise ConflictError("no second try is open for this question; reload the page")
        try:
            return _advance(
                rt,
                record=record,
                assessment=assessment,
                compiled=compiled,
                engine=engine,
                item_id=item_id,
                position=position,
                answer=answer,
                now=now,
            )
        except _RaceLostError:
            continue  # another request advanced the session first: look again
    raise ConflictError("this session is busy; try again")


_ATTEMPTS = 5


class _RaceLostError(Exception):
    """The session changed between reading it and writing the answer."""


def _advance(
    rt: Runtime,
    *,
    record: store.SessionRecord,
    assessment: AssessmentRecord,
    compiled: CompiledBank,
    engine: Session,
    item_id: str,
    position: int,
    answer: str | list[str],
    now: datetime,
) -> AnswerOutcome:
    """Score and record the answer, then store it in one short write transaction.

    The work (scoring, the engine step, the next item) happens before the transaction; the
    transaction only writes, and the version check in :func:`store.save_state` refuses it
    if the session changed meanwhile, so the write lock is held for two statements.
    """
    state = record.state
    if _expired(record, now):
        settled = None
        if record.practice is not None:  # a held first try is an answer: store it
            state, settled = _settle(compiled, engine, record, None, choose_next=False)
        finished = _finish_for_time(engine, state)
        _commit_step(
            rt,
            record=record,
            state=finished,
            finishing=_finishing(
                rt,
                finished,
                assessment=assessment,
                compiled=compiled,
                record=record,
                engine=engine,
                now=now,
                pending_ms=[] if settled is None else [settled["elapsed_ms"]],
            ),
            rows=[] if settled is None else [settled],
        )
        raise ConflictError("the time limit was reached; your earlier answers are saved")
    if state.finished:
        raise ConflictError("this assessment is already finished")
    if state.pending is None:
        raise ConflictError("no question is open; reload the page")
    pending_id = compiled.pool.item_ids[state.pending]
    if position != len(state.items) + 1 or item_id != pending_id:
        raise ConflictError("this answer is for another question; reload the page")
    item = compiled.items[pending_id]
    answer = bank_answer(rt, record.id, item, answer)
    scored = score_answer(item, answer)
    feedback = feedback_for(item, answer, scored, compiled.misconceptions)
    elapsed_ms = int((now - record.updated_at).total_seconds() * 1000)
    if assessment.feedback_mode == "practice" and not scored.correct:
        hold = store.PracticeHold(
            position=position,
            item_id=pending_id,
            answer=answer,
            category=scored.category,
            max_category=scored.max_category,
            feedback=feedback,
            hints_shown=min(1, len(item.hints)),
            elapsed_ms=elapsed_ms,
        )
        try:
            with rt.db.write() as conn:
                store.save_state(conn, record, state, None, hold)
        except ConflictError:
            raise _RaceLostError from None
        record = msgspec.structs.replace(record, version=record.version + 1, practice=hold)
        view = _view(
            rt, compiled=compiled, assessment=assessment, record=record, state=state, engine=engine
        )
        return AnswerOutcome(feedback=None, practice=view.practice, session=view)
    index = state.pending
    state = _record_and_choose(engine, state, index, scored.category, choose_next=True)
    finishing = _finishing(
        rt,
        state,
        assessment=assessment,
        compiled=compiled,
        record=record,
        engine=engine,
        now=now,
        pending_ms=[elapsed_ms],
    )
    row = {
        "session_id": record.id,
        "seq": position,
        "item_id": pending_id,
        "answer": answer,
        "category": scored.category,
        "max_category": scored.max_category,
        "pretest": not bool(compiled.pool.operational[index]),
        "estimates": _estimates(compiled, state),
        "feedback": msgspec.json.encode(feedback),
        "elapsed_ms": elapsed_ms,
    }
    _commit_step(rt, record=record, state=state, finishing=finishing, rows=[row])
    record = msgspec.structs.replace(record, version=record.version + 1)
    view = _view(
        rt,
        compiled=compiled,
        assessment=assessment,
        record=record,
        state=state,
        engine=engine,
        credential_url=_awarded_url(rt, finishing[1]),
        completion=finishing[1],
    )
    return AnswerOutcome(feedback=_shown(assessment, feedback, position, pending_id), session=view)


def _finishing(
    rt: Runtime,
    state: SessionState,
    *,
    assessment: AssessmentRecord,
    compiled: CompiledBank,
    record: store.SessionRecord,
    engine: Session,
    now: datetime,
    pending_ms: list[int | None],
) -> tuple[SessionResult | None, awards.Completion | None]:
    """The result, integrity evidence and award (built and signed) of a finished ``state``.

    Nothing if ``state`` is not finished; ``pending_ms`` are the times of the answers not
    stored yet.

    Runs before the write transaction, so signing never holds the write lock.
    """
    if not state.finished:
        return None, None
    result = engine.result(state)
    with rt.db.read() as conn:
        integrity = evidence_for(
            rt,
            conn,
            compiled=compiled,
            engine=engine,
            session_id=record.id,
            state=state,
            pending_ms=pending_ms,
        )
        completion = awards.prepare(
            rt,
            conn,
            assessment=assessment,
            compiled=compiled,
            record=record,
            result=result,
            now=now,
            integrity=integrity,
        )
    return result, completion


def _commit_step(
    rt: Runtime,
    *,
    record: store.SessionRecord,
    state: SessionState,
    finishing: tuple[SessionResult | None, awards.Completion | None],
    rows: list[dict[str, Any]],
) -> None:
    """Write one step in one transaction: the state, its response rows and any award.

    The award, its credential and one outbox row per webhook endpoint commit with the final
    answer and the result, or not at all. Raises :class:`_RaceLostError` when another
    request advanced the session (the version check) or took the status-list slot.
    """
    result, completion = finishing
    try:
        if not state.finished and result is None and completion is None and len(rows) == 1:
            # The common step (one answer, the session goes on): one statement on
            # PostgreSQL, so no BEGIN/COMMIT round trips (see store.record_answer).
            with rt.db.write_one() as conn:
                store.record_answer(conn, record, state, rows[0])
            return
        with rt.db.write() as conn:
            store.save_state(conn, record, state, result)
            for row in rows:
                store.append_response(conn, **row)
            if completion is not None:
                awards.write(conn, completion)
    except (ConflictError, IntegrityError):
        raise _RaceLostError from None
    if completion is not None:
        awards.notify_worker(rt)
        if completion.award_status == "awaiting_email":
            settle_awaiting(rt, record.id)


def _awarded_url(rt: Runtime, completion: awards.Completion | None) -> str | None:
    awarded = completion.credential if completion is not None else None
    return awards.issuer_of(rt).credential_url(awarded.id) if awarded else None


def _record_and_choose(
    engine: Session, state: SessionState, index: int, category: int, *, choose_next: bool
) -> SessionState:
    state = engine.record(state, index, category)
    if choose_next and not state.finished:
        state = engine.next_item(state)
    return state


def bank_answer(rt: Runtime, session_id: str, item: Item, answer: RawAnswer) -> RawAnswer:
    """The learner's answer in the bank's option ids, refused in plain words when empty.

    Raises
    ------
    item_banks.errors.AnswerError
        Nothing chosen or typed ("Choose an answer."), or an option id this session was
        not shown.
    """
    refuse_empty(item.id, item_kind(item), answer)
    return OptionIds(rt.settings.secret_key, session_id).to_bank(item, answer)


def _estimates(compiled: CompiledBank, state: SessionState) -> dict[str, tuple[float, float]]:
    return {
        cid: (round(t, 6), round(s, 6))
        for cid, t, s in zip(compiled.pool.competency_ids, state.theta, state.se, strict=True)
    }


def _second_try(compiled: CompiledBank, hold: store.PracticeHold, answer: RawAnswer) -> SecondTry:
    """Score the practice second try for its feedback only (the engine never sees it)."""
    item = compiled.items[hold.item_id]
    scored = score_answer(item, answer)
    return SecondTry(
        answer=answer, feedback=feedback_for(item, answer, scored, compiled.misconceptions)
    )


def _settle(
    compiled: CompiledBank,
    engine: Session,
    record: store.SessionRecord,
    second: SecondTry | None,
    *,
    choose_next: bool,
) -> tuple[SessionState, dict[str, Any]]:
    """Record a held practice item; the engine scores the FIRST try.

    Returns the new state and the response row, whose feedback holds the hints seen and
    the second try, if any.
    """
    hold = record.practice
    assert hold is not None and record.state.pending is not None
    index = record.state.pending
    item = compiled.items[hold.item_id]
    state = _record_and_choose(engine, record.state, index, hold.category, choose_next=choose_next)
    feedback = msgspec.structs.replace(
        hold.feedback, hints=item.hints[: hold.hints_shown], second_try=second
    )
    row: dict[str, Any] = {
        "session_id": record.id,
        "seq": hold.position,
        "item_id": hold.item_id,
        "answer": hold.answer,
        "category": hold.category,
        "max_category": hold.max_category,
        "pretest": not bool(compiled.pool.operational[index]),
        "estimates": _estimates(compiled, state),
        "feedback": msgspec.json.encode(feedback),
        "elapsed_ms": hold.elapsed_ms,
    }
    return state, row


def _settle_and_store(
    rt: Runtime,
    *,
    record: store.SessionRecord,
    assessment: AssessmentRecord,
    compiled: CompiledBank,
    engine: Session,
    second: SecondTry | None,
    now: datetime,
) -> AnswerOutcome:
    """Settle the held practice item (second try or "show the answer") in one transaction."""
    hold = record.practice
    assert hold is not None
    expired = _expired(record, now)
    state, row = _settle(compiled, engine, record, second, choose_next=not expired)
    if expired:
        state = _finish_for_time(engine, state)
    finishing = _finishing(
        rt,
        state,
        assessment=assessment,
        compiled=compiled,
        record=record,
        engine=engine,
        now=now,
        pending_ms=[row["elapsed_ms"]],
    )
    _commit_step(rt, record=record, state=state, finishing=finishing, rows=[row])
    record = msgspec.structs.replace(record, version=record.version + 1, practice=None)
    view = _view(
        rt,
        compiled=compiled,
        assessment=assessment,
        record=record,
        state=state,
        engine=engine,
        credential_url=_awarded_url(rt, finishing[1]),
        completion=finishing[1],
    )
    feedback = msgspec.json.decode(row["feedback"], type=Feedback)
    return AnswerOutcome(
        feedback=_shown(assessment, feedback, hold.position, hold.item_id), session=view
    )


def _open_hold(
    rt: Runtime, session_id: str, item_id: str, position: int
) -> tuple[store.SessionRecord, AssessmentRecord, CompiledBank, Session, store.PracticeHold]:
    with rt.db.read() as conn:
        record = store.load_session(conn, session_id)
        if record is None:
            raise NotFoundError("no such session")
        assessment, compiled, engine = _session_parts(rt, conn, record.assessment_id)
    hold = record.practice
    if hold is None or hold.position != position or hold.item_id != item_id:
        raise ConflictError("no second try is open for this question; reload the page")
    return record, assessment, compiled, engine, hold


def next_hint(rt: Runtime, session_id: str, *, item_id: str, position: int) -> SessionView:
    """Practice mode: show one more of the item's hints (each hint shown is recorded)."""
    for _attempt in range(_ATTEMPTS):
        record, assessment, compiled, engine, hold = _open_hold(rt, session_id, item_id, position)
        total = len(compiled.items[hold.item_id].hints)
        if hold.hints_shown < total:
            hold = msgspec.structs.replace(hold, hints_shown=hold.hints_shown + 1)
            try:
                with rt.db.write() as conn:
                    store.save_state(conn, record, record.state, None, hold)
            except ConflictError:
                continue
            record = msgspec.structs.replace(record, version=record.version + 1, practice=hold)
        return _view(
            rt,
            compiled=compiled,
            assessment=assessment,
            record=record,
            state=record.state,
            engine=engine,
        )
    raise ConflictError("this session is busy; try again")


def reveal_answer(rt: Runtime, session_id: str, *, item_id: str, position: int) -> AnswerOutcome:
    """Practice mode: skip the second try and see the explanation of the first."""
    for _attempt in range(_ATTEMPTS):
        now = utcnow()
        with rt.db.read_one() as conn:
            record = store.load_session(conn, session_id)
            if record is None:
                raise NotFoundError("no such session")
            assessment, compiled, engine = _session_parts(rt, conn, record.assessment_id)
            if position <= len(record.state.items):  # already settled: what was stored
                return _replay(
                    rt,
                    conn=conn,
                    compiled=compiled,
                    assessment=assessment,
                    record=record,
                    engine=engine,
                    item_id=item_id,
                    position=position,
                )
        hold = record.practice
        if hold is None or hold.position != position or hold.item_id != item_id:
            raise ConflictError("no second try is open for this question; reload the page")
        try:
            return _settle_and_store(
                rt,
                record=record,
                assessment=assessment,
                compiled=compiled,
                engine=engine,
                second=None,
                now=now,
            )
        except _RaceLostError:
            continue
    raise ConflictError("this session is busy; try again")


def _shown(
    assessment: AssessmentRecord, feedback: Feedback, position: int, item_id: str
) -> FeedbackView | None:
    """Feedback as the assessment's mode allows: withheld until the end in ``end`` mode."""
    if assessment.feedback_mode == "end":
        return None
    return feedback_view(feedback, position, item_id)


def _replay(
    rt: Runtime,
    *,
    conn: Connection,
    compiled: CompiledBank,
    assessment: AssessmentRecord,
    record: store.SessionRecord,
    engine: Session,
    item_id: str,
    position: int,
) -> AnswerOutcome:
    stored = store.response_at(conn, record.id, position)
    if stored is None or stored.item_id != item_id:
        raise ConflictError("this answer is for another question; reload the page")
    feedback = msgspec.json.decode(stored.feedback or b"", type=Feedback)
    view = _view(
        rt,
        compiled=compiled,
        assessment=assessment,
        record=record,
        state=record.state,
        engine=engine,
    )
    return AnswerOutcome(feedback=_shown(assessment, feedback, position, item_id), session=view)


def stored_feedback(
    rt: Runtime, session_id: str, position: int
) -> tuple[FeedbackView | None, SessionView, str]:
    """The feedback stored for answer ``position``, the session now, and the question's stem.

    The stem (HTML) lets the feedback page show the question it explains.
    """
    with rt.db.read() as conn:
        record = store.load_session(conn, session_id)
        if record is None:
            raise NotFoundError("no such session")
        assessment, compiled, engine = _session_parts(rt, conn, record.assessment_id)
        stored = store.response_at(conn, session_id, position)
        if stored is None:
            raise NotFoundError("no answer at this position")
        feedback = msgspec.json.decode(stored.feedback or b"", type=Feedback)
        view = _view(
            rt,
            compiled=compiled,
            assessment=assessment,
            record=record,
            state=record.state,
            engine=engine,
        )
    item = compiled.items.get(stored.item_id)
    stem_html = render(item.stem) if item is not None else ""
    return _shown(assessment, feedback, position, stored.item_id), view, stem_html
