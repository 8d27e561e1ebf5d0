"""Single-use, expiring links mailed to learners.

A link carries a random token (256 bits). The database keeps only
``HMAC-SHA256(K, token)`` with ``K`` derived from the service's secret key, so neither a
copy of the database nor a guess yields a working link. A link is used at most once: the
update that marks it used is conditional on it being unused, so of two concurrent clicks
one wins.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Literal

import msgspec
from sqlalchemy import Connection, insert, select, update

from web.db.connection import as_utc
from web.db.schema import learner_links

Purpose = Literal["verify", "results", "record"]
"""``verify`` and ``results`` links are mailed and used once; a ``record`` grant
(:mod:`web.learner_record`) is shown to the learner who used a results link and is read,
never used up, until it expires."""


class Link(msgspec.Struct, frozen=True, kw_only=True):
    """A stored link (never the token itself)."""

    purpose: Purpose
    email: str
    session_id: str | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


class LinkError(Exception):
    """A link that cannot be used: ``reason`` is ``unknown``, ``used`` or ``expired``."""

    def __init__(self, reason: Literal["unknown", "used", "expired"], link: Link | None) -> None:
        self.reason = reason
        self.link = link
        super().__init__(reason)


def token_hash(secret_key: str, token: str) -> str:
    """The stored form of ``token``: hex HMAC-SHA256 under a key derived from the secret."""
    key = hashlib.sha256(b"skillgauge learner-link\x00" + secret_key.encode("utf-8")).digest()
    return hmac.new(key, token.encode("utf-8"), hashlib.sha256).hexdigest()


def create(
    conn: Connection,
    secret_key: str,
    *,
    purpose: Purpose,
    email: str,
    session_id: str | None,
    now: datetime,
    minutes: int,
) -> str:
    """Store a new link and return its token (shown only in the mail)."""
    token = secrets.token_urlsafe(32)
    conn.execute(
        insert(learner_links).values(
            token_hash=token_hash(secret_key, token),
            purpose=purpose,
            email=email,
            session_id=session_id,
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
    )
    return token


def _link(row: object) -> Link:
    return Link(
        purpose=row.purpose,  # type: ignore[attr-defined]
        email=row.email,  # type: ignore[attr-defined]
        session_id=row.session_id,  # type: ignore[attr-defined]
        created_at=as_utc(row.created_at),  # type: ignore[attr-defined,arg-type]
        expires_at=as_utc(row.expires_at),  # type: ignore[attr-defined,arg-type]
        used_at=as_utc(row.used_at),  # type: ignore[attr-defined]
    )


def peek(conn: Connection, secret_key: str, token: str, now: datetime) -> Link:
    """The link of ``token`` if it can be used now; :class:`LinkError` otherwise."""
    if not token or len(token) > 100:
        raise LinkError("unknown", None)
    row = conn.execute(
        select(learner_links).where(learner_links.c.token_hash == token_hash(secret_key, token))
    ).first()
    if row is None:
        raise LinkError("unknown", None)
    link = _link(row)
    if link.used_at is not None:
        raise LinkError("used", link)
    if now >= link.expires_at:
        raise LinkError("expired", link)
    return link


def consume(conn: Connection, secret_key: str, token: str, now: datetime) -> Link:
    """Mark the link used (once) and return it; :class:`LinkError` if it cannot be used."""
    link = peek(conn, secret_key, token, now)
    done = conn.execute(
        update(learner_links)
        .where(learner_links.c.token_hash == token_hash(secret_key, token))
        .where(learner_links.c.used_at.is_(None))
        .values(used_at=now)
    )
    if done.rowcount != 1:
        raise LinkError("used", link)
    return link
