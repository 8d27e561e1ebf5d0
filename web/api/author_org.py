"""Author API for the member's organisation.

Profile, members and roles, invitations, keys, the audit log, and bank versions shared
between organisations.

The organisation is always the token's own: no request names one to act on.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, delete, get, patch, post, put
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody
from litestar.response import Stream

from web.api.author import _author
from web.orgs import service
from web.orgs.guard import authorize
from web.pages.learner import runtime
from web.params import StoredInt
from web.problems import with_problem_responses
from web.store.audit import AuditEvent
from web.store.orgs import MemberInfo, ProfileUpdate


@get("/org", opt={"action": "org.read"})
async def get_org(state: State, request: Request[Any, Any, Any]) -> service.OrgView:
    """Your organisation: its issuer profile, did:web and your role."""
    rt = runtime(state)
    return await rt.call(lambda: service.view(rt, _author(rt, request)))


@patch("/org", opt={"action": "org.manage"})
async def update_org(
    state: State, request: Request[Any, Any, Any], data: JSONBody[ProfileUpdate]
) -> service.OrgView:
    """Change the issuer profile (owners)."""
    rt = runtime(state)
    return await rt.call(lambda: service.update_profile(rt, _author(rt, request), data))


@get("/org/members", opt={"action": "org.manage"})
async def list_members(state: State, request: Request[Any, Any, Any]) -> list[MemberInfo]:
    """Members and their roles (owners)."""
    rt = runtime(state)
    return await rt.call(lambda: service.members(rt, _author(rt, request)))


@put("/org/members/{membership_id:int}/role", opt={"action": "org.manage"})
async def change_role(
    state: State,
    request: Request[Any, Any, Any],
    membership_id: FromPath[StoredInt],
    data: JSONBody[service.RoleChange],
) -> list[MemberInfo]:
    """Change a member's role; the last owner cannot be demoted (409)."""
    rt = runtime(state)
    return await rt.call(
        lambda: service.set_role(rt, _author(rt, request), membership_id, data.role)
    )


@delete("/org/members/{membership_id:int}", status_code=200, opt={"action": "org.manage"})
async def remove_member(
    state: State, request: Request[Any, Any, Any], membership_id: FromPath[StoredInt]
) -> list[MemberInfo]:
    """Remove a member (their tokens stop working); the last owner cannot be removed (409)."""
    rt = runtime(state)
    return await rt.call(lambda: service.remove(rt, _author(rt, request), membership_id))


@post("/org/invitations", status_code=201, opt={"action": "org.manage"})
async def invite(
    state: State, request: Request[Any, Any, Any], data: JSONBody[service.InvitationCreate]
) -> service.InvitationSent:
    """Mail a signed, single-use, expiring invitation link to an address."""
    rt = runtime(state)
    return await rt.call(lambda: service.invite(rt, _author(rt, request), data))


@post("/org/keys/rotate", status_code=200, opt={"action": "org.manage"})
async def rotate_keys(state: State, request: Request[Any, Any, Any]) -> list[str]:
    """Retire the organisation's signing keys (earlier credentials still verify); new ones sign."""
    rt = runtime(state)
    return await rt.call(lambda: service.rotate_keys(rt, _author(rt, request)))


@get("/org/audit", opt={"action": "audit.read"})
async def audit_log(state: State, request: Request[Any, Any, Any]) -> list[AuditEvent]:
    """The newest 500 entries of the organisation's audit log (owners)."""
    rt = runtime(state)
    return await rt.call(lambda: service.audit_events(rt, _author(rt, request)))


@get("/org/audit.csv", media_type="text/csv", opt={"action": "audit.read"})
async def audit_export(state: State, request: Request[Any, Any, Any]) -> Stream:
    """The whole audit log as CSV (owners)."""
    rt = runtime(state)
    chunks = await rt.call(lambda: service.audit_csv(rt, _author(rt, request)))
    return Stream(chunks, media_type="text/csv; charset=utf-8")


@get("/shares", opt={"action": "bank.read"})
async def list_shares(state: State, request: Request[Any, Any, Any]) -> list[service.Share]:
    """Bank versions your organisation shared, and those shared with it."""
    rt = runtime(state)
    return await rt.call(lambda: service.shares(rt, _author(rt, request)))


@post("/shares", status_code=201, opt={"action": "bank.share"})
async def create_share(
    state: State, request: Request[Any, Any, Any], data: JSONBody[service.ShareCreate]
) -> service.Share:
    """Share a bank version your organisation holds with another organisation (by short name)."""
    rt = runtime(state)
    return await rt.call(lambda: service.share(rt, _author(rt, request), data))


@post("/shares/{share_id:int}/withdraw", status_code=200, opt={"action": "bank.share"})
async def withdraw_share(
    state: State, request: Request[Any, Any, Any], share_id: FromPath[StoredInt]
) -> service.Share:
    """Withdraw a share; assessments made from it keep the version they pinned."""
    rt = runtime(state)
    return await rt.call(lambda: service.withdraw(rt, _author(rt, request), share_id))


author_org_api = Router(
    guards=[authorize],
    path="/api/v1/author",
    route_handlers=with_problem_responses(
        [
            get_org,
            update_org,
            list_members,
            change_role,
            remove_member,
            invite,
            rotate_keys,
            audit_log,
            audit_export,
            list_shares,
            create_share,
            withdraw_share,
        ]
    ),
    tags=["organisation"],
)
