"""What authors do: sign in with a token, upload banks, create assessments, see statistics."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePath
from typing import Annotated, Literal

import msgspec
from msgspec import Meta
from sqlalchemy import Connection

from engine.errors import PolicyError, PoolError
from engine.policy import LatentModel, Policy, check_policy
from engine.policy_forecast import PolicyForecast
from engine.pool import compile_pool
from engine.session import SCORING_MODELS
from engine.stopping import length_bound
from item_banks.errors import BankValidationError, Problem
from item_banks.formats.registry import read_bytes
from item_banks.native import Limits
from item_banks.validation import human_scored_only
from web.errors import ForbiddenError, NotFoundError, UnauthorizedError
from web.pseudonyms import pseudonymizer
from web.runtime import Runtime
from web.store import assessments as assessment_store
from web.store import audit
from web.store import authors as author_store
from web.store import banks as bank_store
from web.store import orgs as org_store
from web.store import stats as stats_store
from web.store.assessments import AssessmentRecord, FeedbackMode
from web.store.authors import Member

Title = Annotated[str, Meta(min_length=1, max_length=200)]


class AssessmentCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A request to create an assessment from a stored bank version."""

    title: Title
    bank_hash: Annotated[str, Meta(min_length=64, max_length=64, pattern="^[0-9a-f]{64}$")]
    description: Annotated[str, Meta(max_length=20_000)] = ""
    policy: Policy = msgspec.field(default_factory=Policy)
    feedback_mode: FeedbackMode = "instant"
    time_limit_minutes: Annotated[int, Meta(ge=1, le=24 * 60)] | None = None


class BankUploaded(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of an upload: the stored version, and what the import left out.

    ``skipped`` lists items of a foreign format that need a feature Skillgauge lacks (each
    located); ``warnings`` what was read approximately (e.g. provisional IRT parameters).
    """

    hash: str
    new: bool
    bank_id: str
    version_label: str
    title: str
    items: int
    skipped: list[str] = msgspec.field(default_factory=list)
    warnings: list[str] = msgspec.field(default_factory=list)


class AssessmentSummary(msgspec.Struct, frozen=True, kw_only=True):
    """An assessment as listed to its author."""

    id: str
    title: str
    bank_hash: str
    status: Literal["open", "closed"]
    feedback_mode: FeedbackMode
    time_limit_minutes: int | None
    max_items: int | None
    url: str


class AssessmentCreated(AssessmentSummary, frozen=True, kw_only=True):
    """A new assessment, with what simulating its policy found (``warnings`` in plain words)."""

    warnings: list[str] = msgspec.field(default_factory=list)


class AssessmentOverview(msgspec.Struct, frozen=True, kw_only=True):
    """An assessment with its sessions, per-item statistics and its policy's forecast.

    Sessions are listed by pseudonymous ``person_id`` (never by their key).
    ``scoring_model`` is the model that scores its sessions (``correlated`` only when the
    policy asks for it and the bank version carries a correlation matrix; the policy's own
    choice is ``policy.model``).
    """

    assessment: AssessmentSummary
    sessions: list[stats_store.SessionSummary]
    items: list[stats_store.ItemStatistics]
    forecast: PolicyForecast
    policy: Policy
    scoring_model: LatentModel = "independent"
    scoring_model_text: str = SCORING_MODELS["independent"]


TOKEN_REFUSALS = {
    "expired": "this token has expired; ask for a new one (skillgauge author create)",
    "revoked": "this token was revoked",
    "unknown": "this token is not valid",
}


def authenticate(rt: Runtime, token: str) -> Member:
    """The author owning the active ``token``; raises :class:`UnauthorizedError` otherwise.

    The error says whether the token is unknown, expired or revoked.
    """
    token = token.strip()
    with rt.db.read() as conn:
        author = author_store.author_for_token(conn, token)
        if author is None:
            status = author_store.token_status(conn, token)
            raise UnauthorizedError(TOKEN_REFUSALS.get(status, TOKEN_REFUSALS["unknown"]))
    return author


def create_author(
    rt: Runtime,
    email: str,
    label: str = "cli",
    days: int = author_store.DEFAULT_TOKEN_DAYS,
    *,
    org: str | None = None,
    role: str = "author",
) -> tuple[Member, str]:
    """Create (or find) an author and issue a new token; the token is shown only now.

    The token acts as the author's membership of the organisation ``org`` (its short name;
    the author is added with ``role`` when not a member yet). Without ``org`` it acts as the
    author's oldest membership; an author who belongs nowhere gets an organisation of their
    own (as its owner), so a new author never sees anyone else's banks.
    """
    if "@" not in email or len(email) > 320:
        raise ValueError(f"{email!r} is not an email address")
    with rt.db.write() as conn:
        author = author_store.ensure_author(conn, email)
        if org is not None:
            found = org_store.get_by_slug(conn, org)
            if found is None:
                raise ValueError(f"no organisation {org!r} (skillgauge org list)")
            membership = org_store.membership_of(conn, found.id, author.id)
            if membership is None:
                membership = org_store.add_member(conn, found.id, author.id, role)
        else:
            membership = org_store.first_membership(conn, author.id)
            if membership is None:
                own = org_store.create_org(conn, personal_slug(conn, author.email), author.email)
                membership = org_store.add_member(conn, own.id, author.id, "owner")
        token = author_store.issue_token(
            conn, author.id, label, days=days, membership_id=membership
        )
        member = author_store.author_for_token(conn, token)
    assert member is not None
    return member, token


def personal_slug(conn: Connection, email: str) -> str:
    """A free short name for an author's own organisation, from their email's local part."""
    stem = re.sub(r"[^a-z0-9]+", "-", email.split("@", 1)[0].lower()).strip("-")[:30] or "org"
    slug, n = stem, 1
    while org_store.get_by_slug(conn, slug) is not None:
        n += 1
        slug = f"{stem}-{n}"
    return slug


UPLOAD_SUFFIXES = (".json", ".yaml", ".yml", ".zip", ".xml", ".gift", ".txt", ".csv")


def upload_bank(rt: Runtime, author: Member | None, filename: str, data: bytes) -> BankUploaded:
    """Validate and store a bank version; nothing is stored unless all of it is valid.

    Every format of :mod:`item_banks.formats` is accepted (native JSON/YAML, QTI packages and
    items, GIFT, Moodle XML, CSV), chosen from the file name and content.
    """
    name = PurePath(filename or "upload").name
    if PurePath(name).suffix.lower() not in UPLOAD_SUFFIXES:
        raise BankValidationError(
            [
                Problem(
                    source=name or "upload",
                    message="unknown bank format; upload " + ", ".join(UPLOAD_SUFFIXES),
                )
            ]
        )
    limits = Limits(max_bytes=rt.settings.max_upload_bytes, max_items=rt.settings.max_items)
    imported = read_bytes(data, name, limits=limits)
    bank = imported.bank
    try:
        compile_pool(bank)  # the engine must be able to run it...
    except PoolError:
        if not human_scored_only(bank):
            raise
        # ...unless only its essays stand in the way: such a bank is stored with a warning
        # (see imported.warnings) and an assessment on it is refused when created.
    with rt.db.write() as conn:
        missing = bank_store.missing_media(conn, bank, imported.media)
        if missing:  # a native file lists media it cannot hold: they must come in a package
            raise BankValidationError(
                [
                    Problem(
                        source=name,
                        field=f"media[{i}]",
                        message=f"the file {bank.media[i].path} is not in the upload and not "
                        "stored; upload the bank as a QTI package with its images",
                    )
                    for i in missing
                ]
            )
        digest, new = bank_store.store_bank(
            conn,
            bank,
            name,
            author.id if author else None,
            imported.media,
            org_id=author.org_id if author else None,
        )
        if author is not None and new:
            audit.record(
                conn,
                author.org_id,
                author.id,
                author.email,
                "bank.upload",
                digest,
                f"{bank.id} {bank.version} ({len(bank.items)} items) from {name}",
            )
    return BankUploaded(
        hash=digest,
        new=new,
        bank_id=bank.id,
        version_label=bank.version,
        title=bank.title,
        items=len(bank.items),
        skipped=[str(p) for p in imported.skipped],
        warnings=[str(p) for p in imported.warnings],
    )


def summary(rt: Runtime, record: AssessmentRecord) -> AssessmentSummary:
    """The author-facing summary of an assessment."""
    return AssessmentSummary(
        id=record.id,
        title=record.title,
        bank_hash=record.bank_hash,
        status=record.status,
        feedback_mode=record.feedback_mode,
        time_limit_minutes=(record.time_limit_seconds // 60) if record.time_limit_seconds else None,
        max_items=length_bound(record.policy.stopping),
        url=f"{rt.settings.base_url}/a/{record.id}",
    )


def create_assessment(
    rt: Runtime, author: Member | None, request: AssessmentCreate
) -> AssessmentRecord:
    """Create an assessment after checking its policy against the bank version.

    Raises
    ------
    NotFoundError
        The bank version does not exist.
    engine.errors.PoolError
        The engine cannot run the bank version (a competency measured only by essays).
    engine.errors.PolicyError
        The policy cannot run on this bank (every reason listed).
    """
    with rt.db.read() as conn:
        if author is not None and bank_store.access(conn, author.org_id, request.bank_hash) is None:
            raise NotFoundError("no such bank version")
        compiled = rt.compiled(conn, request.bank_hash)
    check_policy(request.policy, compiled.pool, source="policy")
    with rt.db.write() as conn:
        record = assessment_store.create_assessment(
            conn,
            title=request.title,
            description=request.description,
            bank_hash=request.bank_hash,
            policy=request.policy,
            feedback_mode=request.feedback_mode,
            time_limit_seconds=request.time_limit_minutes * 60
            if request.time_limit_minutes
            else None,
            owner_id=author.id if author else None,
            org_id=author.org_id if author else None,
        )
        if author is not None:
            audit.record(
                conn,
                author.org_id,
                author.id,
                author.email,
                "assessment.create",
                record.id,
                f"{record.title} on bank version {record.bank_hash[:12]}",
            )
        return record


def created(rt: Runtime, record: AssessmentRecord) -> AssessmentCreated:
    """The summary of a new assessment with its policy forecast's warnings."""
    with rt.db.read() as conn:
        compiled = rt.compiled(conn, record.bank_hash)
    forecast = rt.forecast(compiled, record.policy)
    return AssessmentCreated(
        **msgspec.structs.asdict(summary(rt, record)), warnings=list(forecast.warnings)
    )


def owned_assessment(rt: Runtime, author: Member, assessment_id: str) -> AssessmentRecord:
    """The assessment, if ``author``'s organisation owns it.

    Others get 404: existence is not disclosed.
    """
    with rt.db.read() as conn:
        record = assessment_store.get_assessment(conn, assessment_id)
    if record is None or record.org_id is None or record.org_id != author.org_id:
        raise NotFoundError("no such assessment")
    return record


def overview(rt: Runtime, author: Member, assessment_id: str) -> AssessmentOverview:
    """Sessions and per-item statistics of one of the author's assessments."""
    record = owned_assessment(rt, author, assessment_id)
    with rt.db.read() as conn:
        compiled = rt.compiled(conn, record.bank_hash)
        competency_of = {item.id: item.competency for item in compiled.bank.items}
        model: LatentModel = (
            "correlated"
            if record.policy.model == "correlated" and compiled.pool.correlation is not None
            else "independent"
        )
        return AssessmentOverview(
            policy=record.policy,
            scoring_model=model,
            scoring_model_text=SCORING_MODELS[model],
            forecast=rt.forecast(compiled, record.policy),
            assessment=summary(rt, record),
            sessions=stats_store.list_sessions(
                conn, assessment_id, pseudonymizer(rt.settings.secret_key)
            ),
            items=stats_store.item_statistics(conn, assessment_id, competency_of),
        )


def set_status(
    rt: Runtime, author: Member, assessment_id: str, status: Literal["open", "closed"]
) -> None:
    """Open or close one of the author's assessments."""
    owned_assessment(rt, author, assessment_id)
    with rt.db.write() as conn:
        assessment_store.set_status(conn, assessment_id, status)
        audit.record(
            conn, author.org_id, author.id, author.email, "assessment.status", assessment_id, status
        )


def export_responses(rt: Runtime, author: Member, assessment_id: str) -> Iterator[str]:
    """The long CSV of an assessment's responses (streamed)."""
    owned_assessment(rt, author, assessment_id)

    def chunks() -> Iterator[str]:
        with rt.db.read() as conn:
            yield from stats_store.export_responses(
                conn, assessment_id, pseudonymizer(rt.settings.secret_key)
            )

    return chunks()


def policy_problems(error: PolicyError) -> list[str]:
    """Policy problems as plain lines."""
    return [f"{error.source}: {p}" for p in error.problems]


def require(author: Member | None) -> Member:
    """The signed-in author, or :class:`ForbiddenError`."""
    if author is None:
        raise ForbiddenError("sign in as an author first")
    return author
