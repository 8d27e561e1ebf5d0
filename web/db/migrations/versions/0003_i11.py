"""Author tokens expire; webhook attempts record whether they finished.

Revision ID: 0003_i11
Revises: 0002
Create Date: 2026-12-06

- ``author_tokens.expires_at``: when a token stops working. Tokens issued before this
  revision get 90 days from now, so nobody is locked out by the upgrade, and none lives on
  forever.
- ``webhook_attempts.state``: ``sending`` while a delivery is in flight, ``done`` once its
  outcome is recorded, ``interrupted`` when its worker died before the answer was recorded
  (found when the message is claimed again). Rows from before are ``done``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0003_i11"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add the two columns and fill them for existing rows."""
    with op.batch_alter_table("author_tokens") as batch:
        batch.add_column(sa.Column("expires_at", TZ, nullable=True))
    with op.batch_alter_table("webhook_attempts") as batch:
        batch.add_column(sa.Column("state", sa.String(16), nullable=True))
    tokens = sa.table("author_tokens", sa.column("expires_at", TZ))
    op.execute(
        tokens.update()
        .where(tokens.c.expires_at.is_(None))
        .values(expires_at=datetime.now(UTC) + timedelta(days=90))
    )
    attempts = sa.table("webhook_attempts", sa.column("state", sa.String(16)))
    op.execute(attempts.update().where(attempts.c.state.is_(None)).values(state="done"))


def downgrade() -> None:
    """Drop the two columns."""
    with op.batch_alter_table("webhook_attempts") as batch:
        batch.drop_column("state")
    with op.batch_alter_table("author_tokens") as batch:
        batch.drop_column("expires_at")
