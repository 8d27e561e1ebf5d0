"""What authors see about an assessment: sessions, per-item statistics, the response export."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import datetime

import msgspec
from sqlalchemy import Connection, case, func, select

from engine.session import SessionResult
from engine.standing import scaled_score
from web.db.connection import as_utc
from web.db.schema import learner_sessions, responses


class SessionSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the sessions table.

    ``person_id`` is the session's pseudonym (:mod:`web.pseudonyms`), the ``person_id`` of
    the response export; the session id itself is the learner's key and is never listed.
    """

    person_id: str
    learner_name: str | None
    started: datetime
    finished: datetime | None
    answers: int
    checked: bool = False
    """Whether the session has integrity evidence (sessions finished since revision
    0004_verify)."""


class ItemStatistics(msgspec.Struct, frozen=True, kw_only=True):
    """How one item behaved in an assessment.

    ``exposure_rate`` is the share of sessions that were given the item; ``mean_ability``
    is the mean final estimate, on the item's competency, of finished sessions that saw it,
    and ``mean_score`` the same on the reported scale (``500 + 100 theta``).
    """

    item_id: str
    sessions: int
    exposure_rate: float
    proportion_correct: float
    mean_ability: float | None
    mean_score: int | None = None


def list_sessions(
    conn: Connection, assessment_id: str, pseudonym: Callable[[str], str], limit: int = 200
) -> list[SessionSummary]:
    """The newest sessions of an assessment with their answer counts, by pseudonym."""
    counts = (
        select(responses.c.session_id, func.count().label("answers"))
        .group_by(responses.c.session_id)
        .subquery()
    )
    rows = conn.execute(
        select(
            learner_sessions.c.id,
            learner_sessions.c.learner_name,
            learner_sessions.c.created_at,
            learner_sessions.c.finished_at,
            learner_sessions.c.integrity.is_not(None).label("checked"),
            func.coalesce(counts.c.answers, 0).label("answers"),
        )
        .outerjoin(counts, counts.c.session_id == learner_sessions.c.id)
        .where(learner_sessions.c.assessment_id == assessment_id)
        .order_by(learner_sessions.c.created_at.desc())
        .limit(limit)
    ).all()
    return [
        SessionSummary(
            person_id=pseudonym(r.id),
            learner_name=r.learner_name,
            started=as_utc(r.created_at),  # type: ignore[arg-type]
            finished=as_utc(r.finished_at),
            answers=int(r.answers),
            checked=bool(r.checked),
        )
        for r in rows
    ]


def item_statistics(
    conn: Connection, assessment_id: str, competency_of: dict[str, str]
) -> list[ItemStatistics]:
    """Exposure rate, proportion correct and mean ability per item, most used first."""
    total = conn.execute(
        select(func.count()).where(learner_sessions.c.assessment_id == assessment_id)
    ).scalar_one()
    rows = conn.execute(
        select(
            responses.c.item_id,
            func.count(func.distinct(responses.c.session_id)).label("sessions"),
            func.sum(case((responses.c.category == responses.c.max_category, 1), else_=0)).label(
                "correct"
            ),
            func.count().label("answers"),
        )
        .join(learner_sessions, learner_sessions.c.id == responses.c.session_id)
        .where(learner_sessions.c.assessment_id == assessment_id)
        .group_by(responses.c.item_id)
    ).all()
    finals: dict[str, dict[str, float]] = {}
    for sid, result in conn.execute(
        select(learner_sessions.c.id, learner_sessions.c.result)
        .where(learner_sessions.c.assessment_id == assessment_id)
        .where(learner_sessions.c.result.is_not(None))
    ).all():
        decoded = msgspec.json.decode(result, type=SessionResult)
        finals[sid] = {c.competency: c.theta for c in decoded.competencies}
    seen: dict[str, list[str]] = {}
    for item_id, sid in conn.execute(
        select(responses.c.item_id, responses.c.session_id)
        .join(learner_sessions, learner_sessions.c.id == responses.c.session_id)
        .where(learner_sessions.c.assessment_id == assessment_id)
    ).all():
        seen.setdefault(item_id, []).append(sid)
    out = []
    for r in rows:
        competency = competency_of.get(r.item_id)
        abilities = [
            finals[sid][competency]
            for sid in seen.get(r.item_id, [])
            if sid in finals and competency in finals[sid]
        ]
        out.append(
            ItemStatistics(
                item_id=r.item_id,
                sessions=int(r.sessions),
                exposure_rate=int(r.sessions) / total if total else 0.0,
                proportion_correct=int(r.correct) / int(r.answers) if r.answers else 0.0,
                mean_ability=sum(abilities) / len(abilities) if abilities else None,
                mean_score=round(float(scaled_score(sum(abilities) / len(abilities))))
                if abilities
                else None,
            )
        )
    out.sort(key=lambda s: (-s.sessions, s.item_id))
    return out


EXPORT_HEADER = [
    "person_id",
    "item_id",
    "response",
    "max_category",
    "pretest",
    "seq",
    "answered_at",
    "elapsed_ms",
    "assessment_id",
]


def export_responses(
    conn: Connection, assessment_id: str, pseudonym: Callable[[str], str]
) -> Iterator[str]:
    """The assessment's responses as long CSV (``person_id,item_id,response`` + covariates).

    This is the format ``skillgauge calibrate`` reads; ``response`` is the score category.
    ``person_id`` is ``pseudonym(session id)`` (:func:`web.pseudonyms.pseudonymizer`):
    stable per session, and not the session's key.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_HEADER)
    yield buffer.getvalue()
    result = conn.execution_options(stream_results=True, yield_per=2000).execute(
        select(
            responses.c.session_id,
            responses.c.item_id,
            responses.c.category,
            responses.c.max_category,
            responses.c.pretest,
            responses.c.seq,
            responses.c.answered_at,
            responses.c.elapsed_ms,
        )
        .join(learner_sessions, learner_sessions.c.id == responses.c.session_id)
        .where(learner_sessions.c.assessment_id == assessment_id)
        .order_by(responses.c.session_id, responses.c.seq)
    )
    for batch in result.partitions():
        buffer.seek(0)
        buffer.truncate()
        for r in batch:
            answered = as_utc(r.answered_at)
            writer.writerow(
                [
                    pseudonym(r.session_id),
                    r.item_id,
                    r.category,
                    r.max_category,
                    int(bool(r.pretest)),
                    r.seq,
                    answered.isoformat() if answered else "",
                    "" if r.elapsed_ms is None else r.elapsed_ms,
                    assessment_id,
                ]
            )
        yield buffer.getvalue()
