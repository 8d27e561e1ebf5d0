"""The learner's record as a 1EdTech Comprehensive Learner Record 2.0 ``ClrCredential``.

A ClrCredential (CLR 2.0, section "ClrCredential") is a W3C Verifiable Credential whose
``credentialSubject`` is a ``ClrSubject`` that gathers a learner's achievements:

- ``verifiableCredential``: every (unrevoked) Open Badges 3.0 credential this service issued
  to the learner, exactly as signed when issued (each keeps its own ``@context`` and proof);
- ``achievement``: the achievement of each of those credentials, and one ``Competency``
  achievement per competency it measured (its name, pass mark and framework alignments);
- ``association``: an ``isParentOf`` association from each achievement to each of its
  competencies, so a reader sees how the competencies stack into the credentials.

The record is made on request (never stored) and signed like the badges (``eddsa-rdfc-2022``
with the issuer's active Ed25519 key). :func:`presentation` wraps it in a W3C Verifiable
Presentation the learner can hand to an employer; the learner holds no key here, so the
presentation carries no holder proof: what an employer checks is the issuer's proof on the
record and on each credential inside it.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from web.credentials.data_integrity import xsd_datetime
from web.credentials.documents import CLR_V2P0, CREDENTIALS_V2, OB_V3P0
from web.credentials.ob3 import SCORE_SCALE_NAME, identity_hash

SCHEMA_URL = (
    "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json"
)
CONTEXT = [CREDENTIALS_V2, CLR_V2P0, OB_V3P0]
_RESULT_MARK = "#result-"
_SCALE_SUFFIX = ": " + SCORE_SCALE_NAME


def competency_id(achievement_id: str, competency: str) -> str:
    """The id of the ``Competency`` achievement of one measured competency."""
    return f"{achievement_id}#competency-{competency}"


def _competencies(
    achievement: Mapping[str, Any], creator: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """One ``Competency`` achievement per ``ResultDescription`` of an OB 3.0 achievement."""
    out = []
    for rd in achievement.get("resultDescription", []):
        rd_id = str(rd.get("id", ""))
        if _RESULT_MARK not in rd_id:
            continue
        cid = rd_id.split(_RESULT_MARK, 1)[1]
        name = str(rd.get("name", cid)).removesuffix(_SCALE_SUFFIX)
        required = rd.get("requiredValue")
        criteria = f"Measured by the adaptive assessment for {achievement.get('name', '')}"
        criteria += (
            f": passed at a score of {required} or more (500 is typical)."
            if required is not None
            else " (no pass mark)."
        )
        competency: dict[str, Any] = {
            "id": competency_id(str(achievement["id"]), cid),
            "type": ["Achievement"],
            "achievementType": "Competency",
            "name": name,
            "description": f"The competency {name}, one of those {achievement.get('name', '')} "
            "measures.",
            "criteria": {"narrative": criteria},
            "creator": copy.deepcopy(dict(creator)),
        }
        if rd.get("alignment"):
            competency["alignment"] = copy.deepcopy(rd["alignment"])
        out.append(competency)
    return out


def build_clr(
    *,
    issuer: Mapping[str, Any],
    credentials: Sequence[Mapping[str, Any]],
    email: str | None,
    name: str | None,
    did: str | None,
    issued_at: datetime,
    salt: str,
    lti_user: str | None = None,
    record_id: str | None = None,
) -> dict[str, Any]:
    """The unsigned ``ClrCredential`` of a learner's signed OB 3.0 ``credentials``.

    ``email`` and ``lti_user`` (an LMS user id) are carried only as salted hashes (OB 3.0
    IdentityHash); ``name`` as a plain identifier; ``did`` as the subject's id.
    """
    achievements: dict[str, dict[str, Any]] = {}
    associations: list[dict[str, Any]] = []
    for credential in credentials:
        achievement = credential["credentialSubject"]["achievement"]
        aid = str(achievement["id"])
        if aid in achievements:
            continue
        creator = credential.get("issuer") or issuer
        entry = copy.deepcopy(dict(achievement))
        entry.setdefault("creator", copy.deepcopy(dict(creator)))
        achievements[aid] = entry
        for competency in _competencies(achievement, creator):
            achievements[competency["id"]] = competency
            associations.append(
                {
                    "type": "Association",
                    "associationType": "isParentOf",
                    "sourceId": aid,
                    "targetId": competency["id"],
                }
            )
    subject: dict[str, Any] = {"type": ["ClrSubject"]}
    if did:
        subject["id"] = did
    identifiers = []
    if email:
        identifiers.append(
            {
                "type": "IdentityObject",
                "identityHash": identity_hash(email, salt),
                "identityType": "emailAddress",
                "hashed": True,
                "salt": salt,
            }
        )
    if lti_user:
        identifiers.append(
            {
                "type": "IdentityObject",
                "identityHash": identity_hash(lti_user, salt),
                "identityType": "ltiUserId",
                "hashed": True,
                "salt": salt,
            }
        )
    if name:
        identifiers.append(
            {
                "type": "IdentityObject",
                "identityHash": name,
                "identityType": "name",
                "hashed": False,
            }
        )
    if identifiers:
        subject["identifier"] = identifiers
    subject["verifiableCredential"] = [copy.deepcopy(dict(c)) for c in credentials]
    if achievements:
        subject["achievement"] = list(achievements.values())
    if associations:
        subject["association"] = associations
    who = name or "the learner"
    return {
        "@context": list(CONTEXT),
        "id": record_id or f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "ClrCredential"],
        "issuer": copy.deepcopy(dict(issuer)),
        "validFrom": xsd_datetime(issued_at),
        "name": f"Learner record of {who}",
        "description": f"Every credential {issuer.get('name', 'this issuer')} issued to {who} "
        f"up to {xsd_datetime(issued_at)[:10]}, with the competencies each one measured.",
        "credentialSubject": subject,
        "credentialSchema": [{"id": SCHEMA_URL, "type": "1EdTechJsonSchemaValidator2019"}],
    }


def presentation(
    credentials: Sequence[Mapping[str, Any]], holder: str | None = None
) -> dict[str, Any]:
    """A W3C Verifiable Presentation (VC Data Model 2.0) of signed credentials.

    Unsigned by the holder (the learner holds no key here); each credential keeps its
    issuer's proof.
    """
    document: dict[str, Any] = {
        "@context": [CREDENTIALS_V2],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiablePresentation"],
    }
    if holder:
        document["holder"] = holder
    document["verifiableCredential"] = [copy.deepcopy(dict(c)) for c in credentials]
    return document
