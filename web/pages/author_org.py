"""Owner page of the audit log (with its CSV export), and the invitation link's pages."""

from __future__ import annotations

from typing import Any

from litestar import Router, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Stream, Template

from web.errors import ConflictError, NotFoundError
from web.orgs import service
from web.orgs.guard import authorize
from web.pages.author import AUTHOR_PAGE_DEPENDENCIES, AuthorDependency, RuntimeDependency
from web.pages.learner import runtime


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
    route_handlers=[audit_page, audit_csv],
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
