"""The append-only audit log of each organisation: who did what, when.

Rows are only ever inserted (database triggers refuse UPDATE and DELETE); owners read and
export their organisation's log, nobody else's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Literal

import msgspec
from sqlalchemy import Connection, insert, select

from web.db.connection import as_utc, utcnow
from web.db.schema import audit_events

AuditAction = Literal[
    "bank.upload",
    "bank.share",
    "bank.unshare",
    "assessment.create",
    "assessment.status",
    "achievement.save",
    "award.release",
    "award.refuse",
    "credential.revoke",
    "keys.rotate",
    "invitation.send",
    "invitation.accept",
    "member.role",
    "member.remove",
    "org.create",
    "org.profile",
    "webhook.create",
    "lti.register",
]


class AuditEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of the log."""

    id: int
    at: datetime
    actor: str
    action: str
    object: str
    detail: str


def record(  # noqa: PLR0917 - one entry's fields, in the order the log shows them
    conn: Connection,
    org_id: int | None,
    actor_id: int | None,
    actor_email: str,
    action: AuditAction,
    object_id: str,
    detail: str = "",
) -> None:
    """Append one entry (in the caller's transaction, so it is written with what it records)."""
    if org_id is None:
        return
    conn.execute(
        insert(audit_events).values(
            org_id=org_id,
            at=utcnow(),
            actor_id=actor_id,
            actor_email=actor_email[:320],
            action=action,
            object=object_id[:200],
            detail=detail[:2000],
        )
    )


def events(conn: Connection, org_id: int, limit: int = 500) -> list[AuditEvent]:
    """The organisation's newest entries, newest first."""
    rows = conn.execute(
        select(audit_events)
        .where(audit_events.c.org_id == org_id)
        .order_by(audit_events.c.id.desc())
        .limit(limit)
    ).all()
    return [
        AuditEvent(
            id=r.id,
            at=as_utc(r.at) or utcnow(),
            actor=r.actor_email,
            action=r.action,
            object=r.object,
            detail=r.detail,
        )
        for r in rows
    ]


def export_csv(conn: Connection, org_id: int) -> Iterator[str]:
    """The whole log of the organisation as CSV (oldest first), in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "at", "actor", "action", "object", "detail"])
    rows = conn.execute(
        select(audit_events).where(audit_events.c.org_id == org_id).order_by(audit_events.c.id)
    )
    for r in rows:
        at = as_utc(r.at)
        writer.writerow(
            [r.id, at.isoformat() if at else "", r.actor_email, r.action, r.object, r.detail]
        )
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
