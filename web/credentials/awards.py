"""Completing a session: the award, the credential and the outbox, in the result's transaction.

:func:`prepare` does the slow work before any write transaction (evaluate the pass rule,
pick a random status-list slot, build and sign the credential in both forms, build the
webhook payloads); :func:`write` then stores the credential and one outbox row per
subscribed endpoint, inside the transaction that stores the final answer and the session's
result. So the award, its credential and its webhooks exist exactly when the result does:
a crash before the commit leaves none of them, after it all of them.

Assessments in ``practice`` feedback mode never award. A learner who gave neither an email
nor a DID took the assessment without asking for a credential: the session completes, and
``assessment.completed`` says so, but nothing is issued.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import msgspec
from sqlalchemy import Connection, func, insert, select

from engine.integrity import IntegrityEvidence
from engine.session import SessionResult
from engine.standing import scaled_score, scaled_se
from web.credentials import ob3
from web.credentials import status_list as bitstring
from web.credentials.issuer import Issuer, did_web
from web.credentials.keys import KeyRing
from web.db.connection import utcnow
from web.db.schema import status_lists
from web.pseudonyms import person_id
from web.runtime import CompiledBank, Runtime
from web.store import achievements as achievement_store
from web.store import credentials as credential_store
from web.store import orgs as org_store
from web.store import sessions as session_store
from web.store import webhooks as webhook_store
from web.store.assessments import AssessmentRecord
from web.store.credentials import CredentialRecord
from web.store.sessions import SessionRecord

_ISSUER = "issuer"
_KEY_RINGS = "org_key_rings"
_SLOT_TRIES = 32


def issuer_of(rt: Runtime) -> Issuer:
    """The service-wide issuer: the service's URLs, and credentials from before organisations."""
    issuer = rt.services.get(_ISSUER)
    if issuer is None:
        issuer = rt.services.setdefault(_ISSUER, Issuer.from_settings(rt.settings))
    assert isinstance(issuer, Issuer)
    return issuer


def org_issuer(rt: Runtime, conn: Connection, org_id: int | None) -> Issuer:
    """The issuer of organisation ``org_id`` (its profile as stored now, its own keys).

    Key rings are kept per process by directory (they cache keys and notice rotations);
    ``None`` (an assessment from before organisations) is the service-wide issuer.
    """
    org = org_store.get(conn, org_id) if org_id is not None else None
    if org is None:
        return issuer_of(rt)
    rings = rt.services.setdefault(_KEY_RINGS, {})
    ring = rings.get(org.keys_dir)
    if ring is None:
        ring = rings.setdefault(org.keys_dir, KeyRing(Path(rt.settings.data_dir) / org.keys_dir))
    return Issuer.for_org(rt.settings, org, ring)


def issuer_named(rt: Runtime, conn: Connection, issuer_id: str | None) -> Issuer:
    """The issuer a credential names.

    An organisation of this service by its did:web, the organisation that kept the
    service-wide identity, or (for anything else) the service-wide issuer, which then
    reports that it is not the credential's issuer.
    """
    service = issuer_of(rt)
    prefix = did_web(rt.settings.base_url, "orgs") + ":"
    if isinstance(issuer_id, str) and issuer_id.startswith(prefix):
        org = org_store.get_by_slug(conn, issuer_id[len(prefix) :])
        if org is not None:
            return org_issuer(rt, conn, org.id)
    if issuer_id == service.service_id:
        legacy = org_store.legacy(conn)
        if legacy is not None:
            return org_issuer(rt, conn, legacy.id)
    return service


class Completion(msgspec.Struct, kw_only=True):
    """What finishing one session writes besides its result."""

    org_id: int | None
    credential: CredentialRecord | None = None
    new_list: int | None = None
    events: list[tuple[webhook_store.EventType, bytes]] = msgspec.field(default_factory=list)
    integrity: IntegrityEvidence | None = None
    award_status: str | None = None
    session_id: str | None = None


def envelope(event_type: str, data: dict[str, Any], now: datetime) -> bytes:
    """The Standard Webhooks payload ``{type, timestamp, data}``."""
    return msgspec.json.encode(
        {"type": event_type, "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "data": data}
    )


def _competencies(compiled: CompiledBank, result: SessionResult) -> list[dict[str, Any]]:
    """Each competency's outcome, on the reported scale and the ability scale.

    ``score``, ``score_se`` and ``pass_mark`` are on the scale people read
    (``500 + 100 theta``); ``theta``, ``se`` and ``cut_score`` are for psychometric use.
    """
    return [
        {
            "id": c.competency,
            "name": compiled.competency_names.get(c.competency, c.competency),
            "score": round(float(scaled_score(c.theta))),
            "score_se": round(float(scaled_se(c.se))),
            "pass_mark": None if c.cut_score is None else round(float(scaled_score(c.cut_score))),
            "theta": round(c.theta, 4),
            "se": round(c.se, 4),
            "items": c.items,
            "cut_score": c.cut_score,
            "classification": c.classification,
            "confidence": None if c.confidence is None else round(c.confidence, 4),
        }
        for c in result.competencies
    ]


def _slot(conn: Connection, org_id: int | None) -> tuple[int, int, bool]:
    """A random free (list, index) slot in one of the organisation's lists.

    Creates no row (a new list is made in :func:`write`).
    """
    listed = credential_store.open_list(conn, org_id)
    if listed is None:
        newest = conn.execute(select(func.max(status_lists.c.id))).scalar_one_or_none()
        return int(newest or 0) + 1, secrets.randbelow(bitstring.LIST_SIZE), True
    for _ in range(_SLOT_TRIES):
        index = secrets.randbelow(listed.size)
        if not credential_store.slot_taken(conn, listed.id, index):
            return listed.id, index, False
    raise RuntimeError("no free status-list slot found")  # pragma: no cover - below half full


AwardStatus = Literal["held", "released", "refused", "withheld", "awaiting_email"]


def prepare(
    rt: Runtime,
    conn: Connection,
    *,
    assessment: AssessmentRecord,
    compiled: CompiledBank,
    record: SessionRecord,
    result: SessionResult,
    now: datetime,
    integrity: IntegrityEvidence | None = None,
) -> Completion:
    """Everything finishing ``record`` will write, built and signed outside the write.

    ``conn`` is used for reads only (the achievement, a free status-list slot). An award
    the session earns is issued now, unless the integrity ``decision`` holds it for the
    author's review (``award_status = "held"``, no credential, no ``credential.issued``)
    or refuses it (``"withheld"``).
    """
    completion = Completion(org_id=assessment.org_id, integrity=integrity, session_id=record.id)
    names = compiled.competency_names
    achievement = achievement_store.for_assessment(conn, assessment.id)
    recipient = recipient_of(record)
    outcome = (
        ob3.evaluate(achievement.spec.pass_rule, result, names) if achievement is not None else None
    )
    issuer = org_issuer(rt, conn, assessment.org_id)
    if (
        achievement is not None
        and outcome is not None
        and outcome.passed
        and assessment.feedback_mode != "practice"
        and recipient.identifiable
    ):
        decision = "none" if integrity is None else integrity.decision
        if decision == "refuse":
            completion.award_status = "withheld"
        elif decision == "hold":
            completion.award_status = "held"
        elif achievement.spec.require_verified_email and not identity_verified(record):
            completion.award_status = "awaiting_email"
        else:
            issue(
                rt,
                conn,
                completion,
                assessment=assessment,
                compiled=compiled,
                record=record,
                result=result,
                achievement=achievement,
                now=now,
                integrity=integrity,
            )
    completed: dict[str, Any] = {
        "assessment": {"id": assessment.id, "title": assessment.title},
        "person_id": person_id(rt.settings.secret_key, record.id),
        "learner": {"name": record.learner_name, "email": record.learner_email},
        "finished_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "passed": None if outcome is None else outcome.passed,
        "not_passed_because": [] if outcome is None else list(outcome.reasons),
        "stop_reason": result.stop_reason,
        "items": result.items,
        "competencies": _competencies(compiled, result),
        "credential_id": completion.credential.id if completion.credential else None,
        "credential_url": (
            issuer.credential_url(completion.credential.id) if completion.credential else None
        ),
        "award_status": completion.award_status,
        "integrity": integrity_summary(integrity),
    }
    completion.events.insert(
        0, ("assessment.completed", envelope("assessment.completed", completed, now))
    )
    return completion


def identity_verified(record: SessionRecord) -> bool:
    """Whether the learner proved control of their email address or of their DID."""
    return (record.email_verified_at is not None and record.learner_email is not None) or (
        record.did_verified_at is not None and record.learner_did is not None
    )


def recipient_of(record: SessionRecord) -> ob3.Recipient:
    """The credential's recipient: named only when the learner verified their identity.

    A learner who proved control of their DID is the credential's subject by that DID
    (``credentialSubject.id``). A self-asserted learner's credential carries the (hashed)
    email address or DID they typed, and its evidence says that nobody checked it; it
    carries no name.
    """
    return ob3.Recipient(
        name=record.learner_name if identity_verified(record) else None,
        email=record.learner_email,
        did=record.learner_did,
    )


def identity_line(record: SessionRecord) -> str:
    """How the recipient's identity was established, for the credential's evidence."""
    if record.did_verified_at is not None and record.learner_did is not None:
        signed = record.did_verified_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            f"Identity: DID control (did:key challenge signed {signed}). The learner proved "
            f"control of {record.learner_did} by signing a single-use challenge of this "
            "service with its key."
        )
    if record.email_verified_at is not None and record.learner_email is not None:
        return (
            "Identity: verified email. The learner proved control of the email address on "
            f"{record.email_verified_at.strftime('%Y-%m-%d')} by a single-use link."
        )
    return (
        "Identity: self-asserted. The email address or DID was given by the learner and not "
        "verified, so the credential names no one."
    )


def integrity_summary(integrity: IntegrityEvidence | None) -> dict[str, Any] | None:
    """The integrity decision and each check's outcome, for webhook payloads."""
    if integrity is None:
        return None
    return {
        "decision": integrity.decision,
        "checks": [
            {
                "check": f.check,
                "computed": f.computed,
                "raised": f.raised,
                "action": f.action,
                "value": f.value,
                "threshold": f.threshold,
                "reason": f.reason,
            }
            for f in integrity.flags
        ],
    }


def issue(
    rt: Runtime,
    conn: Connection,
    completion: Completion,
    *,
    assessment: AssessmentRecord,
    compiled: CompiledBank,
    record: SessionRecord,
    result: SessionResult,
    achievement: achievement_store.AchievementRecord,
    now: datetime,
    integrity: IntegrityEvidence | None,
    review: str | None = None,
) -> None:
    """Build and sign the credential for ``record`` into ``completion``, with its event.

    Used when a session finishes and when its author releases a held award (``review``
    says so in the evidence). Reads only (a free status-list slot).
    """
    issuer = org_issuer(rt, conn, assessment.org_id)
    names = compiled.competency_names
    recipient = recipient_of(record)
    list_id, index, new_list = _slot(conn, assessment.org_id)
    credential_id = credential_store.new_credential_id()
    spec = achievement.spec
    issued_at = now.replace(microsecond=0)
    until = ob3.valid_until(spec, issued_at)
    achievement_doc = ob3.achievement_document(
        spec=spec,
        achievement_url=issuer.achievement_url(achievement.id),
        image_url=issuer.achievement_image_url(achievement.id),
        competencies=[(c.id, c.name, c.cut_score) for c in compiled.bank.competencies],
    )
    document = ob3.build_credential(
        credential_url=issuer.credential_url(credential_id),
        issuer=issuer.embedded_profile(),
        achievement=achievement_doc,
        recipient=recipient,
        result=result,
        names=names,
        issued_at=issued_at,
        valid_until=until,
        status=bitstring.entry(issuer.status_list_url(list_id), index),
        evidence_url=issuer.evidence_url(credential_id),
        assurance=[identity_line(record), *assurance_lines(integrity, review)],
    )
    signed, token = issuer.sign(document, issued_at)
    completion.credential = CredentialRecord(
        id=credential_id,
        session_id=record.id,
        assessment_id=assessment.id,
        achievement_id=achievement.id,
        status_list_id=list_id,
        status_index=index,
        recipient_name=recipient.name,
        recipient_email=recipient.email,
        recipient_did=recipient.did,
        document=signed,
        jwt=token,
        issued_at=issued_at,
        valid_until=until,
        revoked_at=None,
        revocation_reason=None,
    )
    completion.new_list = list_id if new_list else None
    completion.events.append(
        (
            "credential.issued",
            envelope(
                "credential.issued",
                {
                    "credential_id": credential_id,
                    "credential_url": issuer.credential_url(credential_id),
                    "credential_jwt_url": issuer.credential_url(credential_id) + "/credential.jwt",
                    "recipient": recipient_block(completion.credential, spec.name, issuer),
                    "assessment": {"id": assessment.id, "title": assessment.title},
                    "credential": signed,
                },
                now,
            ),
        )
    )


CHECK_NAMES = {
    "person_fit": "answer-pattern fit (lz*)",
    "response_time_fit": "response-time fit (l_t)",
    "rapid_guessing": "rapid guessing",
    "too_fast_to_read": "answers faster than reading allows",
}


def assurance_lines(integrity: IntegrityEvidence | None, review: str | None) -> list[str]:
    """What the credential's evidence says about the integrity checks the policy acts on.

    Only checks whose action is ``hold`` or ``refuse`` are named: those are the ones the
    author made conditions of the award. A check that could not be computed says so.
    """
    if integrity is None:
        return []
    acting = [f for f in integrity.flags if f.action != "none"]
    if not acting:
        return []
    passed = [CHECK_NAMES[f.check] for f in acting if f.computed and not f.raised]
    missing = [CHECK_NAMES[f.check] for f in acting if not f.computed]
    raised = [CHECK_NAMES[f.check] for f in acting if f.raised]
    parts = []
    if passed:
        parts.append("passed: " + ", ".join(passed))
    if missing:
        parts.append("not computable for this session: " + ", ".join(missing))
    if raised:
        parts.append("raised: " + ", ".join(raised))
    line = "Integrity checks required by the assessment: " + "; ".join(parts) + "."
    if review:
        line += " " + review
    return [line]


def recipient_block(
    credential: CredentialRecord, achievement_name: str, issuer: Issuer
) -> dict[str, Any]:
    """What badge platforms (Credly, Accredible, Badgr) map without another call."""
    return {
        "name": credential.recipient_name,
        "email": credential.recipient_email,
        "did": credential.recipient_did,
        "achievement_id": issuer.achievement_url(credential.achievement_id),
        "achievement_name": achievement_name,
        "issued_at": credential.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expires_at": (
            credential.valid_until.strftime("%Y-%m-%dT%H:%M:%SZ")
            if credential.valid_until
            else None
        ),
        "evidence_url": issuer.evidence_url(credential.id),
        "credential_url": issuer.credential_url(credential.id),
    }


def write(conn: Connection, completion: Completion) -> None:
    """Store the prepared credential and outbox rows (inside the result's transaction).

    A status-list slot taken meanwhile by another award makes the insert fail with an
    integrity error, which rolls the whole transaction back; the caller retries.
    """
    if completion.session_id is not None and (
        completion.integrity is not None or completion.award_status is not None
    ):
        session_store.set_outcome(
            conn,
            completion.session_id,
            integrity=completion.integrity,
            award_status=completion.award_status,
        )
    credential = completion.credential
    if credential is not None:
        if (
            completion.new_list is not None
            and credential_store.get_list(conn, completion.new_list) is None
        ):
            conn.execute(
                insert(status_lists).values(
                    id=completion.new_list,
                    purpose="revocation",
                    size=bitstring.LIST_SIZE,
                    used=0,
                    revision=0,
                    org_id=completion.org_id,
                    created_at=utcnow(),
                )
            )
        credential_store.insert_credential(conn, credential)
    for event_type, payload in completion.events:
        webhook_store.enqueue(
            conn, org_id=completion.org_id, event_type=event_type, payload=payload
        )


def notify_worker(rt: Runtime) -> None:
    """Wake this process's delivery worker (if it runs one) after a commit."""
    worker = rt.services.get("webhook_worker")
    wake = getattr(worker, "wake", None)
    if wake is not None:
        wake.set()
