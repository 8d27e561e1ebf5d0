"""The author pages for LTI 1.3.

The organisation's platforms (LMSs), the form that registers one, and each platform's
launches with where their scores stand.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from web.lti import service
from web.lti.errors import PlatformInputError
from web.orgs.guard import authorize
from web.orgs.roles import allowed
from web.pages.author import AUTHOR_PAGE_DEPENDENCIES, AuthorDependency, RuntimeDependency


def _context(rt: Any, author: Any, **extra: Any) -> dict[str, Any]:
    return {
        "tool": service.tool_urls(rt),
        "platforms": service.platforms(rt, author),
        "manage": allowed(author.role, "lti.manage"),
        "problems": [],
        "values": {},
        **extra,
    }


@get("/author/lti", name="author_lti", opt={"action": "lti.read"})
async def lti_page(rt: RuntimeDependency, author: AuthorDependency) -> Template:
    """The tool's URLs for the LMS, the registered platforms, and the registration form."""
    return Template("author/lti.html", context=await rt.call(_context, rt, author))


@post("/author/lti", name="author_lti_register", opt={"action": "lti.manage"})
async def lti_register(
    request: Request[Any, Any, Any], rt: RuntimeDependency, author: AuthorDependency
) -> Template | Redirect:
    """Register a platform; the form again with every problem located if it is not valid."""
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if k != "_csrf_token"}

    def register() -> service.PlatformView:
        return service.register_platform(rt, author, service.platform_from_form(rt, values))

    try:
        created = await rt.call(register)
    except PlatformInputError as exc:
        context = await rt.call(_context, rt, author)
        context.update(problems=exc.problems or [exc.detail], values=values)
        return Template("author/lti.html", context=context, status_code=422)
    return Redirect(path=f"/author/lti/{created.id}", status_code=303)


@get("/author/lti/{platform_id:str}", name="author_lti_platform", opt={"action": "lti.read"})
async def lti_platform_page(
    platform_id: FromPath[str], rt: RuntimeDependency, author: AuthorDependency
) -> Template:
    """A platform's registration and its launches, each with the state of its score."""

    def load() -> dict[str, Any]:
        return {
            "platform": service.platform(rt, author, platform_id),
            "launches": service.launches(rt, author, platform_id),
        }

    return Template("author/lti_platform.html", context=await rt.call(load))


author_lti_router = Router(
    guards=[authorize],
    path="/",
    route_handlers=[lti_page, lti_register, lti_platform_page],
    include_in_schema=False,
    dependencies=AUTHOR_PAGE_DEPENDENCIES,
)
