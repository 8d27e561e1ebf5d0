"""Achievements and the Open Badges 3.0 ``OpenBadgeCredential`` issued for them.

An assessment may define one achievement (:class:`AchievementSpec`): what it is called and
says, its criteria, image, ``achievementType``, alignments to competency frameworks, how long
an award stays valid, and the pass rule (which competencies must be classified as passed, at
what confidence). When a finished session satisfies the pass rule, :func:`build_credential`
makes the credential (W3C VC Data Model 2.0 with the Open Badges 3.0 context):

- ``issuer``: the issuer Profile;
- ``credentialSubject``: the learner, by DID (``id``) when given, and by email as an
  ``IdentityObject`` hashed with a per-credential salt (``sha256$hex(email + salt)``, the
  IdentityHash of Open Badges 3.0 section B.1.6), with the name as a plain ``name``
  identifier; the achievement; one ``result`` per measured competency, pointing at the
  achievement's ``ResultDescription`` for it (a ``ScaledScore`` on the one scale learners,
  employers and authors read, ``500 + 100 theta``, with the pass mark on it as
  ``requiredValue``), with the score as ``value`` and ``Completed`` or ``Failed`` as status;
- ``evidence``: the public session summary (scores with their standard errors, and the
  ability estimates on the logit scale for psychometric use, classification confidences,
  test length) with its URL;
- ``validFrom``/``validUntil``, ``awardedDate``, and ``credentialStatus`` (a Bitstring
  Status List entry).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from engine.session import SCORING_MODELS, CompetencyResult, SessionResult
from engine.standing import probability_text, score_se_text, score_text
from web.credentials.data_integrity import xsd_datetime
from web.credentials.documents import CREDENTIALS_V2, OB_V3P0
from web.wording import stop_clause

ACHIEVEMENT_TYPES = (
    "Achievement",
    "ApprenticeshipCertificate",
    "Assessment",
    "Assignment",
    "AssociateDegree",
    "Award",
    "Badge",
    "BachelorDegree",
    "Certificate",
    "CertificateOfCompletion",
    "Certification",
    "CommunityService",
    "Competency",
    "Course",
    "CoCurricular",
    "Degree",
    "Diploma",
    "DoctoralDegree",
    "Fieldwork",
    "GeneralEducationDevelopment",
    "JourneymanCertificate",
    "LearningProgram",
    "License",
    "Membership",
    "ProfessionalDoctorate",
    "QualityAssuranceCredential",
    "MasterCertificate",
    "MasterDegree",
    "MicroCredential",
    "ResearchDoctorate",
    "SecondarySchoolDiploma",
)
#: How a result's scale is named in its ``ResultDescription`` (after "Competency: ").
SCORE_SCALE_NAME = "score (500 + 100 x ability; 500 is typical)"
#: The name of results issued before scores were reported: theta on the logit scale.
LOGIT_SCALE_NAME = "ability estimate (logit scale, 0 is typical)"
SCHEMA_URL = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)

Url = Annotated[str, Meta(min_length=8, max_length=2000, pattern=r"^https?://\S+$")]
ImageUrl = Annotated[
    str,
    Meta(
        min_length=8, max_length=200_000, pattern=r"^(https?://\S+|data:image/[a-z+]+;base64,\S+)$"
    ),
]
Text = Annotated[str, Meta(min_length=1, max_length=5_000)]
ShortText = Annotated[str, Meta(min_length=1, max_length=200)]


class Alignment(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A competency in an external framework that the achievement (or one result) aligns to.

    ``competency`` names the bank competency it belongs to; without it the alignment is the
    achievement's as a whole.
    """

    target_name: ShortText
    target_url: Url
    target_framework: ShortText | None = None
    target_code: Annotated[str, Meta(max_length=100)] | None = None
    competency: Annotated[str, Meta(max_length=64)] | None = None


class PassRule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which competencies must be classified as passed, and how sure the classification must be.

    An empty ``competencies`` means every competency that has a cut score.
    """

    competencies: tuple[Annotated[str, Meta(max_length=64)], ...] = ()
    min_confidence: Annotated[float, Meta(ge=0.5, le=0.9999)] = 0.8


class AchievementSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What an author defines for an assessment's achievement."""

    name: ShortText
    description: Text
    criteria: Text
    image: ImageUrl | None = None
    achievement_type: Annotated[str, Meta(pattern=r"^([A-Za-z]+|ext:[A-Za-z0-9._-]+)$")] = "Badge"
    alignments: tuple[Alignment, ...] = ()
    valid_days: Annotated[int, Meta(ge=1, le=36_500)] | None = None
    pass_rule: PassRule = msgspec.field(default_factory=PassRule)
    require_verified_email: bool = False
    """Issue credentials only to learners who verified their email (self-asserted learners
    who pass wait for their link; the credential is issued when they use it)."""


def check_spec(spec: AchievementSpec, competencies: dict[str, str]) -> list[str]:
    """Located problems of ``spec`` against the bank's competencies (empty when fine)."""
    problems = []
    if not (spec.achievement_type in ACHIEVEMENT_TYPES or spec.achievement_type.startswith("ext:")):
        problems.append(
            f"achievement_type: {spec.achievement_type!r} is not an Open Badges 3.0 type "
            "(or an ext: extension)"
        )
    for k, cid in enumerate(spec.pass_rule.competencies):
        if cid not in competencies:
            problems.append(f"pass_rule.competencies[{k}]: the bank has no competency {cid!r}")
    for k, alignment in enumerate(spec.alignments):
        if alignment.competency is not None and alignment.competency not in competencies:
            problems.append(
                f"alignments[{k}].competency: the bank has no competency {alignment.competency!r}"
            )
    return problems


class RuleOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """Whether a result satisfies a pass rule, and why not."""

    passed: bool
    reasons: tuple[str, ...] = ()


def evaluate(rule: PassRule, result: SessionResult, names: dict[str, str]) -> RuleOutcome:
    """Apply the pass rule to a finished session's result."""
    by_id = {c.competency: c for c in result.competencies}
    wanted = rule.competencies or tuple(
        c.competency for c in result.competencies if c.cut_score is not None
    )
    if not wanted:
        return RuleOutcome(passed=False, reasons=("no competency has a cut score to pass",))
    reasons = []
    for cid in wanted:
        outcome = by_id.get(cid)
        name = names.get(cid, cid)
        if outcome is None or outcome.classification is None:
            reasons.append(f"{name} was not classified")
        elif outcome.classification != "pass":
            reasons.append(f"{name} was not passed")
        elif (outcome.confidence or 0.0) < rule.min_confidence:
            reasons.append(
                f"{name} was passed with {probability_text(outcome.confidence or 0)} "
                f"confidence, below the {probability_text(rule.min_confidence)} required"
            )
    return RuleOutcome(passed=not reasons, reasons=tuple(reasons))


class Recipient(msgspec.Struct, frozen=True, kw_only=True):
    """Who earned the credential (as given on the landing page)."""

    name: str | None
    email: str | None
    did: str | None
    salt: str = msgspec.field(default_factory=lambda: secrets.token_hex(16))

    @property
    def identifiable(self) -> bool:
        """A credential needs a DID or an email to say whom it is about."""
        return bool(self.did or self.email)


def identity_hash(identity: str, salt: str) -> str:
    """Open Badges IdentityHash: ``sha256$`` + hex SHA-256 of identity + salt (UTF-8)."""
    return "sha256$" + hashlib.sha256((identity + salt).encode("utf-8")).hexdigest()


def issuer_profile(*, issuer_id: str, name: str, url: str) -> dict[str, Any]:
    """The issuer Profile as embedded in credentials."""
    return {"id": issuer_id, "type": ["Profile"], "name": name, "url": url}


def _alignment(a: Alignment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": ["Alignment"],
        "targetName": a.target_name,
        "targetUrl": a.target_url,
    }
    if a.target_framework:
        out["targetFramework"] = a.target_framework
    if a.target_code:
        out["targetCode"] = a.target_code
    return out


def result_description_id(achievement_url: str, competency: str) -> str:
    """The id of the ``ResultDescription`` of one competency."""
    return f"{achievement_url}#result-{competency}"


def achievement_document(
    *,
    spec: AchievementSpec,
    achievement_url: str,
    image_url: str,
    competencies: list[tuple[str, str, float | None]],
) -> dict[str, Any]:
    """The ``Achievement`` object: ``competencies`` lists (id, name, cut score)."""
    document: dict[str, Any] = {
        "id": achievement_url,
        "type": ["Achievement"],
        "achievementType": spec.achievement_type,
        "name": spec.name,
        "description": spec.description,
        "criteria": {"id": achievement_url + "#criteria", "narrative": spec.criteria},
        "image": {"id": spec.image or image_url, "type": "Image", "caption": spec.name},
    }
    overall = [_alignment(a) for a in spec.alignments if a.competency is None]
    if overall:
        document["alignment"] = overall
    descriptions = []
    for cid, name, cut in competencies:
        rd: dict[str, Any] = {
            "id": result_description_id(achievement_url, cid),
            "type": ["ResultDescription"],
            "name": f"{name}: {SCORE_SCALE_NAME}",
            "resultType": "ScaledScore",
        }
        if cut is not None:
            rd["requiredValue"] = score_text(cut)
        aligned = [_alignment(a) for a in spec.alignments if a.competency == cid]
        if aligned:
            rd["alignment"] = aligned
        descriptions.append(rd)
    if descriptions:
        document["resultDescription"] = descriptions
    return document


def _result(achievement_url: str, c: CompetencyResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": ["Result"],
        "resultDescription": result_description_id(achievement_url, c.competency),
        "value": score_text(c.theta),
    }
    if c.classification is not None:
        out["status"] = "Completed" if c.classification == "pass" else "Failed"
    return out


def evidence_narrative(
    result: SessionResult, names: dict[str, str], assurance: Sequence[str] = ()
) -> str:
    """Plain lines describing what was measured (Markdown list).

    Scores and pass marks are on the reported scale (``500 + 100 theta``); each line adds
    the ability estimate and its standard error on the logit scale for psychometric use.
    ``assurance`` adds paragraphs on how identity was established and which integrity
    checks the award required.
    """
    lines = [
        f"Adaptive test of {result.items} scored questions; it stopped because "
        f"{stop_clause(result.stop_reason)}. Scores: 500 is typical, and about two thirds of "
        "learners score between 400 and 600. "
        f"Scoring model: {result.model} ({SCORING_MODELS[result.model]})."
    ]
    for c in result.competencies:
        line = (
            f"- {names.get(c.competency, c.competency)}: score {score_text(c.theta)} "
            f"± {score_se_text(c.se)} from {c.items} questions (ability estimate "
            f"{c.theta:+.2f}, standard error {c.se:.2f}, logit scale)"
        )
        if c.classification is not None and c.cut_score is not None:
            verdict = "passed" if c.classification == "pass" else "not passed"
            line += (
                f"; {verdict} against the pass mark {score_text(c.cut_score)} with "
                f"{probability_text(c.confidence or 0)} confidence"
            )
        lines.append(line)
    text = "\n".join(lines)
    for paragraph in assurance:
        text += "\n\n" + paragraph
    return text


def build_credential(
    *,
    credential_url: str,
    issuer: dict[str, Any],
    achievement: dict[str, Any],
    recipient: Recipient,
    result: SessionResult,
    names: dict[str, str],
    issued_at: datetime,
    valid_until: datetime | None,
    status: dict[str, Any],
    evidence_url: str,
    assurance: Sequence[str] = (),
) -> dict[str, Any]:
    """The unsigned ``OpenBadgeCredential``."""
    subject: dict[str, Any] = {"type": ["AchievementSubject"]}
    if recipient.did:
        subject["id"] = recipient.did
    identifiers = []
    if recipient.email:
        identifiers.append(
            {
                "type": "IdentityObject",
                "identityHash": identity_hash(recipient.email, recipient.salt),
                "identityType": "emailAddress",
                "hashed": True,
                "salt": recipient.salt,
            }
        )
    if recipient.name:
        identifiers.append(
            {
                "type": "IdentityObject",
                "identityHash": recipient.name,
                "identityType": "name",
                "hashed": False,
            }
        )
    if identifiers:
        subject["identifier"] = identifiers
    subject["achievement"] = achievement
    subject["result"] = [_result(achievement["id"], c) for c in result.competencies]
    credential: dict[str, Any] = {
        "@context": [CREDENTIALS_V2, OB_V3P0],
        "id": credential_url,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": achievement["name"],
        "description": achievement["description"],
        "issuer": issuer,
        "validFrom": xsd_datetime(issued_at),
        "awardedDate": xsd_datetime(issued_at),
        "credentialSubject": subject,
        "evidence": [
            {
                "id": evidence_url,
                "type": ["Evidence"],
                "name": "Adaptive assessment session summary",
                "narrative": evidence_narrative(result, names, assurance),
                "genre": "Assessment",
            }
        ],
        "credentialStatus": status,
        "credentialSchema": [{"id": SCHEMA_URL, "type": "1EdTechJsonSchemaValidator2019"}],
    }
    if valid_until is not None:
        credential["validUntil"] = xsd_datetime(valid_until)
    return credential


def valid_until(spec: AchievementSpec, issued_at: datetime) -> datetime | None:
    """When an award made at ``issued_at`` expires (None: never)."""
    return issued_at + timedelta(days=spec.valid_days) if spec.valid_days else None


Purpose = Literal["revocation"]
