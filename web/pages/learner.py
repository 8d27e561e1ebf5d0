"""Learner pages: landing, question, feedback, report. Server-rendered, work without JavaScript.

Every POST redirects (303) to a GET page, so reloading never resubmits, and every page is
reachable again from the session URL alone (``/s/{session}``): closing the browser or a
server restart loses nothing. With JavaScript, ``static/skillgauge.js`` submits the answer
form in the background and shows the feedback panel of the page it lands on in the
question page's live region (progressive enhancement: the same POST and the same pages).
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Router, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template

from engine.stopping import length_bound
from item_banks.errors import AnswerError
from web import did_control, learning
from web.errors import NotFoundError
from web.markdown import render
from web.params import StoredInt
from web.report import build_report, report_charts
from web.runtime import Runtime
from web.store.achievements import AchievementRecord, for_assessment
from web.store.assessments import list_assessments
from web.views import SessionView


def runtime(state: State) -> Runtime:
    """The process's runtime (stored on the application state at start-up)."""
    rt: Runtime = state.runtime
    return rt


def achievement_of(rt: Runtime, assessment_id: str) -> AchievementRecord | None:
    """The assessment's achievement, if it offers a credential."""
    with rt.db.read() as conn:
        return for_assessment(conn, assessment_id)


def _client(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


@get("/", name="home")
async def home(state: State) -> Template:
    """What Skillgauge is, and the open assessments."""
    rt = runtime(state)

    def load() -> list[Any]:
        with rt.db.read() as conn:
            return [a for a in list_assessments(conn) if a.status == "open"]

    assessments = await rt.call(load)
    return Template("home.html", context={"assessments": assessments})


@get("/a/{assessment_id:str}", name="landing")
async def landing(state: State, assessment_id: FromPath[str]) -> Template:
    """What the assessment measures, how long it takes, what is stored; the start button."""
    rt = runtime(state)

    def load() -> dict[str, Any]:
        with rt.db.read() as conn:
            assessment = rt.assessment(conn, assessment_id, fresh=True)
            compiled = rt.compiled(conn, assessment.bank_hash)
        if assessment.status != "open":
            raise NotFoundError("this assessment is closed")
        measured = [
            {"name": c.name, "description_html": render(c.description) if c.description else ""}
            for c in compiled.bank.competencies
        ]
        achievement = achievement_of(rt, assessment_id)
        return {
            "assessment": assessment,
            "description_html": render(assessment.description or compiled.bank.description),
            "competencies": measured,
            "max_items": length_bound(assessment.policy.stopping),
            "forecast": rt.forecast(compiled, assessment.policy),
            "credential": achievement is not None and assessment.feedback_mode != "practice",
            "require_verified": achievement is not None and achievement.spec.require_verified_email,
        }

    return Template("landing.html", context=await rt.call(load))


@post("/a/{assessment_id:str}/start", name="start")
async def start(
    state: State, request: Request[Any, Any, Any], assessment_id: FromPath[str]
) -> Redirect:
    """Start a session and go to its first question."""
    rt = runtime(state)
    form = await request.form()
    name = str(form.get("name") or "") or None
    email = str(form.get("email") or "") or None
    did = str(form.get("did") or "") or None
    session_id = await rt.call(
        lambda: learning.start_session(
            rt, assessment_id, client=_client(request), name=name, email=email, did=did
        )
    )
    return Redirect(path=f"/s/{session_id}", status_code=303)


def answer_from_form(form: Any, kind: str) -> tuple[str | list[str], Any, str | None]:
    """Read the raw answer from the question form.

    Returns the answer, what to show back in the form if it is refused, and a problem with
    the form itself (an order with a position given twice) or None.
    """
    if kind == "order":
        ranks = {
            str(key)[5:]: str(value) for key, value in form.items() if str(key).startswith("rank:")
        }
        chosen = [r for r in ranks.values() if r]
        if len(chosen) < len(ranks) or len(set(chosen)) != len(chosen):
            return [], ranks, "give every item a different position"
        return sorted(ranks, key=lambda option: int(ranks[option])), ranks, None
    if kind == "match":
        pairs = {
            str(key)[6:]: str(value) for key, value in form.items() if str(key).startswith("match:")
        }
        return [f"{source} {target}" for source, target in pairs.items() if target], pairs, None
    if kind == "composite":
        return composite_from_form(form)
    values = [str(v) for v in form.getall("answer")] if "answer" in form else []
    if kind == "multiple_response":
        return values, values, None
    single = values[0] if values else ""
    return single, single, None


#: A composite question's control: ``f:<field>``, with ``:rank|match|gap:<id>`` or
#: ``:pair:<n>:a|b`` after it.
_CONTROL = re.compile(r"f:(.+?)(?::(rank|match|gap):([^:]+)|:pair:(\d+):([ab]))?")


def composite_from_form(form: Any) -> tuple[list[str], dict[str, Any], str | None]:
    """The ``FIELD=VALUE`` answer of a composite question from its ``f:...`` controls.

    ``f:<field>`` carries typed text, a selected inline choice or ticked options;
    ``f:<field>:rank:<option>`` a position (order); ``f:<field>:match:<source>`` a target;
    ``f:<field>:gap:<gap>`` the text put in a gap; ``f:<field>:pair:<n>:a`` and ``:b`` the
    two ends of an associate pair; ``answer`` whole ``FIELD=VALUE`` entries. Returns the
    answer, the form values to show back, and a problem with the form (an order partly
    filled in, half a pair) or None.
    """
    # ``answer`` fields may carry whole FIELD=VALUE entries (a client posting the raw answer)
    answer: list[str] = [str(v) for v in form.getall("answer")] if "answer" in form else []
    shown: dict[str, Any] = {}
    ranks: dict[str, dict[str, str]] = {}
    pairs: dict[tuple[str, str], dict[str, str]] = {}
    problem = None
    for key in dict.fromkeys(str(k) for k in form):
        if not key.startswith("f:"):
            continue
        values = [str(v) for v in form.getall(key)]
        shown[key] = values if len(values) > 1 else values[0] if values else ""
        parsed = _CONTROL.fullmatch(key)
        if parsed is None:
            continue
        field, role, target, row, end = parsed.groups()
        value = values[0].strip() if values else ""
        if role == "rank":
            ranks.setdefault(field, {})[target] = value
        elif role == "match" and value:
            answer.append(f"{field}={target} {value}")
        elif role == "gap" and value:
            answer.append(f"{field}={value} {target}")
        elif row is not None and value:
            pairs.setdefault((field, row), {})[end] = value
        elif role is None and row is None:
            answer += [f"{field}={v}" for v in values if v.strip()]
    for field, given in ranks.items():
        chosen = [r for r in given.values() if r]
        if not chosen:
            continue
        if len(chosen) < len(given) or len(set(chosen)) != len(chosen):
            problem = "give every item to put in order a different position"
            continue
        answer += [f"{field}={o}" for o in sorted(given, key=lambda o: int(given[o]))]
    for (field, _), ends in pairs.items():
        if ends.get("a") and ends.get("b"):
            answer.append(f"{field}={ends['a']} {ends['b']}")
        elif ends.get("a") or ends.get("b"):
            problem = "choose both ends of each pair, or neither"
    return answer, shown, problem


def _question_context(
    view: SessionView, error: str | None = None, given: Any = None
) -> dict[str, Any]:
    return {"session": view, "item": view.item, "error": error, "given": given}


@get("/s/{session_id:str}", name="question")
async def question(state: State, session_id: FromPath[str]) -> Template | Redirect:
    """The current question (the same one on every reload), or the result when done."""
    rt = runtime(state)
    view = await rt.call(learning.view_session, rt, session_id)
    if view.status == "finished":
        return Redirect(path=f"/s/{session_id}/result", status_code=303)
    return Template("question.html", context=_question_context(view))


@post("/s/{session_id:str}/answer", name="answer")
async def answer(
    state: State, request: Request[Any, Any, Any], session_id: FromPath[str]
) -> Template | Redirect:
    """Store the answer; show the feedback (or, in ``end`` mode, the next question)."""
    rt = runtime(state)
    form = await request.form()
    kind = str(form.get("kind") or "")
    given, shown, problem = answer_from_form(form, kind)
    item_id, position = _question_of(form)
    attempt = 2 if str(form.get("attempt") or "1") == "2" else 1
    try:
        if problem is not None:
            raise AnswerError(item_id, problem)
        outcome = await rt.call(
            lambda: learning.submit_answer(
                rt,
                session_id,
                item_id=item_id,
                position=position,
                answer=given,
                attempt=attempt,
            )
        )
    except AnswerError as exc:
        view = await rt.call(learning.view_session, rt, session_id)
        return Template(
            "question.html",
            context=_question_context(view, error=exc.message, given=shown),
            status_code=422,
        )
    if outcome.feedback is None:  # end mode, or a practice second try to come
        return Redirect(path=f"/s/{session_id}", status_code=303)
    return Redirect(path=f"/s/{session_id}/feedback/{position}", status_code=303)


def _question_of(form: Any) -> tuple[str, int]:
    item_id = str(form.get("item_id") or "")
    try:
        position = int(str(form.get("position") or "0"))
    except ValueError:
        position = 0
    return item_id, position


@post("/s/{session_id:str}/hint", name="hint")
async def hint(
    state: State, request: Request[Any, Any, Any], session_id: FromPath[str]
) -> Redirect:
    """Practice mode: show the next hint (one at a time), then the question again."""
    rt = runtime(state)
    item_id, position = _question_of(await request.form())
    await rt.call(lambda: learning.next_hint(rt, session_id, item_id=item_id, position=position))
    return Redirect(path=f"/s/{session_id}", status_code=303)


@post("/s/{session_id:str}/reveal", name="reveal")
async def reveal(
    state: State, request: Request[Any, Any, Any], session_id: FromPath[str]
) -> Redirect:
    """Practice mode: skip the second try and see the explanation."""
    rt = runtime(state)
    item_id, position = _question_of(await request.form())
    await rt.call(
        lambda: learning.reveal_answer(rt, session_id, item_id=item_id, position=position)
    )
    return Redirect(path=f"/s/{session_id}/feedback/{position}", status_code=303)


@get("/s/{session_id:str}/feedback/{position:int}", name="feedback")
async def feedback(
    state: State, session_id: FromPath[str], position: StoredInt
) -> Template | Redirect:
    """Feedback on one stored answer, with the way on."""
    rt = runtime(state)
    shown, view, stem_html = await rt.call(learning.stored_feedback, rt, session_id, position)
    if shown is None:
        return Redirect(path=f"/s/{session_id}", status_code=303)
    return Template(
        "feedback.html", context={"feedback": shown, "session": view, "stem_html": stem_html}
    )


@get("/s/{session_id:str}/result", name="result")
async def result(state: State, session_id: FromPath[str]) -> Template | Redirect:
    """The competency report: where the learner stands, what they showed, what to study."""
    rt = runtime(state)
    view = await rt.call(learning.view_session, rt, session_id)
    if view.status != "finished":
        return Redirect(path=f"/s/{session_id}", status_code=303)
    report = await rt.call(build_report, rt, session_id)
    did_state = await rt.call(did_control.state_of, rt, session_id)
    return Template(
        "result.html",
        context={
            "did_state": did_state,
            "session": view,
            "result": view.result,
            "report": report,
            "charts": report_charts(report),
        },
    )


learner_router = Router(
    path="/",
    route_handlers=[home, landing, start, question, answer, hint, reveal, feedback, result],
    include_in_schema=False,
)
