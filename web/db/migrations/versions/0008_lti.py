"""LTI 1.3: registered platforms, launch states, used nonces, deep links, launches.

Revision ID: 0008_lti
Revises: 0007_org
Create Date: 2026-12-06

- ``lti_platforms``: the LMS platforms an organisation registered (issuer, client id,
  deployment ids, OIDC auth, token and JWKS URLs), owned like webhook endpoints (``org_id``).
- ``lti_states``: single-use OIDC login states (keyed hash) with their nonce.
- ``lti_nonces``: the id_token nonces already accepted, per platform (replays are refused;
  kept two days, far longer than any id_token lives).
- ``lti_deep_links``: an instructor's pending Deep Linking choice (keyed hash of its token).
- ``lti_launches``: which LMS user (platform, subject, resource link) has which session,
  with the AGS line item; the row is also the outbox of the score posted back.

The learner record needs no table: its grants are ``learner_links`` rows of purpose
``record``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_lti"
down_revision = "0007_org"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the LTI tables."""
    op.create_table(
        "lti_platforms",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("issuer", sa.String(2000), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("deployment_ids", sa.Text(), nullable=False),
        sa.Column("auth_url", sa.String(2000), nullable=False),
        sa.Column("token_url", sa.String(2000), nullable=False),
        sa.Column("jwks_url", sa.String(2000), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name="fk_lti_platforms_org_id_organisations"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_lti_platforms"),
        sa.UniqueConstraint("issuer", "client_id", name="uq_lti_platforms_issuer_client"),
    )
    op.create_index("ix_lti_platforms_org_id", "lti_platforms", ["org_id"])
    op.create_table(
        "lti_states",
        sa.Column("state_hash", sa.String(64), nullable=False),
        sa.Column("platform_id", sa.String(32), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["lti_platforms.id"], name="fk_lti_states_platform_id_lti_platforms"
        ),
        sa.PrimaryKeyConstraint("state_hash", name="pk_lti_states"),
    )
    op.create_index("ix_lti_states_expires_at", "lti_states", ["expires_at"])
    op.create_table(
        "lti_nonces",
        sa.Column("platform_id", sa.String(32), nullable=False),
        sa.Column("nonce", sa.String(255), nullable=False),
        sa.Column("seen_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["lti_platforms.id"], name="fk_lti_nonces_platform_id_lti_platforms"
        ),
        sa.PrimaryKeyConstraint("platform_id", "nonce", name="pk_lti_nonces"),
    )
    op.create_index("ix_lti_nonces_seen_at", "lti_nonces", ["seen_at"])
    op.create_table(
        "lti_deep_links",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("platform_id", sa.String(32), nullable=False),
        sa.Column("deployment_id", sa.String(255), nullable=False),
        sa.Column("return_url", sa.String(2000), nullable=False),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["lti_platforms.id"],
            name="fk_lti_deep_links_platform_id_lti_platforms",
        ),
        sa.PrimaryKeyConstraint("token_hash", name="pk_lti_deep_links"),
    )
    op.create_table(
        "lti_launches",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("platform_id", sa.String(32), nullable=False),
        sa.Column("deployment_id", sa.String(255), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("resource_link_id", sa.String(255), nullable=False),
        sa.Column("assessment_id", sa.String(32), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("lineitem_url", sa.String(2000), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("score_status", sa.String(16), nullable=False),
        sa.Column("score_payload", sa.Text(), nullable=True),
        sa.Column("retry_step", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=True),
        sa.Column("claim_token", sa.String(32), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["lti_platforms.id"], name="fk_lti_launches_platform_id_lti_platforms"
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name="fk_lti_launches_assessment_id_assessments",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["learner_sessions.id"],
            name="fk_lti_launches_session_id_learner_sessions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_lti_launches"),
    )
    op.create_index(
        "ix_lti_launches_resume", "lti_launches", ["platform_id", "subject", "resource_link_id"]
    )
    op.create_index(
        "ix_lti_launches_score_due", "lti_launches", ["score_status", "next_attempt_at"]
    )
    op.create_index("ix_lti_launches_session", "lti_launches", ["session_id"])


def downgrade() -> None:
    """Drop the LTI tables."""
    for index in ("ix_lti_launches_session", "ix_lti_launches_score_due", "ix_lti_launches_resume"):
        op.drop_index(index, table_name="lti_launches")
    op.drop_table("lti_launches")
    op.drop_table("lti_deep_links")
    op.drop_index("ix_lti_nonces_seen_at", table_name="lti_nonces")
    op.drop_table("lti_nonces")
    op.drop_index("ix_lti_states_expires_at", table_name="lti_states")
    op.drop_table("lti_states")
    op.drop_index("ix_lti_platforms_org_id", table_name="lti_platforms")
    op.drop_table("lti_platforms")
