"""The guard on every author page and API route: resolve the member once, check the role.

The member (author, organisation, role) comes from the token alone (bearer header or the
page's session cookie, :func:`web.security.current_author`); it is kept in the request scope
so handlers read the same one. A route that declares no action is refused (fail closed).
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection

from web.errors import ForbiddenError
from web.orgs.roles import ACTION_TEXT, allowed
from web.runtime import Runtime
from web.security import SCOPE_KEY, current_author, member_in_scope

__all__ = ["authorize", "member_in_scope"]


async def authorize(connection: ASGIConnection[Any, Any, Any, Any], handler: Any) -> None:
    """Refuse the request unless the member's role may perform the handler's action.

    A request without a valid token passes on to the handler, which asks to sign in (401 on
    the API, a redirect on pages).
    """
    action = (handler.opt or {}).get("action")
    if action is None:
        raise ForbiddenError("this route declares no action, so no role may use it")
    if action == "public":
        return
    rt: Runtime = connection.app.state.runtime
    member = await rt.call(current_author, rt, connection)
    connection.scope[SCOPE_KEY] = member  # type: ignore[literal-required]
    if member is None:
        return
    if not allowed(member.role, action):
        raise ForbiddenError(
            f"your role in {member.org_slug} ({member.role}) may not {ACTION_TEXT[action]}"
        )
