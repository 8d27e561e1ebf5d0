"""Initial schema: authors, bank versions, assessments, learner sessions, responses.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the tables and the append-only guard on responses."""
    op.create_table(
        "authors",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_authors"),
        sa.UniqueConstraint("email", name="uq_authors_email"),
    )
    op.create_table(
        "author_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("author_id", sa.Integer, nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_author_tokens"),
        sa.ForeignKeyConstraint(
            ["author_id"], ["authors.id"], name="fk_author_tokens_author_id_authors"
        ),
    )
    op.create_index("ix_author_tokens_author_id", "author_tokens", ["author_id"])
    op.create_table(
        "bank_versions",
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("bank_id", sa.String(64), nullable=False),
        sa.Column("version_label", sa.String(40), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("item_count", sa.Integer, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("source_name", sa.String(255), nullable=False),
        sa.Column("uploaded_by", sa.Integer, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("hash", name="pk_bank_versions"),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["authors.id"], name="fk_bank_versions_uploaded_by_authors"
        ),
    )
    op.create_index("ix_bank_versions_bank_id", "bank_versions", ["bank_id"])
    op.create_table(
        "assessments",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("bank_hash", sa.String(64), nullable=False),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("feedback_mode", sa.String(16), nullable=False),
        sa.Column("time_limit_seconds", sa.Integer, nullable=True),
        sa.Column("owner_id", sa.Integer, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_assessments"),
        sa.ForeignKeyConstraint(
            ["bank_hash"], ["bank_versions.hash"], name="fk_assessments_bank_hash_bank_versions"
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["authors.id"], name="fk_assessments_owner_id_authors"
        ),
    )
    op.create_index("ix_assessments_bank_hash", "assessments", ["bank_hash"])
    op.create_index("ix_assessments_owner_id", "assessments", ["owner_id"])
    op.create_table(
        "learner_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("assessment_id", sa.String(32), nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("learner_name", sa.String(200), nullable=True),
        sa.Column("learner_email", sa.String(320), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("deadline", TZ, nullable=True),
        sa.Column("finished_at", TZ, nullable=True),
        sa.Column("result", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_learner_sessions"),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name="fk_learner_sessions_assessment_id_assessments",
        ),
    )
    op.create_index(
        "ix_learner_sessions_assessment_created",
        "learner_sessions",
        ["assessment_id", "created_at"],
    )
    op.create_table(
        "responses",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("category", sa.Integer, nullable=False),
        sa.Column("max_category", sa.Integer, nullable=False),
        sa.Column("pretest", sa.Boolean, nullable=False),
        sa.Column("estimates", sa.Text, nullable=False),
        sa.Column("feedback", sa.Text, nullable=True),
        sa.Column("answered_at", TZ, nullable=False),
        sa.Column("elapsed_ms", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_responses"),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["learner_sessions.id"],
            name="fk_responses_session_id_learner_sessions",
        ),
        sa.UniqueConstraint("session_id", "seq", name="uq_responses_session_seq"),
    )
    op.create_index("ix_responses_item", "responses", ["item_id"])
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("window_start", sa.BigInteger, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_rate_limits"),
    )
    _append_only_responses()


def _append_only_responses() -> None:
    """Refuse UPDATE and DELETE on responses at the database itself."""
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER responses_no_{action.lower()} BEFORE {action} ON responses "
                "BEGIN SELECT RAISE(ABORT, 'responses are append-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION responses_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'responses are append-only'; END; $$ LANGUAGE plpgsql"
    )
    op.execute(
        "CREATE TRIGGER responses_append_only BEFORE UPDATE OR DELETE ON responses "
        "FOR EACH ROW EXECUTE FUNCTION responses_append_only()"
    )


def downgrade() -> None:
    """Drop everything this revision created."""
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER IF EXISTS responses_append_only ON responses")
        op.execute("DROP FUNCTION IF EXISTS responses_append_only()")
    for table in (
        "rate_limits",
        "responses",
        "learner_sessions",
        "assessments",
        "bank_versions",
        "author_tokens",
        "authors",
    ):
        op.drop_table(table)
