"""A learner's record: every session, result and credential of one verified learner.

A learner reaches their record through a results link mailed to their address
(:mod:`web.verification`): using the link proves control of the address and opens a record
*grant*, a random token (stored only as a keyed hash, :mod:`web.store.links`, purpose
``record``) that shows the record page and its downloads for :data:`RECORD_MINUTES`.
A learner launched from an LMS by LTI gets the same grant for their LMS identity.

Downloads: the record as a signed CLR 2.0 ``ClrCredential`` (:mod:`web.credentials.clr`)
and as a Verifiable Presentation wrapping it; each credential also gets LinkedIn's
add-to-profile link.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import msgspec
from sqlalchemy import select

from engine.session import SessionResult
from engine.standing import score_text
from web.credentials import clr
from web.credentials.awards import issuer_of
from web.db.connection import as_utc, utcnow
from web.db.schema import assessments, learner_sessions
from web.runtime import Runtime
from web.store import credentials as credential_store
from web.store import links
from web.store.credentials import CredentialRecord

#: How long a record grant shows the record page and its downloads.
RECORD_MINUTES = 60
MAX_SESSIONS = 500


class ScoreLine(msgspec.Struct, frozen=True, kw_only=True):
    """One competency of a finished session, as the record page shows it."""

    name: str
    score: str
    passed: bool | None


class RecordCredential(msgspec.Struct, frozen=True, kw_only=True):
    """A credential on the record page."""

    id: str
    url: str
    name: str
    issued_at: datetime
    valid_until: datetime | None
    revoked: bool
    linkedin: str


class RecordSession(msgspec.Struct, frozen=True, kw_only=True):
    """One session on the record page."""

    id: str
    title: str
    started: datetime
    finished: datetime | None
    scores: list[ScoreLine]
    award_status: str | None
    credential: RecordCredential | None


class LearnerRecord(msgspec.Struct, frozen=True, kw_only=True):
    """Everything one learner did here, newest first."""

    email: str
    name: str | None
    did: str | None
    sessions: list[RecordSession]

    @property
    def credentials(self) -> list[RecordCredential]:
        """The learner's credentials, newest first."""
        return [s.credential for s in self.sessions if s.credential is not None]


def linkedin_url(
    *,
    name: str,
    organization: str,
    issued_at: datetime,
    valid_until: datetime | None,
    page: str,
    credential_id: str,
) -> str:
    """LinkedIn's add-to-profile link (Licenses & certifications) for one credential."""
    params = {
        "startTask": "CERTIFICATION_NAME",
        "name": name,
        "organizationName": organization,
        "issueYear": str(issued_at.year),
        "issueMonth": str(issued_at.month),
        "certUrl": page,
        "certId": credential_id,
    }
    if valid_until is not None:
        params["expirationYear"] = str(valid_until.year)
        params["expirationMonth"] = str(valid_until.month)
    return "https://www.linkedin.com/profile/add?" + urlencode(params)


def open_grant(rt: Runtime, email: str) -> str:
    """A new record grant for a verified ``email`` (the token is shown only to its owner)."""
    with rt.db.write() as conn:
        return links.create(
            conn,
            rt.settings.secret_key,
            purpose="record",
            email=email,
            session_id=None,
            now=utcnow(),
            minutes=RECORD_MINUTES,
        )


def check_grant(rt: Runtime, token: str) -> links.Link:
    """The grant of ``token`` if it can show a record now (:class:`links.LinkError` if not)."""
    with rt.db.read() as conn:
        link = links.peek(conn, rt.settings.secret_key, token, utcnow())
    if link.purpose != "record":
        raise links.LinkError("unknown", None)
    return link


def _credential_view(rt: Runtime, record: CredentialRecord) -> RecordCredential:
    issuer = issuer_of(rt)
    name = str(record.document["credentialSubject"]["achievement"].get("name", ""))
    page = issuer.credential_url(record.id)
    return RecordCredential(
        id=record.id,
        url=page,
        name=name,
        issued_at=record.issued_at,
        valid_until=record.valid_until,
        revoked=record.revoked_at is not None,
        linkedin=linkedin_url(
            name=name,
            organization=issuer.name,
            issued_at=record.issued_at,
            valid_until=record.valid_until,
            page=page,
            credential_id=record.id,
        ),
    )


def _scores(result: Any, names: dict[str, str]) -> list[ScoreLine]:
    if result is None:
        return []
    decoded = msgspec.json.decode(result, type=SessionResult)
    return [
        ScoreLine(
            name=names.get(c.competency, c.competency),
            score=score_text(c.theta),
            passed=None if c.classification is None else c.classification == "pass",
        )
        for c in decoded.competencies
    ]


def record_of(rt: Runtime, email: str) -> LearnerRecord:
    """The record of the learner who controls ``email`` (sessions newest first)."""
    c = learner_sessions.c
    sessions: list[RecordSession] = []
    name: str | None = None
    did: str | None = None
    with rt.db.read() as conn:
        rows = conn.execute(
            select(
                c.id,
                c.created_at,
                c.finished_at,
                c.award_status,
                c.result,
                c.learner_name,
                c.learner_did,
                c.did_verified_at,
                assessments.c.title,
                assessments.c.bank_hash,
            )
            .join(assessments, assessments.c.id == c.assessment_id)
            .where(c.learner_email == email)
            .order_by(c.created_at.desc())
            .limit(MAX_SESSIONS)
        ).all()
        for row in rows:
            name = name or row.learner_name
            if did is None and row.did_verified_at is not None:
                did = row.learner_did
            names = rt.compiled(conn, row.bank_hash).competency_names if row.result else {}
            stored = credential_store.for_session(conn, row.id)
            sessions.append(
                RecordSession(
                    id=row.id,
                    title=row.title,
                    started=as_utc(row.created_at) or utcnow(),
                    finished=as_utc(row.finished_at),
                    scores=_scores(row.result, names),
                    award_status=row.award_status,
                    credential=None if stored is None else _credential_view(rt, stored),
                )
            )
    return LearnerRecord(email=email, name=name, did=did, sessions=sessions)


def _held(rt: Runtime, record: LearnerRecord) -> list[dict[str, Any]]:
    """The signed documents of the record's unrevoked credentials, oldest first."""
    out = []
    with rt.db.read() as conn:
        for credential in reversed(record.credentials):
            if credential.revoked:
                continue
            stored = credential_store.get(conn, credential.id)
            if stored is not None and stored.revoked_at is None:
                out.append(stored.document)
    return out


def clr_document(rt: Runtime, email: str) -> dict[str, Any]:
    """The learner's record as a signed CLR 2.0 ``ClrCredential``."""
    record = record_of(rt, email)
    issuer = issuer_of(rt)
    now = utcnow()
    unsigned = clr.build_clr(
        issuer=issuer.embedded_profile(),
        credentials=_held(rt, record),
        email=record.email,
        name=record.name,
        did=record.did,
        issued_at=now,
        salt=secrets.token_hex(16),
    )
    return issuer.sign_data_integrity(unsigned, now)


def presentation_document(rt: Runtime, email: str) -> dict[str, Any]:
    """A Verifiable Presentation of the learner's signed record."""
    record = record_of(rt, email)
    return clr.presentation([clr_document(rt, email)], holder=record.did)
