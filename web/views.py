"""What learners see, as msgspec Structs shared by the HTML pages and the JSON API.

Nothing here may carry an answer key, a rationale, a solution, a hint or an IRT parameter of
an item that has not been answered yet: :func:`item_view` builds the question from the stem,
the interaction type and the option texts only. In practice mode, :func:`practice_view`
adds the hints the learner has asked for after a wrong first try, and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from engine.feedback import MISTAKES, Feedback, Point
from engine.session import SCORING_MODELS, SessionResult, SessionState
from engine.standing import scaled_score, scaled_se
from item_banks.formats.media import IMAGE
from item_banks.model import (
    Associate,
    Composite,
    Field,
    GapMatch,
    GraphicGapMatch,
    Hotspot,
    HotspotArea,
    HotText,
    InlineChoice,
    Item,
    Match,
    MultipleResponse,
    Numeric,
    Option,
    Order,
    ShortText,
    SingleChoice,
)
from item_banks.scoring import field_label
from web.answers import OptionIds
from web.markdown import render, render_inline
from web.runtime import CompiledBank

ItemKind = Literal[
    "single_choice", "multiple_response", "numeric", "short_text", "order", "match", "composite"
]
#: How each field of a composite question is shown.
FieldKind = Literal[
    "short_text",
    "numeric",
    "inline_choice",
    "single_choice",
    "multiple_response",
    "order",
    "match",
    "gap_match",
    "hot_text",
    "associate",
    "hotspot",
    "graphic_gap_match",
]


class _View(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Common configuration of view structs."""


class OptionView(_View, frozen=True):
    """One option: its id (the value to submit) and its text as HTML.

    The id is this session's opaque id for the option (:mod:`web.answers`), never the
    bank's: ids say nothing about which option is the key.
    """

    id: str
    html: str


class Part(_View, frozen=True):
    """A piece of a text with fields in it: HTML, or the place of a field (or gap, hot text).

    ``block`` marks a field standing on its own (its paragraph was only the marker).
    """

    html: str = ""
    field: str = ""
    block: bool = False


class MarkView(_View, frozen=True):
    """One numbered area of a hotspot image, in the image's pixels, as SVG draws it.

    ``shape`` is ``circle``, ``ellipse``, ``rect`` or ``poly``; ``x``, ``y`` are where its
    number stands (the area's centre); ``svg`` holds the outline's attributes (``cx``...,
    ``points`` for a polygon).
    """

    number: int
    shape: str
    x: float
    y: float
    svg: tuple[tuple[str, str], ...]


class PictureView(_View, frozen=True):
    """A hotspot's image: its address (empty when the bank lacks the file), alt text, size."""

    src: str
    alt: str
    width: int
    height: int
    marks: tuple[MarkView, ...]


class FieldView(_View, frozen=True):
    """One field of a composite question.

    ``name`` is the form name of its answer (``f:<field id>``; order, match, gap match and
    associate add a suffix per control). ``label`` is what screen readers announce ("Blank 2
    of 3" unless the author named it). ``parts`` are the text of a gap match or hot text with
    the places of its gaps or phrases (``Part.field`` is the gap's or phrase's shown id).
    ``pairs`` is how many pairs an associate field takes.
    """

    id: str
    name: str
    kind: FieldKind
    label: str
    prompt_html: str = ""
    options: tuple[OptionView, ...] = ()
    targets: tuple[OptionView, ...] = ()
    parts: tuple[Part, ...] = ()
    unit: str | None = None
    multiple: bool = True
    pairs: int = 0
    scoring: str = ""
    picture: PictureView | None = None


class ItemView(_View, frozen=True):
    """A question as the learner sees it.

    ``options`` are the choices (``single_choice``, ``multiple_response``), the things to put
    in order (``order``) or the sources to match (``match``, with ``targets``). Answers:
    an option id; a list of option ids; a list of option ids in the learner's order; a
    list of ``"SOURCE TARGET"`` pairs; or text. Option ids are this session's (see
    :class:`OptionView`). ``scoring`` says, in plain words, how a multiple-response (or
    weighted) question is scored: all or nothing, or partial credit.
    """

    id: str
    position: int
    competency: str
    competency_name: str
    stem_html: str
    type: ItemKind
    options: tuple[OptionView, ...] = ()
    targets: tuple[OptionView, ...] = ()
    unit: str | None = None
    scoring: str = ""
    stem_parts: tuple[Part, ...] = ()
    fields: tuple[FieldView, ...] = ()


#: How each scoring rule reads on the question (``ItemView.scoring``).
SCORING_RULES = {
    ("multiple_response", "all_or_nothing"): (
        "All or nothing: this counts as right only if you choose every correct answer and "
        "nothing else."
    ),
    ("multiple_response", "partial"): (
        "Partial credit: each correct choice earns a point and each wrong choice takes one "
        "away (never below zero)."
    ),
    ("multiple_response", "weighted"): (
        "Partial credit: each choice carries its own share of the credit; wrong choices can "
        "take credit away."
    ),
    ("single_choice", "weighted"): "Some answers earn part of the credit.",
    ("match", "weighted"): "Partial credit: each right match earns its share of the credit.",
}


class CompetencyProgress(_View, frozen=True):
    """How precisely a competency is measured so far.

    ``se`` is on the ability scale, ``score_se`` the same in points of the reported scale
    (``100 SE``), which is what pages show; ``precision`` = 1 - SE^2, floored at 0.
    """

    id: str
    name: str
    se: float
    score_se: int
    precision: float
    items: int


class ProgressView(_View, frozen=True):
    """Items answered so far and precision per competency."""

    answered: int
    max_items: int | None
    competencies: tuple[CompetencyProgress, ...]


class CompetencyResultView(_View, frozen=True):
    """One competency's outcome.

    ``score``, ``score_se`` and ``pass_mark`` are on the reported scale (``500 + 100
    theta``), what pages show; ``theta``, ``se`` and ``cut_score`` on the ability scale.
    """

    id: str
    name: str
    theta: float
    se: float
    items: int
    score: int
    score_se: int
    pass_mark: int | None = None
    cut_score: float | None = None
    classification: Literal["pass", "fail"] | None = None
    confidence: float | None = None


class ResultView(_View, frozen=True):
    """The outcome of a finished session.

    ``practice`` sessions never count toward a credential (``counts_toward_credential``).
    """

    stop_reason: str
    items: int
    competencies: tuple[CompetencyResultView, ...]
    passed: bool | None
    practice: bool = False
    counts_toward_credential: bool = True
    scoring_model: Literal["independent", "correlated"] = "independent"
    scoring_model_text: str = SCORING_MODELS["independent"]


FeedbackMode = Literal["instant", "end", "practice"]
Verdict = Literal["right", "partial", "wrong"]

#: How each kind of feedback point is labelled for learners (text, not colour alone).
POINT_LABELS = {
    "chosen": "Your choice",
    "right_choice": "Right choice",
    "wrong_choice": "Wrong choice",
    "missed": "Missed",
    "misplaced": "Out of place",
    "right_pair": "Right match",
    "wrong_pair": "Wrong match",
    "missed_pair": "Missing match",
    "common_wrong_answer": "Your answer",
    "wrong_answer": "Your answer",
}


class PointView(_View, frozen=True):
    """One part of the answer (``label``: "Wrong choice", "Missed"...) and why."""

    kind: str
    label: str
    html: str
    reason_html: str
    mistake: bool
    misconception: str | None = None


class MisconceptionView(_View, frozen=True):
    """A misconception an answer points to, with the bank's explanation."""

    id: str
    name: str
    name_html: str
    explanation_html: str


class AttemptView(_View, frozen=True):
    """A practice second try: its verdict and explanation (never scored)."""

    correct: bool
    verdict: Verdict
    given_html: str
    points: tuple[PointView, ...] = ()
    message_html: str = ""
    scoring_note: str = ""
    misconceptions: tuple[MisconceptionView, ...] = ()


class FeedbackView(_View, frozen=True):
    """Feedback on one answer, shown only after that answer was stored.

    ``correct``, ``category`` and ``verdict`` are the scored answer's (in practice mode, the
    first try); ``points`` say why each part of it is right or wrong; ``key_reasons_html``
    why the right answer is right; ``second_try`` is a practice second try.
    """

    position: int
    item_id: str
    correct: bool
    category: int
    max_category: int
    correct_answer_html: str
    verdict: Verdict = "wrong"
    given_html: str = ""
    points: tuple[PointView, ...] = ()
    key_reasons_html: tuple[str, ...] = ()
    message_html: str = ""
    scoring_note: str = ""
    solution_html: str = ""
    author_note_html: str = ""
    misconceptions: tuple[MisconceptionView, ...] = ()
    hints_html: tuple[str, ...] = ()
    second_try: AttemptView | None = None


class PracticeView(_View, frozen=True):
    """Practice mode after a wrong first try: the hints asked for so far, and a second try.

    Nothing else about the item is shown until the second try (or "show the answer").
    """

    position: int
    item_id: str
    verdict: Literal["partial", "wrong"]
    hints_html: tuple[str, ...]
    hints_left: int


class SessionView(_View, frozen=True):
    """A session as its learner sees it."""

    id: str
    assessment_id: str
    status: Literal["in_progress", "finished"]
    progress: ProgressView
    item: ItemView | None = None
    result: ResultView | None = None
    deadline: datetime | None = None
    credential_url: str | None = None
    feedback_mode: FeedbackMode = "instant"
    practice: PracticeView | None = None
    award_status: str | None = None
    award_note: str | None = None


class AnswerRequest(_View, frozen=True):
    """An answer to the current question.

    ``position`` is the question's number in the session (1-based); with ``item_id`` it
    makes a resubmission (double click, network retry) recognisable.
    """

    item_id: Annotated[str, Meta(min_length=1, max_length=64)]
    position: Annotated[int, Meta(ge=1, le=10_000)]
    answer: (
        Annotated[str, Meta(max_length=500)]
        | Annotated[list[Annotated[str, Meta(max_length=64)]], Meta(max_length=26)]
    )
    attempt: Annotated[int, Meta(ge=1, le=2)] = 1


class PracticeRequest(_View, frozen=True):
    """Ask for the next hint, or for the answer, of the question with an open second try."""

    item_id: Annotated[str, Meta(min_length=1, max_length=64)]
    position: Annotated[int, Meta(ge=1, le=10_000)]


class StartRequest(_View, frozen=True):
    """Who is starting (asked only when the assessment offers a credential)."""

    name: Annotated[str, Meta(max_length=200)] | None = None
    email: Annotated[str, Meta(max_length=320)] | None = None
    did: Annotated[str, Meta(max_length=400, pattern=r"^did:[a-z0-9]+:\S+$")] | None = None


class AnswerOutcome(_View, frozen=True):
    """The reply to an answer: feedback (unless withheld by the mode) and what comes next.

    In practice mode a wrong first try gets no feedback yet but ``practice``: a hint and
    a second try at the same question.
    """

    feedback: FeedbackView | None
    session: SessionView
    practice: PracticeView | None = None


def item_kind(item: Item) -> ItemKind:
    """The kind of question ``item`` is shown as (``single_choice``, ``numeric``...)."""
    interaction = item.interaction
    if isinstance(interaction, SingleChoice):
        return "single_choice"
    if isinstance(interaction, MultipleResponse):
        return "multiple_response"
    if isinstance(interaction, Order):
        return "order"
    if isinstance(interaction, Match):
        return "match"
    if isinstance(interaction, Numeric):
        return "numeric"
    if isinstance(interaction, ShortText):
        return "short_text"
    if isinstance(interaction, Composite):
        return "composite"
    raise ValueError(f'item "{item.id}" is not auto-scored and cannot be presented')


_MARKER = re.compile(r"\{\{([A-Za-z0-9_][A-Za-z0-9_.:-]*)\}\}")


def split_marked(html: str, names: Mapping[str, str]) -> tuple[Part, ...]:
    """Rendered HTML cut at its ``{{ID}}`` markers of ``names`` (id -> the part's field).

    A paragraph holding only a marker becomes a block part (a field on its own); other
    markers are inline parts. Markers of other ids stay text.
    """
    parts: list[Part] = []
    last = 0
    pattern = re.compile(r"<p>\s*\{\{([^{}]+)\}\}\s*</p>|" + _MARKER.pattern)
    for match in pattern.finditer(html):
        ident = match.group(1) or match.group(2)
        if ident not in names:
            continue
        if match.start() > last:
            parts.append(Part(html=html[last : match.start()]))
        parts.append(Part(field=names[ident], block=match.group(1) is not None))
        last = match.end()
    if last < len(html):
        parts.append(Part(html=html[last:]))
    return tuple(parts)


def _mark(number: int, area: HotspotArea) -> MarkView:
    """The outline and number of one hotspot area."""
    c = [round(v, 2) for v in area.coords]
    svg: tuple[tuple[str, str], ...]
    if area.shape == "circle":
        x, y, svg = c[0], c[1], (("cx", f"{c[0]:g}"), ("cy", f"{c[1]:g}"), ("r", f"{c[2]:g}"))
    elif area.shape == "ellipse":
        x, y = c[0], c[1]
        svg = (("cx", f"{c[0]:g}"), ("cy", f"{c[1]:g}"), ("rx", f"{c[2]:g}"), ("ry", f"{c[3]:g}"))
    elif area.shape == "rect":
        x, y = (c[0] + c[2]) / 2, (c[1] + c[3]) / 2
        svg = (
            ("x", f"{c[0]:g}"), ("y", f"{c[1]:g}"),
            ("width", f"{c[2] - c[0]:g}"), ("height", f"{c[3] - c[1]:g}"),
        )  # fmt: skip
    else:
        xs, ys = c[0::2], c[1::2]
        x, y = sum(xs) / len(xs), sum(ys) / len(ys)
        svg = (("points", " ".join(f"{a:g},{b:g}" for a, b in zip(xs, ys, strict=False))),)
    return MarkView(number=number, shape=area.shape, x=round(x, 2), y=round(y, 2), svg=svg)


def _hotspot_view(
    item: Item,
    field: Field,
    inner: Hotspot | GraphicGapMatch,
    ids: OptionIds,
    common: dict[str, Any],
    *,
    scoring: str,
    shuffled: Any,
) -> FieldView:
    """A hotspot or graphic gap match: the image with its areas numbered over it.

    A hotspot has one labelled control per area (``options``); a graphic gap match one
    select per area (``targets``, this session's ids) offering the labels (``options``).
    The areas keep the author's order (their numbers are drawn on the image); the image is
    ``[image: alt]`` text when the bank lacks its file (then only the labels are shown).
    """
    picture = IMAGE.fullmatch(inner.image)
    src, alt = (picture.group(2), picture.group(1)) if picture else ("", inner.image)
    if alt.startswith("[image: ") and alt.endswith("]"):
        alt = alt[8:-1]
    areas = {a.id: a for a in inner.areas}
    spots = inner.options if isinstance(inner, Hotspot) else inner.targets
    marks = tuple(_mark(n, areas[o.id]) for n, o in enumerate(spots, start=1))
    view = PictureView(src=src, alt=alt, width=inner.width, height=inner.height, marks=marks)
    if isinstance(inner, GraphicGapMatch):
        targets = tuple(
            OptionView(id=ids.shown(item.id, t.id, f"{field.id}:t"), html=render_inline(t.text))
            for t in inner.targets
        )
        return FieldView(
            kind="graphic_gap_match",
            options=shuffled(inner.sources, f"{field.id}:s", inner.shuffle),
            targets=targets,
            scoring=scoring,
            picture=view,
            **common,
        )
    options = tuple(
        OptionView(id=ids.shown(item.id, o.id, field.id), html=render_inline(o.text))
        for o in inner.options
    )
    return FieldView(
        kind="hotspot",
        options=options,
        multiple=inner.max_choices != 1,
        scoring=scoring,
        picture=view,
        **common,
    )


def _field_view(
    item: Item, composite: Composite, field: Field, ids: OptionIds, shuffled: Any
) -> FieldView:
    """The public view of one field: its kind, label, choices in this session's ids."""
    inner = field.interaction
    label = field_label(composite, field.id)
    common: dict[str, Any] = {
        "id": field.id,
        "name": f"f:{field.id}",
        "label": label,
        "prompt_html": render(field.prompt) if field.prompt else "",
    }
    family = ""
    if isinstance(inner, SingleChoice):
        family = "single_choice"
    elif isinstance(inner, MultipleResponse):
        family = "multiple_response"
    elif isinstance(inner, Match | Associate):
        family = "match"
    scoring = SCORING_RULES.get((family, getattr(inner, "scoring", "")), "")
    if isinstance(inner, InlineChoice):
        return FieldView(
            kind="inline_choice", options=shuffled(inner.options, field.id, inner.shuffle), **common
        )
    if isinstance(inner, Hotspot | GraphicGapMatch):
        return _hotspot_view(item, field, inner, ids, common, scoring=scoring, shuffled=shuffled)
    if isinstance(inner, HotText):
        phrases = {o.id: ids.shown(item.id, o.id, field.id) for o in inner.options}
        options = tuple(
            OptionView(id=phrases[o.id], html=render_inline(o.text)) for o in inner.options
        )
        return FieldView(
            kind="hot_text",
            options=options,
            parts=split_marked(render(inner.text), phrases),
            multiple=inner.max_choices != 1,
            scoring=scoring,
            **common,
        )
    if isinstance(inner, GapMatch):
        gaps = {g.id: ids.shown(item.id, g.id, f"{field.id}:t") for g in inner.targets}
        targets = tuple(
            OptionView(id=gaps[g.id], html=f"Gap {n} of {len(inner.targets)}")
            for n, g in enumerate(inner.targets, start=1)
        )
        return FieldView(
            kind="gap_match",
            options=shuffled(inner.sources, f"{field.id}:s", inner.shuffle),
            targets=targets,
            parts=split_marked(render(inner.text), gaps),
            scoring=scoring,
            **common,
        )
    if isinstance(inner, Associate):
        return FieldView(
            kind="associate",
            options=shuffled(inner.options, field.id, inner.shuffle),
            pairs=inner.max_associations or len(inner.key),
            scoring=scoring,
            **common,
        )
    if isinstance(inner, SingleChoice | MultipleResponse):
        return FieldView(
            kind="single_choice" if isinstance(inner, SingleChoice) else "multiple_response",
            options=shuffled(inner.options, field.id, inner.shuffle),
            scoring=scoring,
            **common,
        )
    if isinstance(inner, Order):
        return FieldView(kind="order", options=shuffled(inner.options, field.id, True), **common)
    if isinstance(inner, Match):
        return FieldView(
            kind="match",
            options=shuffled(inner.sources, f"{field.id}:s", inner.shuffle),
            targets=shuffled(inner.targets, f"{field.id}:t", inner.shuffle),
            scoring=scoring,
            **common,
        )
    if isinstance(inner, Numeric):
        return FieldView(kind="numeric", unit=inner.unit, **common)
    return FieldView(kind="short_text", **common)


def item_view(compiled: CompiledBank, item: Item, position: int, ids: OptionIds) -> ItemView:
    """The public view of ``item``: stem, interaction type and option texts only.

    Options carry this session's opaque ids (``ids``), in a keyed, stable shuffle.
    """
    interaction = item.interaction
    options: tuple[OptionView, ...] = ()
    targets: tuple[OptionView, ...] = ()
    unit = None

    def shuffled(choices: tuple[Option, ...], role: str, shuffle: bool) -> tuple[OptionView, ...]:
        order = ids.order(item.id, len(choices), role) if shuffle else range(len(choices))
        return tuple(
            OptionView(
                id=ids.shown(item.id, choices[i].id, role), html=render_inline(choices[i].text)
            )
            for i in order
        )

    kind = item_kind(item)
    stem_parts: tuple[Part, ...] = ()
    fields: tuple[FieldView, ...] = ()
    if isinstance(interaction, Composite):
        fields = tuple(_field_view(item, interaction, f, ids, shuffled) for f in interaction.fields)
        stem_parts = split_marked(render(item.stem), {f.id: f.id for f in interaction.fields})
        placed = {p.field for p in stem_parts if p.field}
        stem_parts += tuple(
            Part(field=f.id, block=True) for f in interaction.fields if f.id not in placed
        )
    elif isinstance(interaction, SingleChoice | MultipleResponse):
        options = shuffled(interaction.options, "", interaction.shuffle)
    elif isinstance(interaction, Order):
        # Always shuffled: the order the author wrote is the answer.
        options = shuffled(interaction.options, "", True)
    elif isinstance(interaction, Match):
        options = shuffled(interaction.sources, "s", interaction.shuffle)
        targets = shuffled(interaction.targets, "t", interaction.shuffle)
    elif isinstance(interaction, Numeric):
        unit = interaction.unit
    scoring = getattr(interaction, "scoring", "")
    return ItemView(
        id=item.id,
        position=position,
        competency=item.competency,
        competency_name=compiled.competency_names.get(item.competency, item.competency),
        stem_html=render(item.stem),
        type=kind,
        options=options,
        targets=targets,
        unit=unit,
        scoring=SCORING_RULES.get((kind, scoring), ""),
        stem_parts=stem_parts,
        fields=fields,
    )


def progress_view(
    compiled: CompiledBank, state: SessionState, max_items: int | None
) -> ProgressView:
    """Answered count and per-competency precision."""
    pool = compiled.pool
    counts = [0] * pool.n_competencies
    answered = 0
    for item in state.items:
        if pool.operational[item]:
            counts[int(pool.competency[item])] += 1
            answered += 1
    return ProgressView(
        answered=len(state.items),
        max_items=max_items,
        competencies=tuple(
            CompetencyProgress(
                id=cid,
                name=compiled.competency_names.get(cid, cid),
                se=round(se, 4),
                score_se=round(float(scaled_se(se))),
                precision=round(max(0.0, 1.0 - se * se), 4),
                items=counts[k],
            )
            for k, (cid, se) in enumerate(zip(pool.competency_ids, state.se, strict=True))
        ),
    )


def result_view(
    compiled: CompiledBank, result: SessionResult, *, practice: bool = False
) -> ResultView:
    """The learner-facing result (``practice``: a practice session, never credited)."""
    decided = [c.classification for c in result.competencies if c.classification is not None]
    return ResultView(
        stop_reason=result.stop_reason,
        items=result.items,
        competencies=tuple(
            CompetencyResultView(
                id=c.competency,
                name=compiled.competency_names.get(c.competency, c.competency),
                theta=round(c.theta, 4),
                se=round(c.se, 4),
                items=c.items,
                score=round(float(scaled_score(c.theta))),
                score_se=round(float(scaled_se(c.se))),
                pass_mark=None if c.cut_score is None else round(float(scaled_score(c.cut_score))),
                cut_score=c.cut_score,
                classification=c.classification,
                confidence=None if c.confidence is None else round(c.confidence, 4),
            )
            for c in result.competencies
        ),
        passed=(all(d == "pass" for d in decided) if decided else None),
        practice=practice,
        counts_toward_credential=not practice,
        scoring_model=result.model,
        scoring_model_text=SCORING_MODELS[result.model],
    )


def _point_view(point: Point) -> PointView:
    return PointView(
        kind=point.kind,
        label=POINT_LABELS[point.kind],
        html=render_inline(point.text),
        reason_html=render(point.reason) if point.reason else "",
        mistake=point.kind in MISTAKES,
        misconception=point.misconception,
    )


def _misconceptions(feedback: Feedback) -> tuple[MisconceptionView, ...]:
    return tuple(
        MisconceptionView(
            id=m.id,
            name=m.name,
            name_html=render_inline(m.name),
            explanation_html=render(m.explanation),
        )
        for m in feedback.misconceptions
    )


def feedback_view(feedback: Feedback, position: int, item_id: str) -> FeedbackView:
    """The public feedback for one stored answer (rendered from the stored record alone)."""
    second = feedback.second_try
    return FeedbackView(
        position=position,
        item_id=item_id,
        correct=feedback.correct,
        category=feedback.category,
        max_category=feedback.max_category,
        correct_answer_html=render(feedback.correct_answer),
        verdict=feedback.verdict,
        given_html=render(feedback.given) if feedback.given else "",
        points=tuple(_point_view(p) for p in feedback.points),
        key_reasons_html=tuple(render(r) for r in feedback.key_reasons),
        message_html=render(feedback.message) if feedback.message else "",
        scoring_note=feedback.scoring_note,
        solution_html=render(feedback.solution) if feedback.solution else "",
        author_note_html=render(feedback.author_note) if feedback.author_note else "",
        misconceptions=_misconceptions(feedback),
        hints_html=tuple(render(h) for h in feedback.hints),
        second_try=None
        if second is None
        else AttemptView(
            correct=second.feedback.correct,
            verdict=second.feedback.verdict,
            given_html=render(second.feedback.given) if second.feedback.given else "",
            points=tuple(_point_view(p) for p in second.feedback.points),
            message_html=render(second.feedback.message) if second.feedback.message else "",
            scoring_note=second.feedback.scoring_note,
            misconceptions=_misconceptions(second.feedback),
        ),
    )


def practice_view(item: Item, position: int, hints_shown: int, verdict: Verdict) -> PracticeView:
    """Practice mode after a wrong first try: the first ``hints_shown`` hints, nothing more."""
    shown = item.hints[:hints_shown]
    return PracticeView(
        position=position,
        item_id=item.id,
        verdict="partial" if verdict == "partial" else "wrong",
        hints_html=tuple(render(h) for h in shown),
        hints_left=len(item.hints) - len(shown),
    )
