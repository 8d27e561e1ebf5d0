"""LTI AGS line items: a launch may offer only the line items container.

Revision ID: 0009_lti2
Revises: 0008_lti
Create Date: 2026-12-06

- ``lti_launches.lineitems_url``: the platform's line items container, kept when the launch
  named no line item; the score poster finds or creates the resource link's line item there
  (and then stores it in ``lineitem_url``) before posting the score.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_lti2"
down_revision = "0008_lti"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the line items container column."""
    with op.batch_alter_table("lti_launches") as batch:
        batch.add_column(sa.Column("lineitems_url", sa.String(2000), nullable=True))


def downgrade() -> None:
    """Drop it (launches waiting on a container keep their score unsent, as before)."""
    with op.batch_alter_table("lti_launches") as batch:
        batch.drop_column("lineitems_url")
