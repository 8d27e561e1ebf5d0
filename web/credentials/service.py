"""What the pages and the API do with credentials: read, verify, revoke, define achievements."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec

from web.authoring import owned_assessment
from web.credentials import status_list as bitstring
from web.credentials.awards import (
    envelope,
    issuer_named,
    issuer_of,
    notify_worker,
    org_issuer,
    recipient_block,
)
from web.credentials.documents import CREDENTIALS_V2, OB_V3P0
from web.credentials.ob3 import AchievementSpec, achievement_document, check_spec
from web.credentials.verify import Report, verify
from web.errors import InvalidInputError, NotFoundError
from web.runtime import Runtime
from web.store import achievements as achievement_store
from web.store import audit
from web.store import credentials as credential_store
from web.store import webhooks as webhook_store
from web.store.achievements import AchievementRecord
from web.store.authors import Member
from web.store.credentials import CredentialRecord

_STATUS_PATH = re.compile(r"^/status-lists/(\d{1,9})$")
_CREDENTIAL_PATH = re.compile(r"^/credentials/([A-Za-z0-9_-]{1,40})(?:/.*)?$")


def get_credential(rt: Runtime, credential_id: str) -> CredentialRecord:
    """A credential by id, or :class:`NotFoundError`."""
    with rt.db.read() as conn:
        record = credential_store.get(conn, credential_id)
    if record is None:
        raise NotFoundError("no such credential")
    return record


def status_list_document(rt: Runtime, list_id: int) -> dict[str, Any] | None:
    """The signed status list credential, re-signed when a revocation changed the list."""
    with rt.db.read() as conn:
        listed = credential_store.get_list(conn, list_id)
        if listed is None:
            return None
        if listed.document is not None and listed.document_revision == listed.revision:
            return listed.document
        # The revision is read before the bits: a revocation committing in between makes the
        # stored document look older than it is, never newer, so it is simply made again.
        revision = listed.revision
        revoked = credential_store.revoked_indexes(conn, list_id)
        issuer = org_issuer(rt, conn, listed.org_id)  # the list is signed by its organisation
    url = issuer.status_list_url(list_id)
    document = bitstring.list_credential(
        url=url,
        issuer=issuer.embedded_profile(),
        encoded=bitstring.encode(revoked, listed.size),
        valid_from=datetime.now(UTC),
    )
    signed = issuer.sign_data_integrity(document, datetime.now(UTC))
    with rt.db.write() as conn:
        credential_store.store_list_document(conn, list_id, signed, revision)
    return signed


def status_lookup(rt: Runtime) -> Callable[[str], dict[str, Any] | None]:
    """Resolve a status list URL of this service from the database (never the network)."""
    issuer = issuer_of(rt)

    def lookup(url: str) -> dict[str, Any] | None:
        path = issuer.local_path(url)
        match = _STATUS_PATH.match(path or "")
        return status_list_document(rt, int(match.group(1))) if match else None

    return lookup


def credential_at(rt: Runtime, url: str) -> CredentialRecord:
    """The credential a URL of this service points at (its id, page, download...).

    Raises
    ------
    InvalidInputError
        The URL is not this service's: nothing is fetched from other sites.
    NotFoundError
        No such credential.
    """
    issuer = issuer_of(rt)
    path = issuer.local_path(url.strip())
    match = _CREDENTIAL_PATH.match(path or "")
    if match is None:
        raise InvalidInputError(
            "this service checks only credentials it issued, by their "
            f"{issuer.base_url}/credentials/... address; upload the credential file instead",
            [f"url: {url.strip()[:200]}"],
        )
    return get_credential(rt, match.group(1))


def verify_given(rt: Runtime, given: dict[str, Any] | str) -> Report:
    """Verify a credential document or VC-JWT against the issuer it names.

    The issuer is looked up by the credential's issuer id (an organisation's did:web); the
    proof must then check out with one of THAT issuer's keys, so a credential naming one
    organisation but signed with another's key fails.
    """
    with rt.db.read() as conn:
        issuer = issuer_named(rt, conn, named_issuer(given))
    return verify(given, issuer=issuer, status_lookup=status_lookup(rt))


def named_issuer(given: dict[str, Any] | str) -> str | None:
    """The issuer id a credential names (unverified: it only chooses whose keys to try)."""
    if isinstance(given, str):
        try:
            payload = given.split(".")[1]
            claims = msgspec.json.decode(
                base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
            )
        except (IndexError, ValueError, msgspec.DecodeError):
            return None
        issuer = claims.get("iss") if isinstance(claims, dict) else None
        return issuer if isinstance(issuer, str) else None
    issuer = given.get("issuer")
    issuer = issuer.get("id") if isinstance(issuer, dict) else issuer
    return issuer if isinstance(issuer, str) else None


def parse_upload(data: bytes) -> dict[str, Any] | str:
    """A credential file: JSON-LD (an object) or a VC-JWT (compact JWS text).

    Raises
    ------
    InvalidInputError
        Neither.
    """
    text = data.decode("utf-8", errors="replace").strip()
    if text.startswith("{"):
        try:
            value = msgspec.json.decode(text.encode("utf-8"))
        except msgspec.DecodeError as exc:
            raise InvalidInputError("the file is not valid JSON", [f"file: {exc}"]) from None
        if not isinstance(value, dict):
            raise InvalidInputError("the file is not a credential", ["file: not a JSON object"])
        return value
    if re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", text):
        return text
    raise InvalidInputError(
        "the file is neither a JSON-LD credential nor a VC-JWT",
        ["file: expected a JSON object or a compact JWT"],
    )


def revoke(rt: Runtime, author: Member, credential_id: str, reason: str) -> CredentialRecord:
    """Revoke one of the author's credentials; the status list changes, webhooks go out."""
    record = get_credential(rt, credential_id)
    assessment = owned_assessment(rt, author, record.assessment_id)
    reason = reason.strip()[:500] or "revoked by the issuer"
    issuer = issuer_of(rt)
    with rt.db.write() as conn:
        when = credential_store.revoke(conn, credential_id, reason)
        if when is not None:
            audit.record(
                conn,
                author.org_id,
                author.id,
                author.email,
                "credential.revoke",
                credential_id,
                reason,
            )
            achievement = achievement_store.get(conn, record.achievement_id)
            name = achievement.spec.name if achievement else ""
            payload = envelope(
                "credential.revoked",
                {
                    "credential_id": record.id,
                    "credential_url": issuer.credential_url(record.id),
                    "revoked_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "reason": reason,
                    "recipient": recipient_block(record, name, issuer),
                    "assessment": {"id": assessment.id, "title": assessment.title},
                },
                when,
            )
            webhook_store.enqueue(
                conn,
                org_id=assessment.org_id,
                event_type="credential.revoked",
                payload=payload,
            )
    status_list_document(rt, record.status_list_id)  # publish the new list right away
    notify_worker(rt)
    return get_credential(rt, credential_id)


def save_achievement(
    rt: Runtime, author: Member, assessment_id: str, spec: AchievementSpec
) -> AchievementRecord:
    """Define or change the achievement of one of the author's assessments."""
    assessment = owned_assessment(rt, author, assessment_id)
    with rt.db.read() as conn:
        compiled = rt.compiled(conn, assessment.bank_hash)
    problems = check_spec(spec, compiled.competency_names)
    if problems:
        raise InvalidInputError("the achievement cannot be saved", problems)
    with rt.db.write() as conn:
        saved = achievement_store.save(conn, assessment_id, spec)
        audit.record(
            conn, author.org_id, author.id, author.email, "achievement.save", saved.id, spec.name
        )
        return saved


def achievement_of(rt: Runtime, assessment_id: str) -> AchievementRecord | None:
    """The achievement of an assessment, if any."""
    with rt.db.read() as conn:
        return achievement_store.for_assessment(conn, assessment_id)


def public_achievement(rt: Runtime, achievement_id: str) -> dict[str, Any]:
    """The Achievement JSON-LD served at its id."""
    with rt.db.read() as conn:
        record = achievement_store.get(conn, achievement_id)
        if record is None:
            raise NotFoundError("no such achievement")
        assessment = rt.assessment(conn, record.assessment_id)
        compiled = rt.compiled(conn, assessment.bank_hash)
        issuer = org_issuer(rt, conn, assessment.org_id)
    document = achievement_document(
        spec=record.spec,
        achievement_url=issuer.achievement_url(record.id),
        image_url=issuer.achievement_image_url(record.id),
        competencies=[(c.id, c.name, c.cut_score) for c in compiled.bank.competencies],
    )
    return {"@context": [CREDENTIALS_V2, OB_V3P0], **document, "creator": issuer.embedded_profile()}
