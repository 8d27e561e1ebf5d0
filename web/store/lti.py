"""Storage of the LTI 1.3 tool: platforms, login states, nonces, deep links, launches, scores.

Tokens handed to browsers (login ``state``, deep-linking choices) are stored only as keyed
hashes (:func:`web.store.links.token_hash` with its own label), used at most once (the
update that marks one used is conditional), and expire.

Each launch row is also the outbox of its score: ``waiting`` until the session finishes,
then ``pending`` (with the score to post) until the delivery worker posts it
(``delivered``) or gives up (``failed``) after the retry schedule of webhooks.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec
from sqlalchemy import Connection, and_, delete, insert, select, update

from web.db.connection import as_utc
from web.db.schema import (
    learner_sessions,
    lti_deep_links,
    lti_launches,
    lti_nonces,
    lti_platforms,
    lti_states,
)

ScoreStatus = Literal["none", "waiting", "pending", "delivered", "failed"]


class Platform(msgspec.Struct, frozen=True, kw_only=True):
    """A registered LMS platform."""

    id: str
    org_id: int
    name: str
    issuer: str
    client_id: str
    deployment_ids: tuple[str, ...]
    auth_url: str
    token_url: str
    jwks_url: str
    created_at: datetime


class Launch(msgspec.Struct, frozen=True, kw_only=True):
    """One LMS user's session for one resource link."""

    id: str
    platform_id: str
    deployment_id: str
    subject: str
    resource_link_id: str
    assessment_id: str
    session_id: str
    lineitem_url: str | None
    score_status: ScoreStatus
    finished: bool = False


class ClaimedScore(msgspec.Struct, frozen=True, kw_only=True):
    """A score reserved for one worker to post."""

    launch_id: str
    platform_id: str
    lineitem_url: str | None
    lineitems_url: str | None = None
    resource_link_id: str = ""
    assessment_id: str = ""
    payload: bytes
    retry_step: int
    claim_token: str


def _hash(secret_key: str, label: str, token: str) -> str:
    key = hashlib.sha256(f"skillgauge lti-{label}\x00{secret_key}".encode()).digest()
    return hmac.new(key, token.encode("utf-8"), hashlib.sha256).hexdigest()


def _platform(row: Any) -> Platform:
    return Platform(
        id=row.id,
        org_id=row.org_id,
        name=row.name,
        issuer=row.issuer,
        client_id=row.client_id,
        deployment_ids=tuple(msgspec.json.decode(row.deployment_ids)),
        auth_url=row.auth_url,
        token_url=row.token_url,
        jwks_url=row.jwks_url,
        created_at=as_utc(row.created_at),  # type: ignore[arg-type]
    )


# -- platforms ------------------------------------------------------------------------------


def create_platform(
    conn: Connection,
    *,
    org_id: int,
    name: str,
    issuer: str,
    client_id: str,
    deployment_ids: Sequence[str],
    auth_url: str,
    token_url: str,
    jwks_url: str,
    now: datetime,
) -> Platform:
    """Store a platform registration."""
    platform = Platform(
        id="lti_" + secrets.token_urlsafe(12),
        org_id=org_id,
        name=name,
        issuer=issuer,
        client_id=client_id,
        deployment_ids=tuple(deployment_ids),
        auth_url=auth_url,
        token_url=token_url,
        jwks_url=jwks_url,
        created_at=now,
    )
    values = msgspec.structs.asdict(platform)
    values["deployment_ids"] = msgspec.json.encode(list(deployment_ids)).decode("utf-8")
    conn.execute(insert(lti_platforms).values(**values))
    return platform


def platforms_of(conn: Connection, org_id: int) -> list[Platform]:
    """An organisation's platforms, oldest first."""
    rows = conn.execute(
        select(lti_platforms)
        .where(lti_platforms.c.org_id == org_id)
        .order_by(lti_platforms.c.created_at)
    ).all()
    return [_platform(r) for r in rows]


def get_platform(conn: Connection, platform_id: str) -> Platform | None:
    """A platform by id."""
    row = conn.execute(select(lti_platforms).where(lti_platforms.c.id == platform_id)).first()
    return None if row is None else _platform(row)


def find_platforms(conn: Connection, issuer: str, client_id: str | None) -> list[Platform]:
    """The platforms registered for ``issuer`` (and ``client_id`` when given)."""
    query = select(lti_platforms).where(lti_platforms.c.issuer == issuer)
    if client_id:
        query = query.where(lti_platforms.c.client_id == client_id)
    return [_platform(r) for r in conn.execute(query.limit(10)).all()]


# -- login states and nonces -----------------------------------------------------------------


def create_state(
    conn: Connection, secret_key: str, *, platform_id: str, nonce: str, now: datetime, minutes: int
) -> str:
    """A new single-use login ``state`` bound to a platform and a nonce."""
    state = secrets.token_urlsafe(32)
    conn.execute(
        insert(lti_states).values(
            state_hash=_hash(secret_key, "state", state),
            platform_id=platform_id,
            nonce=nonce,
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
    )
    return state


def consume_state(
    conn: Connection, secret_key: str, state: str, now: datetime
) -> tuple[str, str] | str:
    """Use a login state once: ``(platform_id, nonce)``, or why not (a sentence)."""
    if not state or len(state) > 200:
        return "the launch carries no login state"
    digest = _hash(secret_key, "state", state)
    row = conn.execute(select(lti_states).where(lti_states.c.state_hash == digest)).first()
    if row is None:
        return "the login state is unknown (the launch did not start from this tool's login)"
    if row.used_at is not None:
        return "the login state was already used (a replayed launch)"
    if now >= as_utc(row.expires_at):  # type: ignore[operator]
        return "the login state expired; launch again from the course"
    done = conn.execute(
        update(lti_states)
        .where(lti_states.c.state_hash == digest)
        .where(lti_states.c.used_at.is_(None))
        .values(used_at=now)
    )
    if done.rowcount != 1:
        return "the login state was already used (a replayed launch)"
    return row.platform_id, row.nonce


def remember_nonce(conn: Connection, platform_id: str, nonce: str, now: datetime) -> bool:
    """Record an id_token nonce; False if this platform's nonce was seen before."""
    seen = conn.execute(
        select(lti_nonces.c.nonce).where(
            and_(lti_nonces.c.platform_id == platform_id, lti_nonces.c.nonce == nonce)
        )
    ).first()
    if seen is not None:
        return False
    conn.execute(insert(lti_nonces).values(platform_id=platform_id, nonce=nonce, seen_at=now))
    return True


#: How long accepted nonces are remembered: far longer than an id_token is valid (its ``exp``
#: is checked first), so a nonce old enough to be forgotten belongs to an expired token.
NONCE_DAYS = 2


def purge(conn: Connection, now: datetime) -> None:
    """Forget login states a day past expiry, nonces older than :data:`NONCE_DAYS`."""
    conn.execute(delete(lti_states).where(lti_states.c.expires_at < now - timedelta(days=1)))
    conn.execute(delete(lti_nonces).where(lti_nonces.c.seen_at < now - timedelta(days=NONCE_DAYS)))


# -- deep linking ---------------------------------------------------------------------------


class DeepLink(msgspec.Struct, frozen=True, kw_only=True):
    """An instructor's pending content choice."""

    platform_id: str
    deployment_id: str
    return_url: str
    data: str | None


def create_deep_link(
    conn: Connection,
    secret_key: str,
    *,
    platform_id: str,
    deployment_id: str,
    return_url: str,
    data: str | None,
    now: datetime,
    minutes: int,
) -> str:
    """A single-use token for the instructor's choice page."""
    token = secrets.token_urlsafe(32)
    conn.execute(
        insert(lti_deep_links).values(
            token_hash=_hash(secret_key, "deep-link", token),
            platform_id=platform_id,
            deployment_id=deployment_id,
            return_url=return_url,
            data=data,
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
    )
    return token


def peek_deep_link(conn: Connection, secret_key: str, token: str, now: datetime) -> DeepLink | None:
    """The pending choice of ``token`` if usable now."""
    if not token or len(token) > 200:
        return None
    row = conn.execute(
        select(lti_deep_links).where(
            lti_deep_links.c.token_hash == _hash(secret_key, "deep-link", token)
        )
    ).first()
    if row is None or row.used_at is not None or now >= as_utc(row.expires_at):  # type: ignore[operator]
        return None
    return DeepLink(
        platform_id=row.platform_id,
        deployment_id=row.deployment_id,
        return_url=row.return_url,
        data=row.data,
    )


def consume_deep_link(
    conn: Connection, secret_key: str, token: str, now: datetime
) -> DeepLink | None:
    """Use a pending choice once."""
    link = peek_deep_link(conn, secret_key, token, now)
    if link is None:
        return None
    done = conn.execute(
        update(lti_deep_links)
        .where(lti_deep_links.c.token_hash == _hash(secret_key, "deep-link", token))
        .where(lti_deep_links.c.used_at.is_(None))
        .values(used_at=now)
    )
    return link if done.rowcount == 1 else None


# -- launches and the score outbox ----------------------------------------------------------


def _launch(row: Any) -> Launch:
    return Launch(
        id=row.id,
        platform_id=row.platform_id,
        deployment_id=row.deployment_id,
        subject=row.subject,
        resource_link_id=row.resource_link_id,
        assessment_id=row.assessment_id,
        session_id=row.session_id,
        lineitem_url=row.lineitem_url,
        score_status=row.score_status,
        finished=getattr(row, "finished_at", None) is not None,
    )


def latest_launch(
    conn: Connection, *, platform_id: str, subject: str, resource_link_id: str, assessment_id: str
) -> Launch | None:
    """The newest launch of this LMS user on this resource link (to resume its session)."""
    row = conn.execute(
        select(lti_launches, learner_sessions.c.finished_at)
        .join(learner_sessions, learner_sessions.c.id == lti_launches.c.session_id)
        .where(lti_launches.c.platform_id == platform_id)
        .where(lti_launches.c.subject == subject)
        .where(lti_launches.c.resource_link_id == resource_link_id)
        .where(lti_launches.c.assessment_id == assessment_id)
        .order_by(lti_launches.c.created_at.desc())
        .limit(1)
    ).first()
    return None if row is None else _launch(row)


def insert_launch(
    conn: Connection,
    *,
    platform_id: str,
    deployment_id: str,
    subject: str,
    resource_link_id: str,
    assessment_id: str,
    session_id: str,
    lineitem_url: str | None,
    now: datetime,
    lineitems_url: str | None = None,
) -> str:
    """Store a launch; its score waits for the session to finish (when AGS is offered).

    ``lineitems_url`` is the line items container, for a launch that names no line item.
    """
    launch_id = "ll_" + secrets.token_urlsafe(12)
    conn.execute(
        insert(lti_launches).values(
            id=launch_id,
            platform_id=platform_id,
            deployment_id=deployment_id,
            subject=subject,
            resource_link_id=resource_link_id,
            assessment_id=assessment_id,
            session_id=session_id,
            lineitem_url=lineitem_url,
            lineitems_url=None if lineitem_url else lineitems_url,
            created_at=now,
            score_status="waiting" if lineitem_url or lineitems_url else "none",
            retry_step=0,
            attempts=0,
        )
    )
    return launch_id


def update_lineitem(
    conn: Connection, launch_id: str, lineitem_url: str | None, lineitems_url: str | None = None
) -> None:
    """A later launch may name the line item (or a new one): keep the newest.

    A launch offering only the container keeps a line item found or named before.
    """
    if lineitem_url:
        conn.execute(
            update(lti_launches)
            .where(lti_launches.c.id == launch_id)
            .where(lti_launches.c.score_status.in_(("none", "waiting")))
            .values(lineitem_url=lineitem_url, lineitems_url=None, score_status="waiting")
        )
    elif lineitems_url:
        conn.execute(
            update(lti_launches)
            .where(lti_launches.c.id == launch_id)
            .where(lti_launches.c.score_status.in_(("none", "waiting")))
            .where(lti_launches.c.lineitem_url.is_(None))
            .values(lineitems_url=lineitems_url, score_status="waiting")
        )


def set_lineitem(conn: Connection, launch_id: str, lineitem_url: str) -> None:
    """Keep the line item found or created in the container (retries post to it)."""
    conn.execute(
        update(lti_launches)
        .where(lti_launches.c.id == launch_id)
        .values(lineitem_url=lineitem_url, lineitems_url=None)
    )


def launches_for_session(conn: Connection, session_id: str) -> list[Launch]:
    """The launches of one session."""
    rows = conn.execute(select(lti_launches).where(lti_launches.c.session_id == session_id)).all()
    return [_launch(r) for r in rows]


def finished_waiting(conn: Connection, limit: int = 100) -> list[tuple[str, str, str | None]]:
    """Launches whose score waits and whose session finished: (launch, subject, result JSON)."""
    rows = conn.execute(
        select(lti_launches.c.id, lti_launches.c.subject, learner_sessions.c.result)
        .join(learner_sessions, learner_sessions.c.id == lti_launches.c.session_id)
        .where(lti_launches.c.score_status == "waiting")
        .where(learner_sessions.c.finished_at.is_not(None))
        .limit(limit)
    ).all()
    return [(r.id, r.subject, r.result) for r in rows]


def stage_score(conn: Connection, launch_id: str, payload: bytes, now: datetime) -> None:
    """Put a finished session's score in the outbox (due now)."""
    conn.execute(
        update(lti_launches)
        .where(lti_launches.c.id == launch_id)
        .where(lti_launches.c.score_status == "waiting")
        .values(score_status="pending", score_payload=payload.decode("utf-8"), next_attempt_at=now)
    )


def next_due(conn: Connection) -> datetime | None:
    """When the next pending score falls due."""
    row = conn.execute(
        select(lti_launches.c.next_attempt_at)
        .where(lti_launches.c.score_status == "pending")
        .order_by(lti_launches.c.next_attempt_at)
        .limit(1)
    ).first()
    return None if row is None else as_utc(row.next_attempt_at)


def claim_due(
    conn: Connection, *, now: datetime, limit: int, lease: timedelta
) -> list[ClaimedScore]:
    """Reserve due scores for one worker (``FOR UPDATE SKIP LOCKED`` on PostgreSQL)."""
    rows = conn.execute(
        select(
            lti_launches.c.id,
            lti_launches.c.platform_id,
            lti_launches.c.lineitem_url,
            lti_launches.c.lineitems_url,
            lti_launches.c.resource_link_id,
            lti_launches.c.assessment_id,
            lti_launches.c.score_payload,
            lti_launches.c.retry_step,
        )
        .where(lti_launches.c.score_status == "pending")
        .where(lti_launches.c.next_attempt_at <= now)
        .order_by(lti_launches.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    claimed = []
    for row in rows:
        token = secrets.token_hex(16)
        conn.execute(
            update(lti_launches)
            .where(lti_launches.c.id == row.id)
            .values(
                claim_token=token,
                next_attempt_at=now + lease,
                attempts=lti_launches.c.attempts + 1,
            )
        )
        claimed.append(
            ClaimedScore(
                launch_id=row.id,
                platform_id=row.platform_id,
                lineitem_url=row.lineitem_url,
                lineitems_url=row.lineitems_url,
                resource_link_id=row.resource_link_id,
                assessment_id=row.assessment_id,
                payload=row.score_payload.encode("utf-8"),
                retry_step=row.retry_step,
                claim_token=token,
            )
        )
    return claimed


def finish_claim(
    conn: Connection,
    claimed: ClaimedScore,
    *,
    status: ScoreStatus,
    next_attempt_at: datetime,
    retry_step: int,
    last_status: int | None,
    last_error: str | None,
    delivered_at: datetime | None,
) -> bool:
    """Record an attempt's outcome if the claim is still ours (False: another took it)."""
    done = conn.execute(
        update(lti_launches)
        .where(lti_launches.c.id == claimed.launch_id)
        .where(lti_launches.c.claim_token == claimed.claim_token)
        .values(
            score_status=status,
            next_attempt_at=next_attempt_at,
            retry_step=retry_step,
            last_status=last_status,
            last_error=last_error,
            delivered_at=delivered_at,
            claim_token=None,
        )
    )
    return done.rowcount == 1


def score_state(conn: Connection, launch_id: str) -> dict[str, Any]:
    """A launch's outbox columns (for the author and the tests)."""
    row = conn.execute(select(lti_launches).where(lti_launches.c.id == launch_id)).one()
    return {
        "status": row.score_status,
        "attempts": row.attempts,
        "retry_step": row.retry_step,
        "last_status": row.last_status,
        "last_error": row.last_error,
        "next_attempt_at": as_utc(row.next_attempt_at),
        "delivered_at": as_utc(row.delivered_at),
    }


def launches_of(conn: Connection, platform_id: str, limit: int = 200) -> list[dict[str, Any]]:
    """A platform's launches, newest first, with the state of their scores."""
    rows = conn.execute(
        select(lti_launches)
        .where(lti_launches.c.platform_id == platform_id)
        .order_by(lti_launches.c.created_at.desc())
        .limit(limit)
    ).all()
    return [
        {
            "id": row.id,
            "subject": row.subject,
            "resource_link_id": row.resource_link_id,
            "assessment_id": row.assessment_id,
            "created_at": as_utc(row.created_at),
            **score_state(conn, row.id),
        }
        for row in rows
    ]
