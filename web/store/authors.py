"""Authors and their tokens. Tokens are shown once and stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets

import msgspec
from sqlalchemy import Connection, insert, select

from web.db.connection import utcnow
from web.db.schema import author_tokens, authors

TOKEN_PREFIX = "sgt_"


class Author(msgspec.Struct, frozen=True):
    """An author account."""

    id: int
    email: str


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(conn: Connection, author_id: int, label: str) -> str:
    """Create a new token for an author and return it (the only time it is visible)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        insert(author_tokens).values(
            token_hash=hash_token(token), author_id=author_id, label=label, created_at=utcnow()
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


def author_for_token(conn: Connection, token: str) -> Author | None:
    """The author a token belongs to, or None (unknown or revoked)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = conn.execute(
        select(authors.c.id, authors.c.email)
        .join(author_tokens, author_tokens.c.author_id == authors.c.id)
        .where(author_tokens.c.token_hash == hash_token(token))
        .where(author_tokens.c.revoked_at.is_(None))
    ).first()
    return Author(row.id, row.email) if row is not None else None


def get_author(conn: Connection, author_id: int) -> Author | None:
    """The author with ``author_id``."""
    row = conn.execute(
        select(authors.c.id, authors.c.email).where(authors.c.id == author_id)
    ).first()
    return Author(row.id, row.email) if row is not None else None
