"""A learner's record: every session, result and credential of one verified learner.

A learner reaches their record through a results link mailed to their address
(:mod:`web.verification`): using the link proves control of the address and opens a record
*grant*, a random token (stored only as a keyed hash, :mod:`web.store.links`, purpose
``record``) that shows the record page and its downloads for :data:`RECORD_MINUTES`.
A learner launched from an LMS by LTI gets the same kind of grant for their LMS identity
(platform and user id, the grant's key ``lti <platform> <user>``, which no email address can
be since addresses have no spaces) when they launch an assessment they already finished.

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
from web.db.schema import assessments, learner_sessions, lti_launches
from web.runtime import Runtime
from web.store import credentials as credential_store
from web.store import links
from web.store import lti as lti_store
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
    """Everything one learner did here, newest first.

    ``email`` for a learner who came by a results link; ``lti_user`` (the platform's user
    id) and ``platform`` (its name) for one who came from an LMS. ``name`` only when an
    email link confirmed it (as on the credentials).
    """

    email: str | None
    lti_user: str | None = None
    platform: str | None = None
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


def lti_key(platform_id: str, subject: str) -> str:
    """The grant key of an LMS identity."""
    return f"lti {platform_id} {subject}"


def open_grant(rt: Runtime, email: str) -> str:
    """A new record grant for a verified ``email`` or an :func:`lti_key` (token shown once)."""
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
    """The record of the learner who controls ``email`` or an LMS identity (:func:`lti_key`)."""
    c = learner_sessions.c
    sessions: list[RecordSession] = []
    name: str | None = None
    did: str | None = None
    lti_user: str | None = None
    platform_name: str | None = None
    scope: Any = c.learner_email == email
    if email.startswith("lti "):
        platform_id, lti_user = email[4:].split(" ", 1)
        scope = c.id.in_(
            select(lti_launches.c.session_id)
            .where(lti_launches.c.platform_id == platform_id)
            .where(lti_launches.c.subject == lti_user)
        )
    with rt.db.read() as conn:
        if lti_user is not None:
            platform = lti_store.get_platform(conn, email[4:].split(" ", 1)[0])
            platform_name = None if platform is None else platform.name
        rows = conn.execute(
            select(
                c.id,
                c.created_at,
                c.finished_at,
                c.award_status,
                c.result,
                c.learner_name,
                c.email_verified_at,
                c.learner_did,
                c.did_verified_at,
                assessments.c.title,
                assessments.c.bank_hash,
            )
            .join(assessments, assessments.c.id == c.assessment_id)
            .where(scope)
            .order_by(c.created_at.desc())
            .limit(MAX_SESSIONS)
        ).all()
        for row in rows:
            if row.email_verified_at is not None:
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
    return LearnerRecord(
        email=None if lti_user is not None else email,
        lti_user=lti_user,
        platform=platform_name,
        name=name,
        did=did,
        sessions=sessions,
    )


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
        lti_user=record.lti_user,
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
