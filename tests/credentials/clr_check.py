"""Checks a ClrCredential the way the CLR 2.0 specification describes it.

The official JSON Schema (``clr_v2p0_clrcredential_schema.json``) is not available offline
here (see tests/data/specs/README.md), so a ClrCredential is checked by:

- JSON-LD: expansion and RDFC-1.0 canonicalization with the bundled contexts, in safe mode
  (a term no context defines is an error, never silently dropped);
- the ClrCredential / ClrSubject / Achievement / Association data model of CLR 2.0 (required
  properties, types, the ``associationType`` vocabulary, associations between achievements
  the record lists), the same shape as 1EdTech's own samples (tests/data/specs/clr2);
- each embedded credential against the official OB 3.0 AchievementCredential JSON Schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from web.credentials.documents import CLR_V2P0, CREDENTIALS_V2, ClosedLoader, canonicalize
from web.credentials.errors import CanonicalizationError

ASSOCIATION_TYPES = {
    "exactMatchOf",
    "isChildOf",
    "isParentOf",
    "isPartOf",
    "isPeerOf",
    "isRelatedTo",
    "precedes",
    "replacedBy",
}


def _types(node: Mapping[str, Any]) -> list[str]:
    value = node.get("type", [])
    return [value] if isinstance(value, str) else list(value)


def _is_datetime(value: Any) -> bool:
    try:
        datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in str(value)


def structure_problems(document: Mapping[str, Any]) -> list[str]:
    """What in ``document`` does not follow the CLR 2.0 ClrCredential data model."""
    problems = []
    context = document.get("@context", [])
    if context[:2] != [CREDENTIALS_V2, CLR_V2P0]:
        problems.append(f"@context must start with VC 2.0 then CLR 2.0: {context[:2]}")
    if not {"VerifiableCredential", "ClrCredential"} <= set(_types(document)):
        problems.append(f"type: {document.get('type')}")
    for key in ("id", "name"):
        if not isinstance(document.get(key), str) or not document.get(key):
            problems.append(f"{key} is required")
    issuer = document.get("issuer")
    if not isinstance(issuer, dict) or "Profile" not in _types(issuer) or "id" not in issuer:
        problems.append("issuer must be a Profile with an id")
    if not _is_datetime(document.get("validFrom")):
        problems.append(f"validFrom is not a date-time: {document.get('validFrom')}")
    subject = document.get("credentialSubject")
    if not isinstance(subject, dict) or "ClrSubject" not in _types(subject):
        return [*problems, "credentialSubject must be a ClrSubject"]
    vcs = subject.get("verifiableCredential")
    if not isinstance(vcs, list) or not vcs:
        problems.append("credentialSubject.verifiableCredential must be a non-empty list")
        vcs = []
    for k, vc in enumerate(vcs):
        types = set(_types(vc))
        if "VerifiableCredential" not in types or not types & {
            "AchievementCredential",
            "OpenBadgeCredential",
        }:
            problems.append(f"verifiableCredential[{k}].type: {vc.get('type')}")
    ids = set()
    for k, achievement in enumerate(subject.get("achievement", [])):
        where = f"achievement[{k}]"
        if "Achievement" not in _types(achievement):
            problems.append(f"{where}.type: {achievement.get('type')}")
        for key in ("id", "name", "description"):
            if not achievement.get(key):
                problems.append(f"{where}.{key} is required")
        if not isinstance(achievement.get("criteria"), dict):
            problems.append(f"{where}.criteria is required")
        ids.add(achievement.get("id"))
    for k, association in enumerate(subject.get("association", [])):
        where = f"association[{k}]"
        if _types(association) != ["Association"]:
            problems.append(f"{where}.type must be Association")
        if association.get("associationType") not in ASSOCIATION_TYPES:
            problems.append(f"{where}.associationType: {association.get('associationType')}")
        for key in ("sourceId", "targetId"):
            if association.get(key) not in ids:
                problems.append(f"{where}.{key} names no achievement of the record")
    return problems


def clr_problems(
    document: Mapping[str, Any],
    loader: ClosedLoader | None,
    check_credential: Callable[[dict[str, Any]], list[str]],
) -> list[str]:
    """Every problem: JSON-LD (safe mode), the data model, and the embedded credentials."""
    problems = structure_problems(document)
    try:
        canonicalize({k: v for k, v in document.items() if k != "proof"}, loader)
    except CanonicalizationError as exc:
        problems.append(f"JSON-LD: {exc.detail}")
    subject = document.get("credentialSubject", {})
    for k, vc in enumerate(subject.get("verifiableCredential", [])):
        problems += [f"verifiableCredential[{k}]: {p}" for p in check_credential(vc)]
    return problems
