"""Learner pages for emailed links: confirm an email address, and come back to one's results.

``/email/{token}`` and ``/me/{token}`` show what the link will do with a button; the POST
uses the link (once). An expired, used or unknown link gets a page that says which, in
plain words, with the form for a new link. ``/me`` is that form.

Using a results link shows the learner's record (every session, result and credential) and
opens a record grant (:mod:`web.learner_record`): ``/me/record/{grant}`` shows the record
again for an hour, with its downloads ``clr.json`` (a signed CLR 2.0 ClrCredential) and
``presentation.json`` (a Verifiable Presentation of it).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template

from web import learner_record, verification
from web.pages.learner import runtime
from web.store.links import LinkError

LINK_PROBLEMS = {
    "expired": (
        410,
        "This link has expired",
        "Links work for a limited time, so that an old mail cannot be used by someone else.",
    ),
    "used": (
        410,
        "This link was already used",
        "Each link works once. If you used it, you are done; otherwise ask for a new one.",
    ),
    "unknown": (
        404,
        "This link is not valid",
        "It may be incomplete: check that the whole address was copied from the mail.",
    ),
}


def _problem(error: LinkError) -> Template:
    status, title, detail = LINK_PROBLEMS[error.reason]
    return Template(
        "link_problem.html",
        context={"title": title, "detail": detail, "reason": error.reason},
        status_code=status,
    )


def _client(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


@get("/email/{token:str}", name="email_link")
async def email_link(state: State, token: FromPath[str]) -> Template:
    """What the verification link does, and the button that uses it."""
    rt = runtime(state)
    try:
        link = await rt.call(verification.check, rt, token)
    except LinkError as exc:
        return _problem(exc)
    return Template("link_confirm.html", context={"link": link, "action": f"/email/{token}"})


@post("/email/{token:str}", name="email_link_use")
async def email_link_use(state: State, token: FromPath[str]) -> Template | Redirect:
    """Use the verification link: the email is verified; a waiting credential is issued."""
    rt = runtime(state)
    try:
        used = await rt.call(verification.use, rt, token)
    except LinkError as exc:
        return _problem(exc)
    return Redirect(path=f"/s/{used.session_id}/result?verified=1", status_code=303)


@get("/me", name="my_results")
async def my_results_form(state: State) -> Template:
    """The form: send me a link to my results."""
    del state
    return Template("my_results_request.html", context={"sent": None, "error": None})


@post("/me", name="my_results_send")
async def my_results_send(state: State, request: Request[Any, Any, Any]) -> Template:
    """Mail a results link (the page says the same whether or not the address is known)."""
    rt = runtime(state)
    form = await request.form()
    email = str(form.get("email") or "").strip()
    if "@" not in email or len(email) > 320 or " " in email:
        return Template(
            "my_results_request.html",
            context={
                "sent": None,
                "error": "Enter the email address you gave, like name@example.org.",
            },
            status_code=422,
        )
    await rt.call(verification.send_results_link, rt, email, _client(request))
    return Template("my_results_request.html", context={"sent": email, "error": None})


@get("/me/{token:str}", name="my_results_link")
async def my_results_link(state: State, token: FromPath[str]) -> Template:
    """What the results link does, and the button that uses it."""
    rt = runtime(state)
    try:
        link = await rt.call(verification.check, rt, token)
    except LinkError as exc:
        return _problem(exc)
    return Template("link_confirm.html", context={"link": link, "action": f"/me/{token}"})


@post("/me/{token:str}", name="my_results_use")
async def my_results_use(state: State, token: FromPath[str]) -> Template:
    """Use the results link: list the address's sessions and credentials."""
    rt = runtime(state)
    try:
        used = await rt.call(verification.use, rt, token)
    except LinkError as exc:
        return _problem(exc)
    grant = await rt.call(learner_record.open_grant, rt, used.email)
    return await _record_page(state, grant, used.email)


async def _record_page(state: State, grant: str, email: str) -> Template:
    rt = runtime(state)
    record = await rt.call(learner_record.record_of, rt, email)
    return Template(
        "my_results.html",
        context={
            "record": record,
            "grant": grant,
            "minutes": learner_record.RECORD_MINUTES,
        },
    )


@get("/me/record/{grant:str}", name="my_record")
async def my_record(state: State, grant: FromPath[str]) -> Template:
    """The learner's record again, while the grant lasts."""
    rt = runtime(state)
    try:
        link = await rt.call(learner_record.check_grant, rt, grant)
    except LinkError as exc:
        return _problem(exc)
    return await _record_page(state, grant, link.email)


def _download(document: dict[str, Any], filename: str) -> Response[bytes]:
    return Response(
        content=msgspec.json.format(msgspec.json.encode(document), indent=2),
        media_type="application/ld+json",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


@get("/me/record/{grant:str}/clr.json", name="my_record_clr")
async def my_record_clr(state: State, grant: FromPath[str]) -> Response[bytes] | Template:
    """The record as a signed CLR 2.0 ClrCredential (a download)."""
    rt = runtime(state)
    try:
        link = await rt.call(learner_record.check_grant, rt, grant)
    except LinkError as exc:
        return _problem(exc)
    document = await rt.call(learner_record.clr_document, rt, link.email)
    return _download(document, "learner-record-clr.json")


@get("/me/record/{grant:str}/presentation.json", name="my_record_presentation")
async def my_record_presentation(state: State, grant: FromPath[str]) -> Response[bytes] | Template:
    """The signed record in a Verifiable Presentation (a download to hand to an employer)."""
    rt = runtime(state)
    try:
        link = await rt.call(learner_record.check_grant, rt, grant)
    except LinkError as exc:
        return _problem(exc)
    document = await rt.call(learner_record.presentation_document, rt, link.email)
    return _download(document, "learner-record-presentation.json")


learner_links_router = Router(
    path="/",
    route_handlers=[
        email_link,
        email_link_use,
        my_results_form,
        my_results_send,
        my_results_link,
        my_results_use,
        my_record,
        my_record_clr,
        my_record_presentation,
    ],
    include_in_schema=False,
)
