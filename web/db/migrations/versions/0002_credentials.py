"""Credentials and webhooks: achievements, issued credentials, status lists, the outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the credential and webhook tables; sessions may carry the learner's DID."""
    with op.batch_alter_table("learner_sessions") as batch:
        batch.add_column(sa.Column("learner_did", sa.String(400), nullable=True))
    op.create_table(
        "achievements",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("assessment_id", sa.String(32), nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_achievements"),
        sa.ForeignKeyConstraint(
            ["assessment_id"], ["assessments.id"], name="fk_achievements_assessment_id_assessments"
        ),
        sa.UniqueConstraint("assessment_id", name="uq_achievements_assessment_id"),
    )
    op.create_table(
        "status_lists",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("used", sa.Integer, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("document", sa.Text, nullable=True),
        sa.Column("document_revision", sa.Integer, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_status_lists"),
    )
    op.create_table(
        "credentials",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("assessment_id", sa.String(32), nullable=False),
        sa.Column("achievement_id", sa.String(32), nullable=False),
        sa.Column("status_list_id", sa.Integer, nullable=False),
        sa.Column("status_index", sa.Integer, nullable=False),
        sa.Column("recipient_name", sa.String(200), nullable=True),
        sa.Column("recipient_email", sa.String(320), nullable=True),
        sa.Column("recipient_did", sa.String(400), nullable=True),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("jwt", sa.Text, nullable=False),
        sa.Column("issued_at", TZ, nullable=False),
        sa.Column("valid_until", TZ, nullable=True),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.Column("revocation_reason", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_credentials"),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["learner_sessions.id"],
            name="fk_credentials_session_id_learner_sessions",
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"], ["assessments.id"], name="fk_credentials_assessment_id_assessments"
        ),
        sa.ForeignKeyConstraint(
            ["achievement_id"],
            ["achievements.id"],
            name="fk_credentials_achievement_id_achievements",
        ),
        sa.ForeignKeyConstraint(
            ["status_list_id"],
            ["status_lists.id"],
            name="fk_credentials_status_list_id_status_lists",
        ),
        sa.UniqueConstraint("session_id", name="uq_credentials_session_id"),
        sa.UniqueConstraint("status_list_id", "status_index", name="uq_credentials_status_slot"),
    )
    op.create_index("ix_credentials_assessment_id", "credentials", ["assessment_id"])
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("owner_id", sa.Integer, nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("event_types", sa.Text, nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("disabled_reason", sa.Text, nullable=True),
        sa.Column("disabled_at", TZ, nullable=True),
        sa.Column("failing_since", TZ, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_endpoints"),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["authors.id"], name="fk_webhook_endpoints_owner_id_authors"
        ),
    )
    op.create_index("ix_webhook_endpoints_owner_id", "webhook_endpoints", ["owner_id"])
    op.create_table(
        "webhook_messages",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("endpoint_id", sa.String(32), nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("retry_step", sa.Integer, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("claim_token", sa.String(32), nullable=True),
        sa.Column("last_status", sa.Integer, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("delivered_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_messages"),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name="fk_webhook_messages_endpoint_id_webhook_endpoints",
        ),
    )
    op.create_index("ix_webhook_messages_due", "webhook_messages", ["status", "next_attempt_at"])
    op.create_index(
        "ix_webhook_messages_endpoint_created", "webhook_messages", ["endpoint_id", "created_at"]
    )
    op.create_table(
        "webhook_attempts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("message_id", sa.String(40), nullable=False),
        sa.Column("attempted_at", TZ, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("latency_ms", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("response_excerpt", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_attempts"),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["webhook_messages.id"],
            name="fk_webhook_attempts_message_id_webhook_messages",
        ),
    )
    op.create_index("ix_webhook_attempts_message_id", "webhook_attempts", ["message_id"])


def downgrade() -> None:
    """Drop the tables this revision created."""
    for table in (
        "webhook_attempts",
        "webhook_messages",
        "webhook_endpoints",
        "credentials",
        "status_lists",
        "achievements",
    ):
        op.drop_table(table)
    with op.batch_alter_table("learner_sessions") as batch:
        batch.drop_column("learner_did")
