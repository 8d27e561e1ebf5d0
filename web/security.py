"""Security headers on every response, JSON bodies declared as JSON, and who the author is."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import Message, Scope

from web.errors import UnsupportedMediaTypeError
from web.runtime import Runtime
from web.store import authors as author_store
from web.store.authors import Member

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; font-src 'self'; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


async def add_security_headers(message: Message, scope: Scope) -> None:
    """Add the security headers to every response (a Litestar ``before_send`` hook).

    A hook, not a middleware: it sees every response the application sends, including the
    404 of a path no route matches and the 403 of a failed CSRF check, which are answered
    before any route's middleware runs. Pages are never cached (they hold session content);
    static files are, for an hour. ``Referrer-Policy: no-referrer`` keeps session URLs
    (capabilities) out of Referer headers sent to any linked site.
    """
    if message["type"] != "http.response.start" or scope["type"] != ScopeType.HTTP:
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in SECURITY_HEADERS.items():
        if name == "content-security-policy" and name in headers:
            continue  # a handler's own, stricter or wider policy (the LTI pages' framing)
        headers[name] = value
    if "cache-control" not in headers:
        static = scope["path"].startswith("/static/")
        headers["cache-control"] = "public, max-age=3600" if static else "no-store"


#: Media types a JSON body may be sent as (RFC 8259; RFC 6839 ``+json`` suffixes).
JSON_MEDIA = re.compile(r"^application/([a-z0-9.+-]+\+)?json$")


def require_json_body(connection: ASGIConnection[Any, Any, Any, Any], handler: Any) -> None:
    """Refuse a body that is not declared as JSON on a handler that reads JSON (a guard).

    Applies to handlers with a ``data`` parameter (a JSON body) only; a request without a
    body (``Content-Length: 0`` or none) passes, so optional bodies stay optional. Raises
    :class:`~web.errors.UnsupportedMediaTypeError` (415) otherwise.
    """
    if "data" not in handler.parsed_fn_signature.parameters:
        return
    length = connection.headers.get("content-length")
    chunked = "chunked" in connection.headers.get("transfer-encoding", "").lower()
    if not chunked and (length is None or length.strip() in ("", "0")):
        return
    media = connection.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not JSON_MEDIA.match(media):
        shown = media or "no Content-Type"
        raise UnsupportedMediaTypeError(
            f"send the body as JSON with Content-Type: application/json (got {shown})"
        )


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    """The token of an ``Authorization: Bearer`` header."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


#: Where :func:`web.orgs.guard.authorize` keeps the member it resolved for a request.
SCOPE_KEY = "skillgauge_member"


def member_in_scope(scope: Any) -> tuple[bool, Member | None]:
    """Whether the guard resolved the member of this request already, and who it is."""
    if SCOPE_KEY in scope:
        return True, scope[SCOPE_KEY]
    return False, None


def current_author(rt: Runtime, request: Request[Any, Any, Any]) -> Member | None:
    """The author signed in by bearer token (API) or session cookie (pages).

    The cookie names the token it was signed in with (by its hash), so an expired or
    revoked token also signs its pages out.
    """
    resolved, member = member_in_scope(request.scope)
    if resolved:
        return member
    token = bearer_token(request)
    with rt.db.read() as conn:
        if token is not None:
            return author_store.author_for_token(conn, token)
        session = request.session if "session" in request.scope else {}
        author_id, token_hash = session.get("author_id"), session.get("token")
        if isinstance(author_id, int) and isinstance(token_hash, str):
            author = author_store.author_for_hash(conn, token_hash)
            return author if author is not None and author.id == author_id else None
    return None
