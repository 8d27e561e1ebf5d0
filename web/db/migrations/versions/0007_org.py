"""Organisations: issuers with their own members, banks, keys and records.

Revision ID: 0007_org
Revises: 0006_did
Create Date: 2026-12-06

- ``organisations`` (issuer profile, key directory), ``memberships`` (author, role),
  ``author_tokens.membership_id`` (a token acts as one member of one organisation);
- ``org_id`` on every owned table (assessments, achievements, credentials, status lists,
  webhook endpoints) and ``org_bank_versions`` (which organisation holds which version);
- ``bank_shares``, ``invitations``, and the append-only ``audit_events``.

Existing data (if any) moves into ONE organisation (slug ``skillgauge``) that keeps the
service's key directory (``keys``) and its ``{base}/issuer`` identity for earlier credentials; every
existing author becomes an owner of it (each could do everything before), every existing
token acts as that membership, and every bank version, assessment, achievement, credential,
status list and webhook endpoint belongs to it. Nothing is deleted.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0007_org"
down_revision = "0006_did"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)

#: Tables that get an ``org_id`` column (the pattern to extend: add the table here).
OWNED = ("assessments", "achievements", "credentials", "status_lists", "webhook_endpoints")


def upgrade() -> None:
    """Create the organisation tables and move every existing row into one organisation."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("slug", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("image", sa.String(2000), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("keys_dir", sa.String(200), nullable=False),
        sa.Column("legacy_issuer", sa.Boolean, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_organisations"),
        sa.UniqueConstraint("slug", name="uq_organisations_slug"),
    )
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("author_id", sa.Integer, nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_memberships"),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name="fk_memberships_org_id_organisations"
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["authors.id"], name="fk_memberships_author_id_authors"
        ),
        sa.UniqueConstraint("org_id", "author_id", name="uq_memberships_org_author"),
    )
    op.create_index("ix_memberships_org_id", "memberships", ["org_id"])
    op.create_index("ix_memberships_author_id", "memberships", ["author_id"])
    op.create_table(
        "org_bank_versions",
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("bank_hash", sa.String(64), nullable=False),
        sa.Column("added_by", sa.Integer, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "bank_hash", name="pk_org_bank_versions"),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name="fk_org_bank_versions_org_id_organisations"
        ),
        sa.ForeignKeyConstraint(
            ["bank_hash"],
            ["bank_versions.hash"],
            name="fk_org_bank_versions_bank_hash_bank_versions",
        ),
        sa.ForeignKeyConstraint(
            ["added_by"], ["authors.id"], name="fk_org_bank_versions_added_by_authors"
        ),
    )
    op.create_table(
        "bank_shares",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("bank_hash", sa.String(64), nullable=False),
        sa.Column("to_org_id", sa.Integer, nullable=False),
        sa.Column("with_keys", sa.Boolean, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("withdrawn_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_bank_shares"),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name="fk_bank_shares_org_id_organisations"
        ),
        sa.ForeignKeyConstraint(
            ["bank_hash"], ["bank_versions.hash"], name="fk_bank_shares_bank_hash_bank_versions"
        ),
        sa.ForeignKeyConstraint(
            ["to_org_id"], ["organisations.id"], name="fk_bank_shares_to_org_id_organisations"
        ),
    )
    op.create_index("ix_bank_shares_org_id", "bank_shares", ["org_id"])
    op.create_index("ix_bank_shares_to_org_id", "bank_shares", ["to_org_id"])
    op.create_table(
        "audit_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("actor_id", sa.Integer, nullable=True),
        sa.Column("actor_email", sa.String(320), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("object", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name="fk_audit_events_org_id_organisations"
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["authors.id"], name="fk_audit_events_actor_id_authors"
        ),
    )
    op.create_index("ix_audit_events_org_at", "audit_events", ["org_id", "at"])
    op.create_table(
        "invitations",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("invited_by", sa.Integer, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_invitations"),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name="fk_invitations_org_id_organisations"
        ),
        sa.ForeignKeyConstraint(
            ["invited_by"], ["authors.id"], name="fk_invitations_invited_by_authors"
        ),
    )
    op.create_index("ix_invitations_org_id", "invitations", ["org_id"])
    _append_only_audit(sqlite)

    # org_id on the owned tables and the token's membership.
    for table in OWNED:
        _add_reference(sqlite, table, "org_id", "organisations")
    _add_reference(sqlite, "author_tokens", "membership_id", "memberships")

    # Everything so far belongs to one organisation (a new, empty database gets none: the
    # demo or `skillgauge org create` makes the first).
    in_use = any(
        bind.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first() is not None
        for table in ("authors", "bank_versions", "assessments", "credentials")
    )
    if not in_use:
        return
    now = datetime.now(UTC)
    name = (os.environ.get("SKILLGAUGE_ISSUER_NAME") or "Skillgauge")[:200]
    bind.execute(
        sa.text(
            "INSERT INTO organisations (slug, name, url, email, image, description, keys_dir,"
            " legacy_issuer, created_at) VALUES ('skillgauge', :name, '', '', '', '', 'keys',"
            " :legacy, :now)"
        ),
        {"name": name, "legacy": True, "now": now},
    )
    org_id = bind.execute(
        sa.text("SELECT id FROM organisations WHERE slug = 'skillgauge'")
    ).scalar()
    bind.execute(
        sa.text(
            "INSERT INTO memberships (org_id, author_id, role, created_at)"
            " SELECT :org, id, 'owner', :now FROM authors"
        ),
        {"org": org_id, "now": now},
    )
    bind.execute(
        sa.text(
            "UPDATE author_tokens SET membership_id = (SELECT m.id FROM memberships m"
            " WHERE m.author_id = author_tokens.author_id AND m.org_id = :org)"
        ),
        {"org": org_id},
    )
    for table in OWNED:
        bind.execute(sa.text(f"UPDATE {table} SET org_id = :org"), {"org": org_id})
    bind.execute(
        sa.text(
            "INSERT INTO org_bank_versions (org_id, bank_hash, added_by, created_at)"
            " SELECT :org, hash, uploaded_by, created_at FROM bank_versions"
        ),
        {"org": org_id},
    )


def _add_reference(sqlite: bool, table: str, column: str, target: str) -> None:
    """A nullable integer column referencing ``target.id``, indexed, added in place."""
    name = f"fk_{table}_{column}_{target}"
    if sqlite:
        # SQLite adds a column with an inline REFERENCES in place (no table copy, which would
        # break the foreign keys other tables hold on this one).
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN {column} INTEGER "
            f"CONSTRAINT {name} REFERENCES {target} (id)"
        )
    else:
        op.add_column(table, sa.Column(column, sa.Integer, nullable=True))
        op.create_foreign_key(name, table, target, [column], ["id"])
    op.create_index(f"ix_{table}_{column}", table, [column])


def _drop_inline_reference(table: str, name: str, target: str) -> None:
    """Remove the inline REFERENCES this revision added on SQLite, so the column can be dropped.

    SQLite refuses to drop a column that is part of a foreign key, and a table copy would
    break the foreign keys other tables hold on this one; the documented alternative is to
    edit the table's stored declaration (``writable_schema``) and bump the schema version.
    """
    clause = f" CONSTRAINT {name} REFERENCES {target} (id)"
    bind = op.get_bind()
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar() or 0
    bind.execute(sa.text("PRAGMA writable_schema = ON"))
    bind.execute(
        sa.text(
            "UPDATE sqlite_master SET sql = replace(sql, :clause, '')"
            " WHERE type = 'table' AND name = :table"
        ),
        {"clause": clause, "table": table},
    )
    bind.execute(sa.text(f"PRAGMA schema_version = {int(version) + 1}"))
    bind.execute(sa.text("PRAGMA writable_schema = OFF"))


def _append_only_audit(sqlite: bool) -> None:
    """Refuse UPDATE and DELETE on audit_events at the database itself."""
    if sqlite:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{action.lower()} BEFORE {action} ON "
                "audit_events BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END; $$ LANGUAGE plpgsql"
    )
    op.execute(
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
    )


def downgrade() -> None:
    """Drop the organisation tables and columns (the rows they owned stay)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, column, target in [
        ("author_tokens", "membership_id", "memberships"),
        *((t, "org_id", "organisations") for t in OWNED),
    ]:
        name = f"fk_{table}_{column}_{target}"
        op.drop_index(f"ix_{table}_{column}", table_name=table)
        if sqlite:
            _drop_inline_reference(table, name, target)
        else:
            op.drop_constraint(name, table, type_="foreignkey")
        op.drop_column(table, column)
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    op.drop_index("ix_invitations_org_id", table_name="invitations")
    op.drop_table("invitations")
    op.drop_index("ix_audit_events_org_at", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index("ix_bank_shares_to_org_id", table_name="bank_shares")
    op.drop_index("ix_bank_shares_org_id", table_name="bank_shares")
    op.drop_table("bank_shares")
    op.drop_table("org_bank_versions")
    op.drop_index("ix_memberships_author_id", table_name="memberships")
    op.drop_index("ix_memberships_org_id", table_name="memberships")
    op.drop_table("memberships")
    op.drop_table("organisations")
