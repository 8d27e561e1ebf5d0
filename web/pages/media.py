"""The media files of bank versions (images kept from QTI packages), served to learners.

A file is addressed by its SHA-256, so a URL names one content forever: it is cached for a
year as immutable. Its content type is the one checked from its bytes when it was stored
(PNG, JPEG, GIF or WebP; never SVG), sent with ``nosniff`` (every response carries it).
"""

from __future__ import annotations

import re

from litestar import Response, Router, get
from litestar.datastructures import State
from litestar.params import FromPath

from web.errors import NotFoundError
from web.pages.learner import runtime
from web.store.banks import load_media

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@get("/media/{sha256:str}", name="media")
async def media(state: State, sha256: FromPath[str]) -> Response[bytes]:
    """One stored media file, with its checked content type."""
    rt = runtime(state)
    if not _SHA256.match(sha256):
        raise NotFoundError("no such media file")

    def read() -> tuple[str, bytes] | None:
        with rt.db.read() as conn:
            return load_media(conn, sha256)

    found = await rt.call(read)
    if found is None:
        raise NotFoundError("no such media file")
    content_type, data = found
    return Response(
        content=data,
        media_type=content_type,
        headers={
            "cache-control": "public, max-age=31536000, immutable",
            "content-disposition": "inline",
        },
    )


media_router = Router(path="/", route_handlers=[media], include_in_schema=False)
