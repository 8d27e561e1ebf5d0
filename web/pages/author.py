"""Author pages: token sign-in, bank upload and versions, assessments and their statistics."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from litestar import Request, Router, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter, SkipValidation
from litestar.response import Redirect, Response, Stream, Template

from engine.errors import PolicyError, PoolError
from item_banks.errors import BankValidationError
from item_banks.formats.qti3_export import not_carried
from item_banks.model import Bank
from web import authoring, markdown
from web.bank_export import ExportFormat, export_version
from web.errors import InvalidInputError, NotFoundError, SignInRequiredError, UnauthorizedError
from web.orgs.guard import authorize
from web.orgs.roles import allowed
from web.pages.learner import runtime
from web.policy_form import (
    BALANCES,
    ESTIMATORS,
    EXPOSURES,
    FEEDBACK_MODES,
    SELECTIONS,
    policy_from_form,
)
from web.runtime import Runtime
from web.security import current_author
from web.store import assessments as assessment_store
from web.store import banks as bank_store
from web.store.authors import Member, hash_token
from web.store.banks import load_bank


async def _author(rt: Runtime, request: Request[Any, Any, Any]) -> Member | None:
    return await rt.call(current_author, rt, request)


@get("/author/login", name="author_login", opt={"action": "public"})
async def login_page() -> Template:
    """The token sign-in form."""
    return Template("author/login.html", context={"error": None})


@post("/author/login", name="author_login_submit", opt={"action": "public"})
async def login(state: State, request: Request[Any, Any, Any]) -> Template | Redirect:
    """Check the token; remember the author in the encrypted session cookie."""
    rt = runtime(state)
    form = await request.form()
    token = str(form.get("token") or "")
    try:
        author = await rt.call(authoring.authenticate, rt, token)
    except UnauthorizedError as exc:
        reason = exc.detail[0].upper() + exc.detail[1:]
        hint = " Tokens start with sgt_." if "not valid" in exc.detail else ""
        return Template(
            "author/login.html",
            context={"error": f"{reason}.{hint}"},
            status_code=401,
        )
    request.set_session({"author_id": author.id, "token": hash_token(token.strip())})
    return Redirect(path="/author", status_code=303)


@post("/author/logout", name="author_logout", opt={"action": "public"})
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    """Forget the author."""
    request.clear_session()
    return Redirect(path="/author/login", status_code=303)


async def signed_in_author(state: State, request: Request[Any, Any, Any]) -> Member:
    """The author behind a page request (dependency ``author``).

    Raises :class:`~web.errors.SignInRequiredError`, which the error handler turns into a
    redirect to the sign-in page.
    """
    rt = runtime(state)
    author = await _author(rt, request)
    if author is None:
        raise SignInRequiredError("sign in as an author first")
    return author


def page_runtime(state: State) -> Runtime:
    """The process's runtime (dependency ``rt``)."""
    return runtime(state)


#: Dependencies of every author page: ``author`` (signed in, or redirected) and ``rt``.
AUTHOR_PAGE_DEPENDENCIES = {
    "author": Provide(signed_in_author),
    "rt": Provide(page_runtime, sync_to_thread=False),
}
#: How a handler takes them: injected by parameter name, passed through unvalidated.
RuntimeDependency = NamedDependency[SkipValidation[Runtime]]
AuthorDependency = NamedDependency[SkipValidation[Member]]


@get("/author", name="author_home", opt={"action": "bank.read"})
async def dashboard(rt: RuntimeDependency, author: AuthorDependency) -> Template | Redirect:
    """Banks, their versions, and the author's assessments."""

    def load() -> dict[str, Any]:
        with rt.db.read() as conn:
            versions = bank_store.list_versions(conn, author.org_id)
            mine = assessment_store.list_assessments(conn, org_id=author.org_id)
        grouped: dict[str, list[bank_store.BankVersion]] = {}
        for v in versions:
            grouped.setdefault(v.bank_id, []).append(v)
        return {
            "author": author,
            "banks": grouped,
            "assessments": [authoring.summary(rt, a) for a in mine],
        }

    return Template("author/home.html", context=await rt.call(load))


@get("/author/banks/upload", name="author_upload", opt={"action": "bank.upload"})
async def upload_page(author: AuthorDependency) -> Template:
    """The bank upload form."""
    del author  # signed in: the dependency redirects anyone else to the sign-in page
    return Template("author/upload.html", context={"problems": [], "title": None})


@post(
    "/author/banks/upload",
    name="author_upload_submit",
    opt={"action": "bank.upload"},
    request_max_body_size=64 * 1024 * 1024,
)
async def upload(
    request: Request[Any, Any, Any], rt: RuntimeDependency, author: AuthorDependency
) -> Template | Redirect:
    """Validate and store an uploaded bank; on any problem show them all, store nothing."""
    form = await request.form()
    upload_file = form.get("bank")
    if not isinstance(upload_file, UploadFile) or not upload_file.filename:
        return Template(
            "author/upload.html",
            context={
                "problems": ["choose a bank file to upload"],
                "title": "No file",
            },
            status_code=422,
        )
    data = await upload_file.read()
    try:
        uploaded = await rt.call(authoring.upload_bank, rt, author, upload_file.filename, data)
    except BankValidationError as exc:
        return Template(
            "author/upload.html",
            context={
                "problems": [str(p) for p in exc.problems],
                "title": f"{upload_file.filename} was not stored: {len(exc.problems)} problem(s)",
            },
            status_code=422,
        )
    except PoolError as exc:
        return Template(
            "author/upload.html",
            context={"problems": [str(exc)], "title": f"{upload_file.filename} was not stored"},
            status_code=422,
        )
    if uploaded.skipped or uploaded.warnings:
        return Template("author/uploaded.html", context={"uploaded": uploaded}, status_code=201)
    return Redirect(path=f"/author/banks/{uploaded.hash}", status_code=303)


def _correlation_range(matrix: Any) -> tuple[float, float] | None:
    """The lowest and highest correlation between two competencies (None: no matrix)."""
    if matrix is None:
        return None
    off = matrix[~np.eye(matrix.shape[0], dtype=bool)]
    return float(off.min()), float(off.max())


def _item_rows(bank: Bank, *, with_notes: bool) -> list[dict[str, Any]]:
    """One row per item for the bank page: id, title, competency, kind, author notes (HTML)."""
    names = {c.id: c.name for c in bank.competencies}
    return [
        {
            "id": item.id,
            "title": item.title or "",
            "competency": names.get(item.competency, item.competency),
            "kind": item.interaction.__struct_config__.tag,
            "notes": markdown.render(item.notes) if with_notes and item.notes else "",
        }
        for item in bank.items
    ]


def _bank_context(rt: Runtime, author: Member, digest: str) -> dict[str, Any]:
    with rt.db.read() as conn:
        access = bank_store.access(conn, author.org_id, digest)
        version = bank_store.get_version(conn, digest) if access is not None else None
        if version is None:
            raise NotFoundError("no such bank version")
        cannot_run: str | None = None
        try:
            compiled = rt.compiled(conn, digest)
        except PoolError as exc:  # stored, but the engine cannot run it (essays only)
            bank = load_bank(conn, digest)
            if bank is None:
                raise NotFoundError("no such bank version") from None
            operational, correlations, cannot_run = 0, None, str(exc)
        else:
            bank = compiled.bank
            operational = int(compiled.pool.operational.sum())
            correlations = _correlation_range(compiled.pool.correlation)
    exportable = access != "shared_without_keys" and allowed(author.role, "bank.export")
    return {
        "version": version,
        "bank": bank,
        "export_notes": not_carried(bank, "QTI export") if exportable else None,
        "items": _item_rows(bank, with_notes=access != "shared_without_keys"),
        "operational": operational,
        "correlations": correlations,
        "cannot_run": cannot_run,
        "choices": {
            "estimators": ESTIMATORS,
            "selections": SELECTIONS,
            "exposures": EXPOSURES,
            "balances": BALANCES,
            "feedback_modes": FEEDBACK_MODES,
        },
        "problems": [],
        "form": {},
        "access": access,
    }


@get("/author/banks/{digest:str}", name="author_bank", opt={"action": "bank.read"})
async def bank_page(
    digest: FromPath[str], rt: RuntimeDependency, author: AuthorDependency
) -> Template | Redirect:
    """A bank version and the form to create an assessment from it."""
    return Template("author/bank.html", context=await rt.call(_bank_context, rt, author, digest))


@post("/author/assessments", name="author_create_assessment", opt={"action": "assessment.manage"})
async def create_assessment(
    request: Request[Any, Any, Any], rt: RuntimeDependency, author: AuthorDependency
) -> Template | Redirect:
    """Create an assessment from the form; show every problem if it cannot run."""
    form = await request.form()
    fields = {key: str(value) for key, value in form.items()}
    digest = fields.get("bank_hash", "")

    def create() -> str:
        context = _bank_context(rt, author, digest)
        policy = policy_from_form(fields, [c.id for c in context["bank"].competencies])
        minutes = fields.get("time_limit_minutes", "").strip()
        mode = fields.get("feedback_mode", "instant")
        if mode not in FEEDBACK_MODES:
            raise InvalidInputError("unknown feedback mode", [f"feedback_mode: {mode!r}"])
        try:
            limit = int(minutes) if minutes else None
        except ValueError:
            raise InvalidInputError("not a number", [f"time_limit_minutes: {minutes!r}"]) from None
        request_ = authoring.AssessmentCreate(
            title=fields.get("title", "").strip() or context["bank"].title,
            bank_hash=digest,
            description=fields.get("description", ""),
            policy=policy,
            feedback_mode=mode,  # type: ignore[arg-type]
            time_limit_minutes=limit,
        )
        return authoring.create_assessment(rt, author, request_).id

    try:
        new_id = await rt.call(create)
    except (InvalidInputError, PolicyError, PoolError) as exc:
        if isinstance(exc, InvalidInputError):
            problems = exc.problems
        elif isinstance(exc, PolicyError):
            problems = authoring.policy_problems(exc)
        else:
            problems = [f"bank_hash: {exc}"]
        context = await rt.call(_bank_context, rt, author, digest)
        context["problems"] = problems
        context["form"] = fields
        return Template("author/bank.html", context=context, status_code=422)
    return Redirect(path=f"/author/assessments/{new_id}", status_code=303)


@get(
    "/author/assessments/{assessment_id:str}",
    name="author_assessment",
    opt={"action": "assessment.read"},
)
async def assessment_page(
    assessment_id: FromPath[str], rt: RuntimeDependency, author: AuthorDependency
) -> Template | Redirect:
    """Sessions and per-item statistics."""
    overview = await rt.call(authoring.overview, rt, author, assessment_id)
    return Template("author/assessment.html", context={"overview": overview})


@post(
    "/author/assessments/{assessment_id:str}/status",
    name="author_assessment_status",
    opt={"action": "assessment.manage"},
)
async def assessment_status(
    request: Request[Any, Any, Any],
    assessment_id: FromPath[str],
    rt: RuntimeDependency,
    author: AuthorDependency,
) -> Redirect:
    """Open or close an assessment for new sessions."""
    form = await request.form()
    status: Literal["open", "closed"] = "closed" if form.get("status") == "closed" else "open"
    await rt.call(authoring.set_status, rt, author, assessment_id, status)
    return Redirect(path=f"/author/assessments/{assessment_id}", status_code=303)


@get(
    "/author/assessments/{assessment_id:str}/responses.csv",
    name="author_export",
    opt={"action": "responses.export"},
)
async def export(
    assessment_id: FromPath[str], rt: RuntimeDependency, author: AuthorDependency
) -> Stream | Redirect:
    """Download the responses as the long CSV that ``skillgauge calibrate`` reads."""
    chunks = await rt.call(authoring.export_responses, rt, author, assessment_id)
    return Stream(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="responses-{assessment_id}.csv"'},
    )


@get(
    "/author/banks/{digest:str}/export",
    name="author_bank_export",
    opt={"action": "bank.export"},
)
async def export_bank(
    digest: FromPath[str],
    rt: RuntimeDependency,
    author: AuthorDependency,
    fmt: Annotated[ExportFormat, QueryParameter(name="format")] = "qti",
) -> Response[bytes]:
    """Download the version as a QTI 3.0 package (with its media) or a native file."""
    exported = await rt.call(export_version, rt, author, digest, fmt)
    return Response(
        exported.data,
        media_type=exported.media_type,
        headers={"content-disposition": f'attachment; filename="{exported.filename}"'},
    )


author_router = Router(
    guards=[authorize],
    path="/",
    route_handlers=[
        login_page,
        login,
        logout,
        dashboard,
        upload_page,
        upload,
        bank_page,
        export_bank,
        create_assessment,
        assessment_page,
        assessment_status,
        export,
    ],
    include_in_schema=False,
    dependencies=AUTHOR_PAGE_DEPENDENCIES,
)
