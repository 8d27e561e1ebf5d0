"""Integrity evidence for authors, and their decisions on held awards.

A session whose integrity checks hold its award (:mod:`web.integrity`) finishes with
``award_status = "held"`` and no credential. The assessment's owner sees the evidence
(:func:`integrity_sessions`, :func:`session_evidence`) and decides once:

- :func:`release` builds and signs the credential now, and stores it with its
  ``credential.issued`` outbox rows and the new status in one transaction;
- :func:`refuse` records the refusal with an ``award.refused`` outbox row.

Each decision is a conditional update from ``held``: of two concurrent decisions one
finds the row no longer held and is refused with a conflict, so a held award yields at
most one credential and one event. Sessions are named by their ``person_id`` only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.integrity import IntegrityEvidence
from web.authoring import owned_assessment
from web.credentials import awards
from web.db.connection import as_utc, utcnow
from web.db.schema import learner_sessions
from web.errors import ConflictError, InvalidInputError, NotFoundError
from web.integrity import reasons
from web.pseudonyms import pseudonymizer
from web.runtime import Runtime
from web.store import achievements as achievement_store
from web.store import audit
from web.store import credentials as credential_store
from web.store import sessions as session_store
from web.store.authors import Member
from web.store.sessions import SessionRecord

NOTE_LIMIT = 500


class SessionIntegrity(msgspec.Struct, frozen=True, kw_only=True):
    """One finished session's integrity outcome, as the author's list shows it."""

    person_id: str
    learner_name: str | None
    finished: datetime | None
    decision: str
    raised: tuple[str, ...]
    award_status: str | None


class SessionEvidence(msgspec.Struct, frozen=True, kw_only=True):
    """One session's integrity evidence and its award, for the author's review page."""

    person_id: str
    learner_name: str | None
    finished: datetime | None
    evidence: IntegrityEvidence
    award_status: str | None
    decided_at: datetime | None
    credential_url: str | None
    learner_reasons: tuple[str, ...]


def integrity_sessions(
    rt: Runtime, author: Member, assessment_id: str, limit: int = 500
) -> list[SessionIntegrity]:
    """The assessment's finished sessions with evidence: held awards first, then newest."""
    owned_assessment(rt, author, assessment_id)
    pseudonym = pseudonymizer(rt.settings.secret_key)
    c = learner_sessions.c
    with rt.db.read() as conn:
        rows = conn.execute(
            select(c.id, c.learner_name, c.finished_at, c.integrity, c.award_status)
            .where(c.assessment_id == assessment_id)
            .where(c.integrity.is_not(None))
            .order_by(c.finished_at.desc())
            .limit(limit)
        ).all()
    out = []
    for row in rows:
        evidence = msgspec.json.decode(row.integrity, type=IntegrityEvidence)
        out.append(
            SessionIntegrity(
                person_id=pseudonym(row.id),
                learner_name=row.learner_name,
                finished=as_utc(row.finished_at),
                decision=evidence.decision,
                raised=tuple(f.check for f in evidence.raised),
                award_status=row.award_status,
            )
        )
    out.sort(key=lambda s: s.award_status != "held")  # stable: newest first within each
    return out


def _session_of(rt: Runtime, assessment_id: str, person: str) -> SessionRecord:
    """The assessment's session whose pseudonym is ``person`` (404 otherwise)."""
    pseudonym = pseudonymizer(rt.settings.secret_key)
    c = learner_sessions.c
    with rt.db.read() as conn:
        ids = conn.execute(
            select(c.id).where(c.assessment_id == assessment_id).where(c.integrity.is_not(None))
        ).scalars()
        found = next((i for i in ids if pseudonym(i) == person), None)
        record = None if found is None else session_store.load_session(conn, found)
    if record is None or record.integrity is None:
        raise NotFoundError("no such session")
    return record


def session_evidence(
    rt: Runtime, author: Member, assessment_id: str, person: str
) -> SessionEvidence:
    """The evidence of one session of one of the author's assessments."""
    owned_assessment(rt, author, assessment_id)
    record = _session_of(rt, assessment_id, person)
    assert record.integrity is not None
    with rt.db.read() as conn:
        credential = credential_store.for_session(conn, record.id)
    return SessionEvidence(
        person_id=person,
        learner_name=record.learner_name,
        finished=record.finished_at,
        evidence=record.integrity,
        award_status=record.award_status,
        decided_at=record.award_decided_at,
        credential_url=(
            None if credential is None else awards.issuer_of(rt).credential_url(credential.id)
        ),
        learner_reasons=tuple(reasons(record.integrity)),
    )


def release(rt: Runtime, author: Member, assessment_id: str, person: str) -> str | None:
    """Issue the held award of ``person``'s session; returns the credential's URL.

    When the assessment certifies verified learners only and this one has not verified
    their email, the award moves on to ``awaiting_email`` instead (None is returned).

    Raises
    ------
    NotFoundError
        Not the author's assessment, or no such session.
    ConflictError
        The award is not held (already released or refused, or never held).
    """
    owned_assessment(rt, author, assessment_id)
    record = _session_of(rt, assessment_id, person)
    if record.award_status != "held":
        raise ConflictError(_not_held(record.award_status))
    now = utcnow()
    return issue_pending(
        rt,
        record.id,
        expected="held",
        status="released",
        author_id=author.id,
        actor=author,
        review=(
            "The award was held for review and released by the assessment's author on "
            f"{now.strftime('%Y-%m-%d')}."
        ),
    )


def issue_pending(
    rt: Runtime,
    session_id: str,
    *,
    expected: str,
    status: str,
    author_id: int | None,
    review: str | None,
    actor: Member | None = None,
) -> str | None:
    """Issue the credential of a session whose award waits in ``expected``, exactly once.

    The credential, its ``credential.issued`` outbox rows and the move to ``status`` commit
    together; a session that still needs a verified email moves to ``awaiting_email``.
    Returns the credential URL (None when nothing was issued).
    """
    for attempt in range(3):
        now = utcnow()
        with rt.db.read() as conn:
            record = session_store.load_session(conn, session_id)
            if record is None or record.award_status != expected:
                raise ConflictError(_not_held("decided"))
            assessment = rt.assessment(conn, record.assessment_id)
            compiled = rt.compiled(conn, assessment.bank_hash)
            achievement = achievement_store.for_assessment(conn, assessment.id)
            if achievement is None or record.result is None:
                raise ConflictError("this assessment no longer has an achievement to award")
            completion = awards.Completion(org_id=assessment.org_id)
            waiting = achievement.spec.require_verified_email and not awards.identity_verified(
                record
            )
            if not waiting:
                awards.issue(
                    rt,
                    conn,
                    completion,
                    assessment=assessment,
                    compiled=compiled,
                    record=record,
                    result=record.result,
                    achievement=achievement,
                    now=now,
                    integrity=record.integrity,
                    review=review,
                )
        try:
            with rt.db.write() as conn:
                if not session_store.decide_award(
                    conn,
                    session_id,
                    expected=expected,
                    status="awaiting_email" if waiting else status,
                    author_id=author_id,
                    now=now,
                ):
                    raise ConflictError(_not_held("decided"))
                awards.write(conn, completion)
                if actor is not None:
                    audit.record(
                        conn,
                        actor.org_id,
                        actor.id,
                        actor.email,
                        "award.release",
                        session_id[:8] + "…",
                        f"assessment {record.assessment_id}",
                    )
        except IntegrityError:  # a status-list slot was taken meanwhile: once more
            if attempt == 2:
                raise
            continue
        awards.notify_worker(rt)
        if completion.credential is None:
            return None
        return awards.issuer_of(rt).credential_url(completion.credential.id)
    raise ConflictError("the award could not be stored; try again")  # pragma: no cover


def refuse(rt: Runtime, author: Member, assessment_id: str, person: str, note: str) -> None:
    """Refuse the held award of ``person``'s session and send ``award.refused``."""
    assessment = owned_assessment(rt, author, assessment_id)
    note = note.strip()
    if len(note) > NOTE_LIMIT:
        raise InvalidInputError(
            "the note is too long", [f"note: at most {NOTE_LIMIT} characters, got {len(note)}"]
        )
    record = _session_of(rt, assessment_id, person)
    if record.award_status != "held":
        raise ConflictError(_not_held(record.award_status))
    now = utcnow()
    payload: dict[str, Any] = {
        "assessment": {"id": assessment.id, "title": assessment.title},
        "person_id": person,
        "learner": {"name": record.learner_name, "email": record.learner_email},
        "refused_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "note": note or None,
        "integrity": awards.integrity_summary(record.integrity),
    }
    completion = awards.Completion(
        org_id=assessment.org_id,
        events=[("award.refused", awards.envelope("award.refused", payload, now))],
    )
    with rt.db.write() as conn:
        if not session_store.decide_award(
            conn, record.id, expected="held", status="refused", author_id=author.id, now=now
        ):
            raise ConflictError(_not_held("decided"))
        awards.write(conn, completion)
        audit.record(
            conn,
            author.org_id,
            author.id,
            author.email,
            "award.refuse",
            person,
            f"assessment {assessment.id}" + (f": {note}" if note else ""),
        )
    awards.notify_worker(rt)


def _not_held(status: str | None) -> str:
    if status in ("released", "refused", "decided"):
        return "this award was already decided"
    return "this session has no award held for review"
