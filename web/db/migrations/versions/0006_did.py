"""DID control: challenges a learner signs with the key of their did:key.

Revision ID: 0006_did
Revises: 0005_qti2
Create Date: 2026-12-06

- ``learner_sessions.did_verified_at``: when the learner proved control of the session's
  DID by signing a challenge.
- ``did_challenges``: single-use, expiring challenges bound to a session and its DID
  (stored as a keyed hash of the nonce, never the nonce).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_did"
down_revision = "0005_qti2"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add the session column and the challenges table."""
    # Plain ALTER TABLE (SQLite >= 3.35 adds and drops a column in place): a batch copy of
    # learner_sessions would fail its foreign keys once other tables reference its rows.
    op.add_column("learner_sessions", sa.Column("did_verified_at", TZ, nullable=True))
    op.create_table(
        "did_challenges",
        sa.Column("nonce_hash", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("did", sa.String(400), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["learner_sessions.id"],
            name="fk_did_challenges_session_id_learner_sessions",
        ),
        sa.PrimaryKeyConstraint("nonce_hash", name="pk_did_challenges"),
    )
    op.create_index("ix_did_challenges_session_id", "did_challenges", ["session_id"])


def downgrade() -> None:
    """Drop the challenges table and the session column."""
    op.drop_index("ix_did_challenges_session_id", table_name="did_challenges")
    op.drop_table("did_challenges")
    op.drop_column("learner_sessions", "did_verified_at")
