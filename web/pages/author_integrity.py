"""Author pages for integrity evidence and held awards (and, per assessment, item security).

``/author/assessments/{id}/integrity`` lists the finished sessions with their integrity
decision, held awards first; each links to the session's evidence (every check, value,
threshold and reason), where a held award is released or refused with a CSRF-protected form.
Only the assessment's owner sees or acts (others get 404).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from engine.integrity import IntegrityChecker
from web import reviews
from web.authoring import owned_assessment
from web.credentials.awards import CHECK_NAMES
from web.errors import ConflictError
from web.integrity import timing_of
from web.item_security import ALPHA, item_security
from web.orgs.guard import authorize
from web.pages.author import AUTHOR_PAGE_DEPENDENCIES, AuthorDependency, RuntimeDependency
from web.runtime import Runtime
from web.store.authors import Member


def _list_context(rt: Runtime, author: Member, assessment_id: str) -> dict[str, Any]:
    assessment = owned_assessment(rt, author, assessment_id)
    with rt.db.read() as conn:
        compiled = rt.compiled(conn, assessment.bank_hash)
    engine = rt.engine_session(compiled, assessment.policy)
    checker = IntegrityChecker(engine, timing_of(rt, compiled))
    config = assessment.policy.integrity
    return {
        "assessment": assessment,
        "sessions": reviews.integrity_sessions(rt, author, assessment_id),
        "notes": checker.notes(),
        "actions": {
            name: getattr(config, name).action
            for name in CHECK_NAMES  # each check's action
        },
        "names": CHECK_NAMES,
    }


@get(
    "/author/assessments/{assessment_id:str}/integrity",
    name="author_integrity",
    opt={"action": "integrity.read"},
)
async def integrity_page(
    assessment_id: FromPath[str], rt: RuntimeDependency, author: AuthorDependency
) -> Template | Redirect:
    """Each finished session's integrity decision; held awards first."""
    context = await rt.call(_list_context, rt, author, assessment_id)
    return Template("author/integrity.html", context=context)


def _session_context(
    rt: Runtime, author: Member, assessment_id: str, person: str
) -> dict[str, Any]:
    return {
        "assessment": owned_assessment(rt, author, assessment_id),
        "s": reviews.session_evidence(rt, author, assessment_id, person),
        "names": CHECK_NAMES,
        "error": None,
    }


@get(
    "/author/assessments/{assessment_id:str}/integrity/{person:str}",
    name="author_session_integrity",
    opt={"action": "integrity.read"},
)
async def session_page(
    assessment_id: FromPath[str],
    person: FromPath[str],
    rt: RuntimeDependency,
    author: AuthorDependency,
) -> Template | Redirect:
    """One session's evidence, and the decision on its held award."""
    context = await rt.call(_session_context, rt, author, assessment_id, person)
    return Template("author/session_integrity.html", context=context)


@post(
    "/author/assessments/{assessment_id:str}/integrity/{person:str}/decision",
    name="author_session_decision",
    opt={"action": "award.decide"},
)
async def decide(
    request: Request[Any, Any, Any],
    assessment_id: FromPath[str],
    person: FromPath[str],
    rt: RuntimeDependency,
    author: AuthorDependency,
) -> Template | Redirect:
    """Release or refuse a held award (each happens once; a second try says so)."""
    form = await request.form()
    action = str(form.get("decision") or "")
    note = str(form.get("note") or "")

    def act() -> None:
        owned_assessment(rt, author, assessment_id)  # another organisation's: 404 first
        if action == "release":
            reviews.release(rt, author, assessment_id, person)
        elif action == "refuse":
            reviews.refuse(rt, author, assessment_id, person, note)
        else:
            raise ConflictError("choose release or refuse")

    try:
        await rt.call(act)
    except ConflictError as exc:
        context = await rt.call(_session_context, rt, author, assessment_id, person)
        context["error"] = exc.detail[0].upper() + exc.detail[1:] + "."
        return Template("author/session_integrity.html", context=context, status_code=409)
    return Redirect(path=f"/author/assessments/{assessment_id}/integrity/{person}", status_code=303)


@get(
    "/author/assessments/{assessment_id:str}/items",
    name="author_item_security",
    opt={"action": "integrity.read"},
)
async def item_security_page(
    assessment_id: FromPath[str], rt: RuntimeDependency, author: AuthorDependency
) -> Template | Redirect:
    """Items whose live answers drift from their parameters, and over-exposed items."""
    security = await rt.call(item_security, rt, author, assessment_id)
    assessment = await rt.call(owned_assessment, rt, author, assessment_id)
    return Template(
        "author/item_security.html",
        context={"assessment": assessment, "security": security, "alpha": ALPHA},
    )


author_integrity_router = Router(
    guards=[authorize],
    path="/",
    route_handlers=[integrity_page, session_page, decide, item_security_page],
    include_in_schema=False,
    dependencies=AUTHOR_PAGE_DEPENDENCIES,
)
