"""Author pages for credentials and webhooks.

An assessment's credential: its achievement, the credentials issued, revocation. Webhook
endpoints: create (the secret is shown once), the delivery log, redelivery.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from item_banks.secrecy import secrecy_warnings
from web.authoring import owned_assessment
from web.credentials import service
from web.credentials.awards import issuer_of
from web.credentials.ob3 import ACHIEVEMENT_TYPES, AchievementSpec
from web.errors import InvalidInputError
from web.orgs.guard import authorize
from web.pages.author import AUTHOR_PAGE_DEPENDENCIES, AuthorDependency, RuntimeDependency
from web.runtime import Runtime
from web.store import credentials as credential_store
from web.store import webhooks as webhook_store
from web.store.authors import Member
from web.webhooks import service as webhooks


def _credential_context(rt: Runtime, author: Member, assessment_id: str) -> dict[str, Any]:
    assessment = owned_assessment(rt, author, assessment_id)
    with rt.db.read() as conn:
        compiled = rt.compiled(conn, assessment.bank_hash)
        issued = credential_store.for_assessment(conn, assessment_id)
    record = service.achievement_of(rt, assessment_id)
    awarding = record is not None and assessment.feedback_mode != "practice"
    return {
        "secrecy": [
            str(w) for w in secrecy_warnings(compiled.bank, "this bank", awarding=awarding)
        ],
        "assessment": assessment,
        "competencies": compiled.bank.competencies,
        "achievement": record,
        "achievement_url": issuer_of(rt).achievement_url(record.id) if record else None,
        "types": ACHIEVEMENT_TYPES,
        "issued": issued,
        "problems": [],
        "form": {},
    }


def spec_from_form(fields: dict[str, str], chosen: list[str]) -> AchievementSpec:
    """An :class:`AchievementSpec` from the form.

    Alignments come one per line: ``name | url | framework | competency id`` (the last two
    optional).
    """
    alignments = []
    for number, line in enumerate(fields.get("alignments", "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 2:
            raise InvalidInputError(
                "an alignment needs a name and a URL", [f"alignments line {number}: {line}"]
            )
        alignments.append(
            {
                "target_name": parts[0],
                "target_url": parts[1],
                "target_framework": (parts[2] if len(parts) > 2 else "") or None,
                "competency": (parts[3] if len(parts) > 3 else "") or None,
            }
        )
    raw: dict[str, Any] = {
        "name": fields.get("name", "").strip(),
        "description": fields.get("description", "").strip(),
        "criteria": fields.get("criteria", "").strip(),
        "image": fields.get("image", "").strip() or None,
        "achievement_type": fields.get("achievement_type", "Badge"),
        "alignments": alignments,
        "pass_rule": {"competencies": chosen},
        "require_verified_email": fields.get("require_verified_email") == "on",
    }
    try:
        if fields.get("valid_days", "").strip():
            raw["valid_days"] = int(fields["valid_days"])
        if fields.get("min_confidence", "").strip():
            raw["pass_rule"]["min_confidence"] = float(fields["min_confidence"]) / 100
        return msgspec.convert(raw, AchievementSpec)
    except (ValueError, msgspec.ValidationError) as exc:
        raise InvalidInputError("the achievement cannot be saved", [str(exc)]) from None


@get(
    "/author/assessments/{assessment_id:str}/credential",
    name="author_credential",
    opt={"action": "assessment.read"},
)
async def credential_page(
    assessment_id: FromPath[str], rt: RuntimeDependency, author: AuthorDependency
) -> Template | Redirect:
    """The achievement form and the credentials issued so far."""
    context = await rt.call(_credential_context, rt, author, assessment_id)
    return Template("author/credential.html", context=context)


@post(
    "/author/assessments/{assessment_id:str}/credential",
    name="author_credential_save",
    opt={"action": "assessment.manage"},
)
async def credential_save(
    request: Request[Any, Any, Any],
    assessment_id: FromPath[str],
    rt: RuntimeDependency,
    author: AuthorDependency,
) -> Template | Redirect:
    """Save the achievement; show every problem otherwise."""
    form = await request.form()
    fields = {k: str(v) for k, v in form.items()}
    chosen = [str(v) for v in form.getall("competency")] if "competency" in form else []

    def save() -> None:
        owned_assessment(rt, author, assessment_id)  # another organisation's: 404 first
        service.save_achievement(rt, author, assessment_id, spec_from_form(fields, chosen))

    try:
        await rt.call(save)
    except InvalidInputError as exc:
        context = await rt.call(_credential_context, rt, author, assessment_id)
        context["problems"] = exc.problems or [exc.detail]
        context["form"] = fields
        return Template("author/credential.html", context=context, status_code=422)
    return Redirect(path=f"/author/assessments/{assessment_id}/credential", status_code=303)


@post(
    "/author/credentials/{credential_id:str}/revoke",
    name="author_revoke",
    opt={"action": "credential.revoke"},
)
async def revoke(
    request: Request[Any, Any, Any],
    credential_id: FromPath[str],
    rt: RuntimeDependency,
    author: AuthorDependency,
) -> Redirect:
    """Revoke a credential; verification says revoked from now on."""
    form = await request.form()
    record = await rt.call(service.revoke, rt, author, credential_id, str(form.get("reason") or ""))
    return Redirect(path=f"/author/assessments/{record.assessment_id}/credential", status_code=303)


@get("/author/webhooks", name="author_webhooks", opt={"action": "webhook.read"})
async def webhooks_page(rt: RuntimeDependency, author: AuthorDependency) -> Template | Redirect:
    """The author's endpoints and the form to add one."""
    endpoints = await rt.call(webhooks.list_endpoints, rt, author)
    return Template(
        "author/webhooks.html",
        context={
            "endpoints": endpoints,
            "events": webhook_store.EVENT_TYPES,
            "problems": [],
            "created": None,
        },
    )


@post("/author/webhooks", name="author_webhooks_create", opt={"action": "webhook.manage"})
async def webhooks_create(
    request: Request[Any, Any, Any], rt: RuntimeDependency, author: AuthorDependency
) -> Template | Redirect:
    """Add an endpoint and show its secret, once."""
    form = await request.form()
    events = [str(v) for v in form.getall("event_types")] if "event_types" in form else []

    def create() -> webhooks.EndpointCreated:
        return webhooks.create(
            rt,
            author,
            webhooks.EndpointCreate(
                url=str(form.get("url") or "").strip() or "https://",
                event_types=webhooks.parse_events(events),
                description=str(form.get("description") or "")[:200],
            ),
        )

    problems: list[str] = []
    created = None
    try:
        created = await rt.call(create)
    except InvalidInputError as exc:
        problems = exc.problems or [exc.detail]
    except msgspec.ValidationError as exc:
        problems = [str(exc)]
    endpoints = await rt.call(webhooks.list_endpoints, rt, author)
    return Template(
        "author/webhooks.html",
        context={
            "endpoints": endpoints,
            "events": webhook_store.EVENT_TYPES,
            "problems": problems,
            "created": created,
        },
        status_code=422 if problems else 201,
    )


@get("/author/webhooks/{endpoint_id:str}", name="author_webhook", opt={"action": "webhook.read"})
async def webhook_page(
    endpoint_id: FromPath[str], rt: RuntimeDependency, author: AuthorDependency
) -> Template | Redirect:
    """An endpoint: why it is disabled (if it is), its messages and their attempts."""

    def load() -> dict[str, Any]:
        found = webhooks.detail(rt, author, endpoint_id)
        logs = {
            m.id: webhooks.message_detail(rt, author, endpoint_id, m.id).attempts
            for m in found.messages[:30]
        }
        return {"detail": found, "logs": logs}

    return Template("author/webhook.html", context=await rt.call(load))


@post(
    "/author/webhooks/{endpoint_id:str}/status",
    name="author_webhook_status",
    opt={"action": "webhook.manage"},
)
async def webhook_status(
    request: Request[Any, Any, Any],
    endpoint_id: FromPath[str],
    rt: RuntimeDependency,
    author: AuthorDependency,
) -> Redirect:
    """Enable or disable an endpoint."""
    form = await request.form()
    status = "disabled" if form.get("status") == "disabled" else "active"
    await rt.call(webhooks.set_status, rt, author, endpoint_id, status)
    return Redirect(path=f"/author/webhooks/{endpoint_id}", status_code=303)


@post(
    "/author/webhooks/{endpoint_id:str}/messages/{message_id:str}/redeliver",
    name="author_webhook_redeliver",
    opt={"action": "webhook.manage"},
)
async def webhook_redeliver(
    endpoint_id: FromPath[str],
    message_id: FromPath[str],
    rt: RuntimeDependency,
    author: AuthorDependency,
) -> Redirect:
    """Send a message again (same webhook-id)."""
    await rt.call(webhooks.redeliver, rt, author, endpoint_id, message_id)
    return Redirect(path=f"/author/webhooks/{endpoint_id}", status_code=303)


author_credentials_router = Router(
    guards=[authorize],
    path="/",
    route_handlers=[
        credential_page,
        credential_save,
        revoke,
        webhooks_page,
        webhooks_create,
        webhook_page,
        webhook_status,
        webhook_redeliver,
    ],
    include_in_schema=False,
    dependencies=AUTHOR_PAGE_DEPENDENCIES,
)
