"""The competency report of a finished session: one value for the page, the JSON and print.

Built from what is stored (the session's state and result, and each response with its
feedback and estimates) plus the bank version the session used, so it can be reproduced at
any time. Numbers come from :mod:`engine.standing` (scaled score, level probabilities,
strengths and gaps); the charts are drawn by :mod:`engine.charts` from the same values.

Per competency: the ability estimate and its SE, on the logistic scale and as the scaled
score ``500 + 100 theta``; the authored level the estimate falls in, with the probability of
that level; pass or fail against the cut score with its confidence; and whether it is a
strength or a gap. Across items: the misconceptions the answers pointed to, grouped, with the
questions where each showed; and what to study next (the bank's resources for the gaps and
for the misconceptions seen). Practice sessions say that they never count toward a
credential.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Literal

import msgspec

from engine.charts import Axes, Band, Interval, Series, interval_chart, line_chart
from engine.feedback import Feedback
from engine.session import SCORING_MODELS, Session, SessionState
from engine.standing import (
    SCALE_CENTRE,
    SCALE_UNIT,
    Standing,
    level_index,
    level_probabilities,
    scaled_score,
    scaled_se,
    standing,
)
from item_banks.model import Competency, Resource
from web.errors import ConflictError, NotFoundError
from web.markdown import render, render_inline
from web.runtime import CompiledBank, Runtime
from web.store import sessions as store
from web.store.assessments import AssessmentRecord
from web.views import FeedbackMode, FeedbackView, _View, feedback_view

SCALE_DESCRIPTION = (
    f"Scores are {SCALE_CENTRE:.0f} + {SCALE_UNIT:.0f} x the ability estimate: "
    f"{SCALE_CENTRE:.0f} is typical, and about two thirds of learners score between "
    f"{SCALE_CENTRE - SCALE_UNIT:.0f} and {SCALE_CENTRE + SCALE_UNIT:.0f}. "
    "The ± figure is one standard error: the true score lies within it about two times in three."
)


class ResourceView(_View, frozen=True):
    """Something to study: a link (never fetched by Skillgauge) or a reference."""

    title: str
    url: str | None = None
    reference_html: str = ""


class LevelView(_View, frozen=True):
    """An authored level: its label, descriptor, lowest score, and how likely it is."""

    label: str
    descriptor_html: str
    min_score: int | None
    probability: float


class CompetencyReportView(_View, frozen=True):
    """Where the learner stands on one competency.

    ``theta`` and ``se`` are on the logistic ability scale; ``score`` and ``score_se`` are the
    same on the scaled score (``500 + 100 theta``). ``probability_above`` is the probability
    of an ability at or above the reference: the cut score, or 0 (typical) without one.
    """

    id: str
    name: str
    theta: float
    se: float
    score: int
    score_se: int
    items: int
    answered_right: int
    standing: Standing
    reference: Literal["cut_score", "typical"]
    probability_above: float
    cut_score: float | None = None
    cut_score_scaled: int | None = None
    classification: Literal["pass", "fail"] | None = None
    confidence: float | None = None
    level: LevelView | None = None
    next_level: LevelView | None = None
    levels: tuple[LevelView, ...] = ()
    resources: tuple[ResourceView, ...] = ()


class QuestionRef(_View, frozen=True):
    """A question of the session: its number and skill."""

    position: int
    item_id: str
    competency: str


class ObservedMisconceptionView(_View, frozen=True):
    """A misconception the learner's answers pointed to, and where it showed."""

    id: str
    name: str
    name_html: str
    explanation_html: str
    questions: tuple[QuestionRef, ...]
    resources: tuple[ResourceView, ...] = ()


class StudyView(_View, frozen=True):
    """What to study next, and why: a gap, a misconception shown, or a competency not clear."""

    reason: Literal["gap", "misconception", "unclear"]
    subject: str
    subject_html: str
    resources: tuple[ResourceView, ...]


class EstimatePoint(_View, frozen=True):
    """One competency's estimate after an answer."""

    competency: str
    theta: float
    se: float
    score: int
    score_se: int


class PathPointView(_View, frozen=True):
    """The estimates after answer ``position`` (0: before the first question, the prior)."""

    position: int
    item_id: str | None
    competency: str | None
    verdict: Literal["right", "partial", "wrong"] | None
    pretest: bool
    estimates: tuple[EstimatePoint, ...]


class AnswerReviewView(_View, frozen=True):
    """One answered question with the feedback recorded for it."""

    position: int
    item_id: str
    competency: str
    competency_name: str
    pretest: bool
    stem_html: str
    feedback: FeedbackView | None


class ReportView(_View, frozen=True):
    """The competency report of a finished session."""

    session_id: str
    assessment_title: str
    feedback_mode: FeedbackMode
    practice: bool
    counts_toward_credential: bool
    finished_at: datetime | None
    stop_reason: str
    items: int
    questions: int
    passed: bool | None
    scale: str
    competencies: tuple[CompetencyReportView, ...]
    strengths: tuple[str, ...]
    gaps: tuple[str, ...]
    unclear: tuple[str, ...]
    misconceptions: tuple[ObservedMisconceptionView, ...]
    study_next: tuple[StudyView, ...]
    path: tuple[PathPointView, ...]
    answers: tuple[AnswerReviewView, ...]
    scoring_model: Literal["independent", "correlated"] = "independent"
    scoring_model_text: str = SCORING_MODELS["independent"]


def _resources(resources: Sequence[Resource]) -> tuple[ResourceView, ...]:
    return tuple(
        ResourceView(
            title=r.title,
            url=r.url,
            reference_html=render(r.reference) if r.reference else "",
        )
        for r in resources
    )


def _levels(
    competency: Competency, engine: Session, state: SessionState, k: int
) -> tuple[LevelView, ...]:
    if not competency.levels:
        return ()
    boundaries = [float(level.min_theta or 0.0) for level in competency.levels[1:]]
    probabilities = level_probabilities(engine.probability_above(state, k, boundaries))
    return tuple(
        LevelView(
            label=level.label,
            descriptor_html=render(level.descriptor),
            min_score=None
            if level.min_theta is None
            else round(float(scaled_score(level.min_theta))),
            probability=round(float(p), 4),
        )
        for level, p in zip(competency.levels, probabilities, strict=True)
    )


def build_report(rt: Runtime, session_id: str) -> ReportView:
    """The report of a finished session.

    Raises
    ------
    NotFoundError
        Unknown session.
    ConflictError
        The session is not finished yet (the report would give away explanations early).
    """
    with rt.db.read() as conn:
        record = store.load_session(conn, session_id)
        if record is None:
            raise NotFoundError("no such session")
        assessment = rt.assessment(conn, record.assessment_id)
        compiled = rt.compiled(conn, assessment.bank_hash)
        responses = store.responses_of(conn, session_id)
    if not record.state.finished:
        raise ConflictError("the report is ready when the assessment is finished")
    engine = rt.engine_session(compiled, assessment.policy)
    return report_from(record, assessment, compiled, engine, responses)


def report_from(
    record: store.SessionRecord,
    assessment: AssessmentRecord,
    compiled: CompiledBank,
    engine: Session,
    responses: Sequence[store.ResponseRecord],
) -> ReportView:
    """Assemble the report from stored values (pure: no database access)."""
    state = record.state
    result = record.result or engine.result(state)
    bank = compiled.bank
    competencies_by_id = {c.id: c for c in bank.competencies}
    pool_ids = list(compiled.pool.competency_ids)
    feedbacks = [
        None if r.feedback is None else msgspec.json.decode(r.feedback, type=Feedback)
        for r in responses
    ]
    right = dict.fromkeys(pool_ids, 0)
    for response in responses:
        item = compiled.items.get(response.item_id)
        full = response.category == response.max_category
        if item is not None and full and not response.pretest:
            right[item.competency] += 1

    rows = []
    for outcome in result.competencies:
        k = pool_ids.index(outcome.competency)
        competency = competencies_by_id[outcome.competency]
        reference = outcome.cut_score if outcome.cut_score is not None else 0.0
        above = float(engine.probability_above(state, k, [reference])[0])
        levels = _levels(competency, engine, state, k)
        current = None
        following = None
        if levels:
            boundaries = [float(level.min_theta or 0.0) for level in competency.levels[1:]]
            at = level_index(outcome.theta, boundaries)
            current = levels[at]
            following = levels[at + 1] if at + 1 < len(levels) else None
        rows.append(
            CompetencyReportView(
                id=outcome.competency,
                name=competency.name,
                theta=round(outcome.theta, 4),
                se=round(outcome.se, 4),
                score=round(float(scaled_score(outcome.theta))),
                score_se=round(float(scaled_se(outcome.se))),
                items=outcome.items,
                answered_right=right.get(outcome.competency, 0),
                standing=standing(above),
                reference="cut_score" if outcome.cut_score is not None else "typical",
                probability_above=round(above, 4),
                cut_score=outcome.cut_score,
                cut_score_scaled=None
                if outcome.cut_score is None
                else round(float(scaled_score(outcome.cut_score))),
                classification=outcome.classification,
                confidence=None if outcome.confidence is None else round(outcome.confidence, 4),
                level=current,
                next_level=following,
                levels=levels,
                resources=_resources(competency.resources),
            )
        )

    misconceptions = _observed_misconceptions(compiled, responses, feedbacks)
    study = _study_next(rows, misconceptions)
    decided = [c.classification for c in result.competencies if c.classification is not None]
    practice = assessment.feedback_mode == "practice"
    return ReportView(
        session_id=record.id,
        assessment_title=assessment.title,
        feedback_mode=assessment.feedback_mode,
        practice=practice,
        counts_toward_credential=not practice,
        finished_at=record.finished_at,
        stop_reason=result.stop_reason,
        items=result.items,
        questions=len(responses),
        passed=(all(d == "pass" for d in decided) if decided else None),
        scale=SCALE_DESCRIPTION,
        competencies=tuple(rows),
        strengths=tuple(r.name for r in rows if r.standing == "strength"),
        gaps=tuple(r.name for r in rows if r.standing == "gap"),
        unclear=tuple(r.name for r in rows if r.standing == "unclear"),
        misconceptions=misconceptions,
        study_next=study,
        path=_path(compiled, assessment, responses, feedbacks),
        answers=_answers(compiled, responses, feedbacks),
        scoring_model=result.model,
        scoring_model_text=SCORING_MODELS[result.model],
    )


def _observed_misconceptions(
    compiled: CompiledBank,
    responses: Sequence[store.ResponseRecord],
    feedbacks: Sequence[Feedback | None],
) -> tuple[ObservedMisconceptionView, ...]:
    """Misconceptions grouped across items, most frequent first (then first seen).

    Both tries of a practice item count, once per question.
    """
    where: dict[str, list[QuestionRef]] = {}
    for response, feedback in zip(responses, feedbacks, strict=True):
        if feedback is None:
            continue
        ids = [m.id for m in feedback.misconceptions]
        if feedback.second_try is not None:
            ids += [m.id for m in feedback.second_try.feedback.misconceptions]
        item = compiled.items.get(response.item_id)
        competency = item.competency if item is not None else ""
        for mid in dict.fromkeys(ids):
            where.setdefault(mid, []).append(
                QuestionRef(position=response.seq, item_id=response.item_id, competency=competency)
            )
    order = sorted(where, key=lambda m: (-len(where[m]), where[m][0].position))
    found = []
    for mid in order:
        misconception = compiled.misconceptions.get(mid)
        if misconception is None:
            continue
        found.append(
            ObservedMisconceptionView(
                id=mid,
                name=misconception.name,
                name_html=render_inline(misconception.name),
                explanation_html=render(misconception.explanation),
                questions=tuple(where[mid]),
                resources=_resources(misconception.resources),
            )
        )
    return tuple(found)


def _study_next(
    rows: Sequence[CompetencyReportView],
    misconceptions: Sequence[ObservedMisconceptionView],
) -> tuple[StudyView, ...]:
    """What to study next, most needed first.

    Resources for the gaps (weakest first), then for the misconceptions seen, then for the
    competencies not yet clear; a resource is listed once, under its first reason.
    """
    listed: set[tuple[str, str | None]] = set()
    study: list[StudyView] = []

    def add(
        reason: Literal["gap", "misconception", "unclear"],
        subject: str,
        subject_html: str,
        resources: Sequence[ResourceView],
    ) -> None:
        fresh = [r for r in resources if (r.title, r.url) not in listed]
        listed.update((r.title, r.url) for r in fresh)
        if fresh:
            study.append(
                StudyView(
                    reason=reason,
                    subject=subject,
                    subject_html=subject_html,
                    resources=tuple(fresh),
                )
            )

    for row in sorted((r for r in rows if r.standing == "gap"), key=lambda r: r.probability_above):
        add("gap", row.name, escape(row.name), row.resources)
    for misconception in misconceptions:
        add("misconception", misconception.name, misconception.name_html, misconception.resources)
    for row in sorted(
        (r for r in rows if r.standing == "unclear"), key=lambda r: r.probability_above
    ):
        add("unclear", row.name, escape(row.name), row.resources)
    return tuple(study)


def _path(
    compiled: CompiledBank,
    assessment: AssessmentRecord,
    responses: Sequence[store.ResponseRecord],
    feedbacks: Sequence[Feedback | None],
) -> tuple[PathPointView, ...]:
    """The estimate of every competency after each answer, starting from the prior."""
    prior = assessment.policy.estimator.prior
    ids = list(compiled.pool.competency_ids)

    def point(cid: str, theta: float, se: float) -> EstimatePoint:
        return EstimatePoint(
            competency=cid,
            theta=round(theta, 4),
            se=round(se, 4),
            score=round(float(scaled_score(theta))),
            score_se=round(float(scaled_se(se))),
        )

    path = [
        PathPointView(
            position=0,
            item_id=None,
            competency=None,
            verdict=None,
            pretest=False,
            estimates=tuple(point(cid, prior.mean, prior.sd) for cid in ids),
        )
    ]
    for response, feedback in zip(responses, feedbacks, strict=True):
        item = compiled.items.get(response.item_id)
        verdict: Literal["right", "partial", "wrong"] | None = None
        if feedback is not None:
            verdict = feedback.verdict
        path.append(
            PathPointView(
                position=response.seq,
                item_id=response.item_id,
                competency=None if item is None else item.competency,
                verdict=verdict,
                pretest=response.pretest,
                estimates=tuple(
                    point(cid, *response.estimates[cid]) for cid in ids if cid in response.estimates
                ),
            )
        )
    return tuple(path)


def _answers(
    compiled: CompiledBank,
    responses: Sequence[store.ResponseRecord],
    feedbacks: Sequence[Feedback | None],
) -> tuple[AnswerReviewView, ...]:
    answers = []
    for response, feedback in zip(responses, feedbacks, strict=True):
        item = compiled.items.get(response.item_id)
        if item is None:
            continue
        answers.append(
            AnswerReviewView(
                position=response.seq,
                item_id=response.item_id,
                competency=item.competency,
                competency_name=compiled.competency_names.get(item.competency, item.competency),
                pretest=response.pretest,
                stem_html=render(item.stem),
                feedback=None
                if feedback is None
                else feedback_view(feedback, response.seq, response.item_id),
            )
        )
    return tuple(answers)


#: Chart widths in SVG units. Their text is 12-14 units, so a chart drawn at least this many
#: CSS pixels wide keeps every label at 12 px or more; the stylesheet never draws them
#: narrower (on a narrow phone the chart scrolls sideways in its own region). A path chart
#: fits a 390 px phone whole.
ABILITY_CHART_WIDTH = 420
PATH_CHART_WIDTH = 360


class ReportCharts(msgspec.Struct, frozen=True, kw_only=True):
    """The report's charts as inline SVG (server-made; ids tie each to its text)."""

    ability: str
    paths: tuple[tuple[str, str], ...]  # (competency id, svg)


def _ability_description(report: ReportView) -> str:
    parts = []
    for c in report.competencies:
        text = f"{c.name}: {c.score} ± {c.score_se}"
        if c.cut_score_scaled is not None:
            side = "above" if c.score >= c.cut_score_scaled else "below"
            text += f", {side} the pass mark {c.cut_score_scaled}"
        parts.append(text)
    return "; ".join(parts) + "."


def report_charts(report: ReportView) -> ReportCharts:
    """The report's charts, each with a text alternative.

    The ability chart (score ± 1 SE per competency, against the pass mark) and one chart
    per competency of its estimate's path over the test.
    """
    rows = [
        Interval(
            label=c.name,
            estimate=float(c.score),
            low=float(c.score - c.score_se),
            high=float(c.score + c.score_se),
            mark=None if c.cut_score_scaled is None else float(c.cut_score_scaled),
        )
        for c in report.competencies
    ]
    ends = [v for r in rows for v in (r.low, r.high, r.mark) if v is not None]
    x_range = (
        50.0 * ((min([300.0, *ends]) - 20.0) // 50.0),
        -50.0 * (-(max([700.0, *ends]) + 20.0) // 50.0),
    )
    ability = interval_chart(
        Axes(
            title="Your score per skill and the pass mark",
            x_label="Score (500 is typical)",
            y_label="",
            description=_ability_description(report),
            width=ABILITY_CHART_WIDTH,
            x_range=x_range,
            chart_id="chart-ability",
        ),
        rows,
        mark_label="Pass mark",
    )
    paths = []
    positions = [p.position for p in report.path]
    for n, competency in enumerate(report.competencies, start=1):
        scores = []
        lows = []
        highs = []
        answered_x = []
        answered_y = []
        for point in report.path:
            estimate = next(e for e in point.estimates if e.competency == competency.id)
            scores.append(float(estimate.score))
            lows.append(float(estimate.score - estimate.score_se))
            highs.append(float(estimate.score + estimate.score_se))
            if point.competency == competency.id and not point.pretest:
                answered_x.append(float(point.position))
                answered_y.append(float(estimate.score))
        first, last = scores[0], scores[-1]
        description = (
            f"{competency.name}: from {first:.0f} before the first question to {last:.0f} "
            f"± {competency.score_se} after question {positions[-1]}; "
            f"{len(answered_x)} of the questions measured this skill."
        )
        reference = (
            [("Pass mark", float(competency.cut_score_scaled))]
            if competency.cut_score_scaled is not None
            else []
        )
        svg = line_chart(
            Axes(
                title=competency.name,
                x_label="Question",
                y_label="Score",
                description=description,
                width=PATH_CHART_WIDTH,
                height=240,
                x_range=(0.0, float(max(positions[-1], 1))),
                reference_lines=reference,
                chart_id=f"chart-path-{n}",
                legend=False,
            ),
            [
                Series(name="Score", x=[float(x) for x in positions], y=scores),
                Series(
                    name="Questions on this skill",
                    x=answered_x,
                    y=answered_y,
                    points=True,
                    line=False,
                ),
            ],
            [Band(x=[float(x) for x in positions], lower=lows, upper=highs)],
        )
        paths.append((competency.id, svg))
    return ReportCharts(ability=ability, paths=tuple(paths))
