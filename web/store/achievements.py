"""Achievements: at most one per assessment, defined by its author."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Connection, insert, select, update

from web.credentials.ob3 import AchievementSpec
from web.db.connection import as_utc, utcnow
from web.db.schema import achievements, assessments


class AchievementRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A stored achievement."""

    id: str
    assessment_id: str
    spec: AchievementSpec
    created_at: datetime
    updated_at: datetime


def _record(row: Any) -> AchievementRecord:
    return AchievementRecord(
        id=row.id,
        assessment_id=row.assessment_id,
        spec=msgspec.json.decode(row.definition, type=AchievementSpec),
        created_at=as_utc(row.created_at) or utcnow(),
        updated_at=as_utc(row.updated_at) or utcnow(),
    )


def for_assessment(conn: Connection, assessment_id: str) -> AchievementRecord | None:
    """The achievement of an assessment, if it has one."""
    row = conn.execute(
        select(achievements).where(achievements.c.assessment_id == assessment_id)
    ).first()
    return None if row is None else _record(row)


def get(conn: Connection, achievement_id: str) -> AchievementRecord | None:
    """The achievement with ``achievement_id``."""
    if len(achievement_id) > 32:
        return None
    row = conn.execute(select(achievements).where(achievements.c.id == achievement_id)).first()
    return None if row is None else _record(row)


def save(conn: Connection, assessment_id: str, spec: AchievementSpec) -> AchievementRecord:
    """Define or replace an assessment's achievement (its id stays the same).

    Credentials issued earlier keep the achievement as it was when they were signed.
    """
    now = utcnow()
    definition = msgspec.json.encode(spec).decode("utf-8")
    existing = for_assessment(conn, assessment_id)
    if existing is not None:
        conn.execute(
            update(achievements)
            .where(achievements.c.id == existing.id)
            .values(definition=definition, updated_at=now)
        )
        return msgspec.structs.replace(existing, spec=spec, updated_at=now)
    record = AchievementRecord(
        id=secrets.token_urlsafe(9),
        assessment_id=assessment_id,
        spec=spec,
        created_at=now,
        updated_at=now,
    )
    conn.execute(
        insert(achievements).values(
            id=record.id,
            assessment_id=assessment_id,
            definition=definition,
            org_id=select(assessments.c.org_id)
            .where(assessments.c.id == assessment_id)
            .scalar_subquery(),
            created_at=now,
            updated_at=now,
        )
    )
    return record
