"""Feedback on one answer: pure code beside the engine, rendered by ``web/``.

Given an item, the raw answer and its score, :func:`feedback_for` decides what the learner
is told: not only right or wrong, but why, for this learner's answer (elaborated feedback;
van der Kleij, Feskens & Eggen, 2015, found it far more effective than knowledge of the
result alone). All texts are Markdown taken from the bank or composed here; the web layer
renders them. The result is a value (a frozen msgspec Struct) that is stored with the
response, so what a learner was shown for an answer can be shown again from that record.

Per interaction:

* **single choice**: the chosen option's rationale and the misconception it points to, why
  the key is right (the key's rationale), partial credit of a weighted option;
* **multiple response**: every wrong selection and every missed key, each with its reason,
  the right selections with theirs, and how partial credit was computed;
* **order**: every option out of place, where it was and where it belongs;
* **match**: every wrong pair and every missing pair, with the reasons;
* **numeric**: the authored common wrong answers first (a value with the item's tolerance,
  or a range), then generic diagnoses of recognisable slips (sign, a factor of 100 or a
  power of ten, off by one, a rounding near miss), then whether the answer is too high or
  too low;
* **short text**: authored wrong answers (matched after the same normalisation as scoring),
  then generic diagnoses (capitalisation when case matters, a spelling near miss).

Every item's worked solution is included; the misconceptions any wrong part points to are
resolved to their names and explanations.

References
----------
van der Kleij, F. M., Feskens, R. C. W., & Eggen, T. J. H. M. (2015). Effects of feedback in
a computer-based learning environment on students' learning outcomes: A meta-analysis.
*Review of Educational Research*, 85(4), 475-511.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Literal

import msgspec

from item_banks.model import (
    Associate,
    CommonWrongAnswer,
    Composite,
    ExtendedText,
    FieldInteraction,
    Item,
    Match,
    Misconception,
    MultipleResponse,
    Numeric,
    Option,
    Order,
    ShortText,
    SingleChoice,
)
from item_banks.scoring import (
    RawAnswer,
    ScoredAnswer,
    field_credits,
    field_label,
    parse_number,
    split_fields,
)
from item_banks.validation import normalise_text

PointKind = Literal[
    "chosen",
    "right_choice",
    "wrong_choice",
    "missed",
    "misplaced",
    "right_pair",
    "wrong_pair",
    "missed_pair",
    "common_wrong_answer",
    "wrong_answer",
]
#: The kinds of point that are mistakes (their misconceptions are reported).
MISTAKES: frozenset[str] = frozenset(
    {"chosen", "wrong_choice", "missed", "misplaced", "wrong_pair", "missed_pair"}
    | {"common_wrong_answer", "wrong_answer"}
)
Verdict = Literal["right", "partial", "wrong"]


class _Struct(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """Common configuration of feedback values (defaults omitted: stored compactly)."""


class Point(_Struct, frozen=True):
    """One part of an answer and the reason it is right or wrong.

    Attributes
    ----------
    kind
        What the part is: the option chosen (single choice), a right or wrong selection or a
        missed key (multiple response), an option out of place (order), a right, wrong or
        missing pair (match), or an authored wrong answer that matched (numeric, text).
    text
        The part, as Markdown (an option's text, ``source → target``...).
    reason
        Why, as Markdown (the bank's rationale or explanation, or a composed sentence).
    misconception
        The id of the misconception this part reveals, if the bank names one.
    """

    kind: PointKind
    text: str
    reason: str = ""
    misconception: str | None = None


class MisconceptionNote(_Struct, frozen=True):
    """A misconception the answer points to, as the bank defines it."""

    id: str
    name: str
    explanation: str


class Feedback(_Struct, frozen=True):
    """What the learner is told about one answer.

    Attributes
    ----------
    correct
        Full credit.
    category, max_category
        The score category and the item's highest.
    correct_answer
        The right answer, as Markdown (the key option's text, the number with its unit...).
    interaction
        The interaction type (``single_choice``...).
    given
        The learner's answer, as Markdown (typed text is shown literally, as code).
    points
        The parts of the answer with their reasons (see :class:`Point`).
    key_reasons
        Why the right answer is right (the key options' rationales), Markdown.
    message
        A diagnosis composed when no authored explanation matched (numeric and text).
    scoring_note
        How partial credit was computed, when the item gives any.
    solution
        The item's worked solution, Markdown.
    author_note
        The author's feedback for a correct (or any other) answer, Markdown
        (``Item.correct_feedback`` / ``Item.incorrect_feedback``; the latter not when an
        authored wrong answer's explanation matched).
    misconceptions
        The misconceptions the wrong parts point to, with the bank's explanations.
    hints
        The hints shown before this answer was final (practice mode), Markdown.
    second_try
        In practice mode, the learner's second try at the item (feedback only: the engine
        scores the first try).
    """

    correct: bool
    category: int
    max_category: int
    correct_answer: str
    interaction: str = ""
    given: str = ""
    points: tuple[Point, ...] = ()
    key_reasons: tuple[str, ...] = ()
    message: str = ""
    scoring_note: str = ""
    solution: str = ""
    author_note: str = ""
    misconceptions: tuple[MisconceptionNote, ...] = ()
    hints: tuple[str, ...] = ()
    second_try: SecondTry | None = None

    @property
    def verdict(self) -> Verdict:
        """``right`` (full credit), ``partial`` (some credit) or ``wrong``."""
        if self.correct:
            return "right"
        return "partial" if self.category > 0 else "wrong"

    @property
    def mistakes(self) -> tuple[Point, ...]:
        """The points that are mistakes."""
        return tuple(p for p in self.points if p.kind in MISTAKES)


class SecondTry(_Struct, frozen=True):
    """A practice second try: the raw answer and its feedback (never scored)."""

    answer: str | list[str]
    feedback: Feedback


def literal(text: str) -> str:
    """Markdown that shows ``text`` exactly as typed (a code span; nothing is interpreted)."""
    text = " ".join(text.split())
    if not text:
        return "(empty)"
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def number_text(value: float) -> str:
    """A number for people: up to 10 significant digits, no trailing zeros, no exponent junk."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.10g}"


def correct_answer_text(item: Item) -> str:
    """The item's right answer as Markdown."""
    interaction = item.interaction
    if isinstance(interaction, SingleChoice):
        option = next(o for o in interaction.options if o.id == interaction.key)
        return option.text
    if isinstance(interaction, MultipleResponse):
        texts = [o.text for o in interaction.options if o.id in interaction.key]
        return "\n".join(f"- {text}" for text in texts)
    if isinstance(interaction, Numeric):
        unit = f" {interaction.unit}" if interaction.unit else ""
        tolerance = ""
        if interaction.tolerance > 0:
            if interaction.tolerance_mode == "relative":
                tolerance = f" (± {number_text(interaction.tolerance * 100)} %)"
            else:
                tolerance = f" (± {number_text(interaction.tolerance)})"
        return f"{number_text(interaction.key)}{unit}{tolerance}"
    if isinstance(interaction, ShortText):
        accepted = [literal(k) for k in interaction.key]
        if len(accepted) == 1:
            return accepted[0]
        return f"{accepted[0]} (also accepted: {', '.join(accepted[1:])})"
    if isinstance(interaction, Order):
        by_id = {o.id: o.text for o in interaction.options}
        return "\n".join(f"{n}. {by_id[key]}" for n, key in enumerate(interaction.key, start=1))
    if isinstance(interaction, Match):
        sources = {o.id: o.text for o in interaction.sources}
        targets = {o.id: o.text for o in interaction.targets}
        return "\n".join(f"- {sources[p.source]} → {targets[p.target]}" for p in interaction.key)
    if isinstance(interaction, ExtendedText):
        return "A person will score this answer."
    if isinstance(interaction, Composite):
        return "\n".join(
            f"- **{field_label(interaction, f.id)}**: "
            + _inline_answer(_field_answer_text(item, f.interaction))
            for f in interaction.fields
        )
    raise AssertionError(f"unhandled interaction {type(interaction).__name__}")


def _inline_answer(text: str) -> str:
    """A field's right answer on one bullet line (a list becomes ``a; b``)."""
    lines = [line.lstrip("-0123456789. ").strip() for line in text.splitlines() if line.strip()]
    return "; ".join(lines)


def _field_answer_text(item: Item, interaction: FieldInteraction) -> str:
    if isinstance(interaction, Associate):
        names = {o.id: o.text for o in interaction.options}
        return "\n".join(f"- {names[p.source]} ↔ {names[p.target]}" for p in interaction.key)
    alone = msgspec.structs.replace(item, interaction=interaction)
    return correct_answer_text(alone)


def feedback_for(
    item: Item,
    answer: RawAnswer,
    scored: ScoredAnswer,
    misconceptions: Mapping[str, Misconception] | None = None,
) -> Feedback:
    """Decide the feedback for ``answer`` to ``item`` scored as ``scored``.

    Parameters
    ----------
    item
        The item answered.
    answer
        The raw answer, already accepted by :func:`item_banks.scoring.score_answer`.
    scored
        Its score.
    misconceptions
        The bank's misconceptions by id, to name and explain the ones the answer points to.
    """
    interaction = item.interaction
    parts: _Parts
    if isinstance(interaction, SingleChoice):
        parts = _single_choice(interaction, answer, scored)
    elif isinstance(interaction, MultipleResponse):
        parts = _multiple_response(interaction, answer, scored)
    elif isinstance(interaction, Numeric):
        parts = _numeric(interaction, answer, scored)
    elif isinstance(interaction, ShortText):
        parts = _short_text(interaction, answer, scored)
    elif isinstance(interaction, Order):
        parts = _order(interaction, answer)
    elif isinstance(interaction, Match):
        parts = _match(interaction, answer, scored)
    elif isinstance(interaction, Composite):
        parts = _composite(item, interaction, answer, scored)
    else:
        parts = _Parts(given=literal(answer if isinstance(answer, str) else " ".join(answer)))
    known = misconceptions or {}
    seen: list[str] = []
    for point in parts.points:
        if (
            point.kind in MISTAKES
            and point.misconception is not None
            and point.misconception not in seen
        ):
            seen.append(point.misconception)
    notes = tuple(
        MisconceptionNote(id=m, name=known[m].name, explanation=known[m].explanation)
        for m in seen
        if m in known
    )
    return Feedback(
        correct=scored.correct,
        category=scored.category,
        max_category=scored.max_category,
        correct_answer=correct_answer_text(item),
        interaction=str(type(interaction).__struct_config__.tag),
        given=parts.given,
        points=tuple(parts.points),
        key_reasons=tuple(parts.key_reasons),
        message=parts.message,
        scoring_note=parts.scoring_note,
        solution=item.solution,
        author_note=_author_note(item, scored, parts),
        misconceptions=notes,
    )


def _author_note(item: Item, scored: ScoredAnswer, parts: _Parts) -> str:
    """The item's correct or incorrect feedback for this answer.

    The incorrect feedback is left out when an authored wrong answer's explanation already
    speaks to the answer (QTI's "correct / Sydney / anything else" shows one of the three).
    """
    if scored.correct:
        return item.correct_feedback
    if any(p.kind in ("wrong_answer", "common_wrong_answer") for p in parts.points):
        return ""
    return item.incorrect_feedback


class _Parts(msgspec.Struct, kw_only=True):
    given: str
    points: list[Point] = msgspec.field(default_factory=list)
    key_reasons: list[str] = msgspec.field(default_factory=list)
    message: str = ""
    scoring_note: str = ""


def _field_parts(interaction: FieldInteraction, answer: RawAnswer, right: bool) -> _Parts:
    """The parts of one field's answer, as its own interaction's feedback words them."""
    scored = ScoredAnswer(category=int(right), max_category=1)
    if isinstance(interaction, SingleChoice):
        return _single_choice(interaction, answer, scored)
    if isinstance(interaction, MultipleResponse):
        return _multiple_response(interaction, answer, scored)
    if isinstance(interaction, Numeric):
        return _numeric(interaction, answer, scored)
    if isinstance(interaction, ShortText):
        return _short_text(interaction, answer, scored)
    if isinstance(interaction, Order):
        return _order(interaction, answer)
    if isinstance(interaction, Match):
        return _match(interaction, answer, scored)
    names = {o.id: o.text for o in interaction.options}
    given = [text.split() for text in _as_list(answer)]
    return _Parts(given="; ".join(f"{names[a]} ↔ {names[b]}" for a, b in given))


def _composite(item: Item, composite: Composite, answer: RawAnswer, scored: ScoredAnswer) -> _Parts:
    """Feedback field by field: each blank's answer, its rationale and misconception.

    A field answered right gets a ``right_choice`` point, a wrong or unanswered one a
    ``wrong_answer`` point whose reason is the field's own rationale (else what its
    interaction's feedback says) and whose misconception is the field's (else the one its
    wrong option or wrong answer names).
    """
    given = split_fields(item.id, composite, answer)
    credits = field_credits(item.id, composite, answer)
    parts = _Parts(given="")
    lines = []
    for field in composite.fields:
        label = field_label(composite, field.id)
        value = given.get(field.id)
        credit = credits[field.id]
        right = credit >= 1 - 1e-9
        inner = _field_parts(field.interaction, value, right) if value is not None else None
        shown = _inline_answer(inner.given) if inner is not None else "(left blank)"
        lines.append(f"- **{label}**: {shown}")
        if right:
            parts.points.append(Point(kind="right_choice", text=f"{label}: {shown}"))
            if field.rationale:
                parts.key_reasons.append(f"**{label}**: {field.rationale}")
            continue
        mistakes = [p for p in (inner.points if inner else []) if p.kind in MISTAKES]
        composed = inner.message if inner is not None else "This blank was left empty."
        reason = field.rationale or (mistakes[0].reason if mistakes else "") or composed
        named = field.misconception or next(
            (p.misconception for p in mistakes if p.misconception), None
        )
        if credit > 0:
            reason = f"Part of the credit ({_percent(credit)}). {reason}".strip()
        parts.points.append(
            Point(
                kind="wrong_answer",
                text=f"{label}: {shown}",
                reason=reason,
                misconception=named,
            )
        )
    parts.given = "\n".join(lines)
    fully = sum(1 for c in credits.values() if c >= 1 - 1e-9)
    weighted = len({f.weight for f in composite.fields}) > 1
    parts.scoring_note = (
        f"{fully} of {len(composite.fields)} parts right"
        + (" (each worth its own points)" if weighted else "")
        + f": score {scored.category} of {scored.max_category}."
    )
    return parts


def _as_list(answer: RawAnswer) -> list[str]:
    return [answer] if isinstance(answer, str) else list(answer)


def _bullets(options: list[Option]) -> str:
    return "\n".join(f"- {o.text}" for o in options) if options else "(nothing)"


def _percent(credit: float) -> str:
    return f"{number_text(round(100 * credit, 1))} %"


def _single_choice(interaction: SingleChoice, answer: RawAnswer, scored: ScoredAnswer) -> _Parts:
    options = {o.id: o for o in interaction.options}
    chosen = options[answer if isinstance(answer, str) else answer[0]]
    key = options[interaction.key]
    parts = _Parts(given=chosen.text)
    if chosen.id == key.id:
        if key.rationale:
            parts.key_reasons.append(key.rationale)
        return parts
    parts.points.append(
        Point(
            kind="chosen",
            text=chosen.text,
            reason=chosen.rationale,
            misconception=chosen.misconception,
        )
    )
    if key.rationale:
        parts.key_reasons.append(key.rationale)
    if interaction.scoring == "weighted" and (chosen.credit or 0.0) != 0.0:
        parts.scoring_note = (
            f"This option earns {_percent(chosen.credit or 0.0)} of the credit "
            f"(score {scored.category} of {scored.max_category})."
        )
    return parts


def _multiple_response(
    interaction: MultipleResponse, answer: RawAnswer, scored: ScoredAnswer
) -> _Parts:
    picked = set(_as_list(answer))
    keys = set(interaction.key)
    chosen = [o for o in interaction.options if o.id in picked]
    parts = _Parts(given=_bullets(chosen))
    for option in interaction.options:
        if option.id in picked and option.id not in keys:
            parts.points.append(
                Point(
                    kind="wrong_choice",
                    text=option.text,
                    reason=option.rationale,
                    misconception=option.misconception,
                )
            )
    for option in interaction.options:
        if option.id in keys and option.id not in picked:
            parts.points.append(
                Point(
                    kind="missed",
                    text=option.text,
                    reason=option.rationale,
                    misconception=option.misconception,
                )
            )
    for option in interaction.options:
        if option.id in keys and option.id in picked:
            parts.points.append(
                Point(kind="right_choice", text=option.text, reason=option.rationale)
            )
    if interaction.scoring == "partial":
        hits, false_alarms = len(picked & keys), len(picked - keys)
        parts.scoring_note = (
            f"Partial credit: one point per right choice ({hits}) minus one per wrong choice "
            f"({false_alarms}), never below 0: {scored.category} of {scored.max_category}."
        )
    elif interaction.scoring == "weighted":
        credits = {o.id: o.credit or 0.0 for o in interaction.options}
        total = sum(credits[c] for c in picked)
        parts.scoring_note = (
            f"Each choice carries its own credit; yours add up to {_percent(total)}"
            f"{' (counted as 0 %)' if total < 0 else ''}"
            f"{' (counted as 100 %)' if total > 1 else ''}: "
            f"score {scored.category} of {scored.max_category}."
        )
    return parts


def _order(interaction: Order, answer: RawAnswer) -> _Parts:
    texts = {o.id: o for o in interaction.options}
    given = _as_list(answer)
    parts = _Parts(given="\n".join(f"{n}. {texts[o].text}" for n, o in enumerate(given, start=1)))
    place = {option: n for n, option in enumerate(interaction.key, start=1)}
    for n, option_id in enumerate(given, start=1):
        right = place[option_id]
        if n != right:
            option = texts[option_id]
            where = f"You put it at position {n}; it belongs at position {right}."
            reason = f"{where} {option.rationale}".strip() if option.rationale else where
            parts.points.append(
                Point(
                    kind="misplaced",
                    text=option.text,
                    reason=reason,
                    misconception=option.misconception,
                )
            )
    return parts


def _match(interaction: Match, answer: RawAnswer, scored: ScoredAnswer) -> _Parts:
    sources = {o.id: o for o in interaction.sources}
    targets = {o.id: o for o in interaction.targets}
    given = [tuple(text.split()) for text in _as_list(answer)]
    pairs = [(s, t) for s, t in given]
    key = [(p.source, p.target) for p in interaction.key]

    def shown(source: str, target: str) -> str:
        return f"{sources[source].text} → {targets[target].text}"

    parts = _Parts(given="\n".join(f"- {shown(s, t)}" for s, t in pairs) if pairs else "(no pairs)")
    key_set = set(key)
    for source, target in pairs:
        if (source, target) not in key_set:
            src, tgt = sources[source], targets[target]
            right = [t for s, t in key if s == source]
            belongs = (
                f"{src.text} goes with {', '.join(targets[t].text for t in right)}."
                if right
                else f"{src.text} goes with none of the choices."
            )
            reason = tgt.rationale or src.rationale
            parts.points.append(
                Point(
                    kind="wrong_pair",
                    text=shown(source, target),
                    reason=f"{reason} {belongs}".strip() if reason else belongs,
                    misconception=tgt.misconception or src.misconception,
                )
            )
    given_set = set(pairs)
    for source, target in key:
        if (source, target) not in given_set:
            parts.points.append(
                Point(
                    kind="missed_pair",
                    text=shown(source, target),
                    reason=sources[source].rationale,
                    misconception=sources[source].misconception,
                )
            )
    for source, target in pairs:
        if (source, target) in key_set:
            parts.points.append(
                Point(
                    kind="right_pair", text=shown(source, target), reason=sources[source].rationale
                )
            )
    if interaction.scoring == "weighted":
        worth = {(p.source, p.target): p.credit for p in interaction.credits}
        total = sum(worth.get(pair, 0.0) for pair in given_set)
        parts.scoring_note = (
            f"Each pair carries its own credit; yours add up to {_percent(total)}: "
            f"score {scored.category} of {scored.max_category}."
        )
    return parts


def _tolerance_width(interaction: Numeric, around: float) -> float:
    if interaction.tolerance_mode == "relative":
        return interaction.tolerance * abs(around)
    return interaction.tolerance


def _near(interaction: Numeric, value: float, target: float) -> bool:
    """``value`` is within the item's tolerance of ``target`` (plus binary rounding)."""
    slack = 1e-9 * max(1.0, abs(target))
    return abs(value - target) <= _tolerance_width(interaction, target) + slack


def common_wrong_answer_matches(
    interaction: Numeric, wrong: CommonWrongAnswer, value: float
) -> bool:
    """Whether the typed ``value`` is the authored common wrong answer ``wrong``.

    A ``value`` matches within the item's own tolerance (absolute, or relative to the wrong
    value); ``"nan"``, ``"inf"``, ``"-inf"`` match those exactly; a range matches when
    ``low <= value <= high`` (plus binary rounding).
    """
    if isinstance(wrong.value, str):
        if wrong.value == "nan":
            return math.isnan(value)
        return math.isinf(value) and (value > 0) == (wrong.value == "inf")
    if math.isnan(value) or math.isinf(value):
        return False
    if wrong.value is not None:
        return _near(interaction, value, wrong.value)
    if wrong.low is None or wrong.high is None:
        return False
    slack = 1e-9 * max(1.0, abs(value))
    return wrong.low - slack <= value <= wrong.high + slack


def diagnose_number(interaction: Numeric, value: float) -> str:
    """A generic diagnosis of a wrong number, used when no authored explanation matches.

    Checked in order: not a finite number; the right size with the wrong sign; a power of
    ten (100, 10, 1000, either way); off by one (whole-number keys); a near miss (within ten
    tolerances, or 1 %: rounding); otherwise whether the answer is too high or too low.

    A factor of 100 is called a percentage-for-proportion slip only where it can be one: the
    key is a proportion (``0 < |key| <= 1``) and the answer 100 times it, or the answer is a
    proportion and the key 100 times it. Anywhere else (2250 for a key of 22.5) it is a
    decimal point in the wrong place, "100 times too large".
    """
    key = interaction.key
    unit = f" {interaction.unit}" if interaction.unit else ""
    if math.isnan(value):
        return "`nan` (not a number) is not the result here: the calculation gives a number."
    if math.isinf(value):
        return "An infinite result is not the result here: the calculation gives a finite number."
    if key != 0 and _near(interaction, -value, key):
        return "Your answer has the right size but the wrong sign."
    if key != 0:
        for power in (2, -2, 1, -1, 3, -3):
            if not _near(interaction, value, key * 10.0**power):
                continue
            if power == 2 and abs(key) <= 1:
                return (
                    "Your answer is 100 times the correct value: did you give a percentage "
                    "where a proportion (between 0 and 1) was asked for?"
                )
            if power == -2 and abs(value) <= 1:
                return (
                    "Your answer is a hundredth of the correct value: did you give a "
                    "proportion where a percentage was asked for?"
                )
            factor = number_text(10.0 ** abs(power))
            size = "large" if power > 0 else "small"
            return (
                f"Your answer is {factor} times too {size}: the digits look right, but the "
                "decimal point (or the unit's scale) is off."
            )
    if key == int(key) and abs(value - key) == 1:
        return (
            "Your answer is off by one: check whether the first and the last element are included."
        )
    width = _tolerance_width(interaction, key)
    distance = abs(value - key)
    if distance <= max(10 * width, 0.01 * abs(key)):
        allowed = (
            f"the accepted tolerance is ± {number_text(width)}{unit}"
            if width > 0
            else "the answer must be exact"
        )
        return (
            f"Close, but outside the accepted range ({allowed}): check the rounding and the "
            "number of decimals the question asks for."
        )
    direction = "too high" if value > key else "too low"
    return f"Your answer is {direction}: it is not within the accepted range of the result."


def _numeric(interaction: Numeric, answer: RawAnswer, scored: ScoredAnswer) -> _Parts:
    typed = answer if isinstance(answer, str) else " ".join(answer)
    parts = _Parts(given=literal(typed))
    value = parse_number(typed, unit=interaction.unit)
    if scored.correct:
        return parts
    if scored.category > 0:
        parts.scoring_note = (
            f"Your answer is in a range that earns part of the credit: score {scored.category} "
            f"of {scored.max_category}."
        )
        return parts
    for wrong in interaction.common_wrong_answers:
        if common_wrong_answer_matches(interaction, wrong, value):
            parts.points.append(
                Point(
                    kind="common_wrong_answer",
                    text=literal(typed),
                    reason=wrong.explanation,
                    misconception=wrong.misconception,
                )
            )
            return parts
    parts.message = diagnose_number(interaction, value)
    return parts


def _short_text(interaction: ShortText, answer: RawAnswer, scored: ScoredAnswer) -> _Parts:
    typed = answer if isinstance(answer, str) else " ".join(answer)
    parts = _Parts(given=literal(typed))
    if scored.correct:
        return parts
    if scored.category > 0:
        parts.scoring_note = (
            f"This answer is accepted for part of the credit: score {scored.category} of "
            f"{scored.max_category}."
        )
        return parts
    sensitive = interaction.case_sensitive
    mine = normalise_text(typed, case_sensitive=sensitive)
    for wrong in interaction.wrong_answers:
        if normalise_text(wrong.text, case_sensitive=sensitive) == mine:
            parts.points.append(
                Point(
                    kind="wrong_answer",
                    text=literal(typed),
                    reason=wrong.explanation,
                    misconception=wrong.misconception,
                )
            )
            return parts
    accepted = [normalise_text(k, case_sensitive=sensitive) for k in interaction.key]
    if sensitive and normalise_text(typed) in {normalise_text(k) for k in interaction.key}:
        parts.message = "Check the capital letters: this answer is case-sensitive."
    elif max((difflib.SequenceMatcher(None, mine, a).ratio() for a in accepted), default=0) >= 0.8:
        parts.message = "Close to an accepted answer: check the spelling."
    else:
        parts.message = "This is not one of the accepted answers."
    return parts
