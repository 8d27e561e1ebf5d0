"""Media kept with a bank: recognised by their first bytes, named by their content.

A QTI package's ``<img>`` files (and its ``<audio>``, ``<video>`` and media ``<object>``
files) become :class:`item_banks.model.MediaFile` entries of the bank and their bytes travel
beside it (``ImportResult.media``, keyed by SHA-256). Only PNG, JPEG, GIF and WebP images are
kept, each at most :data:`item_banks.model.MAX_MEDIA_BYTES`, and MP3, Ogg (Vorbis/Opus),
M4A and WAV audio and MP4 and WebM video, each at most
:data:`item_banks.model.MAX_AUDIO_VIDEO_BYTES`; the type is read from the bytes (magic
numbers), never from the name, and SVG is refused (it can hold script).
"""

from __future__ import annotations

import hashlib
import re

from item_banks.model import MAX_AUDIO_VIDEO_BYTES, MAX_MEDIA_BYTES, MediaFile, MediaType

_EXTENSIONS: dict[str, str] = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "audio/mp4": "m4a",
    "audio/wav": "wav",
    "video/mp4": "mp4",
    "video/webm": "webm",
}
#: The media type of each extension a bank media path may end in.
TYPE_OF_EXTENSION: dict[str, str] = {ext: kind for kind, ext in _EXTENSIONS.items()}

#: A Markdown image: ``![alt text](path)``.
IMAGE = re.compile(r"!\[([^\]\n]*)\]\(([^)\s]+)\)")


def player(path: str) -> str | None:
    """``"audio"`` or ``"video"`` for a media path of that kind, else None (an image)."""
    kind = TYPE_OF_EXTENSION.get(path.rsplit(".", 1)[-1].lower(), "") if "." in path else ""
    head = kind.split("/", 1)[0]
    return head if head in ("audio", "video") else None


def _sniff_audio_video(data: bytes) -> MediaType | None:
    """The audio or video type of ``data`` from its first bytes."""
    if data.startswith(b"ID3") or (len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg"  # an ID3 tag, or an MPEG audio frame sync
    if data.startswith(b"OggS"):
        return "audio/ogg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"  # EBML (Matroska/WebM)
    if len(data) >= 12 and data[4:8] == b"ftyp":
        brand = data[8:12]
        return "audio/mp4" if brand in (b"M4A ", b"M4B ") else "video/mp4"
    return None


def sniff(data: bytes) -> MediaType | None:
    """The media type of ``data`` from its first bytes, or None when it is not one we keep."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return _sniff_audio_video(data)


def media_file(data: bytes) -> MediaFile | str:
    """The :class:`MediaFile` for ``data``, or why it is not kept."""
    kind = sniff(data)
    limit = MAX_MEDIA_BYTES if kind is None or kind.startswith("image/") else MAX_AUDIO_VIDEO_BYTES
    if len(data) > limit:
        return f"{len(data):,} bytes; the limit is {limit:,}"
    if kind is None:
        head = data[:512].lstrip().lower()
        if head.startswith((b"<svg", b"<?xml")) or b"<svg" in head:
            return "an SVG image, which can hold script: not kept (use PNG)"
        return (
            "not a PNG, JPEG, GIF or WebP image, MP3, Ogg, M4A or WAV audio, or MP4 or WebM video"
        )
    if not data:
        return "an empty file"
    digest = hashlib.sha256(data).hexdigest()
    return MediaFile(
        path=f"media/{digest[:16]}.{_EXTENSIONS[kind]}",
        content_type=kind,
        sha256=digest,
        size=len(data),
    )
