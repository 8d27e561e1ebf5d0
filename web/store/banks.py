"""Bank versions, stored by content hash and never edited in place."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Connection, insert, select

from item_banks.model import Bank
from item_banks.native import content_hash
from web.db.connection import as_utc, utcnow
from web.db.schema import bank_versions


class BankVersion(msgspec.Struct, frozen=True):
    """A stored bank version, without its content."""

    hash: str
    bank_id: str
    version_label: str
    title: str
    item_count: int
    source_name: str
    created_at: str


def store_bank(
    conn: Connection, bank: Bank, source_name: str, author_id: int | None
) -> tuple[str, bool]:
    """Store ``bank`` unless this exact content is stored already.

    Returns
    -------
    tuple
        The version's hash and whether it was new.
    """
    digest = content_hash(bank)
    exists = conn.execute(
        select(bank_versions.c.hash).where(bank_versions.c.hash == digest)
    ).first()
    if exists is not None:
        return digest, False
    conn.execute(
        insert(bank_versions).values(
            hash=digest,
            bank_id=bank.id,
            version_label=bank.version,
            title=bank.title,
            item_count=len(bank.items),
            content=msgspec.json.encode(bank).decode("utf-8"),
            source_name=source_name[:255],
            uploaded_by=author_id,
            created_at=utcnow(),
        )
    )
    return digest, True


def load_bank(conn: Connection, digest: str) -> Bank | None:
    """The bank stored under ``digest``."""
    content = conn.execute(
        select(bank_versions.c.content).where(bank_versions.c.hash == digest)
    ).scalar_one_or_none()
    return None if content is None else msgspec.json.decode(content, type=Bank)


_SUMMARY = (
    bank_versions.c.hash,
    bank_versions.c.bank_id,
    bank_versions.c.version_label,
    bank_versions.c.title,
    bank_versions.c.item_count,
    bank_versions.c.source_name,
    bank_versions.c.created_at,
)


def _summary(row: Any) -> BankVersion:
    created = as_utc(row.created_at)
    return BankVersion(
        hash=row.hash,
        bank_id=row.bank_id,
        version_label=row.version_label,
        title=row.title,
        item_count=row.item_count,
        source_name=row.source_name,
        created_at=created.isoformat() if created else "",
    )


def list_versions(conn: Connection) -> list[BankVersion]:
    """Every stored version, newest first."""
    rows = conn.execute(
        select(*_SUMMARY).order_by(bank_versions.c.created_at.desc(), bank_versions.c.hash)
    ).all()
    return [_summary(r) for r in rows]


def get_version(conn: Connection, digest: str) -> BankVersion | None:
    """One stored version's summary."""
    row = conn.execute(select(*_SUMMARY).where(bank_versions.c.hash == digest)).first()
    return None if row is None else _summary(row)
