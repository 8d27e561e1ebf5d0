"""Author API for integrity evidence and held awards (the JSON twin of the author pages)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Router, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from web import reviews
from web.api.author import _author
from web.orgs.guard import authorize
from web.pages.learner import runtime
from web.problems import with_problem_responses


class RefuseRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Why a held award is refused (sent in ``award.refused``)."""

    note: Annotated[str, Meta(max_length=reviews.NOTE_LIMIT)] = ""


class Released(msgspec.Struct, frozen=True, kw_only=True):
    """The credential issued on release (None while it waits for the learner's email)."""

    credential_url: str | None


@get("/assessments/{assessment_id:str}/integrity", opt={"action": "integrity.read"})
async def list_integrity(
    state: State, request: Request[Any, Any, Any], assessment_id: FromPath[str]
) -> list[reviews.SessionIntegrity]:
    """Finished sessions with their integrity decision; held awards first."""
    rt = runtime(state)
    return await rt.call(
        lambda: reviews.integrity_sessions(rt, _author(rt, request), assessment_id)
    )


@get("/assessments/{assessment_id:str}/integrity/{person:str}", opt={"action": "integrity.read"})
async def session_integrity(
    state: State,
    request: Request[Any, Any, Any],
    assessment_id: FromPath[str],
    person: FromPath[str],
) -> reviews.SessionEvidence:
    """One session's evidence (every check, value, threshold, reason) and its award."""
    rt = runtime(state)
    return await rt.call(
        lambda: reviews.session_evidence(rt, _author(rt, request), assessment_id, person)
    )


@post(
    "/assessments/{assessment_id:str}/integrity/{person:str}/release",
    status_code=200,
    opt={"action": "award.decide"},
)
async def release(
    state: State,
    request: Request[Any, Any, Any],
    assessment_id: FromPath[str],
    person: FromPath[str],
) -> Released:
    """Release a held award: the credential and ``credential.issued``, once (409 after)."""
    rt = runtime(state)
    return await rt.call(
        lambda: Released(
            credential_url=reviews.release(rt, _author(rt, request), assessment_id, person)
        )
    )


@post(
    "/assessments/{assessment_id:str}/integrity/{person:str}/refuse",
    status_code=200,
    opt={"action": "award.decide"},
)
async def refuse(
    state: State,
    request: Request[Any, Any, Any],
    assessment_id: FromPath[str],
    person: FromPath[str],
    data: JSONBody[RefuseRequest | None] = None,
) -> reviews.SessionEvidence:
    """Refuse a held award: ``award.refused`` is sent, once (409 after)."""
    rt = runtime(state)

    def run() -> reviews.SessionEvidence:
        author = _author(rt, request)
        reviews.refuse(rt, author, assessment_id, person, (data or RefuseRequest()).note)
        return reviews.session_evidence(rt, author, assessment_id, person)

    return await rt.call(run)


author_integrity_api = Router(
    guards=[authorize],
    path="/api/v1/author",
    route_handlers=with_problem_responses([list_integrity, session_integrity, release, refuse]),
    tags=["author"],
)
