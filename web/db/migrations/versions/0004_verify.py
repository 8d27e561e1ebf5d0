"""Integrity evidence and held awards per session; verified learner email; sign-in links.

Revision ID: 0004_verify
Revises: 0003_i11
Create Date: 2026-12-06

- ``learner_sessions.integrity``: the session's integrity evidence (an
  :class:`engine.integrity.IntegrityEvidence` as JSON), computed when it finishes.
- ``learner_sessions.award_status``: what happened to an award the session earned when
  something stands in its way: ``held`` (an integrity flag asks for the author's review),
  ``released`` / ``refused`` (the author decided), ``withheld`` (the policy refuses it),
  ``awaiting_email`` (the assessment certifies verified learners only). NULL: nothing stood
  in the way (the credential, if any, was issued when the session finished).
- ``award_decided_at`` / ``award_decided_by``: when and by which author a held award was
  released or refused.
- ``learner_sessions.email_verified_at``: when the learner proved control of the email.
- ``learner_links``: single-use, expiring links mailed to learners (stored as SHA-256).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_verify"
down_revision = "0003_i11"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add the session columns and the links table."""
    with op.batch_alter_table("learner_sessions") as batch:
        batch.add_column(sa.Column("integrity", sa.Text(), nullable=True))
        batch.add_column(sa.Column("award_status", sa.String(16), nullable=True))
        batch.add_column(sa.Column("award_decided_at", TZ, nullable=True))
        batch.add_column(sa.Column("award_decided_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("email_verified_at", TZ, nullable=True))
    op.create_index(
        "ix_learner_sessions_award_status", "learner_sessions", ["assessment_id", "award_status"]
    )
    op.create_table(
        "learner_links",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["learner_sessions.id"],
            name="fk_learner_links_session_id_learner_sessions",
        ),
        sa.PrimaryKeyConstraint("token_hash", name="pk_learner_links"),
    )
    op.create_index("ix_learner_links_email", "learner_links", ["email"])


def downgrade() -> None:
    """Drop the links table and the session columns."""
    op.drop_index("ix_learner_links_email", table_name="learner_links")
    op.drop_table("learner_links")
    op.drop_index("ix_learner_sessions_award_status", table_name="learner_sessions")
    with op.batch_alter_table("learner_sessions") as batch:
        batch.drop_column("email_verified_at")
        batch.drop_column("award_decided_by")
        batch.drop_column("award_decided_at")
        batch.drop_column("award_status")
        batch.drop_column("integrity")
