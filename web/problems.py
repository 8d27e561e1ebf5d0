"""The one place where errors become HTTP responses.

API paths (``/api/...``) and the machine-readable credential documents (:data:`JSON_PREFIXES`)
get RFC 9457 problem details (``application/problem+json``,
documented in the OpenAPI schema by :data:`PROBLEM_RESPONSES`); pages get an HTML error page
carrying the same title, detail and located problems. The exception trees
of :mod:`item_banks`, :mod:`engine` and :mod:`web`, and Litestar's own HTTP exceptions, are
mapped here and nowhere else.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Redirect, Template

from engine.errors import EngineError, PolicyError, PoolError, SessionError
from item_banks.errors import AnswerError, BankValidationError, ItemBankError
from web.errors import InvalidInputError, RateLimitedError, SignInRequiredError, WebError

log = logging.getLogger("skillgauge.web")

PROBLEM_JSON = "application/problem+json"
#: Paths whose errors are problem JSON: the API, its schema and the public credential documents.
JSON_PREFIXES = ("/api/", "/schema", "/issuer", "/orgs/", "/achievements/", "/status-lists/")


class ProblemDetails(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem details document, with located ``errors`` when there are any."""

    title: str
    status: int
    detail: str = ""
    type: str = "about:blank"
    instance: str = ""
    errors: list[str] = []
    located: list[dict[str, str]] = []


#: The problem responses every API operation can give, as the OpenAPI document shows them.
PROBLEM_RESPONSES: dict[int, ResponseSpec] = {
    status: ResponseSpec(
        data_container=ProblemDetails,
        description=description,
        media_type=PROBLEM_JSON,
        generate_examples=False,
    )
    for status, description in (
        (400, "The request does not match the schema (located errors)"),
        (401, "An author token is needed"),
        (403, "Not allowed"),
        (404, "No such object (or not yours)"),
        (405, "Method not allowed"),
        (409, "Not possible in the object's current state"),
        (413, "The body is larger than this operation accepts"),
        (415, "The body must be sent as application/json"),
        (422, "The content is not valid (located errors)"),
        (429, "Too many requests; see Retry-After"),
    )
}


def with_problem_responses(handlers: list[Any]) -> list[Any]:
    """Document :data:`PROBLEM_RESPONSES` on API route handlers (a handler's own win)."""
    for handler in handlers:
        handler.responses = {**PROBLEM_RESPONSES, **(handler.responses or {})}
    return handlers


def describe(exc: Exception) -> tuple[ProblemDetails, dict[str, str]]:
    """Map an exception to problem details and extra response headers."""
    headers: dict[str, str] = {}
    if isinstance(exc, BankValidationError):
        return (
            ProblemDetails(
                title="The bank is not valid",
                status=422,
                detail=f"{len(exc.problems)} problem(s); nothing was stored",
                errors=[str(p) for p in exc.problems],
                located=[
                    {k: v for k, v in msgspec.to_builtins(p).items() if v is not None}
                    for p in exc.problems
                ],
            ),
            headers,
        )
    if isinstance(exc, AnswerError):
        return ProblemDetails(
            title="The answer does not fit the question", status=422, detail=exc.message
        ), headers
    if isinstance(exc, ItemBankError):
        return ProblemDetails(title="Invalid item bank input", status=422, detail=str(exc)), headers
    if isinstance(exc, PolicyError):
        return (
            ProblemDetails(
                title="The policy cannot run on this bank",
                status=422,
                detail=f"{len(exc.problems)} problem(s)",
                errors=[f"{exc.source}: {p}" for p in exc.problems],
            ),
            headers,
        )
    if isinstance(exc, PoolError):
        return ProblemDetails(title="The bank cannot be run", status=422, detail=str(exc)), headers
    if isinstance(exc, SessionError):
        return ProblemDetails(title="Not possible right now", status=409, detail=str(exc)), headers
    if isinstance(exc, EngineError):
        return ProblemDetails(title="Invalid request", status=422, detail=str(exc)), headers
    if isinstance(exc, WebError):
        problem = ProblemDetails(title=exc.title, status=exc.status_code, detail=exc.detail)
        if isinstance(exc, InvalidInputError):
            problem.errors = list(exc.problems)
        if isinstance(exc, RateLimitedError):
            headers["retry-after"] = str(exc.retry_after)
        return problem, headers
    if isinstance(exc, ValidationException):
        extra = exc.extra if isinstance(exc.extra, list) else []
        errors = [
            f"{e.get('key', 'body')}: {e.get('message', '')}" for e in extra if isinstance(e, dict)
        ]
        return (
            ProblemDetails(
                title="Invalid request", status=400, detail=str(exc.detail), errors=errors
            ),
            headers,
        )
    if isinstance(exc, HTTPException):
        titles = {
            400: "Invalid request",
            401: "Sign-in required",
            403: "Not allowed",
            404: "Not found",
            405: "That action is not available here",
            413: "Too large to accept",
            415: "Send the data as JSON",
            429: "Too many requests",
        }
        detail = str(exc.detail)
        if exc.status_code == 403 and "CSRF" in detail:
            detail = "the form expired or came from another site; reload the page and try again"
        return (
            ProblemDetails(
                title=titles.get(exc.status_code, "The request failed"),
                status=exc.status_code,
                detail=detail,
            ),
            dict(exc.headers or {}),
        )
    log.exception("unexpected error", exc_info=exc)
    return ProblemDetails(
        title="Something went wrong", status=500, detail="something went wrong on our side"
    ), headers


def wants_json(request: Request[Any, Any, Any]) -> bool:
    """API, schema and credential-document paths get problem JSON; pages an HTML page.

    Decided by the path, so that a request no route matches (``/status-lists/x``) is
    answered in the same format as the documents beside it.
    """
    path = request.url.path
    return path.startswith(JSON_PREFIXES) or path.endswith((".json", ".jwt"))


def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Litestar exception handler for every exception."""
    if isinstance(exc, SignInRequiredError):
        return Redirect(path="/author/login", status_code=303)
    problem, headers = describe(exc)
    problem.instance = request.url.path
    if wants_json(request):
        return Response(
            content=msgspec.json.encode(problem),
            status_code=problem.status,
            media_type=PROBLEM_JSON,
            headers=headers,
        )
    return Template(
        template_name="error.html",
        context={"problem": problem},
        status_code=problem.status,
        headers=headers,
        media_type=MediaType.HTML,
    )
