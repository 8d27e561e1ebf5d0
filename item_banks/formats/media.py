"""Images kept with a bank: recognised by their first bytes, named by their content.

A QTI package's ``<img>`` files become :class:`item_banks.model.MediaFile` entries of the
bank and their bytes travel beside it (``ImportResult.media``, keyed by SHA-256). Only PNG,
JPEG, GIF and WebP are kept, each at most :data:`item_banks.model.MAX_MEDIA_BYTES`; the type
is read from the bytes (magic numbers), never from the name, and SVG is refused (it can hold
script).
"""

from __future__ import annotations

import hashlib
import re

from item_banks.model import MAX_MEDIA_BYTES, MediaFile, MediaType

_EXTENSIONS: dict[str, str] = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
}

#: A Markdown image: ``![alt text](path)``.
IMAGE = re.compile(r"!\[([^\]\n]*)\]\(([^)\s]+)\)")


def sniff(data: bytes) -> MediaType | None:
    """The image type of ``data`` from its first bytes, or None when it is not one we keep."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def media_file(data: bytes) -> MediaFile | str:
    """The :class:`MediaFile` for ``data``, or why it is not kept."""
    if len(data) > MAX_MEDIA_BYTES:
        return f"{len(data):,} bytes; the limit is {MAX_MEDIA_BYTES:,}"
    kind = sniff(data)
    if kind is None:
        head = data[:512].lstrip().lower()
        if head.startswith((b"<svg", b"<?xml")) or b"<svg" in head:
            return "an SVG image, which can hold script: not kept (use PNG)"
        return "not a PNG, JPEG, GIF or WebP image"
    if not data:
        return "an empty file"
    digest = hashlib.sha256(data).hexdigest()
    return MediaFile(
        path=f"media/{digest[:16]}.{_EXTENSIONS[kind]}",
        content_type=kind,
        sha256=digest,
        size=len(data),
    )
