"""The LTI 1.3 endpoints a platform calls: login initiation, launch, deep linking, keyset.

They are cross-site by nature (the LMS posts the forms), so they are outside the CSRF check:
the login ``state``, the signed id_token and the single-use deep-linking token are what
protect them. The deep-linking pages may be framed by the platform that launched them (its
issuer's origin) and post back only to its return URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response, Router, get, post, route
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template

from web.lti import service
from web.lti.tool_key import public_jwks
from web.pages.learner import runtime
from web.security import CONTENT_SECURITY_POLICY


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _policy(frame_origin: str, form_origin: str | None = None) -> str:
    """The site's policy, framed by the platform and (if given) posting to it."""
    policy = CONTENT_SECURITY_POLICY.replace(
        "frame-ancestors 'none'", f"frame-ancestors {frame_origin}"
    )
    if form_origin:
        policy = policy.replace("form-action 'self'", f"form-action 'self' {form_origin}")
    return policy


async def _params(request: Request[Any, Any, Any]) -> dict[str, str]:
    values = {k: str(v) for k, v in request.query_params.items()}
    if request.method == "POST":
        form = await request.form()
        values.update({k: str(v) for k, v in form.items()})
    return values


@route("/lti/login", http_method=["GET", "POST"], name="lti_login")
async def lti_login(state: State, request: Request[Any, Any, Any]) -> Redirect:
    """OIDC third-party login initiation: redirect to the platform's auth URL."""
    rt = runtime(state)
    params = await _params(request)
    url = await rt.call(service.login, rt, params)
    state_value = service.state_from_redirect(url)
    # Bind the state to this browser. Over https the cookie must cross sites (the platform
    # posts the launch) and live in the platform's partition (CHIPS) when framed.
    attributes = f"Path=/lti/; Max-Age={service.STATE_MINUTES * 60}; HttpOnly"
    if rt.settings.secure_cookies or request.url.scheme == "https":
        attributes += "; SameSite=None; Secure; Partitioned"
    # Over plain http (development, tests) Secure cookies cannot be set: the plain fallback.
    cookie = f"{service.state_cookie_name(state_value)}={state_value}; {attributes}"
    return Redirect(path=url, status_code=302, headers={"set-cookie": cookie})


@post("/lti/launch", name="lti_launch")
async def lti_launch(state: State, request: Request[Any, Any, Any]) -> Redirect | Template:
    """The redirection URI: a resource launch opens the session; deep linking, the choice."""
    rt = runtime(state)
    form = await request.form()
    client = request.client.host if request.client else "unknown"
    state_value = str(form.get("state") or "")
    cookie = request.cookies.get(service.state_cookie_name(state_value))
    outcome = await rt.call(
        service.launch, rt, str(form.get("id_token") or ""), state_value, client, cookie
    )
    # The state is used up: its cookie goes too.
    spent = f"{service.state_cookie_name(state_value)}=; Path=/lti/; Max-Age=0; HttpOnly"
    if outcome.kind == "resource":
        assert outcome.redirect is not None
        return Redirect(path=outcome.redirect, status_code=303, headers={"set-cookie": spent})
    return Template(
        "lti_deep_link.html",
        context={"outcome": outcome},
        headers={
            "content-security-policy": _policy(_origin(outcome.platform_issuer)),
            "set-cookie": spent,
        },
    )


@post("/lti/deep-link/{token:str}", name="lti_deep_link")
async def lti_deep_link(
    state: State, request: Request[Any, Any, Any], token: FromPath[str]
) -> Template:
    """The instructor's choice, signed, with the button that posts it back to the platform."""
    rt = runtime(state)
    form = await request.form()
    answer = await rt.call(service.deep_link_respond, rt, token, str(form.get("assessment") or ""))
    return Template(
        "lti_deep_link_return.html",
        context={"answer": answer},
        headers={
            "content-security-policy": _policy(
                _origin(answer.platform_issuer), _origin(answer.return_url)
            )
        },
    )


@get("/lti/jwks", name="lti_jwks")
async def lti_jwks(state: State) -> Response[dict[str, Any]]:
    """The tool's public keyset (RS256), for the platform to check what the tool signs."""
    rt = runtime(state)
    keys = await rt.call(public_jwks, rt.settings.data_dir)
    return Response(content=keys, media_type="application/json")


lti_router = Router(
    path="/",
    route_handlers=[lti_login, lti_launch, lti_deep_link, lti_jwks],
    include_in_schema=False,
)
