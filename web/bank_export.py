"""A stored bank version downloaded as a file: a QTI 3.0 package (with its media) or native.

Exporting hands over the answer keys and explanations, so it is refused where the bank was
shared without them, and a version that is neither the organisation's nor shared with it is
not found (as everywhere else).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from item_banks.errors import Problem
from item_banks.formats.registry import export_bank as export_to
from web.errors import ForbiddenError, NotFoundError
from web.runtime import Runtime
from web.store import banks as bank_store
from web.store.authors import Member

ExportFormat = Literal["qti", "json", "yaml"]


class BankFile(msgspec.Struct, frozen=True, kw_only=True):
    """The exported file: its name, bytes, media type and what the format could not carry."""

    filename: str
    data: bytes
    media_type: str
    notes: list[Problem]


def _slug(text: str) -> str:
    kept = "".join(ch if ch.isalnum() else "-" for ch in text.lower())
    return "-".join(part for part in kept.split("-") if part)[:60] or "bank"


def export_version(rt: Runtime, member: Member, digest: str, fmt: ExportFormat) -> BankFile:
    """The bank version ``digest`` written as ``fmt`` for ``member``'s organisation."""
    with rt.db.read() as conn:
        access = bank_store.access(conn, member.org_id, digest)
        bank = bank_store.load_bank(conn, digest) if access is not None else None
        if bank is None:
            raise NotFoundError("no such bank version")
        if access == "shared_without_keys":
            raise ForbiddenError(
                "this version was shared with your organisation without its answer keys and "
                "explanations, so it cannot be exported"
            )
        media: dict[str, bytes] = {}
        if fmt == "qti":
            for file in bank.media:
                stored = bank_store.load_media(conn, file.sha256)
                if stored is not None:
                    media[file.sha256] = stored[1]
    name = f"{_slug(bank.title)}-{_slug(bank.version)}"
    exported = export_to(bank, fmt, source=name, media=media)
    return BankFile(
        filename=name + exported.suffix,
        data=exported.data,
        media_type=exported.media_type,
        notes=exported.notes,
    )
