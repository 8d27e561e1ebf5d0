"""Webhook endpoints, the outbox of messages, and the log of delivery attempts.

The outbox is written in the transaction that causes the event (a finished session, an
award, a revocation): one ``webhook_messages`` row per subscribed endpoint, so an event is
sent if and only if its cause committed. Workers claim due rows (``FOR UPDATE SKIP LOCKED``
on PostgreSQL; on SQLite the write lock already admits one claimer at a time), reserve them
for a lease with a claim token, send outside any transaction, and record the outcome only
if their claim token still holds.

Every attempt is logged when it starts (``state = "sending"``, written with the claim) and
completed with its outcome (``done``). A worker killed mid-request leaves its attempt
``sending``; when the message is claimed again after the lease, that attempt is marked
``interrupted``, so the log says what happened instead of showing nothing.

A ``410 Gone`` parks the message (``pending``, its endpoint disabled): enabling the endpoint
again sends every parked and waiting message at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec
from sqlalchemy import Connection, and_, func, insert, select, update

from web.db.connection import as_utc, utcnow
from web.db.schema import webhook_attempts, webhook_endpoints, webhook_messages

EventType = Literal[
    "credential.issued", "credential.revoked", "assessment.completed", "award.refused"
]
EVENT_TYPES: tuple[EventType, ...] = (
    "credential.issued",
    "credential.revoked",
    "assessment.completed",
    "award.refused",
)
MessageStatus = Literal["pending", "delivered", "failed"]
AttemptState = Literal["sending", "done", "interrupted"]
INTERRUPTED = (
    "interrupted: the delivery worker stopped before the receiver's answer was recorded "
    "(the message was sent again)"
)


class Endpoint(msgspec.Struct, frozen=True, kw_only=True):
    """A configured receiver (its secret stays sealed in the database)."""

    id: str
    owner_id: int
    org_id: int | None = None
    url: str
    description: str
    event_types: tuple[EventType, ...]
    status: Literal["active", "disabled"]
    disabled_reason: str | None
    disabled_at: datetime | None
    failing_since: datetime | None
    created_at: datetime


class Message(msgspec.Struct, frozen=True, kw_only=True):
    """One outbox row: an event for one endpoint."""

    id: str
    endpoint_id: str
    event_type: str
    created_at: datetime
    status: MessageStatus
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None


class Attempt(msgspec.Struct, frozen=True, kw_only=True):
    """One logged delivery attempt: ``sending`` (in flight), ``done`` or ``interrupted``."""

    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    response_excerpt: str | None
    state: AttemptState = "done"


class Claimed(msgspec.Struct, frozen=True, kw_only=True):
    """A message reserved for one worker: what it needs to send it."""

    id: str
    endpoint_id: str
    url: str
    sealed_secret: str
    payload: bytes
    retry_step: int
    claim_token: str
    failing_since: datetime | None
    attempt_id: int = 0


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(
        id=row.id,
        owner_id=row.owner_id,
        org_id=row.org_id,
        url=row.url,
        description=row.description,
        event_types=tuple(msgspec.json.decode(row.event_types)),
        status=row.status,
        disabled_reason=row.disabled_reason,
        disabled_at=as_utc(row.disabled_at),
        failing_since=as_utc(row.failing_since),
        created_at=as_utc(row.created_at) or utcnow(),
    )


def _message(row: Any) -> Message:
    return Message(
        id=row.id,
        endpoint_id=row.endpoint_id,
        event_type=row.event_type,
        created_at=as_utc(row.created_at) or utcnow(),
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=as_utc(row.next_attempt_at) or utcnow(),
        last_status=row.last_status,
        last_error=row.last_error,
        delivered_at=as_utc(row.delivered_at),
    )


# -- endpoints ------------------------------------------------------------------------------


def create_endpoint(
    conn: Connection,
    *,
    owner_id: int,
    url: str,
    description: str,
    event_types: Sequence[EventType],
    sealed_secret: str,
    org_id: int | None = None,
) -> Endpoint:
    """Store a new, active endpoint of organisation ``org_id`` (made by ``owner_id``)."""
    endpoint = Endpoint(
        id="ep_" + secrets.token_urlsafe(12),
        owner_id=owner_id,
        org_id=org_id,
        url=url,
        description=description,
        event_types=tuple(event_types),
        status="active",
        disabled_reason=None,
        disabled_at=None,
        failing_since=None,
        created_at=utcnow(),
    )
    conn.execute(
        insert(webhook_endpoints).values(
            id=endpoint.id,
            owner_id=owner_id,
            org_id=org_id,
            url=url,
            description=description,
            event_types=msgspec.json.encode(list(event_types)).decode("utf-8"),
            secret=sealed_secret,
            status="active",
            created_at=endpoint.created_at,
        )
    )
    return endpoint


def endpoints_of(conn: Connection, org_id: int) -> list[Endpoint]:
    """An organisation's endpoints, newest first."""
    rows = conn.execute(
        select(webhook_endpoints)
        .where(webhook_endpoints.c.org_id == org_id)
        .order_by(webhook_endpoints.c.created_at.desc())
    ).all()
    return [_endpoint(r) for r in rows]


def get_endpoint(conn: Connection, endpoint_id: str) -> Endpoint | None:
    """The endpoint ``endpoint_id``."""
    row = conn.execute(
        select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)
    ).first()
    return None if row is None else _endpoint(row)


def set_endpoint_status(
    conn: Connection, endpoint_id: str, status: Literal["active", "disabled"], reason: str | None
) -> None:
    """Enable (clearing the failure record) or disable an endpoint, saying why.

    Enabling sends what waited at once: every pending message of the endpoint is due now
    (a message parked by ``410 Gone`` among them, and, from before parking existed,
    messages a 410 had marked failed).
    """
    now = utcnow()
    if status == "active":
        conn.execute(
            update(webhook_messages)
            .where(webhook_messages.c.endpoint_id == endpoint_id)
            .where(webhook_messages.c.status == "failed")
            .where(webhook_messages.c.last_status == 410)
            .values(status="pending", retry_step=0)
        )
        conn.execute(
            update(webhook_messages)
            .where(webhook_messages.c.endpoint_id == endpoint_id)
            .where(webhook_messages.c.status == "pending")
            .where(webhook_messages.c.claim_token.is_(None))
            .values(next_attempt_at=now)
        )
    conn.execute(
        update(webhook_endpoints)
        .where(webhook_endpoints.c.id == endpoint_id)
        .values(
            status=status,
            disabled_reason=reason if status == "disabled" else None,
            disabled_at=now if status == "disabled" else None,
            failing_since=None,
        )
    )


# -- the outbox -----------------------------------------------------------------------------


def enqueue(
    conn: Connection, *, org_id: int | None, event_type: EventType, payload: bytes
) -> list[str]:
    """Write one message per endpoint of organisation ``org_id`` subscribed to ``event_type``.

    Call it inside the transaction that makes the event happen. Returns the message ids.
    Messages for a disabled endpoint are written too: they wait, and go out once its author
    enables it again, so no event is lost while a receiver is being fixed.
    """
    if org_id is None:
        return []
    now = utcnow()
    rows = conn.execute(
        select(webhook_endpoints.c.id, webhook_endpoints.c.event_types).where(
            webhook_endpoints.c.org_id == org_id
        )
    ).all()
    ids = []
    text = payload.decode("utf-8")
    for row in rows:
        if event_type not in msgspec.json.decode(row.event_types):
            continue
        message_id = "msg_" + secrets.token_urlsafe(16)
        conn.execute(
            insert(webhook_messages).values(
                id=message_id,
                endpoint_id=row.id,
                event_type=event_type,
                payload=text,
                created_at=now,
                status="pending",
                retry_step=0,
                attempts=0,
                next_attempt_at=now,
            )
        )
        ids.append(message_id)
    return ids


def has_due(conn: Connection, now: datetime) -> bool:
    """Whether a message of an active endpoint is due.

    A cheap read, so idle workers (and messages waiting for a disabled endpoint) never take
    the write lock.
    """
    row = conn.execute(
        select(webhook_messages.c.id)
        .join(webhook_endpoints, webhook_endpoints.c.id == webhook_messages.c.endpoint_id)
        .where(webhook_messages.c.status == "pending")
        .where(webhook_messages.c.next_attempt_at <= now)
        .where(webhook_endpoints.c.status == "active")
        .limit(1)
    ).first()
    return row is not None


def next_due(conn: Connection) -> datetime | None:
    """When the next message of an active endpoint falls due (None: nothing is waiting)."""
    moment = conn.execute(
        select(func.min(webhook_messages.c.next_attempt_at))
        .join(webhook_endpoints, webhook_endpoints.c.id == webhook_messages.c.endpoint_id)
        .where(webhook_messages.c.status == "pending")
        .where(webhook_endpoints.c.status == "active")
    ).scalar_one_or_none()
    return as_utc(moment)


def claim_due(conn: Connection, *, now: datetime, limit: int, lease: timedelta) -> list[Claimed]:
    """Reserve up to ``limit`` due messages of active endpoints for one worker.

    On PostgreSQL the rows are locked with ``FOR UPDATE SKIP LOCKED``, so concurrent workers
    take disjoint sets; the claim then pushes ``next_attempt_at`` past the lease, so a
    worker that dies mid-delivery leaves its messages to be claimed again after the lease.
    """
    query = (
        select(
            webhook_messages.c.id,
            webhook_messages.c.endpoint_id,
            webhook_messages.c.payload,
            webhook_messages.c.retry_step,
            webhook_endpoints.c.url,
            webhook_endpoints.c.secret,
            webhook_endpoints.c.failing_since,
        )
        .join(webhook_endpoints, webhook_endpoints.c.id == webhook_messages.c.endpoint_id)
        .where(webhook_messages.c.status == "pending")
        .where(webhook_messages.c.next_attempt_at <= now)
        .where(webhook_endpoints.c.status == "active")
        .order_by(webhook_messages.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=webhook_messages)
    )
    rows = conn.execute(query).all()
    claimed = []
    for row in rows:
        token = secrets.token_hex(16)
        conn.execute(
            update(webhook_messages)
            .where(webhook_messages.c.id == row.id)
            .values(
                claim_token=token,
                next_attempt_at=now + lease,
                attempts=webhook_messages.c.attempts + 1,
            )
        )
        conn.execute(  # an attempt still "sending" from an earlier claim never finished
            update(webhook_attempts)
            .where(webhook_attempts.c.message_id == row.id)
            .where(webhook_attempts.c.state == "sending")
            .values(state="interrupted", error=INTERRUPTED)
        )
        attempt_id = conn.execute(
            insert(webhook_attempts)
            .values(
                message_id=row.id,
                attempted_at=now,
                status_code=None,
                latency_ms=0,
                state="sending",
            )
            .returning(webhook_attempts.c.id)
        ).scalar_one()
        claimed.append(
            Claimed(
                id=row.id,
                endpoint_id=row.endpoint_id,
                url=row.url,
                sealed_secret=row.secret,
                payload=row.payload.encode("utf-8"),
                retry_step=row.retry_step,
                claim_token=token,
                failing_since=as_utc(row.failing_since),
                attempt_id=int(attempt_id),
            )
        )
    return claimed


def log_attempt(
    conn: Connection,
    *,
    attempt_id: int,
    attempted_at: datetime,
    status_code: int | None,
    latency_ms: int,
    error: str | None,
    response_excerpt: str | None,
) -> None:
    """Complete the attempt logged at the claim with its outcome (``state = "done"``)."""
    conn.execute(
        update(webhook_attempts)
        .where(webhook_attempts.c.id == attempt_id)
        .values(
            attempted_at=attempted_at,
            status_code=status_code,
            latency_ms=latency_ms,
            error=error,
            response_excerpt=response_excerpt,
            state="done",
        )
    )


def finish_claim(
    conn: Connection,
    claimed: Claimed,
    *,
    status: MessageStatus,
    next_attempt_at: datetime,
    retry_step: int,
    last_status: int | None,
    last_error: str | None,
    delivered_at: datetime | None,
) -> bool:
    """Record a message's outcome if this worker's claim still holds (else change nothing)."""
    done = conn.execute(
        update(webhook_messages)
        .where(
            and_(
                webhook_messages.c.id == claimed.id,
                webhook_messages.c.claim_token == claimed.claim_token,
            )
        )
        .values(
            status=status,
            next_attempt_at=next_attempt_at,
            retry_step=retry_step,
            last_status=last_status,
            last_error=last_error,
            delivered_at=delivered_at,
            claim_token=None,
        )
    )
    return done.rowcount == 1


def endpoint_succeeded(conn: Connection, endpoint_id: str) -> None:
    """A delivery succeeded: the endpoint is not failing any more."""
    conn.execute(
        update(webhook_endpoints)
        .where(webhook_endpoints.c.id == endpoint_id)
        .where(webhook_endpoints.c.failing_since.is_not(None))
        .values(failing_since=None)
    )


def endpoint_failed(conn: Connection, endpoint_id: str, now: datetime) -> datetime:
    """A delivery failed: start the failure clock unless running; return when it started."""
    conn.execute(
        update(webhook_endpoints)
        .where(webhook_endpoints.c.id == endpoint_id)
        .where(webhook_endpoints.c.failing_since.is_(None))
        .values(failing_since=now)
    )
    since = conn.execute(
        select(webhook_endpoints.c.failing_since).where(webhook_endpoints.c.id == endpoint_id)
    ).scalar_one()
    return as_utc(since) or now


def messages_of(conn: Connection, endpoint_id: str, limit: int = 100) -> list[Message]:
    """An endpoint's messages, newest first."""
    rows = conn.execute(
        select(webhook_messages)
        .where(webhook_messages.c.endpoint_id == endpoint_id)
        .order_by(webhook_messages.c.created_at.desc(), webhook_messages.c.id)
        .limit(limit)
    ).all()
    return [_message(r) for r in rows]


def get_message(conn: Connection, message_id: str) -> Message | None:
    """The message ``message_id``."""
    row = conn.execute(select(webhook_messages).where(webhook_messages.c.id == message_id)).first()
    return None if row is None else _message(row)


def payload_of(conn: Connection, message_id: str) -> bytes | None:
    """The exact body a message is sent with."""
    text = conn.execute(
        select(webhook_messages.c.payload).where(webhook_messages.c.id == message_id)
    ).scalar_one_or_none()
    return None if text is None else str(text).encode("utf-8")


def attempts_of(conn: Connection, message_id: str) -> list[Attempt]:
    """A message's attempts, oldest first."""
    rows = conn.execute(
        select(webhook_attempts)
        .where(webhook_attempts.c.message_id == message_id)
        .order_by(webhook_attempts.c.id)
    ).all()
    return [
        Attempt(
            attempted_at=as_utc(r.attempted_at) or utcnow(),
            status_code=r.status_code,
            latency_ms=r.latency_ms,
            error=r.error,
            response_excerpt=r.response_excerpt,
            state=r.state or "done",
        )
        for r in rows
    ]


def redeliver(conn: Connection, message_id: str) -> None:
    """Send a message again now, with a fresh retry schedule (same id, same body)."""
    conn.execute(
        update(webhook_messages)
        .where(webhook_messages.c.id == message_id)
        .values(status="pending", next_attempt_at=utcnow(), retry_step=0, claim_token=None)
    )


def count_by_status(conn: Connection, endpoint_id: str) -> dict[str, int]:
    """How many of an endpoint's messages are pending, delivered, failed."""
    rows = conn.execute(
        select(webhook_messages.c.status, func.count())
        .where(webhook_messages.c.endpoint_id == endpoint_id)
        .group_by(webhook_messages.c.status)
    ).all()
    return {str(status): int(n) for status, n in rows}
