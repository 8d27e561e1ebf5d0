"""Bank versions, stored by content hash and never edited in place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from sqlalchemy import Connection, and_, insert, or_, select

from item_banks.model import Bank
from item_banks.native import content_hash
from web.db.connection import as_utc, utcnow
from web.db.schema import bank_media, bank_shares, bank_versions, org_bank_versions

#: How an organisation may use a bank version: its own, shared with it with keys and
#: explanations, or shared without them (``None``: not at all, so it does not exist for it).
Access = str  # "own" | "shared" | "shared_without_keys"


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
    *,
    org_id: int | None = None,
) -> tuple[str, bool]:
    """Store ``bank`` unless this exact content is stored already; ``org_id`` holds it.

    The same content uploaded by two organisations is stored once and held by both; with
    ``org_id``, "new" means new to that organisation (another's upload is not disclosed).

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
        if org_id is not None:
            return digest, hold(conn, org_id, digest, author_id)
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
    if org_id is not None:
        hold(conn, org_id, digest, author_id)
    return digest, True


def hold(conn: Connection, org_id: int, digest: str, author_id: int | None) -> bool:
    """Make ``org_id`` a holder of the stored version ``digest``; whether it was new to it."""
    held = conn.execute(
        select(org_bank_versions.c.bank_hash)
        .where(org_bank_versions.c.org_id == org_id)
        .where(org_bank_versions.c.bank_hash == digest)
    ).first()
    if held is not None:
        return False
    conn.execute(
        insert(org_bank_versions).values(
            org_id=org_id, bank_hash=digest, added_by=author_id, created_at=utcnow()
        )
    )
    return True


def access(conn: Connection, org_id: int, digest: str) -> Access | None:
    """How ``org_id`` may use the version ``digest`` (None: it may not, or it does not exist)."""
    held = conn.execute(
        select(org_bank_versions.c.bank_hash)
        .where(org_bank_versions.c.org_id == org_id)
        .where(org_bank_versions.c.bank_hash == digest)
    ).first()
    if held is not None:
        return "own"
    shares = conn.execute(
        select(bank_shares.c.with_keys)
        .where(bank_shares.c.to_org_id == org_id)
        .where(bank_shares.c.bank_hash == digest)
        .where(bank_shares.c.withdrawn_at.is_(None))
    ).all()
    if not shares:
        return None
    return "shared" if any(r.with_keys for r in shares) else "shared_without_keys"


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


def list_versions(conn: Connection, org_id: int | None = None) -> list[BankVersion]:
    """Stored versions, newest first: those ``org_id`` holds or is shared.

    Every one when ``org_id`` is None (the command line's view).
    """
    query = select(*_SUMMARY).order_by(bank_versions.c.created_at.desc(), bank_versions.c.hash)
    if org_id is not None:
        held = select(org_bank_versions.c.bank_hash).where(org_bank_versions.c.org_id == org_id)
        shared = select(bank_shares.c.bank_hash).where(
            and_(bank_shares.c.to_org_id == org_id, bank_shares.c.withdrawn_at.is_(None))
        )
        query = query.where(or_(bank_versions.c.hash.in_(held), bank_versions.c.hash.in_(shared)))
    return [_summary(r) for r in conn.execute(query).all()]


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
