"""Media files of bank versions (images kept from QTI packages).

Revision ID: 0005_qti2
Revises: 0004_verify
Create Date: 2026-12-06

- ``bank_media``: one row per distinct file (by SHA-256): its checked content type
  (PNG, JPEG, GIF or WebP), size and bytes. A bank version's ``Bank.media`` names the files
  its texts show; learners fetch them at ``/media/<sha256>``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_qti2"
down_revision = "0004_verify"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the media table."""
    op.create_table(
        "bank_media",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_bank_media"),
    )


def downgrade() -> None:
    """Drop the media table."""
    op.drop_table("bank_media")
