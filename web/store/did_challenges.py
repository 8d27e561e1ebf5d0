"""Single-use, expiring challenges a learner signs to prove control of their DID.

A challenge carries a random nonce (256 bits) bound to one session and its DID. The
database keeps only ``HMAC-SHA256(K, nonce)`` with ``K`` derived from the service's secret
key (as :mod:`web.store.links` does for emailed links), so a copy of the database yields no
usable nonce. Using a challenge is a conditional update on it being unused: of two
concurrent proofs one wins.
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
from web.db.schema import did_challenges


class StoredChallenge(msgspec.Struct, frozen=True, kw_only=True):
    """A stored challenge (never the nonce itself)."""

    session_id: str
    did: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


class ChallengeError(Exception):
    """A nonce that cannot be used: ``reason`` is ``unknown``, ``used`` or ``expired``."""

    def __init__(
        self, reason: Literal["unknown", "used", "expired"], challenge: StoredChallenge | None
    ) -> None:
        self.reason = reason
        self.challenge = challenge
        super().__init__(reason)


def nonce_hash(secret_key: str, nonce: str) -> str:
    """The stored form of ``nonce``: hex HMAC-SHA256 under a key derived from the secret."""
    key = hashlib.sha256(b"skillgauge did-challenge\x00" + secret_key.encode("utf-8")).digest()
    return hmac.new(key, nonce.encode("utf-8"), hashlib.sha256).hexdigest()


def create(
    conn: Connection, secret_key: str, *, session_id: str, did: str, now: datetime, minutes: int
) -> tuple[str, datetime]:
    """Store a new challenge; return its nonce (shown once, to the learner) and its expiry."""
    nonce = secrets.token_urlsafe(32)
    expires = now + timedelta(minutes=minutes)
    conn.execute(
        insert(did_challenges).values(
            nonce_hash=nonce_hash(secret_key, nonce),
            session_id=session_id,
            did=did,
            created_at=now,
            expires_at=expires,
        )
    )
    return nonce, expires


def consume(
    conn: Connection, secret_key: str, nonce: str, *, session_id: str, now: datetime
) -> StoredChallenge:
    """Mark the session's challenge of ``nonce`` used (once); :class:`ChallengeError` if not."""
    if not nonce or len(nonce) > 100:
        raise ChallengeError("unknown", None)
    digest = nonce_hash(secret_key, nonce)
    row = conn.execute(
        select(did_challenges)
        .where(did_challenges.c.nonce_hash == digest)
        .where(did_challenges.c.session_id == session_id)
    ).first()
    if row is None:
        raise ChallengeError("unknown", None)
    challenge = StoredChallenge(
        session_id=row.session_id,
        did=row.did,
        created_at=as_utc(row.created_at),  # type: ignore[arg-type]
        expires_at=as_utc(row.expires_at),  # type: ignore[arg-type]
        used_at=as_utc(row.used_at),
    )
    if challenge.used_at is not None:
        raise ChallengeError("used", challenge)
    if now >= challenge.expires_at:
        raise ChallengeError("expired", challenge)
    done = conn.execute(
        update(did_challenges)
        .where(did_challenges.c.nonce_hash == digest)
        .where(did_challenges.c.used_at.is_(None))
        .values(used_at=now)
    )
    if done.rowcount != 1:
        raise ChallengeError("used", challenge)
    return challenge
