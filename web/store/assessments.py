"""Assessments: a bank version plus a policy and how the test is presented."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Literal

import msgspec
from sqlalchemy import Connection, insert, select, update

from engine.policy import Policy
from web.db.connection import as_utc, utcnow
from web.db.schema import assessments

FeedbackMode = Literal["instant", "end", "practice"]


class AssessmentRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A stored assessment."""

    id: str
    title: str
    description: str
    bank_hash: str
    policy: Policy
    feedback_mode: FeedbackMode
    time_limit_seconds: int | None
    owner_id: int | None
    status: Literal["open", "closed"]
    created_at: datetime
    org_id: int | None = None


def _record(row: Any) -> AssessmentRecord:
    return AssessmentRecord(
        id=row.id,
        title=row.title,
        description=row.description,
        bank_hash=row.bank_hash,
        policy=msgspec.json.decode(row.policy, type=Policy),
        feedback_mode=row.feedback_mode,
        time_limit_seconds=row.time_limit_seconds,
        owner_id=row.owner_id,
        status=row.status,
        created_at=as_utc(row.created_at) or utcnow(),
        org_id=row.org_id,
    )


def create_assessment(
    conn: Connection,
    *,
    title: str,
    description: str,
    bank_hash: str,
    policy: Policy,
    feedback_mode: FeedbackMode,
    time_limit_seconds: int | None,
    owner_id: int | None,
    org_id: int | None = None,
) -> AssessmentRecord:
    """Store a new, open assessment with a random public id."""
    record = AssessmentRecord(
        id=secrets.token_urlsafe(9),
        title=title,
        description=description,
        bank_hash=bank_hash,
        policy=policy,
        feedback_mode=feedback_mode,
        time_limit_seconds=time_limit_seconds,
        owner_id=owner_id,
        status="open",
        created_at=utcnow(),
        org_id=org_id,
    )
    conn.execute(
        insert(assessments).values(
            id=record.id,
            title=record.title,
            description=record.description,
            bank_hash=record.bank_hash,
            policy=msgspec.json.encode(policy).decode("utf-8"),
            feedback_mode=record.feedback_mode,
            time_limit_seconds=record.time_limit_seconds,
            owner_id=record.owner_id,
            org_id=record.org_id,
            status=record.status,
            created_at=record.created_at,
        )
    )
    return record


def get_assessment(conn: Connection, assessment_id: str) -> AssessmentRecord | None:
    """The assessment with ``assessment_id``."""
    row = conn.execute(select(assessments).where(assessments.c.id == assessment_id)).first()
    return None if row is None else _record(row)


def list_assessments(
    conn: Connection, owner_id: int | None = None, *, org_id: int | None = None
) -> list[AssessmentRecord]:
    """Assessments, newest first; only ``org_id``'s (and ``owner_id``'s) when given."""
    query = select(assessments).order_by(assessments.c.created_at.desc())
    if org_id is not None:
        query = query.where(assessments.c.org_id == org_id)
    if owner_id is not None:
        query = query.where(assessments.c.owner_id == owner_id)
    return [_record(row) for row in conn.execute(query).all()]


def set_status(conn: Connection, assessment_id: str, status: Literal["open", "closed"]) -> None:
    """Open or close an assessment for new sessions."""
    conn.execute(update(assessments).where(assessments.c.id == assessment_id).values(status=status))
