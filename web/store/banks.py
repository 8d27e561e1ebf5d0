"""Bank versions, stored by content hash and never edited in place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from sqlalchemy import Connection, insert, select

from item_banks.model import Bank
from item_banks.native import content_hash
from web.db.connection import as_utc, utcnow
from web.db.schema import bank_media, bank_versions


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
    conn: Connection,
    bank: Bank,
    source_name: str,
    author_id: int | None,
    media: Mapping[str, bytes] | None = None,
) -> tuple[str, bool]:
    """Store ``bank`` unless this exact content is stored already.

    ``media`` holds the bytes of ``bank.media`` by SHA-256; files not stored yet are stored
    in the same transaction (the caller checked that every file is there).

    Returns
    -------
    tuple
        The version's hash and whether it was new.
    """
    digest = content_hash(bank)
    for file in bank.media:
        stored = conn.execute(
            select(bank_media.c.sha256).where(bank_media.c.sha256 == file.sha256)
        ).first()
        if stored is None and media is not None and file.sha256 in media:
            conn.execute(
                insert(bank_media).values(
                    sha256=file.sha256,
                    content_type=file.content_type,
                    size=file.size,
                    data=media[file.sha256],
                    created_at=utcnow(),
                )
            )
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


def load_media(conn: Connection, sha256: str) -> tuple[str, bytes] | None:
    """A stored media file's content type and bytes, or None."""
    row = conn.execute(
        select(bank_media.c.content_type, bank_media.c.data).where(bank_media.c.sha256 == sha256)
    ).first()
    return None if row is None else (str(row.content_type), bytes(row.data))


def missing_media(conn: Connection, bank: Bank, media: Mapping[str, bytes]) -> list[int]:
    """Positions in ``bank.media`` of files neither given nor stored already."""
    missing = []
    for i, file in enumerate(bank.media):
        if file.sha256 in media:
            continue
        if load_media(conn, file.sha256) is None:
            missing.append(i)
    return missing
