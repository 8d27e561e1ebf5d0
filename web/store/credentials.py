"""Issued credentials and the status lists they point into."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Connection, and_, func, insert, select, update

from web.credentials.status_list import FILL_LIMIT
from web.db.connection import as_utc, utcnow
from web.db.schema import assessments, credentials, status_lists


class CredentialRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A stored credential (the signed document and its VC-JWT)."""

    id: str
    session_id: str
    assessment_id: str
    achievement_id: str
    status_list_id: int
    status_index: int
    recipient_name: str | None
    recipient_email: str | None
    recipient_did: str | None
    document: dict[str, Any]
    jwt: str
    issued_at: datetime
    valid_until: datetime | None
    revoked_at: datetime | None
    revocation_reason: str | None


class StatusListRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A status list: its size, how much is used, and its signed document if current."""

    id: int
    size: int
    used: int
    revision: int
    document: dict[str, Any] | None
    document_revision: int | None
    org_id: int | None = None


def new_credential_id() -> str:
    """A random credential id (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def _record(row: Any) -> CredentialRecord:
    return CredentialRecord(
        id=row.id,
        session_id=row.session_id,
        assessment_id=row.assessment_id,
        achievement_id=row.achievement_id,
        status_list_id=row.status_list_id,
        status_index=row.status_index,
        recipient_name=row.recipient_name,
        recipient_email=row.recipient_email,
        recipient_did=row.recipient_did,
        document=msgspec.json.decode(row.document),
        jwt=row.jwt,
        issued_at=as_utc(row.issued_at) or utcnow(),
        valid_until=as_utc(row.valid_until),
        revoked_at=as_utc(row.revoked_at),
        revocation_reason=row.revocation_reason,
    )


def get(conn: Connection, credential_id: str) -> CredentialRecord | None:
    """The credential with ``credential_id``."""
    if len(credential_id) > 40:
        return None
    row = conn.execute(select(credentials).where(credentials.c.id == credential_id)).first()
    return None if row is None else _record(row)


def for_session(conn: Connection, session_id: str) -> CredentialRecord | None:
    """The credential awarded for a session, if any."""
    row = conn.execute(select(credentials).where(credentials.c.session_id == session_id)).first()
    return None if row is None else _record(row)


def for_assessment(
    conn: Connection, assessment_id: str, limit: int = 500
) -> list[CredentialRecord]:
    """An assessment's credentials, newest first."""
    rows = conn.execute(
        select(credentials)
        .where(credentials.c.assessment_id == assessment_id)
        .order_by(credentials.c.issued_at.desc())
        .limit(limit)
    ).all()
    return [_record(r) for r in rows]


def insert_credential(conn: Connection, record: CredentialRecord) -> None:
    """Store an issued credential and count its status slot as used.

    The unique (list, index) key refuses a slot taken meanwhile by another award.
    """
    conn.execute(
        insert(credentials).values(
            id=record.id,
            session_id=record.session_id,
            assessment_id=record.assessment_id,
            achievement_id=record.achievement_id,
            status_list_id=record.status_list_id,
            status_index=record.status_index,
            recipient_name=record.recipient_name,
            recipient_email=record.recipient_email,
            recipient_did=record.recipient_did,
            document=msgspec.json.encode(record.document).decode("utf-8"),
            jwt=record.jwt,
            issued_at=record.issued_at,
            valid_until=record.valid_until,
            org_id=select(assessments.c.org_id)
            .where(assessments.c.id == record.assessment_id)
            .scalar_subquery(),
        )
    )
    conn.execute(
        update(status_lists)
        .where(status_lists.c.id == record.status_list_id)
        .values(used=status_lists.c.used + 1)
    )


def revoke(conn: Connection, credential_id: str, reason: str) -> datetime | None:
    """Mark a credential revoked and bump its status list's revision.

    Returns the revocation time, or None if it was already revoked (nothing changes).
    """
    now = utcnow()
    done = conn.execute(
        update(credentials)
        .where(and_(credentials.c.id == credential_id, credentials.c.revoked_at.is_(None)))
        .values(revoked_at=now, revocation_reason=reason)
    )
    if done.rowcount != 1:
        return None
    list_id = conn.execute(
        select(credentials.c.status_list_id).where(credentials.c.id == credential_id)
    ).scalar_one()
    conn.execute(
        update(status_lists)
        .where(status_lists.c.id == list_id)
        .values(revision=status_lists.c.revision + 1)
    )
    return now


# -- status lists ---------------------------------------------------------------------------


def _list(row: Any) -> StatusListRecord:
    return StatusListRecord(
        id=row.id,
        size=row.size,
        used=row.used,
        revision=row.revision,
        document=None if row.document is None else msgspec.json.decode(row.document),
        document_revision=row.document_revision,
        org_id=row.org_id,
    )


def open_list(conn: Connection, org_id: int | None = None) -> StatusListRecord | None:
    """The organisation's newest status list that still takes credentials."""
    owner = status_lists.c.org_id.is_(None) if org_id is None else status_lists.c.org_id == org_id
    row = conn.execute(
        select(status_lists)
        .where(owner)
        .where(status_lists.c.used < FILL_LIMIT)
        .order_by(status_lists.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else _list(row)


def get_list(conn: Connection, list_id: int) -> StatusListRecord | None:
    """The status list ``list_id``."""
    row = conn.execute(select(status_lists).where(status_lists.c.id == list_id)).first()
    return None if row is None else _list(row)


def slot_taken(conn: Connection, list_id: int, index: int) -> bool:
    """Whether a credential already uses ``index`` of list ``list_id``."""
    return (
        conn.execute(
            select(func.count())
            .select_from(credentials)
            .where(credentials.c.status_list_id == list_id)
            .where(credentials.c.status_index == index)
        ).scalar_one()
        > 0
    )


def revoked_indexes(conn: Connection, list_id: int) -> list[int]:
    """The indexes of revoked credentials in list ``list_id``."""
    return [
        int(i)
        for i in conn.execute(
            select(credentials.c.status_index)
            .where(credentials.c.status_list_id == list_id)
            .where(credentials.c.revoked_at.is_not(None))
        ).scalars()
    ]


def store_list_document(
    conn: Connection, list_id: int, document: dict[str, Any], revision: int
) -> None:
    """Keep the signed list made at ``revision`` (unless a newer revision exists)."""
    conn.execute(
        update(status_lists)
        .where(status_lists.c.id == list_id)
        .where(status_lists.c.revision == revision)
        .values(document=msgspec.json.encode(document).decode("utf-8"), document_revision=revision)
    )
