"""Author API for LTI 1.3: the platforms (LMSs) that launch the author's assessments."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from web.api.author import _author
from web.lti import service
from web.lti.service import LaunchView, PlatformCreate, PlatformView, ToolUrls
from web.orgs.guard import authorize
from web.pages.learner import runtime
from web.problems import with_problem_responses


@get("/lti/tool", opt={"action": "public"})
async def get_tool(state: State) -> ToolUrls:
    """The tool's URLs to type into the LMS (no sign-in needed: they are public)."""
    rt = runtime(state)
    return service.tool_urls(rt)


@get("/lti/platforms", opt={"action": "lti.read"})
async def list_platforms(state: State, request: Request[Any, Any, Any]) -> list[PlatformView]:
    """The organisation's registered platforms."""
    rt = runtime(state)
    return await rt.call(lambda: service.platforms(rt, _author(rt, request)))


@post("/lti/platforms", status_code=201, opt={"action": "lti.manage"})
async def create_platform(
    state: State, request: Request[Any, Any, Any], data: JSONBody[PlatformCreate]
) -> PlatformView:
    """Register a platform with the values the LMS shows after adding the tool."""
    rt = runtime(state)
    return await rt.call(lambda: service.register_platform(rt, _author(rt, request), data))


@get("/lti/platforms/{platform_id:str}/launches", opt={"action": "lti.read"})
async def list_launches(
    state: State, request: Request[Any, Any, Any], platform_id: FromPath[str]
) -> list[LaunchView]:
    """The platform's launches with the state of each score sent back (newest first)."""
    rt = runtime(state)
    return await rt.call(lambda: service.launches(rt, _author(rt, request), platform_id))


author_lti_api = Router(
    path="/api/v1/author",
    route_handlers=with_problem_responses(
        [get_tool, list_platforms, create_platform, list_launches]
    ),
    guards=[authorize],
    tags=["author", "lti"],
)
