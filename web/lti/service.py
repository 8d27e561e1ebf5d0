"""What the LTI pages and the author API do: register platforms, log in, launch, deep-link.

The tool's URLs (what an LMS administrator types in; see README "Register Skillgauge in
Moodle"):

=================================  ==========================================================
``{base}/lti/login``               OIDC login initiation (GET or POST from the platform)
``{base}/lti/launch``              the redirection URI: id_token launches (form_post)
``{base}/lti/jwks``                the tool's public keyset (RS256)
``{base}/lti/deep-link/{token}``   the instructor's choice, answered to the platform
=================================  ==========================================================

A resource link launch names its assessment in the custom parameter ``assessment`` (set by
Deep Linking, or by hand as ``assessment=<id>``); it starts that LMS user's session (with the
name and email the platform sends) or resumes it, on later launches of the same link. When
the platform offers Assignment and Grade Services, the score goes back to its line item when
the session ends (:mod:`web.lti.scores`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

import msgspec
from msgspec import Meta

from web import learner_record
from web.db.connection import utcnow
from web.errors import NotFoundError
from web.learning import start_session
from web.lti import messages
from web.lti.errors import CookielessLaunchError, LaunchRefusedError, PlatformInputError
from web.lti.platform_keys import platform_keys
from web.lti.tool_key import tool_key
from web.runtime import Runtime
from web.store import assessments as assessment_store
from web.store import audit
from web.store import lti as store
from web.store.authors import Member
from web.webhooks.ssrf import AddressRefusedError, check_url

STATE_MINUTES = 10
DEEP_LINK_MINUTES = 30
SCORE_MAXIMUM = 1000

Url = Annotated[str, Meta(min_length=8, max_length=2000)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Ident = Annotated[str, Meta(min_length=1, max_length=255)]


class PlatformCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the LMS shows its administrator after adding the tool."""

    name: Name
    issuer: Url
    client_id: Ident
    deployment_ids: Annotated[list[Ident], Meta(min_length=1, max_length=50)]
    auth_url: Url
    token_url: Url
    jwks_url: Url


class ToolUrls(msgspec.Struct, frozen=True, kw_only=True):
    """What the LMS administrator types in for this tool."""

    tool_url: str
    login_url: str
    redirect_uris: list[str]
    jwks_url: str
    deep_linking_url: str


class PlatformView(msgspec.Struct, frozen=True, kw_only=True):
    """A registered platform, with the tool's URLs to give it."""

    id: str
    name: str
    issuer: str
    client_id: str
    deployment_ids: list[str]
    auth_url: str
    token_url: str
    jwks_url: str
    created_at: str
    tool: ToolUrls


def tool_urls(rt: Runtime) -> ToolUrls:
    """The tool's URLs on this deployment."""
    base = rt.settings.base_url
    return ToolUrls(
        tool_url=f"{base}/lti/launch",
        login_url=f"{base}/lti/login",
        redirect_uris=[f"{base}/lti/launch"],
        jwks_url=f"{base}/lti/jwks",
        deep_linking_url=f"{base}/lti/launch",
    )


def _view(rt: Runtime, platform: store.Platform) -> PlatformView:
    return PlatformView(
        id=platform.id,
        name=platform.name,
        issuer=platform.issuer,
        client_id=platform.client_id,
        deployment_ids=list(platform.deployment_ids),
        auth_url=platform.auth_url,
        token_url=platform.token_url,
        jwks_url=platform.jwks_url,
        created_at=platform.created_at.isoformat(),
        tool=tool_urls(rt),
    )


URL_FIELDS = ("issuer", "auth_url", "token_url", "jwks_url")
#: The registration form's text fields and their longest values.
FORM_LIMITS = {"name": 200, "issuer": 2000, "client_id": 255, **dict.fromkeys(URL_FIELDS[1:], 2000)}


def _url_problems(rt: Runtime, values: dict[str, str]) -> list[str]:
    problems = []
    for field in URL_FIELDS:
        value = values.get(field, "")
        if not value:
            continue
        try:
            scheme = check_url(value)[0]
        except AddressRefusedError as exc:
            problems.append(f"{field}: {exc}".replace("a webhook URL", "the URL"))
            continue
        if scheme != "https" and not rt.settings.webhook_allow_private:
            problems.append(f"{field}: must start with https://")
    return problems


def platform_from_form(rt: Runtime, form: dict[str, str]) -> PlatformCreate:
    """The registration typed into the author page, with every problem located at once.

    ``deployment_ids`` holds one deployment id a line (or comma-separated).

    Raises
    ------
    PlatformInputError
        Listing each field that is missing, too long or not an acceptable URL.
    """
    values = {k: str(form.get(k, "")).strip() for k in FORM_LIMITS}
    problems = []
    for field, limit in FORM_LIMITS.items():
        if not values[field]:
            problems.append(f"{field}: required")
        elif len(values[field]) > limit:
            problems.append(f"{field}: longer than {limit} characters")
    deployments = [
        d.strip() for d in str(form.get("deployment_ids", "")).replace(",", "\n").splitlines()
    ]
    deployments = [d for d in deployments if d]
    if not deployments:
        problems.append("deployment_ids: give at least one deployment id")
    elif len(deployments) > 50:
        problems.append("deployment_ids: at most 50 deployment ids")
    problems += [
        f"deployment_ids: line {n} is longer than 255 characters"
        for n, d in enumerate(deployments, 1)
        if len(d) > 255
    ]
    problems += _url_problems(rt, values)
    if problems:
        raise PlatformInputError("the platform cannot be registered", problems)
    try:
        return msgspec.convert({**values, "deployment_ids": deployments}, PlatformCreate)
    except msgspec.ValidationError as exc:
        raise PlatformInputError("the platform cannot be registered", [str(exc)]) from None


def register_platform(rt: Runtime, author: Member, data: PlatformCreate) -> PlatformView:
    """Register an LMS platform for the assessments of the member's organisation."""
    problems = _url_problems(rt, {f: getattr(data, f) for f in URL_FIELDS})
    if problems:
        raise PlatformInputError("the platform cannot be registered", problems)
    with rt.db.write() as conn:
        if store.find_platforms(conn, data.issuer.strip(), data.client_id.strip()):
            raise PlatformInputError(
                "this issuer and client id are registered already",
                ["client_id: already registered for this issuer"],
            )
        platform = store.create_platform(
            conn,
            org_id=author.org_id,
            name=data.name.strip(),
            issuer=data.issuer.strip(),
            client_id=data.client_id.strip(),
            deployment_ids=[d.strip() for d in data.deployment_ids],
            auth_url=data.auth_url.strip(),
            token_url=data.token_url.strip(),
            jwks_url=data.jwks_url.strip(),
            now=utcnow(),
        )
        audit.record(
            conn,
            author.org_id,
            author.id,
            author.email,
            "lti.register",
            platform.id,
            platform.issuer,
        )
    return _view(rt, platform)


class LaunchView(msgspec.Struct, frozen=True, kw_only=True):
    """One LMS user's launch and where its score stands."""

    id: str
    subject: str
    resource_link_id: str
    assessment_id: str
    created_at: str
    score_status: str
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: str | None
    delivered_at: str | None


def launches(rt: Runtime, author: Member, platform_id: str) -> list[LaunchView]:
    """The launches of one of the organisation's platforms, newest first, with their scores."""
    with rt.db.read() as conn:
        platform = store.get_platform(conn, platform_id)
        if platform is None or platform.org_id != author.org_id:
            raise NotFoundError("no such platform")
        rows = store.launches_of(conn, platform_id)
    return [
        LaunchView(
            id=r["id"],
            subject=r["subject"],
            resource_link_id=r["resource_link_id"],
            assessment_id=r["assessment_id"],
            created_at=r["created_at"].isoformat(),
            score_status=r["status"],
            attempts=r["attempts"],
            last_status=r["last_status"],
            last_error=r["last_error"],
            next_attempt_at=r["next_attempt_at"].isoformat() if r["next_attempt_at"] else None,
            delivered_at=r["delivered_at"].isoformat() if r["delivered_at"] else None,
        )
        for r in rows
    ]


def platform(rt: Runtime, author: Member, platform_id: str) -> PlatformView:
    """One of the organisation's platforms (:class:`NotFoundError` for another's)."""
    with rt.db.read() as conn:
        found = store.get_platform(conn, platform_id)
    if found is None or found.org_id != author.org_id:
        raise NotFoundError("no such platform")
    return _view(rt, found)


def platforms(rt: Runtime, author: Member) -> list[PlatformView]:
    """The organisation's registered platforms."""
    with rt.db.read() as conn:
        return [_view(rt, p) for p in store.platforms_of(conn, author.org_id)]


# -- login initiation -----------------------------------------------------------------------


#: The state cookie's name starts so; its tail names the state (several logins may overlap).
STATE_COOKIE = "sg_lti_state_"


def state_cookie_name(state: str) -> str:
    """The name of the cookie that binds ``state`` to the browser that started the login."""
    return STATE_COOKIE + hashlib.sha256(state.encode()).hexdigest()[:16]


def state_from_redirect(url: str) -> str:
    """The ``state`` in the auth request URL that :func:`login` built."""
    return str(parse_qs(urlsplit(url).query)["state"][0])


COOKIELESS = (
    "Your browser did not send back the cookie that ties this launch to the login it started."
    " Browsers often block cookies for a tool shown inside a course page. Open the activity in"
    ' a new window (your course\'s link or its "open in new window" option) and launch it'
    " again from there."
)


def check_browser(state: str, cookie: str | None) -> None:
    """Refuse a launch whose browser is not the one that started the login (login CSRF).

    Raises
    ------
    CookielessLaunchError
        No state cookie came back (a third-party frame that blocks cookies).
    LaunchRefusedError
        The cookie holds another state: the launch was started elsewhere.
    """
    if cookie is None:
        raise CookielessLaunchError(COOKIELESS)
    if not hmac.compare_digest(cookie.encode(), state.encode()):
        raise LaunchRefusedError(
            "the launch does not belong to the login this browser started (login CSRF refused)"
        )


def login(rt: Runtime, params: dict[str, str]) -> str:
    """Answer an OIDC third-party login: the platform's auth URL to redirect to.

    The caller binds the ``state`` in that URL to the browser with a cookie
    (:func:`state_cookie_name`), checked at launch by :func:`check_browser`.
    """
    issuer = params.get("iss", "").strip()
    hint = params.get("login_hint", "").strip()
    target = params.get("target_link_uri", "").strip()
    if not issuer or not hint or not target:
        raise LaunchRefusedError("the login request lacks iss, login_hint or target_link_uri")
    if not (target == rt.settings.base_url or target.startswith(rt.settings.base_url + "/")):
        raise LaunchRefusedError(f"the target {target[:200]} is not this tool")
    with rt.db.write() as conn:
        found = store.find_platforms(conn, issuer, params.get("client_id", "").strip() or None)
        if not found:
            raise LaunchRefusedError(f"no platform with issuer {issuer[:200]} is registered here")
        if len(found) > 1:
            raise LaunchRefusedError("several platforms share this issuer: send client_id")
        platform = found[0]
        deployment = params.get("lti_deployment_id")
        if deployment and deployment not in platform.deployment_ids:
            raise LaunchRefusedError(f"the deployment {deployment!r} is not registered")
        nonce = secrets.token_urlsafe(24)
        store.purge(conn, utcnow())
        state = store.create_state(
            conn,
            rt.settings.secret_key,
            platform_id=platform.id,
            nonce=nonce,
            now=utcnow(),
            minutes=STATE_MINUTES,
        )
    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": platform.client_id,
        "redirect_uri": tool_urls(rt).redirect_uris[0],
        "login_hint": hint,
        "state": state,
        "nonce": nonce,
    }
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if "?" in platform.auth_url else "?"
    return platform.auth_url + separator + urlencode(query)


# -- launch ---------------------------------------------------------------------------------


class Choice(msgspec.Struct, frozen=True, kw_only=True):
    """An assessment an instructor may pick."""

    id: str
    title: str


class LaunchOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """What a valid launch leads to."""

    kind: Literal["resource", "deep_link"]
    redirect: str | None = None
    session_id: str | None = None
    deep_link_token: str | None = None
    choices: list[Choice] = msgspec.field(default_factory=list)
    platform_name: str = ""
    platform_issuer: str = ""


def _keys(rt: Runtime, platform: store.Platform) -> Any:
    def keys(refresh: bool) -> Any:
        return platform_keys(
            platform.jwks_url,
            allow_private=rt.settings.webhook_allow_private,
            timeout=rt.settings.webhook_timeout_seconds,
            refresh=refresh,
        )

    return keys


def launch(
    rt: Runtime, id_token: str, state: str, client: str, cookie: str | None
) -> LaunchOutcome:
    """Check a launch (browser, state, id_token, nonce, deployment) and act on it.

    ``cookie`` is the state cookie the browser sent back (None if none): a launch from
    another browser than the login's is refused before the state is used up.
    """
    check_browser(state, cookie)
    with rt.db.write() as conn:  # the state is used up even if a later check fails
        used = store.consume_state(conn, rt.settings.secret_key, state, utcnow())
    if isinstance(used, str):
        raise LaunchRefusedError(used)
    platform_id, nonce = used
    with rt.db.read() as conn:
        platform = store.get_platform(conn, platform_id)
    if platform is None:
        raise LaunchRefusedError("the platform of this login is no longer registered")
    claims = messages.verify_id_token(
        id_token, platform=platform, keys=_keys(rt, platform), nonce=nonce
    )
    with rt.db.write() as conn:
        if not store.remember_nonce(conn, platform.id, str(claims["nonce"]), utcnow()):
            raise LaunchRefusedError("the id_token's nonce was used before (a replayed launch)")
    if claims[messages.LTI + "message_type"] == messages.DEEP_LINKING_REQUEST:
        return _deep_linking(rt, platform, claims)
    return _resource(rt, platform, claims, client)


def _owned_open(rt: Runtime, platform: store.Platform) -> list[Choice]:
    with rt.db.read() as conn:
        owned = assessment_store.list_assessments(conn, org_id=platform.org_id)
    return [Choice(id=a.id, title=a.title) for a in owned if a.status == "open"]


def _deep_linking(rt: Runtime, platform: store.Platform, claims: dict[str, Any]) -> LaunchOutcome:
    settings = claims.get(messages.DL + "deep_linking_settings")
    if not isinstance(settings, dict) or not settings.get("deep_link_return_url"):
        raise LaunchRefusedError("the deep-linking request has no deep_link_return_url")
    if not str(settings["deep_link_return_url"]).startswith(("https://", "http://")):
        raise LaunchRefusedError("the deep_link_return_url is not an http(s) URL")
    accepted = settings.get("accept_types") or []
    if "ltiResourceLink" not in accepted:
        raise LaunchRefusedError("the platform does not accept LTI resource links here")
    with rt.db.write() as conn:
        token = store.create_deep_link(
            conn,
            rt.settings.secret_key,
            platform_id=platform.id,
            deployment_id=str(claims[messages.LTI + "deployment_id"]),
            return_url=str(settings["deep_link_return_url"]),
            data=None if settings.get("data") is None else str(settings["data"]),
            now=utcnow(),
            minutes=DEEP_LINK_MINUTES,
        )
    return LaunchOutcome(
        kind="deep_link",
        deep_link_token=token,
        choices=_owned_open(rt, platform),
        platform_name=platform.name,
        platform_issuer=platform.issuer,
    )


def _learner_name(claims: dict[str, Any]) -> str | None:
    name = claims.get("name") or " ".join(
        str(claims[k]) for k in ("given_name", "family_name") if claims.get(k)
    )
    return str(name)[:200] or None


def _resource(
    rt: Runtime, platform: store.Platform, claims: dict[str, Any], client: str
) -> LaunchOutcome:
    link = claims.get(messages.LTI + "resource_link")
    if not isinstance(link, dict) or not link.get("id"):
        raise LaunchRefusedError("the resource link launch has no resource_link id")
    custom = claims.get(messages.LTI + "custom") or {}
    assessment_id = str(custom.get("assessment", "")) if isinstance(custom, dict) else ""
    with rt.db.read() as conn:
        assessment = assessment_store.get_assessment(conn, assessment_id) if assessment_id else None
    if assessment is None or assessment.org_id != platform.org_id:
        raise NotFoundError(
            "this link names no assessment of the platform's organisation"
            " (custom parameter assessment)"
        )
    ags = claims.get(messages.AGS)
    lineitem = lineitems = None
    if isinstance(ags, dict) and messages.SCORE_SCOPE in (ags.get("scope") or []):
        lineitem = str(ags.get("lineitem") or "") or None
        if lineitem is None and messages.LINEITEM_SCOPE in (ags.get("scope") or []):
            lineitems = str(ags.get("lineitems") or "") or None  # found or made when posting
    subject = str(claims["sub"])
    with rt.db.write() as conn:
        earlier = store.latest_launch(
            conn,
            platform_id=platform.id,
            subject=subject,
            resource_link_id=str(link["id"]),
            assessment_id=assessment.id,
        )
        if earlier is not None:
            store.update_lineitem(conn, earlier.id, lineitem, lineitems)
    if earlier is not None:
        redirect = f"/s/{earlier.session_id}"
        if earlier.finished:  # done: the learner's record, with this result and the others
            grant = learner_record.open_grant(rt, learner_record.lti_key(platform.id, subject))
            redirect = f"/me/record/{grant}"
        return LaunchOutcome(kind="resource", redirect=redirect, session_id=earlier.session_id)
    email = claims.get("email")
    session_id = start_session(
        rt,
        assessment.id,
        client=client,
        name=_learner_name(claims),
        email=str(email) if isinstance(email, str) and "@" in email else None,
    )
    with rt.db.write() as conn:
        store.insert_launch(
            conn,
            platform_id=platform.id,
            deployment_id=str(claims[messages.LTI + "deployment_id"]),
            subject=subject,
            resource_link_id=str(link["id"]),
            assessment_id=assessment.id,
            session_id=session_id,
            lineitem_url=lineitem,
            lineitems_url=lineitems,
            now=utcnow(),
        )
    return LaunchOutcome(kind="resource", redirect=f"/s/{session_id}", session_id=session_id)


# -- deep linking response ------------------------------------------------------------------


class DeepLinkAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """Where to post the signed response, and the response."""

    return_url: str
    jwt: str
    title: str
    platform_issuer: str


def deep_link_respond(rt: Runtime, token: str, assessment_id: str) -> DeepLinkAnswer:
    """The signed Deep Linking response for the instructor's choice (the token is used once)."""
    with rt.db.write() as conn:
        pending = store.consume_deep_link(conn, rt.settings.secret_key, token, utcnow())
        if pending is None:
            raise LaunchRefusedError("this choice expired or was made already; start again")
        platform = store.get_platform(conn, pending.platform_id)
        assessment = assessment_store.get_assessment(conn, assessment_id)
    if platform is None:
        raise LaunchRefusedError("the platform is no longer registered")
    if assessment is None or assessment.org_id != platform.org_id:
        raise NotFoundError("no such assessment among this platform's organisation's")
    item = {
        "type": "ltiResourceLink",
        "title": assessment.title,
        "url": tool_urls(rt).tool_url,
        "custom": {"assessment": assessment.id},
        "lineItem": {
            "scoreMaximum": SCORE_MAXIMUM,
            "label": assessment.title,
            "resourceId": assessment.id,
        },
    }
    signed = messages.deep_linking_response(
        key=tool_key(rt.settings.data_dir),
        platform=platform,
        deployment_id=pending.deployment_id,
        data=pending.data,
        items=[item],
    )
    return DeepLinkAnswer(
        return_url=pending.return_url,
        jwt=signed,
        title=assessment.title,
        platform_issuer=platform.issuer,
    )
