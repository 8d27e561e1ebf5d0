"""The organisation's pages.

Its profile and members (owners change them), the audit log with its CSV export, and the
invitation link's pages.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Router, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Stream, Template

from web.errors import ConflictError, InvalidInputError, NotFoundError
from web.orgs import service
from web.orgs.guard import authorize
from web.orgs.roles import allowed
from web.pages.author import AUTHOR_PAGE_DEPENDENCIES, AuthorDependency, RuntimeDependency
from web.pages.learner import runtime
from web.params import StoredInt
from web.store.orgs import ROLES, ProfileUpdate


def _org_context(rt: Any, author: Any, **extra: Any) -> dict[str, Any]:
    manage = allowed(author.role, "org.manage")
    return {
        "org": service.view(rt, author),
        "members": service.members(rt, author) if manage else [],
        "manage": manage,
        "roles": ROLES,
        "problems": [],
        "notice": None,
        **extra,
    }


@get("/author/org", name="author_org", opt={"action": "org.read"})
async def org_page(rt: RuntimeDependency, author: AuthorDependency) -> Template:
    """The organisation: its issuer profile and identity; members and forms for owners."""
    return Template("author/org.html", context=await rt.call(_org_context, rt, author))


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if k != "_csrf_token"}


async def _after(rt: Any, author: Any, action: Any) -> Template | Redirect:
    """Run a change; back to the page, or the page with the refusal (422/409)."""
    try:
        await rt.call(action)
    except (InvalidInputError, ConflictError, msgspec.ValidationError) as exc:
        detail = getattr(exc, "problems", None) or [getattr(exc, "detail", str(exc))]
        status = 409 if isinstance(exc, ConflictError) else 422
        context = await rt.call(_org_context, rt, author)
        context["problems"] = detail
        return Template("author/org.html", context=context, status_code=status)
    return Redirect(path="/author/org", status_code=303)


@post("/author/org/profile", name="author_org_profile", opt={"action": "org.manage"})
async def profile_save(
    request: Request[Any, Any, Any], rt: RuntimeDependency, author: AuthorDependency
) -> Template | Redirect:
    """Save the issuer profile."""
    fields = await _form(request)
    names = ("name", "url", "email", "image", "description")
    change = {k: fields.get(k, "").strip() for k in names if k in fields}
    return await _after(
        rt,
        author,
        lambda: service.update_profile(rt, author, msgspec.convert(change, ProfileUpdate)),
    )


@post(
    "/author/org/members/{membership_id:int}/role",
    name="author_org_role",
    opt={"action": "org.manage"},
)
async def role_save(
    request: Request[Any, Any, Any],
    membership_id: FromPath[StoredInt],
    rt: RuntimeDependency,
    author: AuthorDependency,
) -> Template | Redirect:
    """Change a member's role."""
    role = (await _form(request)).get("role", "")
    if role not in ROLES:
        role = "viewer"
    return await _after(
        rt,
        author,
        lambda: service.set_role(rt, author, membership_id, role),  # type: ignore[arg-type]
    )


@post(
    "/author/org/members/{membership_id:int}/remove",
    name="author_org_remove",
    opt={"action": "org.manage"},
)
async def member_remove(
    membership_id: FromPath[StoredInt], rt: RuntimeDependency, author: AuthorDependency
) -> Template | Redirect:
    """Remove a member."""
    return await _after(rt, author, lambda: service.remove(rt, author, membership_id))


@post("/author/org/invitations", name="author_org_invite", opt={"action": "org.manage"})
async def invite_send(
    request: Request[Any, Any, Any], rt: RuntimeDependency, author: AuthorDependency
) -> Template | Redirect:
    """Mail an invitation link."""
    fields = await _form(request)
    wanted = {"email": fields.get("email", "").strip(), "role": fields.get("role", "viewer")}
    return await _after(
        rt,
        author,
        lambda: service.invite(rt, author, msgspec.convert(wanted, service.InvitationCreate)),
    )


@post("/author/org/keys/rotate", name="author_org_rotate", opt={"action": "org.manage"})
async def keys_rotate(rt: RuntimeDependency, author: AuthorDependency) -> Template | Redirect:
    """Retire the signing keys and make new ones."""
    return await _after(rt, author, lambda: service.rotate_keys(rt, author))


@get("/author/org/audit", name="author_audit", opt={"action": "audit.read"})
async def audit_page(rt: RuntimeDependency, author: AuthorDependency) -> Template:
    """The organisation's newest audit entries."""

    def load() -> dict[str, Any]:
        return {"org": service.view(rt, author), "events": service.audit_events(rt, author)}

    return Template("author/audit.html", context=await rt.call(load))


@get("/author/org/audit.csv", name="author_audit_csv", opt={"action": "audit.read"})
async def audit_csv(rt: RuntimeDependency, author: AuthorDependency) -> Stream:
    """The whole audit log as CSV."""
    chunks = await rt.call(service.audit_csv, rt, author)
    return Stream(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="audit.csv"'},
    )


author_org_router = Router(
    guards=[authorize],
    path="/",
    route_handlers=[
        org_page,
        profile_save,
        role_save,
        member_remove,
        invite_send,
        keys_rotate,
        audit_page,
        audit_csv,
    ],
    include_in_schema=False,
    dependencies=AUTHOR_PAGE_DEPENDENCIES,
)


def _problem(exc: NotFoundError | ConflictError) -> Template:
    return Template(
        "invitation.html",
        context={"invitation": None, "token": None, "error": exc.detail},
        status_code=exc.status_code,
    )


@get("/invitations/{token:str}", name="invitation")
async def invitation_page(state: State, token: FromPath[str]) -> Template:
    """What the invitation offers, and the button that accepts it (nothing happens on GET)."""
    rt = runtime(state)
    try:
        found = await rt.call(service.invitation, rt, token)
    except (NotFoundError, ConflictError) as exc:
        return _problem(exc)
    return Template("invitation.html", context={"invitation": found, "token": token, "error": None})


@post("/invitations/{token:str}", name="invitation_accept")
async def invitation_accept(state: State, token: FromPath[str]) -> Template:
    """Accept once: the invited address becomes a member and gets its token, shown once."""
    rt = runtime(state)
    try:
        found, new_token = await rt.call(service.accept, rt, token)
    except (NotFoundError, ConflictError) as exc:
        return _problem(exc)
    return Template(
        "invitation.html",
        context={"invitation": found, "token": None, "error": None, "new_token": new_token},
        status_code=201,
    )


invitation_router = Router(
    path="/", route_handlers=[invitation_page, invitation_accept], include_in_schema=False
)
