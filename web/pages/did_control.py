"""The learner page that proves control of the session's DID (works without JavaScript).

``/s/{session}/did`` says what the session's DID is and whether its control is proven;
its button (POST ``/did/challenge``) shows a fresh challenge to sign, and the form (POST
``/did/proof``) takes the pasted compact JWS. A refusal shows the page again with the
reason next to the field, and the pasted text kept.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template

from web import did_control, learning
from web.pages.learner import runtime
from web.views import SessionView


async def _page(
    state: State,
    session_id: str,
    *,
    challenge: did_control.Challenge | None = None,
    error: did_control.DidControlError | None = None,
    pasted: str = "",
    status_code: int = 200,
) -> Template:
    rt = runtime(state)
    did_state = await rt.call(did_control.state_of, rt, session_id)
    view: SessionView = await rt.call(learning.view_session, rt, session_id)
    return Template(
        "did_control.html",
        context={
            "session_id": session_id,
            "session": view,
            "state": did_state,
            "challenge": challenge,
            "error": error,
            "pasted": pasted,
            "max_jws": did_control.MAX_JWS,
        },
        status_code=status_code,
    )


@get("/s/{session_id:str}/did", name="did_control")
async def did_page(state: State, session_id: FromPath[str]) -> Template:
    """The session's DID, whether its control is proven, and how to prove it."""
    return await _page(state, session_id)


@post("/s/{session_id:str}/did/challenge", name="did_challenge")
async def did_challenge(state: State, session_id: FromPath[str]) -> Template:
    """A fresh challenge to sign, shown once (only its keyed hash is stored)."""
    rt = runtime(state)
    try:
        challenge = await rt.call(did_control.new_challenge, rt, session_id)
    except did_control.DidControlError as exc:
        return await _page(state, session_id, error=exc, status_code=422)
    return await _page(state, session_id, challenge=challenge)


@post("/s/{session_id:str}/did/proof", name="did_proof")
async def did_proof(
    state: State, request: Request[Any, Any, Any], session_id: FromPath[str]
) -> Template | Redirect:
    """Check the pasted JWS; on success the page says control is proven."""
    rt = runtime(state)
    form = await request.form()
    pasted = str(form.get("jws") or "")[: did_control.MAX_JWS + 1]
    try:
        await rt.call(did_control.prove, rt, session_id, pasted)
    except did_control.DidControlError as exc:
        return await _page(state, session_id, error=exc, pasted=pasted, status_code=422)
    return Redirect(path=f"/s/{session_id}/did", status_code=303)


did_router = Router(
    path="/",
    route_handlers=[did_page, did_challenge, did_proof],
    include_in_schema=False,
)
