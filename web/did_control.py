"""DID control: a learner who gave a did:key proves they hold its key by signing a challenge.

1. :func:`new_challenge` stores a single-use nonce bound to the session and its DID
   (expiring after :data:`CHALLENGE_MINUTES`; only a keyed hash is kept,
   :mod:`web.store.did_challenges`) and returns what to sign.
2. The learner signs, with the DID's key, a compact JWS (RFC 7515): protected header
   ``alg`` ``EdDSA`` (an Ed25519 key, RFC 8037) or ``ES256`` (a P-256 key), ``kid`` the DID's
   verification method (``<did>#<multikey>``); payload a JSON object with ``nonce``, ``aud``
   (the service's base URL) and ``sub`` (the session's ``person_id`` or its id).
3. :func:`prove` checks the JWS against the key the DID itself encodes (nothing is fetched),
   then uses the nonce (once) and records ``did_verified_at``. A credential the session
   waits for (``awaiting_email``: the assessment certifies verified learners only) is issued.

Every refusal is a :class:`DidControlError` naming the part that is wrong.
"""

from __future__ import annotations

import contextlib
import warnings
from datetime import datetime
from typing import Annotated, Any

import msgspec
from joserfc import jws
from joserfc.errors import JoseError
from sqlalchemy import update

from web.db.connection import utcnow
from web.db.schema import learner_sessions
from web.did_key import DidKeyError, ResolvedKey, public_key, resolve
from web.errors import ConflictError, InvalidInputError, NotFoundError, RateLimitedError
from web.pseudonyms import person_id
from web.reviews import issue_pending
from web.runtime import Runtime
from web.store import did_challenges, ratelimit
from web.store import sessions as session_store
from web.store.did_challenges import ChallengeError

CHALLENGE_MINUTES = 10
MAX_JWS = 4096
CHALLENGES_PER_MINUTE = 10


class DidControlError(InvalidInputError):
    """The DID cannot be checked, or the signed challenge does not prove control of it."""

    title = "DID control not proven"


class Challenge(msgspec.Struct, frozen=True, kw_only=True):
    """What the learner signs, and how."""

    did: str
    kid: str
    alg: str
    nonce: str
    aud: str
    sub: str
    expires_at: datetime


class DidControl(msgspec.Struct, frozen=True, kw_only=True):
    """The session's identity after a successful proof."""

    identity: str
    did: str
    verified_at: datetime
    award_status: str | None


class DidState(msgspec.Struct, frozen=True, kw_only=True):
    """A session's DID and whether its control was proven (for the learner's pages)."""

    did: str
    verified_at: datetime | None
    supported: bool
    award_status: str | None


class DidProof(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /api/v1/sessions/{id}/did/proof``: the signed challenge."""

    jws: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_JWS)]


def state_of(rt: Runtime, session_id: str) -> DidState | None:
    """The session's DID state; None when it was started without a DID."""
    with rt.db.read() as conn:
        record = session_store.load_session(conn, session_id)
    if record is None:
        raise NotFoundError("no such session")
    if record.learner_did is None:
        return None
    try:
        resolve(record.learner_did)
        supported = True
    except DidKeyError:
        supported = False
    return DidState(
        did=record.learner_did,
        verified_at=record.did_verified_at,
        supported=supported,
        award_status=record.award_status,
    )


def _refuse(problem: str) -> DidControlError:
    return DidControlError(f"DID control not proven: {problem}", [problem])


def _session_key(rt: Runtime, session_id: str) -> tuple[session_store.SessionRecord, ResolvedKey]:
    with rt.db.read() as conn:
        record = session_store.load_session(conn, session_id)
    if record is None:
        raise NotFoundError("no such session")
    if record.learner_did is None:
        raise ConflictError(
            "this session was started without a DID: give one on the start page to prove it"
        )
    try:
        return record, resolve(record.learner_did)
    except DidKeyError as exc:
        raise _refuse(str(exc)) from None


def new_challenge(rt: Runtime, session_id: str) -> Challenge:
    """A fresh challenge for the session's DID (its nonce is shown only here)."""
    record, key = _session_key(rt, session_id)
    now = utcnow()
    with rt.db.write() as conn:
        count, retry_after = ratelimit.hit(conn, f"did-challenge:{session_id}", 60, now=rt.clock())
        if count > CHALLENGES_PER_MINUTE:
            raise RateLimitedError(
                "too many challenges asked for; try again in a minute", retry_after
            )
        nonce, expires = did_challenges.create(
            conn,
            rt.settings.secret_key,
            session_id=record.id,
            did=key.did,
            now=now,
            minutes=CHALLENGE_MINUTES,
        )
    return Challenge(
        did=key.did,
        kid=key.verification_method,
        alg=key.algorithm,
        nonce=nonce,
        aud=rt.settings.base_url,
        sub=person_id(rt.settings.secret_key, record.id),
        expires_at=expires,
    )


def _claims(token: str, key: ResolvedKey) -> dict[str, Any]:
    """The verified payload of ``token`` signed by ``key`` (located refusals otherwise)."""
    token = token.strip()
    if not token:
        raise _refuse("jws: empty: paste the compact JWS (header.payload.signature)")
    if len(token) > MAX_JWS:
        raise _refuse(f"jws: longer than {MAX_JWS} characters")
    if token.count(".") != 2:
        raise _refuse("jws: not a compact JWS: it needs three parts, header.payload.signature")
    try:
        header = jws.extract_compact(token.encode("ascii")).protected
    except (JoseError, ValueError, UnicodeError):
        raise _refuse("jws header: not base64url-encoded JSON with an alg") from None
    alg, kid = header.get("alg"), header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _refuse(
            f"jws header kid: missing: it must be the verification method {key.verification_method}"
        )
    signer = kid.split("#", 1)[0]
    if signer != key.did:
        raise _refuse(
            f"jws header kid: the key of {signer[:80]} is not this session's DID {key.did}"
        )
    if kid != key.verification_method:
        raise _refuse(
            f"jws header kid: {kid[:120]} is not the verification method {key.verification_method}"
        )
    if alg != key.algorithm:
        raise _refuse(f"jws header alg: {str(alg)[:20]} does not fit the key: use {key.algorithm}")
    try:
        with warnings.catch_warnings():
            # joserfc warns that RFC 9864 deprecates "EdDSA" in favour of "Ed25519"; did:key
            # tooling signs with "EdDSA", which names the same Ed25519 signature here.
            warnings.simplefilter("ignore")
            verified = jws.deserialize_compact(token, public_key(key), algorithms=[key.algorithm])
    except (JoseError, ValueError):
        raise _refuse(
            f"jws signature: does not verify with the key of {key.did}: it was signed by "
            "another key, or the header or payload was changed after signing"
        ) from None
    try:
        claims = msgspec.json.decode(verified.payload)
    except msgspec.DecodeError:
        raise _refuse("jws payload: not JSON") from None
    if not isinstance(claims, dict):
        raise _refuse("jws payload: not a JSON object with nonce, aud and sub")
    return claims


def prove(rt: Runtime, session_id: str, token: str) -> DidControl:
    """Check the signed challenge; on success the session's identity is DID control."""
    record, key = _session_key(rt, session_id)
    claims = _claims(token, key)
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise _refuse("jws payload nonce: missing: sign the nonce of a challenge of this session")
    aud = claims.get("aud")
    base = rt.settings.base_url
    if not (aud == base or (isinstance(aud, list) and base in aud)):
        raise _refuse(f"jws payload aud: {str(aud)[:120]!s} is not this service ({base})")
    sub = claims.get("sub")
    if sub not in (record.id, person_id(rt.settings.secret_key, record.id)):
        raise _refuse("jws payload sub: not this session's person_id (or its id)")
    iss = claims.get("iss")
    if iss is not None and iss != key.did:
        raise _refuse(f"jws payload iss: {str(iss)[:80]} is not this session's DID")
    now = utcnow()
    c = learner_sessions.c
    with rt.db.write() as conn:
        try:
            did_challenges.consume(
                conn, rt.settings.secret_key, nonce, session_id=record.id, now=now
            )
        except ChallengeError as exc:
            raise _refuse(_nonce_problem(exc)) from None
        conn.execute(
            update(learner_sessions)
            .where(c.id == record.id)
            .where(c.learner_did == key.did)
            .where(c.did_verified_at.is_(None))
            .values(did_verified_at=now)
        )
        after = session_store.load_session(conn, record.id)
    assert after is not None and after.did_verified_at is not None
    if after.award_status == "awaiting_email":
        with contextlib.suppress(ConflictError):  # a concurrent request issued it first
            issue_pending(
                rt,
                record.id,
                expected="awaiting_email",
                status="issued",
                author_id=None,
                review=None,
            )
        with rt.db.read() as conn:
            after = session_store.load_session(conn, record.id) or after
    assert after.did_verified_at is not None
    return DidControl(
        identity="did_control",
        did=key.did,
        verified_at=after.did_verified_at,
        award_status=after.award_status,
    )


def _nonce_problem(exc: ChallengeError) -> str:
    if exc.reason == "used":
        return "jws payload nonce: this challenge was already used: ask for a new one"
    if exc.reason == "expired":
        assert exc.challenge is not None
        return (
            "jws payload nonce: this challenge expired at "
            f"{exc.challenge.expires_at.strftime('%H:%M')} UTC: ask for a new one"
        )
    return "jws payload nonce: not a challenge this service issued for this session"
