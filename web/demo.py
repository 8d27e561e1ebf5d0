"""The demo that ``make run`` serves: the sample bank, a ready assessment, an author token."""

from __future__ import annotations

import msgspec

from engine.policy import ContentConfig, Policy
from engine.stopping import AllOf, AnyOf, MaxItems, MinItems, StandardErrorRule
from item_banks.native import read_bank
from item_banks.sample import sample_bank_path
from web.credentials.ob3 import AchievementSpec, Alignment, PassRule
from web.runtime import Runtime
from web.store import achievements as achievement_store
from web.store import assessments as assessment_store
from web.store import authors as author_store
from web.store import banks as bank_store

DEMO_EMAIL = "demo-author@skillgauge.invalid"
DEMO_POLICY = Policy(
    content=ContentConfig(balance="targets"),
    stopping=AllOf(
        rules=(MinItems(n=8), AnyOf(rules=(StandardErrorRule(max_se=0.45), MaxItems(n=24))))
    ),
)


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


def ensure_demo(rt: Runtime) -> DemoInfo:
    """Create the demo content on first start; issue a fresh demo author token every start."""
    bank = read_bank(sample_bank_path())
    with rt.db.write() as conn:
        author = author_store.ensure_author(conn, DEMO_EMAIL)
        digest, new = bank_store.store_bank(conn, bank, sample_bank_path().name, author.id)
        existing = [
            a
            for a in assessment_store.list_assessments(conn, owner_id=author.id)
            if a.bank_hash == digest
        ]
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
            )
        if achievement_store.for_assessment(conn, assessment.id) is None:
            achievement_store.save(conn, assessment.id, DEMO_ACHIEVEMENT)
        token = author_store.issue_token(conn, author.id, "demo")
    return DemoInfo(
        assessment_url=f"{rt.settings.base_url}/a/{assessment.id}",
        author_token=token,
        created=new or not existing,
    )
