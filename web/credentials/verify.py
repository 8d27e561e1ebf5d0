"""Verifying a credential this service issued: proof, issuer, validity dates, revocation.

Accepted forms: the JSON-LD credential (with its ``eddsa-rdfc-2022`` proof) or its VC-JWT.
Nothing is fetched: the issuer's keys come from the key ring and the status list from the
database (through ``status_lookup``), so a credential naming another issuer, or keys and
lists on other sites, is reported as not verifiable here rather than looked up.

The report says, in plain words, who earned what, when, with which results, and whether the
proof, the issuer and the status check out; ``reason`` is the first thing that failed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from engine.standing import score_text
from web.credentials import data_integrity, status_list, vc_jwt
from web.credentials.documents import CREDENTIALS_V2, OB_V3P0
from web.credentials.issuer import Issuer
from web.credentials.ob3 import LOGIT_SCALE_NAME

Status = Literal["verified", "revoked", "expired", "not_yet_valid", "invalid"]
StatusLookup = Callable[[str], dict[str, Any] | None]


class Check(msgspec.Struct, frozen=True, kw_only=True):
    """One check and its outcome, in words."""

    name: str
    passed: bool
    detail: str


class ResultLine(msgspec.Struct, frozen=True, kw_only=True):
    """One result of the credential, readable.

    ``value`` and ``required`` are as written in the credential; ``score`` and ``pass_mark``
    are what people read: the same for credentials on the reported scale, and converted
    to it (``500 + 100 theta``) for this service's earlier credentials, which carried the
    logit estimate.
    """

    name: str
    value: str | None
    status: str | None
    required: str | None
    score: str | None = None
    pass_mark: str | None = None


def _on_score_scale(value: Any, logit: bool) -> str | None:
    """A result value as people read it (a logit value of this service converted)."""
    if value is None:
        return None
    if not logit:
        return str(value)
    try:
        return score_text(float(value))
    except (TypeError, ValueError):
        return str(value)


class Summary(msgspec.Struct, frozen=True, kw_only=True):
    """Who earned what, when, with which results."""

    credential_id: str | None
    recipient: str | None
    recipient_did: str | None
    achievement: str | None
    achievement_id: str | None
    description: str | None
    issuer: str | None
    issuer_id: str | None
    issued: str | None
    valid_until: str | None
    results: tuple[ResultLine, ...] = ()


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """The verification report (the API's answer and the verification page's content)."""

    verified: bool
    status: Status
    reason: str
    format: Literal["json-ld", "vc-jwt"] | None
    checks: tuple[Check, ...]
    summary: Summary | None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def summarize(credential: Mapping[str, Any]) -> Summary:
    """The readable facts of a credential (no trust implied)."""
    issuer = credential.get("issuer")
    issuer_obj = issuer if isinstance(issuer, dict) else {"id": issuer}
    subject = credential.get("credentialSubject")
    subject = subject if isinstance(subject, dict) else {}
    achievement = subject.get("achievement")
    achievement = achievement if isinstance(achievement, dict) else {}
    recipient = None
    for identifier in subject.get("identifier") or []:
        if (
            isinstance(identifier, dict)
            and identifier.get("identityType") == "name"
            and identifier.get("hashed") is False
        ):
            recipient = str(identifier.get("identityHash"))
    descriptions = {
        d.get("id"): d for d in achievement.get("resultDescription") or [] if isinstance(d, dict)
    }
    lines = []
    for result in subject.get("result") or []:
        if not isinstance(result, dict):
            continue
        described = descriptions.get(result.get("resultDescription"), {})
        name = str(described.get("name") or result.get("resultDescription") or "result")
        logit = name.endswith(LOGIT_SCALE_NAME)
        lines.append(
            ResultLine(
                name=name.split(":", maxsplit=1)[0],
                value=result.get("value"),
                status=result.get("status"),
                required=described.get("requiredValue"),
                score=_on_score_scale(result.get("value"), logit),
                pass_mark=_on_score_scale(described.get("requiredValue"), logit),
            )
        )
    return Summary(
        credential_id=credential.get("id"),
        recipient=recipient,
        recipient_did=subject.get("id"),
        achievement=achievement.get("name"),
        achievement_id=achievement.get("id"),
        description=achievement.get("description"),
        issuer=issuer_obj.get("name"),
        issuer_id=issuer_obj.get("id"),
        issued=credential.get("validFrom"),
        valid_until=credential.get("validUntil"),
        results=tuple(lines),
    )


def _invalid(reason: str, checks: list[Check], fmt: Any, summary: Summary | None) -> Report:
    return Report(
        verified=False,
        status="invalid",
        reason=reason,
        format=fmt,
        checks=tuple(checks),
        summary=summary,
    )


def verify(
    given: Mapping[str, Any] | str,
    *,
    issuer: Issuer,
    status_lookup: StatusLookup,
    now: datetime | None = None,
) -> Report:
    """Verify a credential (JSON-LD object or VC-JWT string) issued by ``issuer``."""
    now = now or datetime.now(UTC)
    checks: list[Check] = []
    fmt: Literal["json-ld", "vc-jwt"]
    created: datetime | None = None
    key_id: str | None = None
    # 1. The proof.
    if isinstance(given, str):
        fmt = "vc-jwt"
        try:
            decoded = vc_jwt.decode(given, issuer.resolve_p256)
        except vc_jwt.JwtError as exc:
            checks.append(Check(name="proof", passed=False, detail=str(exc)))
            return _invalid(f"The proof does not check out: {exc}.", checks, fmt, None)
        credential: dict[str, Any] = decoded.credential
        key_id = decoded.kid
        created = _parse_time(credential.get("validFrom"))
        checks.append(
            Check(name="proof", passed=True, detail="the ES256 signature of the VC-JWT is valid")
        )
    else:
        fmt = "json-ld"
        credential = dict(given)
        proof = data_integrity.verify(credential, issuer.resolve_ed25519)
        if not proof.ok:
            checks.append(Check(name="proof", passed=False, detail=proof.reason))
            return _invalid(
                f"The proof does not check out: {proof.reason}.",
                checks,
                fmt,
                summarize(credential),
            )
        key_id = proof.verification_method
        created = _parse_time(proof.created)
        checks.append(
            Check(
                name="proof",
                passed=True,
                detail="the eddsa-rdfc-2022 Data Integrity proof is valid",
            )
        )
    summary = summarize(credential)
    # 2. The shape: an Open Badges 3.0 credential.
    contexts = credential.get("@context")
    types = credential.get("type") or []
    if not (
        isinstance(contexts, list)
        and contexts[:2] == [CREDENTIALS_V2, OB_V3P0]
        and "VerifiableCredential" in types
        and ("OpenBadgeCredential" in types or "AchievementCredential" in types)
    ):
        checks.append(
            Check(name="format", passed=False, detail="not an Open Badges 3.0 credential")
        )
        return _invalid("This is not an Open Badges 3.0 credential.", checks, fmt, summary)
    checks.append(Check(name="format", passed=True, detail="an Open Badges 3.0 credential"))
    # 3. The issuer: ours, and the key was in use when the credential was signed.
    if not issuer.accepts(summary.issuer_id):
        checks.append(
            Check(
                name="issuer",
                passed=False,
                detail=f"issued by {summary.issuer_id}, not by {issuer.name} ({issuer.id})",
            )
        )
        return _invalid("It names another issuer than this service.", checks, fmt, summary)
    key = issuer.published_key(key_id or "")
    if (
        key is not None
        and key.retired is not None
        and created is not None
        and created > key.retired
    ):
        checks.append(
            Check(
                name="issuer",
                passed=False,
                detail=f"signed on {created:%Y-%m-%d} with a key retired on {key.retired:%Y-%m-%d}",
            )
        )
        return _invalid("It was signed with a retired key.", checks, fmt, summary)
    checks.append(
        Check(
            name="issuer",
            passed=True,
            detail=f"issued by {summary.issuer} ({issuer.id}) with one of its published keys",
        )
    )
    # 4. Validity dates.
    valid_from = _parse_time(credential.get("validFrom"))
    valid_until = _parse_time(credential.get("validUntil"))
    dates: Status | None = None
    if valid_from is None:
        checks.append(Check(name="dates", passed=False, detail="validFrom is missing"))
        return _invalid("It has no validFrom date.", checks, fmt, summary)
    if now < valid_from:
        dates = "not_yet_valid"
        checks.append(
            Check(
                name="dates",
                passed=False,
                detail=f"valid only from {valid_from:%Y-%m-%d %H:%M} UTC",
            )
        )
    elif valid_until is not None and now >= valid_until:
        dates = "expired"
        checks.append(
            Check(name="dates", passed=False, detail=f"expired on {valid_until:%Y-%m-%d %H:%M} UTC")
        )
    else:
        until = f" until {valid_until:%Y-%m-%d}" if valid_until else " with no end date"
        checks.append(
            Check(name="dates", passed=True, detail=f"valid from {valid_from:%Y-%m-%d}{until}")
        )
    # 5. Revocation status.
    revoked = _check_status(credential, issuer, status_lookup, checks)
    if revoked is None:
        return _invalid(f"Its status cannot be checked: {checks[-1].detail}.", checks, fmt, summary)
    if revoked:
        return Report(
            verified=False,
            status="revoked",
            reason="The issuer revoked this credential.",
            format=fmt,
            checks=tuple(checks),
            summary=summary,
        )
    if dates == "expired":
        reason = f"It expired on {valid_until:%Y-%m-%d}."
        return Report(
            verified=False,
            status="expired",
            reason=reason,
            format=fmt,
            checks=tuple(checks),
            summary=summary,
        )
    if dates == "not_yet_valid":
        reason = f"It is valid only from {valid_from:%Y-%m-%d}."
        return Report(
            verified=False,
            status="not_yet_valid",
            reason=reason,
            format=fmt,
            checks=tuple(checks),
            summary=summary,
        )
    who = summary.recipient or summary.recipient_did or "its holder"
    return Report(
        verified=True,
        status="verified",
        reason=(
            f"{summary.issuer} awarded {summary.achievement} to {who} on "
            f"{valid_from:%Y-%m-%d}; the proof, the issuer and the status check out."
        ),
        format=fmt,
        checks=tuple(checks),
        summary=summary,
    )


def _check_status(
    credential: Mapping[str, Any],
    issuer: Issuer,
    status_lookup: StatusLookup,
    checks: list[Check],
) -> bool | None:
    """True if revoked, False if not, None if the status cannot be checked (a check is added)."""
    entry = credential.get("credentialStatus")
    if entry is None:
        checks.append(Check(name="status", passed=True, detail="no status list: cannot be revoked"))
        return False
    entries = entry if isinstance(entry, list) else [entry]
    revoked = False
    for item in entries:
        if not isinstance(item, dict) or item.get("type") != "BitstringStatusListEntry":
            checks.append(
                Check(name="status", passed=False, detail="unknown credentialStatus type")
            )
            return None
        url = item.get("statusListCredential")
        if not isinstance(url, str) or issuer.local_path(url) is None:
            checks.append(
                Check(
                    name="status",
                    passed=False,
                    detail=f"the status list {url} is not this service's",
                )
            )
            return None
        listed = status_lookup(url)
        if listed is None:
            checks.append(Check(name="status", passed=False, detail=f"no status list at {url}"))
            return None
        proof = data_integrity.verify(listed, issuer.resolve_ed25519)
        if not proof.ok:
            checks.append(
                Check(
                    name="status",
                    passed=False,
                    detail=f"the status list's proof fails: {proof.reason}",
                )
            )
            return None
        subject = listed.get("credentialSubject") or {}
        try:
            bits = status_list.decode(str(subject.get("encodedList", "")))
            index = int(str(item.get("statusListIndex")))
            bit = status_list.bit(bits, index)
        except (status_list.StatusListError, ValueError) as exc:
            checks.append(Check(name="status", passed=False, detail=str(exc)))
            return None
        if bit and item.get("statusPurpose", subject.get("statusPurpose")) in (
            "revocation",
            "suspension",
        ):
            revoked = True
    if revoked:
        checks.append(Check(name="status", passed=False, detail="revoked by the issuer"))
    else:
        checks.append(Check(name="status", passed=True, detail="not revoked (status list checked)"))
    return revoked
