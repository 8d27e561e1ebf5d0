"""The demo that ``make run`` serves: the sample bank, a ready assessment, an author token.

The demo's policy keeps what its landing page promises. The sample bank has 20 to 25
operational items per skill, most of moderate slope, so a precision of SE 0.45 per skill
is out of reach in a test of reasonable length: with the earlier policy (SE <= 0.45 or 24
questions) every session ran all 24 questions and ended at SE 0.54-0.68. The policy below
stops at SE <= 0.65 (± 65 points) or 28 questions; on 2,000 simulated learners (seed 1,
with the six composite items added) all 2,000 stop at the target, after 15 to 21 questions
(10th-90th percentile, mean 17.6; the author's assessment page shows this forecast, from
:func:`engine.policy_forecast.forecast`). Randomesque exposure control (one of the five best
items at each step) means sessions do not all start with the same question: the most common
first question is given to 23 % of them.

The demo author's token is kept in ``SKILLGAUGE_DATA_DIR/demo-author-token`` (mode 0600)
and printed again on every start while it is valid, instead of minting one more token on
every ``serve --demo``; it is replaced when it expired, was revoked, or has less than a week
left.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import msgspec
from sqlalchemy import Connection, select

from engine.policy import ContentConfig, ExposureConfig, Policy
from engine.stopping import AllOf, AnyOf, MaxItems, MinItems, StandardErrorRule
from item_banks.native import read_bank
from item_banks.sample import sample_bank_path
from web.credentials.ob3 import AchievementSpec, Alignment, PassRule
from web.db.connection import utcnow
from web.db.schema import memberships
from web.runtime import Runtime
from web.store import achievements as achievement_store
from web.store import assessments as assessment_store
from web.store import authors as author_store
from web.store import banks as bank_store
from web.store import orgs as org_store
from web.store.authors import token_id

DEMO_EMAIL = "demo-author@skillgauge.invalid"
DEMO_ORG = "demo"
DEMO_POLICY = Policy(
    content=ContentConfig(balance="targets"),
    exposure=ExposureConfig(method="randomesque", randomesque_size=5),
    stopping=AllOf(
        rules=(MinItems(n=8), AnyOf(rules=(StandardErrorRule(max_se=0.65), MaxItems(n=28))))
    ),
)
DEMO_TOKEN_FILE = "demo-author-token"
DEMO_TOKEN_DAYS = 30
RENEW_BEFORE = timedelta(days=7)


DEMO_ACHIEVEMENT = AchievementSpec(
    name="Python for Data Analysis",
    description="Demonstrated, in an adaptive assessment, working skill in Python, pandas, "
    "NumPy and data cleaning for analysis.",
    criteria="Pass the adaptive assessment: each of the four skills classified as passed "
    "against its cut score with at least 80% confidence.",
    achievement_type="Badge",
    alignments=(
        Alignment(
            target_name="Data analysis with Python",
            target_url="https://esco.ec.europa.eu/en/classification/skills",
            target_framework="ESCO",
        ),
    ),
    valid_days=3 * 365,
    pass_rule=PassRule(min_confidence=0.8),
)


class DemoInfo(msgspec.Struct, frozen=True):
    """What ``make run`` prints."""

    assessment_url: str
    author_token: str
    created: bool


def _demo_token(rt: Runtime, conn: Connection, author_id: int, membership_id: int) -> str:
    """The demo author's kept token while it is good for a week more; else a new one, kept."""
    path = Path(rt.settings.data_dir) / DEMO_TOKEN_FILE
    kept = path.read_text(encoding="ascii").strip() if path.exists() else ""
    if kept:
        listed = {t.id: t for t in author_store.list_tokens(conn, email=DEMO_EMAIL)}
        info = listed.get(token_id(kept))
        now = utcnow()
        if (
            info is not None
            and info.status == "active"
            and (info.expires_at is None or info.expires_at - now > RENEW_BEFORE)
        ):
            return kept
    token = author_store.issue_token(
        conn, author_id, "demo", days=DEMO_TOKEN_DAYS, membership_id=membership_id
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    spare = path.with_name(f".{DEMO_TOKEN_FILE}.{os.getpid()}")
    fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(token)
    spare.replace(path)  # atomic: a concurrent start reads the old token or the new one
    return token


def ensure_demo(rt: Runtime) -> DemoInfo:
    """Create the demo content on first start; print the demo author's token (kept, renewed).

    An older demo assessment of the same bank with another policy is closed to new learners
    (sessions under way can finish) and a new one is created with :data:`DEMO_POLICY`.
    """
    bank = read_bank(sample_bank_path())
    with rt.db.write() as conn:
        author = author_store.ensure_author(conn, DEMO_EMAIL)
        membership = org_store.first_membership(conn, author.id)
        if membership is None:  # the demo organisation, with the demo author as its owner
            org = org_store.get_by_slug(conn, DEMO_ORG) or org_store.create_org(
                conn, DEMO_ORG, rt.settings.issuer_name, url=rt.settings.base_url
            )
            membership = org_store.add_member(conn, org.id, author.id, "owner")
        org_id = int(
            conn.execute(
                select(memberships.c.org_id).where(memberships.c.id == membership)
            ).scalar_one()
        )
        digest, new = bank_store.store_bank(
            conn, bank, sample_bank_path().name, author.id, org_id=org_id
        )
        mine = [
            a
            for a in assessment_store.list_assessments(conn, owner_id=author.id, org_id=org_id)
            if a.bank_hash == digest
        ]
        existing = [a for a in mine if a.policy == DEMO_POLICY]
        for superseded in mine:
            if superseded.policy != DEMO_POLICY and superseded.status == "open":
                assessment_store.set_status(conn, superseded.id, "closed")
        if existing:
            assessment = existing[-1]
        else:
            assessment = assessment_store.create_assessment(
                conn,
                title="Python for data analysis",
                description=bank.description,
                bank_hash=digest,
                policy=DEMO_POLICY,
                feedback_mode="instant",
                time_limit_seconds=None,
                owner_id=author.id,
                org_id=org_id,
            )
        if achievement_store.for_assessment(conn, assessment.id) is None:
            achievement_store.save(conn, assessment.id, DEMO_ACHIEVEMENT)
        token = _demo_token(rt, conn, author.id, membership)
    return DemoInfo(
        assessment_url=f"{rt.settings.base_url}/a/{assessment.id}",
        author_token=token,
        created=new or not existing,
    )
