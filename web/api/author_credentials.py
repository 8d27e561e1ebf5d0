"""Author API for achievements, credentials (revocation) and webhook endpoints."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Router, get, post, put
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from web.api.author import _author
from web.authoring import owned_assessment
from web.credentials import service
from web.credentials.awards import issuer_of
from web.credentials.ob3 import AchievementSpec
from web.errors import NotFoundError
from web.orgs.guard import authorize
from web.pages.learner import runtime
from web.problems import with_problem_responses
from web.store import credentials as credential_store
from web.webhooks import service as webhooks
from web.webhooks.service import EndpointCreate, EndpointCreated, EndpointDetail, MessageDetail


class AchievementView(msgspec.Struct, frozen=True, kw_only=True):
    """An assessment's achievement and its public URL."""

    id: str
    url: str
    definition: AchievementSpec


class CredentialSummary(msgspec.Struct, frozen=True, kw_only=True):
    """An issued credential as listed to its author."""

    id: str
    url: str
    recipient_name: str | None
    recipient_email: str | None
    issued_at: str
    valid_until: str | None
    revoked_at: str | None
    revocation_reason: str | None


class RevokeRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Why a credential is revoked (shown to whoever verifies it)."""

    reason: str = ""


def _summary(record: credential_store.CredentialRecord, url: str) -> CredentialSummary:
    return CredentialSummary(
        id=record.id,
        url=url,
        recipient_name=record.recipient_name,
        recipient_email=record.recipient_email,
        issued_at=record.issued_at.isoformat(),
        valid_until=record.valid_until.isoformat() if record.valid_until else None,
        revoked_at=record.revoked_at.isoformat() if record.revoked_at else None,
        revocation_reason=record.revocation_reason,
    )


@get("/assessments/{assessment_id:str}/achievement", opt={"action": "assessment.read"})
async def get_achievement(
    state: State, request: Request[Any, Any, Any], assessment_id: FromPath[str]
) -> AchievementView:
    """The assessment's achievement."""
    rt = runtime(state)

    def load() -> AchievementView:

        owned_assessment(rt, _author(rt, request), assessment_id)
        record = service.achievement_of(rt, assessment_id)
        if record is None:
            raise NotFoundError("this assessment has no achievement")
        return AchievementView(
            id=record.id, url=issuer_of(rt).achievement_url(record.id), definition=record.spec
        )

    return await rt.call(load)


@put("/assessments/{assessment_id:str}/achievement", opt={"action": "assessment.manage"})
async def put_achievement(
    state: State,
    request: Request[Any, Any, Any],
    assessment_id: FromPath[str],
    data: JSONBody[AchievementSpec],
) -> AchievementView:
    """Define or change the achievement (credentials issued earlier keep theirs)."""
    rt = runtime(state)

    def save() -> AchievementView:

        record = service.save_achievement(rt, _author(rt, request), assessment_id, data)
        return AchievementView(
            id=record.id, url=issuer_of(rt).achievement_url(record.id), definition=record.spec
        )

    return await rt.call(save)


@get("/assessments/{assessment_id:str}/credentials", opt={"action": "credential.read"})
async def list_credentials(
    state: State, request: Request[Any, Any, Any], assessment_id: FromPath[str]
) -> list[CredentialSummary]:
    """The credentials issued for an assessment, newest first."""
    rt = runtime(state)

    def load() -> list[CredentialSummary]:

        owned_assessment(rt, _author(rt, request), assessment_id)
        with rt.db.read() as conn:
            records = credential_store.for_assessment(conn, assessment_id)
        issuer = issuer_of(rt)
        return [_summary(r, issuer.credential_url(r.id)) for r in records]

    return await rt.call(load)


@post(
    "/credentials/{credential_id:str}/revoke", opt={"action": "credential.revoke"}, status_code=200
)
async def revoke_credential(
    state: State,
    request: Request[Any, Any, Any],
    credential_id: FromPath[str],
    data: JSONBody[RevokeRequest | None] = None,
) -> CredentialSummary:
    """Revoke a credential: its status list bit is set, ``credential.revoked`` is sent."""
    rt = runtime(state)

    def run() -> CredentialSummary:

        record = service.revoke(
            rt, _author(rt, request), credential_id, (data or RevokeRequest()).reason
        )
        return _summary(record, issuer_of(rt).credential_url(record.id))

    return await rt.call(run)


@get("/webhooks", opt={"action": "webhook.read"})
async def list_webhooks(state: State, request: Request[Any, Any, Any]) -> list[Any]:
    """The author's webhook endpoints."""
    rt = runtime(state)
    return await rt.call(lambda: webhooks.list_endpoints(rt, _author(rt, request)))


@post("/webhooks", status_code=201, opt={"action": "webhook.manage"})
async def create_webhook(
    state: State, request: Request[Any, Any, Any], data: JSONBody[EndpointCreate]
) -> EndpointCreated:
    """Add an endpoint; the reply holds its ``whsec_`` secret, shown this once."""
    rt = runtime(state)
    return await rt.call(lambda: webhooks.create(rt, _author(rt, request), data))


@get("/webhooks/{endpoint_id:str}", opt={"action": "webhook.read"})
async def get_webhook(
    state: State, request: Request[Any, Any, Any], endpoint_id: FromPath[str]
) -> EndpointDetail:
    """An endpoint: status (and why it was disabled), counts, newest messages."""
    rt = runtime(state)
    return await rt.call(lambda: webhooks.detail(rt, _author(rt, request), endpoint_id))


@post("/webhooks/{endpoint_id:str}/enable", opt={"action": "webhook.manage"}, status_code=200)
async def enable_webhook(
    state: State, request: Request[Any, Any, Any], endpoint_id: FromPath[str]
) -> EndpointDetail:
    """Enable a disabled endpoint again."""
    rt = runtime(state)

    def run() -> EndpointDetail:
        author = _author(rt, request)
        webhooks.set_status(rt, author, endpoint_id, "active")
        return webhooks.detail(rt, author, endpoint_id)

    return await rt.call(run)


@get("/webhooks/{endpoint_id:str}/messages/{message_id:str}", opt={"action": "webhook.read"})
async def get_message(
    state: State,
    request: Request[Any, Any, Any],
    endpoint_id: FromPath[str],
    message_id: FromPath[str],
) -> MessageDetail:
    """A message with every delivery attempt (time, status, latency, response excerpt)."""
    rt = runtime(state)
    return await rt.call(
        lambda: webhooks.message_detail(rt, _author(rt, request), endpoint_id, message_id)
    )


@post(
    "/webhooks/{endpoint_id:str}/messages/{message_id:str}/redeliver",
    status_code=202,
    opt={"action": "webhook.manage"},
)
async def redeliver(
    state: State,
    request: Request[Any, Any, Any],
    endpoint_id: FromPath[str],
    message_id: FromPath[str],
) -> MessageDetail:
    """Send a message again, with the same ``webhook-id``."""
    rt = runtime(state)

    def run() -> MessageDetail:
        author = _author(rt, request)
        webhooks.redeliver(rt, author, endpoint_id, message_id)
        return webhooks.message_detail(rt, author, endpoint_id, message_id)

    return await rt.call(run)


author_credentials_api = Router(
    guards=[authorize],
    path="/api/v1/author",
    route_handlers=with_problem_responses(
        [
            get_achievement,
            put_achievement,
            list_credentials,
            revoke_credential,
            list_webhooks,
            create_webhook,
            get_webhook,
            enable_webhook,
            get_message,
            redeliver,
        ]
    ),
    tags=["author"],
)
