"""Author API under ``/api/v1/author``, authenticated with ``Authorization: Bearer <token>``."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Router, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Response, Stream

from web import authoring
from web.bank_export import ExportFormat, export_version
from web.errors import UnauthorizedError
from web.orgs.guard import authorize, member_in_scope
from web.pages.learner import runtime
from web.problems import with_problem_responses
from web.runtime import Runtime
from web.security import bearer_token
from web.store import assessments as assessment_store
from web.store import banks as bank_store
from web.store.authors import Member


def _author(rt: Runtime, request: Request[Any, Any, Any]) -> Member:
    resolved, member = member_in_scope(request.scope)
    if resolved and member is not None:
        return member
    token = bearer_token(request)
    if token is None:
        raise UnauthorizedError("send Authorization: Bearer <author token>")
    return authoring.authenticate(rt, token)


@get("/banks", opt={"action": "bank.read"})
async def list_banks(state: State, request: Request[Any, Any, Any]) -> list[bank_store.BankVersion]:
    """Every stored bank version, newest first."""
    rt = runtime(state)

    def load() -> list[bank_store.BankVersion]:
        author = _author(rt, request)
        with rt.db.read() as conn:
            return bank_store.list_versions(conn, author.org_id)

    return await rt.call(load)


@post(
    "/banks", status_code=201, opt={"action": "bank.upload"}, request_max_body_size=64 * 1024 * 1024
)
async def upload_bank(
    state: State, request: Request[Any, Any, Any], filename: FromQuery[str]
) -> authoring.BankUploaded:
    """Upload a bank file as the raw request body.

    ``filename`` (``.json``/``.yaml``) names its format. Validation problems come back
    located, and nothing is stored.
    """
    rt = runtime(state)
    body = await request.body()
    return await rt.call(lambda: authoring.upload_bank(rt, _author(rt, request), filename, body))


@get("/banks/{digest:str}/export", opt={"action": "bank.export"})
async def export_bank(
    state: State,
    request: Request[Any, Any, Any],
    digest: FromPath[str],
    fmt: Annotated[ExportFormat, QueryParameter(name="format")] = "qti",
) -> Response[bytes]:
    """The version as a file: ``format=qti`` (QTI 3.0 package with its media), ``json``, ``yaml``.

    ``Skillgauge-Not-Carried`` counts what the format could not carry (the bank page lists it).
    """
    rt = runtime(state)
    exported = await rt.call(lambda: export_version(rt, _author(rt, request), digest, fmt))
    return Response(
        exported.data,
        media_type=exported.media_type,
        headers={
            "content-disposition": f'attachment; filename="{exported.filename}"',
            "skillgauge-not-carried": str(len(exported.notes)),
        },
    )


@get("/assessments", opt={"action": "assessment.read"})
async def list_assessments(
    state: State, request: Request[Any, Any, Any]
) -> list[authoring.AssessmentSummary]:
    """The author's assessments."""
    rt = runtime(state)

    def load() -> list[authoring.AssessmentSummary]:
        author = _author(rt, request)
        with rt.db.read() as conn:
            return [
                authoring.summary(rt, a)
                for a in assessment_store.list_assessments(conn, org_id=author.org_id)
            ]

    return await rt.call(load)


@post("/assessments", status_code=201, opt={"action": "assessment.manage"})
async def create_assessment(
    state: State, request: Request[Any, Any, Any], data: JSONBody[authoring.AssessmentCreate]
) -> authoring.AssessmentCreated:
    """Create an assessment from a bank version and a policy (checked against the bank).

    ``warnings`` says, in plain words, what simulating the policy on the bank found: a
    precision target few sessions reach before the maximum length, sessions that all
    start with the same question.
    """
    rt = runtime(state)
    return await rt.call(
        lambda: authoring.created(rt, authoring.create_assessment(rt, _author(rt, request), data))
    )


@get("/assessments/{assessment_id:str}", opt={"action": "assessment.read"})
async def assessment_overview(
    state: State, request: Request[Any, Any, Any], assessment_id: FromPath[str]
) -> authoring.AssessmentOverview:
    """Sessions and per-item statistics (exposure, proportion correct, mean ability)."""
    rt = runtime(state)
    return await rt.call(lambda: authoring.overview(rt, _author(rt, request), assessment_id))


@get(
    "/assessments/{assessment_id:str}/responses.csv",
    opt={"action": "responses.export"},
    media_type="text/csv",
)
async def export_responses(
    state: State, request: Request[Any, Any, Any], assessment_id: FromPath[str]
) -> Stream:
    """The responses as long CSV: ``person_id,item_id,response`` plus covariates."""
    rt = runtime(state)
    chunks = await rt.call(
        lambda: authoring.export_responses(rt, _author(rt, request), assessment_id)
    )
    return Stream(chunks, media_type="text/csv; charset=utf-8")


author_api = Router(
    guards=[authorize],
    path="/api/v1/author",
    route_handlers=with_problem_responses(
        [
            list_banks,
            upload_bank,
            export_bank,
            list_assessments,
            create_assessment,
            assessment_overview,
            export_responses,
        ]
    ),
    tags=["author"],
)
