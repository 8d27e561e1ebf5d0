"""Credential pages: the learner's certificate page, the evidence summary, public verification.

Server-rendered and usable without JavaScript; the verification status on the credential
page is computed anew on every load (proof, issuer, dates, the current status list).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.datastructures import State, UploadFile
from litestar.params import FromPath
from litestar.response import Template

from web import learner_record
from web.credentials import service
from web.credentials.awards import issuer_of
from web.credentials.verify import Report, summarize
from web.errors import InvalidInputError, NotFoundError
from web.pages.learner import runtime
from web.runtime import Runtime
from web.store import sessions as session_store
from web.store.credentials import CredentialRecord
from web.views import result_view

MAX_CREDENTIAL_FILE = 512 * 1024


def linkedin_url(record: CredentialRecord, achievement: str, organization: str, page: str) -> str:
    """LinkedIn's add-to-profile link for the Licenses & certifications section."""
    return learner_record.linkedin_url(
        name=achievement,
        organization=organization,
        issued_at=record.issued_at,
        valid_until=record.valid_until,
        page=page,
        credential_id=record.id,
    )


def _page_context(rt: Runtime, credential_id: str) -> dict[str, Any]:
    record = service.get_credential(rt, credential_id)
    report = service.verify_given(rt, record.document)
    issuer = issuer_of(rt)
    summary = summarize(record.document)
    page = issuer.credential_url(record.id)
    image = record.document["credentialSubject"]["achievement"].get("image", {}).get("id", "")
    if not image.startswith(("data:image/", issuer.base_url + "/")):
        image = issuer.achievement_image_url(record.achievement_id)  # the page shows our own
    return {
        "record": record,
        "summary": summary,
        "report": report,
        "page_url": page,
        "image": image,
        "image_path": issuer.local_path(image) or image,
        "linkedin": linkedin_url(record, summary.achievement or "", issuer.name, page),
        "criteria": record.document["credentialSubject"]["achievement"]
        .get("criteria", {})
        .get("narrative"),
    }


@get("/credentials/{credential_id:str}", name="credential")
async def credential(
    state: State, request: Request[Any, Any, Any], credential_id: FromPath[str]
) -> Response[Any] | Template:
    """The credential: JSON-LD for programs, its page for browsers."""
    rt = runtime(state)
    wanted = request.accept.best_match(["application/ld+json", "application/json", "text/html"])
    if wanted != "text/html":
        record = await rt.call(service.get_credential, rt, credential_id)
        return Response(
            content=msgspec.json.encode(record.document),
            media_type="application/ld+json",
            headers={"access-control-allow-origin": "*", "vary": "accept"},
        )
    context = await rt.call(_page_context, rt, credential_id)
    return Template("credential.html", context=context, headers={"vary": "accept"})


@get("/credentials/{credential_id:str}/evidence", name="credential_evidence")
async def evidence(state: State, credential_id: FromPath[str]) -> Template:
    """The session summary a credential links as evidence (no session key is shown)."""
    rt = runtime(state)

    def load() -> dict[str, Any]:
        record = service.get_credential(rt, credential_id)
        with rt.db.read() as conn:
            session = session_store.load_session(conn, record.session_id)
            if session is None or session.result is None:
                raise NotFoundError("no session summary for this credential")
            assessment = rt.assessment(conn, session.assessment_id)
            compiled = rt.compiled(conn, assessment.bank_hash)
        return {
            "record": record,
            "summary": summarize(record.document),
            "assessment": assessment,
            "session": session,
            "result": result_view(compiled, session.result),
        }

    return Template("evidence.html", context=await rt.call(load))


@get("/verify", name="verify_page")
async def verify_page() -> Template:
    """Paste a credential URL or upload a credential file."""
    return Template("verify.html", context={"report": None, "error": None, "url": ""})


@post("/verify", name="verify_submit", request_max_body_size=2 * MAX_CREDENTIAL_FILE)
async def verify_submit(state: State, request: Request[Any, Any, Any]) -> Template:
    """Verify what was pasted or uploaded and say, in plain words, what it is."""
    rt = runtime(state)
    form = await request.form()
    url = str(form.get("url") or "").strip()
    upload = form.get("file")
    data = b""
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read()
    pasted = str(form.get("credential") or "").strip()

    def run() -> Report:
        if data:
            if len(data) > MAX_CREDENTIAL_FILE:
                raise InvalidInputError("the file is too large", ["file: larger than 512 KB"])
            return service.verify_given(rt, service.parse_upload(data))
        if pasted:
            return service.verify_given(rt, service.parse_upload(pasted.encode("utf-8")))
        if url:
            return service.verify_given(rt, service.credential_at(rt, url).document)
        raise InvalidInputError(
            "paste a credential address or choose a credential file", ["nothing to verify"]
        )

    try:
        report = await rt.call(run)
    except (InvalidInputError, NotFoundError) as exc:
        problems = exc.problems if isinstance(exc, InvalidInputError) else []
        return Template(
            "verify.html",
            context={"report": None, "error": exc.detail, "problems": problems, "url": url},
            status_code=422 if isinstance(exc, InvalidInputError) else 404,
        )
    return Template("verify.html", context={"report": report, "error": None, "url": url})


credential_pages = Router(
    path="/",
    route_handlers=[credential, evidence, verify_page, verify_submit],
    include_in_schema=False,
)
