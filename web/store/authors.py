"""Authors and their tokens. Tokens are shown once and stored only as SHA-256 hashes.

Every token expires (90 days unless asked otherwise) and can be revoked. A token is named in
listings by its id, the first 12 hex digits of its hash: enough to tell tokens apart and
to revoke one, useless to sign in with.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Literal

import msgspec
from sqlalchemy import Connection, insert, select, update

from web.db.connection import as_utc, utcnow
from web.db.schema import author_tokens, authors, memberships, organisations

TOKEN_PREFIX = "sgt_"
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 3650
TOKEN_ID_LENGTH = 12

TokenStatus = Literal["active", "expired", "revoked", "unknown"]


class Author(msgspec.Struct, frozen=True):
    """An author account."""

    id: int
    email: str


class Member(Author, frozen=True, kw_only=True):
    """A signed-in author as one member of one organisation, with that membership's role.

    Every author page and API call acts as a ``Member``: what it may see is the
    organisation's (``org_id``), what it may do is the role's (see :mod:`web.orgs.roles`).
    """

    org_id: int
    org_slug: str
    role: str
    membership_id: int


class TokenInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A token as listed (never the token itself): its id, owner, label and dates."""

    id: str
    author_id: int
    email: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    status: TokenStatus


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_id(token: str) -> str:
    """The id a token is listed and revoked by (a prefix of its hash)."""
    return hash_token(token)[:TOKEN_ID_LENGTH]


def issue_token(
    conn: Connection,
    author_id: int,
    label: str,
    *,
    days: int = DEFAULT_TOKEN_DAYS,
    now: datetime | None = None,
    membership_id: int | None = None,
) -> str:
    """Create a new token for an author and return it (the only time it is visible).

    It expires ``days`` days from now (1 to ``MAX_TOKEN_DAYS``) and acts as the membership
    ``membership_id`` (by default the author's oldest); a token of no membership signs in
    nowhere.
    """
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise ValueError(f"a token lives 1 to {MAX_TOKEN_DAYS} days, not {days}")
    now = now or utcnow()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    if membership_id is None:
        membership_id = conn.execute(
            select(memberships.c.id)
            .where(memberships.c.author_id == author_id)
            .order_by(memberships.c.id)
            .limit(1)
        ).scalar_one_or_none()
    else:
        owner = conn.execute(
            select(memberships.c.author_id).where(memberships.c.id == membership_id)
        ).scalar_one_or_none()
        if owner != author_id:
            raise ValueError("a token acts only as one of its author's own memberships")
    conn.execute(
        insert(author_tokens).values(
            token_hash=hash_token(token),
            author_id=author_id,
            membership_id=membership_id,
            label=label[:100],
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
    )
    return token


def ensure_author(conn: Connection, email: str) -> Author:
    """Return the author with ``email``, creating the account when missing."""
    email = email.strip().lower()
    row = conn.execute(
        select(authors.c.id, authors.c.email).where(authors.c.email == email)
    ).first()
    if row is not None:
        return Author(row.id, row.email)
    new_id = conn.execute(
        insert(authors).values(email=email, created_at=utcnow()).returning(authors.c.id)
    ).scalar_one()
    return Author(int(new_id), email)


def _status(expires_at: datetime | None, revoked_at: datetime | None, now: datetime) -> TokenStatus:
    if revoked_at is not None:
        return "revoked"
    if expires_at is not None and now >= expires_at:
        return "expired"
    return "active"


def token_status(conn: Connection, token: str, now: datetime | None = None) -> TokenStatus:
    """Whether ``token`` is active, expired, revoked, or not a token of this service."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return "unknown"
    row = conn.execute(
        select(author_tokens.c.expires_at, author_tokens.c.revoked_at).where(
            author_tokens.c.token_hash == hash_token(token)
        )
    ).first()
    if row is None:
        return "unknown"
    return _status(as_utc(row.expires_at), as_utc(row.revoked_at), now or utcnow())


def author_for_token(conn: Connection, token: str, now: datetime | None = None) -> Member | None:
    """The member an active token acts as.

    None when the token is unknown, expired, revoked, or of no membership.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return author_for_hash(conn, hash_token(token), now)


def author_for_hash(
    conn: Connection, token_hash: str, now: datetime | None = None
) -> Member | None:
    """The member the active token stored as ``token_hash`` acts as (a signed-in page's check).

    This is the one place a request's (author, organisation, role) is resolved: the token
    names its membership; nothing the client sends can name another organisation.
    """
    row = conn.execute(
        select(
            authors.c.id,
            authors.c.email,
            author_tokens.c.expires_at,
            author_tokens.c.revoked_at,
            memberships.c.id.label("membership_id"),
            memberships.c.org_id,
            memberships.c.role,
            organisations.c.slug,
        )
        .join(author_tokens, author_tokens.c.author_id == authors.c.id)
        .join(memberships, memberships.c.id == author_tokens.c.membership_id)
        .join(organisations, organisations.c.id == memberships.c.org_id)
        .where(author_tokens.c.token_hash == token_hash)
        .where(memberships.c.author_id == authors.c.id)
    ).first()
    if row is None:
        return None
    if _status(as_utc(row.expires_at), as_utc(row.revoked_at), now or utcnow()) != "active":
        return None
    return Member(
        row.id,
        row.email,
        org_id=row.org_id,
        org_slug=row.slug,
        role=row.role,
        membership_id=row.membership_id,
    )


def get_author(conn: Connection, author_id: int) -> Author | None:
    """The author with ``author_id``."""
    row = conn.execute(
        select(authors.c.id, authors.c.email).where(authors.c.id == author_id)
    ).first()
    return Author(row.id, row.email) if row is not None else None


def list_tokens(
    conn: Connection, *, email: str | None = None, now: datetime | None = None
) -> list[TokenInfo]:
    """Every token (of one author when ``email`` is given), newest first."""
    now = now or utcnow()
    query = (
        select(
            author_tokens.c.token_hash,
            author_tokens.c.author_id,
            authors.c.email,
            author_tokens.c.label,
            author_tokens.c.created_at,
            author_tokens.c.expires_at,
            author_tokens.c.revoked_at,
        )
        .join(authors, authors.c.id == author_tokens.c.author_id)
        .order_by(author_tokens.c.created_at.desc(), author_tokens.c.token_hash)
    )
    if email is not None:
        query = query.where(authors.c.email == email.strip().lower())
    out = []
    for row in conn.execute(query).all():
        expires, revoked = as_utc(row.expires_at), as_utc(row.revoked_at)
        out.append(
            TokenInfo(
                id=row.token_hash[:TOKEN_ID_LENGTH],
                author_id=row.author_id,
                email=row.email,
                label=row.label,
                created_at=as_utc(row.created_at) or now,
                expires_at=expires,
                revoked_at=revoked,
                status=_status(expires, revoked, now),
            )
        )
    return out


def revoke_token(conn: Connection, id_or_token: str, now: datetime | None = None) -> list[str]:
    """Revoke the token given whole or by its id (a hash prefix of at least 8 hex digits).

    Returns the ids revoked: one, or none when nothing matches. A prefix that matches more
    than one token revokes none and raises :class:`ValueError`.
    """
    given = id_or_token.strip()
    if given.startswith(TOKEN_PREFIX):
        digest_prefix = hash_token(given)
    else:
        digest_prefix = given.lower()
        if len(digest_prefix) < 8 or any(c not in "0123456789abcdef" for c in digest_prefix):
            raise ValueError("give a token id (at least 8 hex digits) or the token itself")
    rows = conn.execute(
        select(author_tokens.c.token_hash).where(
            author_tokens.c.token_hash.startswith(digest_prefix, autoescape=True)
        )
    ).all()
    if len(rows) > 1:
        raise ValueError(f"{given!r} matches {len(rows)} tokens; give more of the id")
    if not rows:
        return []
    digest = rows[0].token_hash
    conn.execute(
        update(author_tokens)
        .where(author_tokens.c.token_hash == digest)
        .where(author_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )
    return [digest[:TOKEN_ID_LENGTH]]
