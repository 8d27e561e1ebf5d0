"""Learner API: a stateless session API keyed by the unguessable session id."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from web import did_control, learning
from web.pages.learner import runtime
from web.problems import with_problem_responses
from web.report import ReportView, build_report
from web.views import AnswerOutcome, AnswerRequest, PracticeRequest, SessionView, StartRequest


@post("/assessments/{assessment_id:str}/sessions", status_code=201)
async def create_session(
    state: State,
    request: Request[Any, Any, Any],
    assessment_id: FromPath[str],
    data: JSONBody[StartRequest | None] = None,
) -> SessionView:
    """Start a session.

    The reply holds its id (keep it: it is the key to the session) and the first question.
    """
    rt = runtime(state)
    client = request.client.host if request.client else "unknown"
    body = data or StartRequest()

    def start() -> SessionView:
        session_id = learning.start_session(
            rt, assessment_id, client=client, name=body.name, email=body.email, did=body.did
        )
        return learning.view_session(rt, session_id)

    return await rt.call(start)


@get("/sessions/{session_id:str}")
async def get_session(state: State, session_id: FromPath[str]) -> SessionView:
    """The session: its current question, progress, or its result."""
    rt = runtime(state)
    return await rt.call(learning.view_session, rt, session_id)


@post("/sessions/{session_id:str}/responses", status_code=200)
async def post_response(
    state: State, session_id: FromPath[str], data: JSONBody[AnswerRequest]
) -> AnswerOutcome:
    """Answer the current question: returns the feedback and the next question, or the result.

    In ``practice`` mode a wrong first try returns ``practice`` (a hint) instead of the
    feedback; send the second try with ``"attempt": 2``.
    """
    rt = runtime(state)
    return await rt.call(
        lambda: learning.submit_answer(
            rt,
            session_id,
            item_id=data.item_id,
            position=data.position,
            answer=data.answer,
            attempt=data.attempt,
        )
    )


@post("/sessions/{session_id:str}/hints", status_code=200)
async def post_hint(
    state: State, session_id: FromPath[str], data: JSONBody[PracticeRequest]
) -> SessionView:
    """Practice mode, after a wrong first try: show one more hint (``session.practice``)."""
    rt = runtime(state)
    return await rt.call(
        lambda: learning.next_hint(rt, session_id, item_id=data.item_id, position=data.position)
    )


@post("/sessions/{session_id:str}/reveal", status_code=200)
async def post_reveal(
    state: State, session_id: FromPath[str], data: JSONBody[PracticeRequest]
) -> AnswerOutcome:
    """Practice mode, after a wrong first try: skip the second try; returns the feedback."""
    rt = runtime(state)
    return await rt.call(
        lambda: learning.reveal_answer(rt, session_id, item_id=data.item_id, position=data.position)
    )


@get("/sessions/{session_id:str}/report")
async def get_report(state: State, session_id: FromPath[str]) -> ReportView:
    """The competency report of a finished session (409 before the end)."""
    rt = runtime(state)
    return await rt.call(build_report, rt, session_id)


@post("/sessions/{session_id:str}/did/challenge", status_code=201)
async def post_did_challenge(state: State, session_id: FromPath[str]) -> did_control.Challenge:
    """A single-use challenge (10 minutes) to sign with the key of the session's did:key.

    Sign a compact JWS whose protected header has ``alg`` and ``kid`` as given and whose
    payload is ``{"nonce", "aud", "sub"}`` as given, and send it to ``/did/proof``.
    """
    rt = runtime(state)
    return await rt.call(did_control.new_challenge, rt, session_id)


@post("/sessions/{session_id:str}/did/proof", status_code=200)
async def post_did_proof(
    state: State, session_id: FromPath[str], data: JSONBody[did_control.DidProof]
) -> did_control.DidControl:
    """Prove control of the session's DID: the credential then names the learner by it.

    A refusal (422) says which part is wrong: the signature, the nonce (unknown, used or
    expired), the DID, the audience, the subject or the JWS itself.
    """
    rt = runtime(state)
    return await rt.call(did_control.prove, rt, session_id, data.jws)


learner_api = Router(
    path="/api/v1",
    route_handlers=with_problem_responses(
        [
            create_session,
            get_session,
            post_response,
            post_hint,
            post_reveal,
            get_report,
            post_did_challenge,
            post_did_proof,
        ]
    ),
    tags=["learner"],
)
