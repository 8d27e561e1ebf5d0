"""QTI 3.0 assessment items into bank items.

Supported interactions: choice (single and multiple), text entry (text or numeric), order,
match and extended text (stored, never auto-scored). Response processing is recognised when it
is one of the templates ``match_correct``, ``map_response`` or ``map_response_point``
(identified by the template file's base name, whatever URL points to it), or when its
rules follow the common patterns: a condition chain whose branches test ``qti-match``,
``qti-equal`` (with tolerance), ``qti-string-match``, an interval (``qti-and`` of
``qti-gte``/``qti-lte``) or ``qti-is-null`` and set ``SCORE`` to a constant or to
``qti-map-response``; rules that only set feedback outcomes are accepted. Anything else is
*custom response processing*: the item is skipped and the skip is reported.

Feedback: a ``qti-feedback-inline`` inside a choice, and any feedback whose identifier is a
choice identifier, becomes that option's rationale; feedback whose identifier or outcome
names a hint becomes a hint; feedback named solution, explanation, general or worked becomes
the worked solution; any other feedback (e.g. "correct"/"incorrect" messages) has no place in
a bank and is reported as a warning.

QTI 2.1/2.2 items are read by the same code after :mod:`item_banks.formats.qti2_import`
renames their elements and attributes to the QTI 3.0 forms.
"""

from __future__ import annotations

import copy
import random
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec
from lxml import etree

from item_banks.errors import AnswerError, BankValidationError, Problem
from item_banks.formats.common import Collected, Draft, ImportResult, assemble, slug
from item_banks.formats.markup import html_to_markdown
from item_banks.formats.qti_expressions import (
    TEMPLATES,
    Rule,
    UnsupportedProcessingError,
    parse_processing,
    template_name,
)
from item_banks.formats.qti_processing import (
    Container,
    Declaration,
    InvalidProcessingError,
    Mapping,
    Outcome,
    Value,
    from_texts,
    number,
    read_declarations,
    read_outcomes,
    run,
    score,
)
from item_banks.formats.qti_scoring import (
    MAX_LEVELS,
    MAX_OPERATORS,
    OTHER_TEXT,
    NoCreditError,
    Table,
    associate_candidates,
    choice_candidates,
    clip,
    credit_table,
    disagreement,
    equal_candidates,
    match_candidates,
    number_candidates,
    order_candidates,
    probes,
    reachable_levels,
    size_of,
    text_candidates,
    typed_correct,
)
from item_banks.formats.safe_xml import local, namespace, parse_xml, where
from item_banks.model import Composite
from item_banks.native import DEFAULT_LIMITS, Limits
from item_banks.scoring import field_credits, join_fields, reachable_credits, weighted_mean
from item_banks.validation import normalise_text

NS = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
__all__ = ["TEMPLATES", "Declaration", "Mapping", "read_declarations", "template_name"]
SUPPORTED = (
    "qti-choice-interaction",
    "qti-text-entry-interaction",
    "qti-order-interaction",
    "qti-match-interaction",
    "qti-extended-text-interaction",
)
_FEEDBACK = ("qti-feedback-inline", "qti-feedback-block", "qti-modal-feedback")
_SKIP_IN_TEXT = frozenset({*_FEEDBACK, "qti-end-attempt-interaction", "qti-rubric-block"})
_MEDIA = frozenset({"img", "object", "audio", "video"})
_HINT = re.compile(r"hint", re.I)
_SOLUTION = re.compile(r"solution|explanation|general|worked", re.I)


class SkipError(Exception):
    """The item needs a feature Skillgauge lacks; the message says which, and where.

    ``final`` marks a finding about the item itself (an equality that accepts no answer),
    which no other reading of its rules can overturn.
    """

    def __init__(self, field: str | None, message: str, *, final: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.final = final


class BadError(Exception):
    """The item contradicts itself (a key naming no choice...); the import is refused."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def kids(element: etree._Element, name: str) -> list[etree._Element]:
    """Child elements with local name ``name``."""
    return [c for c in element if isinstance(c.tag, str) and local(c) == name]


def kid(element: etree._Element, name: str) -> etree._Element | None:
    """The first child element with local name ``name``."""
    found = kids(element, name)
    return found[0] if found else None


def descendants(element: etree._Element, name: str) -> list[etree._Element]:
    """Descendant elements with local name ``name``."""
    return [e for e in element.iter() if isinstance(e.tag, str) and local(e) == name]


def _float(text: str | None, element: etree._Element, what: str) -> float:
    try:
        return number(text, element, what)
    except InvalidProcessingError as exc:
        raise BadError(exc.field, exc.message) from None


# --------------------------------------------------------------------------- response processing


@dataclass
class Branch:
    """One scoring branch: a condition and the score it sets (``"map"`` for map-response)."""

    condition: tuple[Any, ...]
    score: float | str


@dataclass
class Scoring:
    """What the response processing does to ``SCORE``."""

    template: str | None = None
    branches: list[Branch] = field(default_factory=list)
    #: outcomes other than SCORE that the rules set (feedback plumbing)
    feedback_outcomes: set[str] = field(default_factory=set)


def _is_var(element: etree._Element | None, name: str = "RESPONSE") -> bool:
    return (
        element is not None
        and local(element) == "qti-variable"
        and element.get("identifier") == name
    )


def _element_children(element: etree._Element) -> list[etree._Element]:
    return [c for c in element if isinstance(c.tag, str)]


def _condition(element: etree._Element, response: str) -> tuple[Any, ...]:
    name = local(element)
    args = _element_children(element)
    if name == "qti-match" and len(args) == 2:
        a, b = args
        if _is_var(a, response) and local(b) == "qti-correct" and b.get("identifier") == response:
            return ("match",)
        if _is_var(a, response) and local(b) == "qti-base-value":
            return ("value", " ".join((b.text or "").split()))
    if name == "qti-equal" and len(args) == 2 and any(_is_var(a, response) for a in args):
        # QTI builds the tolerance range around the FIRST operand (see qti_processing).
        response_first = _is_var(args[0], response)
        mode = element.get("tolerance-mode", "exact")
        tolerance = (element.get("tolerance") or "0").split() or ["0"]
        for width in tolerance:
            if _float(width, element, "tolerance") < 0:
                raise BadError(where(element), f"a tolerance must not be negative, got {width}")
        t0, t1 = tolerance[0], tolerance[1] if len(tolerance) > 1 else tolerance[0]
        low_bound, high_bound = (
            element.get(f"include-{end}-bound", "true").strip().lower() != "false"
            for end in ("lower", "upper")
        )
        target = args[1] if response_first else args[0]
        if response_first and mode in ("absolute", "relative"):
            if mode == "relative" and float(t0) + float(t1) > 0:
                # r (1 - t0) <= key <= r (1 + t1) is no tolerance around the key
                raise SkipError(where(element), "a relative tolerance around the response")
            # key within [r - t0, r + t1]  <=>  r within [key - t1, key + t0]
            t0, t1, low_bound, high_bound = t1, t0, high_bound, low_bound
        if local(target) == "qti-correct" and target.get("identifier") == response:
            return ("equal", mode, t0, t1, None, low_bound, high_bound)
        if local(target) == "qti-base-value":
            value = _float(target.text, target, "value")
            return ("equal", mode, t0, t1, value, low_bound, high_bound)
    if name == "qti-string-match" and len(args) == 2 and _is_var(args[0], response):
        target = args[1]
        sensitive = element.get("case-sensitive", "true").lower() == "true"
        if local(target) == "qti-base-value":
            return ("string", " ".join((target.text or "").split()), sensitive)
        if local(target) == "qti-correct":
            return ("string-correct", sensitive)
    if name == "qti-is-null" and len(args) == 1 and _is_var(args[0], response):
        return ("null",)
    if name == "qti-and" and len(args) == 2:
        low = high = None
        include_low = include_high = True
        for part in args:
            inner = _element_children(part)
            if (
                len(inner) == 2
                and _is_var(inner[0], response)
                and local(inner[1]) == ("qti-base-value")
            ):
                value = _float(inner[1].text, inner[1], "bound")
                if local(part) in ("qti-gte", "qti-gt"):
                    low, include_low = value, local(part) == "qti-gte"
                elif local(part) in ("qti-lte", "qti-lt"):
                    high, include_high = value, local(part) == "qti-lte"
        if low is not None and high is not None:
            return ("range", low, high, include_low, include_high)
    if name == "qti-variable" and element.get("identifier") != response:
        return ("other-variable", element.get("identifier"))
    raise SkipError(where(element), "custom response processing: this condition is not supported")


def _score_value(setter: etree._Element) -> float | str:
    args = _element_children(setter)
    if len(args) == 1 and local(args[0]) == "qti-map-response":
        return "map"
    if len(args) == 1 and local(args[0]) == "qti-base-value":
        return _float(args[0].text, args[0], "score")
    raise SkipError(where(setter), "custom response processing: SCORE is computed")


def _actions(branch: etree._Element, skip_first: bool, scoring: Scoring) -> float | str | None:
    score: float | str | None = None
    actions = _element_children(branch)[1 if skip_first else 0 :]
    for action in actions:
        name = local(action)
        if name != "qti-set-outcome-value":
            raise SkipError(where(action), "custom response processing: nested rules")
        ident = action.get("identifier", "")
        if ident == "SCORE":
            score = _score_value(action)
        else:
            scoring.feedback_outcomes.add(ident)
    return score


def read_scoring(item: etree._Element, response: str) -> Scoring | None:
    """Recognise the item's response processing, or raise :class:`SkipError`."""
    processing = kid(item, "qti-response-processing")
    if processing is None:
        return None
    scoring = Scoring()
    url = processing.get("template")
    if url:
        name = template_name(url)
        if name is None:
            raise SkipError(where(processing), f"custom response processing template {url!r}")
        scoring.template = name
        return scoring
    for rule in _element_children(processing):
        name = local(rule)
        if name == "qti-set-outcome-value":
            if rule.get("identifier") == "SCORE":
                scoring.branches.append(Branch(("always",), _score_value(rule)))
            else:
                scoring.feedback_outcomes.add(rule.get("identifier", ""))
        elif name == "qti-response-condition":
            for part in _element_children(rule):
                part_name = local(part)
                if part_name in ("qti-response-if", "qti-response-else-if"):
                    first = _element_children(part)
                    if not first:
                        raise BadError(where(part), "a condition is missing")
                    condition = _condition(first[0], response)
                    score = _actions(part, True, scoring)
                    if condition[0] == "other-variable":
                        if score is not None:
                            raise SkipError(
                                where(part), "custom response processing: SCORE set by a variable"
                            )
                        continue
                    if score is not None:
                        scoring.branches.append(Branch(condition, score))
                elif part_name == "qti-response-else":
                    score = _actions(part, False, scoring)
                    if score is not None:
                        scoring.branches.append(Branch(("else",), score))
                else:
                    raise SkipError(where(part), "custom response processing")
        else:
            raise SkipError(where(rule), f"custom response processing (<{name}>)")
    return scoring


# --------------------------------------------------------------------------- feedback


@dataclass
class Unplaced:
    """A feedback element its identifiers alone do not place (e.g. "correct"/"incorrect")."""

    location: str
    ident: str
    outcome: str
    show: bool
    text: str

    def shown(self, value: Value) -> bool:
        """Whether QTI shows it when its outcome holds ``value`` (``show-hide``)."""
        if value is None:
            matched = False
        elif isinstance(value, Container):
            matched = self.ident in value.values
        else:
            matched = value == self.ident
        return matched == self.show


@dataclass
class Feedback:
    """Feedback found in the item, sorted into the places a bank has for it."""

    rationales: dict[str, str] = field(default_factory=dict)
    hints: list[str] = field(default_factory=list)
    solution: list[str] = field(default_factory=list)
    unplaced: list[Unplaced] = field(default_factory=list)
    #: shown for every fully correct answer only / for every other answer only
    correct: list[str] = field(default_factory=list)
    incorrect: list[str] = field(default_factory=list)


def read_feedback(item: etree._Element, choice_ids: set[str]) -> Feedback:
    """Sort every feedback element of the item into rationales, hints and the solution."""
    found = Feedback()
    for element in item.iter():
        if not isinstance(element.tag, str) or local(element) not in _FEEDBACK:
            continue
        text = html_to_markdown(element)
        if not text:
            continue
        ident = element.get("identifier", "")
        outcome = element.get("outcome-identifier", "")
        parent = element.getparent()
        inside = parent if parent is not None and local(parent) == "qti-simple-choice" else None
        if inside is not None and inside.get("identifier") in choice_ids:
            found.rationales[inside.get("identifier", "")] = text
        elif _HINT.search(outcome):
            found.hints.append(text)
        elif _SOLUTION.search(outcome):
            found.solution.append(text)
        elif ident in choice_ids:
            found.rationales[ident] = text
        elif _HINT.search(ident):
            found.hints.append(text)
        elif _SOLUTION.search(ident):
            found.solution.append(text)
        else:
            show = (element.get("show-hide") or "show").lower() != "hide"
            found.unplaced.append(Unplaced(where(element), ident, outcome, show, text))
    return found


#: The most options a bank's choice interaction holds (``model.ChoiceOptions``).
MAX_CHOICES = 26


def place_by_outcome(
    rules: tuple[Rule, ...],
    declarations: dict[str, Declaration],
    outcomes: dict[str, Outcome],
    response: str,
    *,
    choices: list[str],
    feedback: Feedback,
) -> None:
    """Place feedback that the rules show through an outcome (``FEEDBACK``), single choice.

    The rules run once per option; a feedback shown for some options (but not all) joins
    the rationale of each of them (so "Correct" becomes the key's rationale, "Not quite" every
    other option's), one shown whatever the answer joins the worked solution. Feedback never
    shown, or when the rules fail on an option, stays unplaced (and is warned about).
    """
    keyed = [u for u in feedback.unplaced if u.outcome and u.outcome != ANSWER_FEEDBACK]
    if not keyed or not choices or len(choices) > MAX_CHOICES:
        return  # (more choices than a bank item holds: the item is refused anyway)
    try:
        results = {c: run(rules, declarations, outcomes, {response: c}) for c in choices}
    except InvalidProcessingError:
        return
    placed: list[Unplaced] = []
    for note in keyed:
        on = [c for c in choices if note.shown(results[c].get(note.outcome))]
        if not on:
            continue
        if len(on) == len(choices):
            feedback.solution.append(note.text)
        else:
            for choice in on:
                before = feedback.rationales.get(choice, "")
                feedback.rationales[choice] = f"{before}\n\n{note.text}" if before else note.text
        placed.append(note)
    feedback.unplaced = [u for u in feedback.unplaced if u not in placed]


def place_by_answer_class(
    rules: tuple[Rule, ...],
    *,
    declarations: dict[str, Declaration],
    outcomes: dict[str, Outcome],
    response: str,
    table: Table,
    candidate: dict[str, Any],
    feedback: Feedback,
) -> dict[str, Any]:
    """Place feedback shown through an outcome for items other than a single choice.

    The rules run on every answer of the credit table (the answers that decide the item's
    scoring). A feedback shown for every answer joins the worked solution; one shown for
    exactly the fully correct answers becomes the item's ``correct_feedback``. For a short
    text or number, a feedback shown only for some answers that earn nothing becomes their
    wrong-answer explanation (``wrong_answers``, ``common_wrong_answers``: single values or
    closed ranges). A feedback shown for exactly the other answers, but those a wrong-answer
    explanation matches, becomes the ``incorrect_feedback`` (the learner sees one or the
    other, as in QTI's "correct / Sydney / anything else"). Anything
    else stays unplaced and is warned about. A single choice's feedback is placed per option
    (:func:`place_by_outcome`) except on ``ANSWER_FEEDBACK``, the outcome Skillgauge's export
    writes the correct / incorrect feedback on. Returns ``candidate``, with the wrong answers
    added.
    """
    kind = candidate.get("type")
    keyed = [
        u
        for u in feedback.unplaced
        if u.outcome and (kind != "single_choice" or u.outcome == ANSWER_FEEDBACK)
    ]
    if not keyed or not table.probes:
        return candidate
    try:
        results = [run(rules, declarations, outcomes, {response: p.value}) for p in table.probes]
    except InvalidProcessingError:
        return candidate
    full = [clip(c) >= 1 - 1e-9 for c in table.credits]
    nothing = [clip(c) <= 1e-9 for c in table.credits]
    out = dict(candidate)
    placed: list[Unplaced] = []
    #: the answers a wrong-answer explanation placed here matches (the learner sees it and
    #: not the incorrect feedback)
    explained = [False] * len(table.probes)
    later: list[tuple[Unplaced, list[bool]]] = []
    for note in keyed:
        on = [note.shown(r.get(note.outcome)) for r in results]
        if not any(on):
            continue
        if all(on):
            feedback.solution.append(note.text)
        elif on == full:
            feedback.correct.append(note.text)
        elif any(o and not n for o, n in zip(on, nothing, strict=True)):
            later.append((note, on))  # shown for answers with credit: the incorrect feedback?
            continue
        elif any(o and e for o, e in zip(on, explained, strict=True)):
            continue  # a learner sees one wrong answer's explanation, not two
        elif not _place_wrong_answers(out, table, on, note.text):
            later.append((note, on))
            continue
        else:
            explained = [o or e for o, e in zip(on, explained, strict=True)]
        placed.append(note)
    unexplained_wrong = [not f and not e for f, e in zip(full, explained, strict=True)]
    for note, on in later:
        if on == unexplained_wrong:
            feedback.incorrect.append(note.text)
            placed.append(note)
    feedback.unplaced = [u for u in feedback.unplaced if u not in placed]
    return out


def _place_wrong_answers(out: dict[str, Any], table: Table, on: list[bool], text: str) -> bool:
    """Add the typed answers or numbers a feedback is shown for to ``out``'s wrong answers.

    Returns whether they were placed (a short text or a number, matched as the bank does).
    """
    if out.get("type") == "short_text":
        texts = _wrong_texts(table, on, bool(out.get("case_sensitive")))
        wrong = list(out.get("wrong_answers", []))
        if texts is None or len(wrong) + len(texts) > MAX_WRONG_TEXTS:
            return False
        out["wrong_answers"] = wrong + [{"text": t, "explanation": text} for t in texts]
        return True
    if out.get("type") == "numeric":
        spans = _wrong_numbers(table, on)
        wrong = list(out.get("common_wrong_answers", []))
        if spans is None or len(wrong) + len(spans) > MAX_WRONG_NUMBERS:
            return False
        for low, high in spans:
            span: dict[str, Any] = {"value": low} if low == high else {"low": low, "high": high}
            wrong.append({**span, "explanation": text})
        out["common_wrong_answers"] = wrong
        return True
    return False


#: The outcome :mod:`item_banks.formats.qti3_export` shows the correct / incorrect feedback on.
ANSWER_FEEDBACK = "ANSWER_FEEDBACK"

#: The most wrong answers a short text / numeric item holds (``model.ShortText``, ``Numeric``).
MAX_WRONG_TEXTS = 50
MAX_WRONG_NUMBERS = 20


def _with_answer_class_feedback(  # noqa: PLR0917 (the state of _scored, passed on)
    root: etree._Element,
    rules: tuple[Rule, ...],
    declarations: dict[str, Declaration],
    response: str,
    table: Table,
    candidate: dict[str, Any],
    feedback: Feedback,
) -> dict[str, Any]:
    """``candidate`` with the outcome feedback :func:`place_by_answer_class` places."""
    return place_by_answer_class(
        rules,
        declarations=declarations,
        outcomes=read_outcomes(root),
        response=response,
        table=table,
        candidate=candidate,
        feedback=feedback,
    )


def _answer_class_feedback(raw: dict[str, Any], feedback: Feedback) -> None:
    """Write the feedback placed for correct / other answers into the item ``raw``."""
    if feedback.correct:
        raw["correct_feedback"] = "\n\n".join(feedback.correct)
    if feedback.incorrect:
        raw["incorrect_feedback"] = "\n\n".join(feedback.incorrect)


def _wrong_texts(table: Table, on: list[bool], case_sensitive: bool) -> list[str] | None:
    """The typed answers a feedback is shown for, or None when a bank cannot match them.

    Answers that the item's normalisation treats as one (case variants, unless the item is
    case-sensitive) must all show it; the answer no rule names must not (that feedback is
    for "anything else", not for a wrong answer).
    """
    groups: dict[str, list[tuple[str, bool]]] = {}
    for probe, shown in zip(table.probes, on, strict=True):
        if not isinstance(probe.value, str):
            return None
        if probe.value == OTHER_TEXT and shown:
            return None
        key = normalise_text(probe.value, case_sensitive=case_sensitive)
        groups.setdefault(key, []).append((probe.value, shown))
    texts = []
    for variants in groups.values():
        flags = {shown for _, shown in variants}
        if flags == {True}:
            texts.append(variants[0][0][:500])
        elif flags == {True, False}:
            return None
    return texts


def _wrong_numbers(table: Table, on: list[bool]) -> list[tuple[float, float]] | None:
    """The closed ranges of numbers a feedback is shown for (``low == high``: one value).

    The tried numbers are read in increasing order; each run of numbers showing it is one
    range. None when a run reaches the smallest or largest number tried (the feedback is
    for an unbounded range) or a number is not finite.
    """
    points = []
    for probe, shown in zip(table.probes, on, strict=True):
        if not isinstance(probe.value, int | float) or isinstance(probe.value, bool):
            return None
        points.append((float(probe.value), shown))
    points.sort()
    if points[0][1] or points[-1][1]:
        return None
    spans: list[tuple[float, float]] = []
    start: float | None = None
    for k, (x, shown) in enumerate(points):
        if shown and start is None:
            start = x
        if start is not None and not shown:
            spans.append((start, points[k - 1][0]))
            start = None
    return spans


# --------------------------------------------------------------------------- interactions


def _options(choices: list[etree._Element], rationales: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for choice in choices:
        ident = choice.get("identifier", "")
        option: dict[str, Any] = {
            "id": ident,
            "text": html_to_markdown(choice, _SKIP_IN_TEXT) or ident,
        }
        if rationales.get(ident):
            option["rationale"] = rationales[ident]
        out.append(option)
    return out


def _normalised_credits(mapping: Mapping, multiple: bool) -> tuple[dict[str, float], float]:
    """The mapped values and the default as fractions of full credit.

    Full credit is the mapping's upper bound, else the sum (multiple) or the largest
    (single) positive value.
    """
    mapped = {k: v for k, v, _ in mapping.entries}
    positive = [v for v in mapped.values() if v > 0]
    if mapping.upper is not None and mapping.upper > 0:
        top = mapping.upper
    elif multiple:
        top = sum(positive)
    else:
        top = max(positive, default=0.0)
    if top <= 0:
        raise BadError(None, "the mapping gives no positive score")
    return {k: _ratio(v, top) for k, v in mapped.items()}, _ratio(mapping.default, top)


def _ratio(score: float, top: float) -> float:
    """``score / top`` clipped to [-1, 1]; exact when ``top`` is 1 (as Skillgauge writes)."""
    value = score if top == 1.0 else round(score / top, 9)
    return max(-1.0, min(1.0, value))


def _choice(
    interaction: etree._Element,
    decl: Declaration,
    scoring: Scoring,
    feedback: Feedback,
) -> dict[str, Any]:
    choices = kids(interaction, "qti-simple-choice")
    ids = [c.get("identifier", "") for c in choices]
    options = _options(choices, feedback.rationales)
    shuffle = interaction.get("shuffle", "false").lower() == "true"
    multiple = decl.cardinality == "multiple" or interaction.get("max-choices", "1") != "1"
    kind = _kind(scoring)
    if kind == "match":
        if not decl.correct:
            raise BadError(where(interaction), "match_correct needs a qti-correct-response")
        if multiple:
            return {
                "type": "multiple_response",
                "options": options,
                "key": decl.correct,
                "shuffle": shuffle,
            }
        return {
            "type": "single_choice",
            "options": options,
            "key": decl.correct[0],
            "shuffle": shuffle,
        }
    if kind != "map" or decl.mapping is None:
        raise SkipError(where(interaction), "this response processing does not fit a choice")
    mapped, default = _normalised_credits(decl.mapping, multiple)
    credit = {i: mapped.get(i, default) for i in ids}
    if multiple:
        keys = decl.correct or [i for i in ids if credit[i] > 0]
        k = len(keys)
        # max(0, keys picked - others picked): +1 per key, -1 per other option, within [0, K].
        # With one key a weighted item can have the same mapping; Skillgauge writes partial
        # scoring with the -1 as the default value, weighted scoring with a default of 0.
        raw = {key: value for key, value, _ in decl.mapping.entries}
        point = {i: raw.get(i, decl.mapping.default) for i in ids}  # before normalising
        canonical_partial = (
            k > 0
            and decl.mapping.upper == float(k)
            and all(point[i] == 1.0 for i in keys)
            and all(point[i] == -1.0 for i in ids if i not in keys)
            and (k > 1 or decl.mapping.default < 0)
        )
        if canonical_partial:
            return {
                "type": "multiple_response",
                "options": options,
                "key": keys,
                "scoring": "partial",
                "shuffle": shuffle,
            }
    # Weighted: every mapped option keeps its credit (0 included); others earn the default.
    for option in options:
        if option["id"] in mapped:
            option["credit"] = mapped[option["id"]]
        elif default != 0.0:
            option["credit"] = default
    if multiple:
        keys = decl.correct or [i for i in ids if credit[i] > 0]
        return {
            "type": "multiple_response",
            "options": options,
            "key": keys,
            "scoring": "weighted",
            "shuffle": shuffle,
        }
    key = decl.correct[0] if decl.correct else max(ids, key=lambda i: credit[i])
    return {
        "type": "single_choice",
        "options": options,
        "key": key,
        "scoring": "weighted",
        "shuffle": shuffle,
    }


def _kind(scoring: Scoring) -> str:
    """``match`` (all or nothing against the correct response), ``map`` or ``rules``."""
    if scoring.template == "match_correct":
        return "match"
    if scoring.template == "map_response":
        return "map"
    if scoring.template == "map_response_point":
        return "point"
    branches = scoring.branches
    if len(branches) == 1 and branches[0].condition == ("always",) and branches[0].score == "map":
        return "map"
    if (
        branches
        and branches[0].condition == ("match",)
        and all(b.condition == ("else",) and b.score == 0 for b in branches[1:])
        and branches[0].score != "map"
        and float(branches[0].score) > 0
    ):
        return "match"
    if (
        branches
        and branches[0].condition == ("null",)
        and all(b.score == "map" for b in branches[1:] if b.condition in (("else",),))
    ):
        return "map" if any(b.score == "map" for b in branches[1:]) else "rules"
    return "rules"


def _scored_branches(scoring: Scoring) -> list[tuple[tuple[Any, ...], float]]:
    """The rule branches as (condition, credit), credit relative to the best branch."""
    scores = [b.score for b in scoring.branches if not isinstance(b.score, str)]
    if any(isinstance(b.score, str) for b in scoring.branches):
        raise SkipError(None, "custom response processing mixes map-response and rules")
    top = max((float(s) for s in scores), default=0.0)
    if top <= 0:
        raise BadError(None, "no branch of the response processing gives a positive score")
    out = []
    for branch in scoring.branches:
        credit = _ratio(float(branch.score), top)
        if branch.condition in (("else",), ("null",)):
            if credit > 0:
                raise SkipError(None, "custom response processing: credit for any answer")
            continue
        if credit > 0:
            out.append((branch.condition, credit))
    return out


def _text_entry(interaction: etree._Element, decl: Declaration, scoring: Scoring) -> dict[str, Any]:
    numeric = decl.base_type in ("float", "integer")
    kind = _kind(scoring)
    if kind == "match":
        if not decl.correct:
            raise BadError(where(interaction), "match_correct needs a qti-correct-response")
        if numeric:
            return {"type": "numeric", "key": _float(decl.correct[0], interaction, "the key")}
        return {"type": "short_text", "key": [decl.correct[0]], "case_sensitive": True}
    if kind == "map":
        if decl.mapping is None:
            raise BadError(where(interaction), "map_response needs a qti-mapping")
        credits, _ = _normalised_credits(decl.mapping, False)
        best = [k for k, v in credits.items() if v >= 1.0]
        partial = [(k, v) for k, v in credits.items() if 0 < v < 1.0]
        if not best:
            raise BadError(where(interaction), "no mapped answer earns full credit")
        if numeric:
            values = [_float(k, interaction, "a mapped key") for k in best]
            return {
                "type": "numeric",
                "key": values[0],
                "alternatives": [{"low": v, "high": v} for v in values[1:]]
                + [
                    {"low": _float(k, interaction, "a mapped key"), "high": float(k), "credit": v}
                    for k, v in partial
                ],
            }
        sensitive = {cs for _, _, cs in decl.mapping.entries}
        return {
            "type": "short_text",
            "key": best,
            "alternatives": [{"text": k, "credit": v} for k, v in partial],
            "case_sensitive": sensitive == {True},
        }
    if kind == "point":
        raise SkipError(where(interaction), "map_response_point scores point (graphic) answers")
    branches = _scored_branches(scoring)
    if numeric:
        return _numeric_rules(interaction, decl, branches)
    return _text_rules(interaction, decl, branches)


def relative(percent: str) -> float:
    """A QTI relative tolerance (percent, as written) as a fraction, exactly: ``2.5`` -> 0.025."""
    return float(Decimal(percent.strip()) / 100)


def _numeric_rules(
    interaction: etree._Element,
    decl: Declaration,
    branches: list[tuple[tuple[Any, ...], float]],
) -> dict[str, Any]:
    result: dict[str, Any] = {"type": "numeric"}
    alternatives: list[dict[str, Any]] = []
    for condition, credit in branches:
        kind = condition[0]
        include_low = include_high = True
        if kind in {"equal", "match", "value"}:
            if kind == "equal":
                _, mode, w0, w1, target, include_low, include_high = condition
                if mode == "relative":  # QTI gives relative tolerances in percent
                    t0, t1 = relative(w0), relative(w1)
                else:
                    t0, t1 = float(w0), float(w1)
            else:
                mode, t0, t1 = "exact", 0.0, 0.0
                target = float(condition[1]) if kind == "value" else None
            if mode not in ("absolute", "relative"):
                mode, t0, t1, include_low, include_high = "exact", 0.0, 0.0, True, True
            if target is None:
                if not decl.correct:
                    raise BadError(where(interaction), "qti-correct needs a qti-correct-response")
                target = _float(decl.correct[0], interaction, "the key")
            closed = include_low and include_high
            if not closed and t0 == t1 == 0:
                raise SkipError(
                    where(interaction),
                    "an equality with no tolerance that excludes its bounds accepts no answer",
                    final=True,
                )
            if "key" not in result and credit >= 1.0:
                # The key takes a symmetric closed tolerance; anything else is an interval.
                result["key"] = target
                if closed and min(t0, t1):
                    result["tolerance"] = min(t0, t1)
                if mode == "relative" and closed:
                    result["tolerance_mode"] = "relative"
                if t0 == t1 and closed:
                    continue
            if mode == "relative":
                low, high = target - t0 * abs(target), target + t1 * abs(target)
            else:
                low, high = target - t0, target + t1
        elif kind == "range":
            _, low, high, include_low, include_high = condition
        else:
            raise SkipError(where(interaction), f"a {kind} condition on a number")
        alternative: dict[str, Any] = {"low": low, "high": high, "credit": credit}
        if not include_low:
            alternative["include_low"] = False
        if not include_high:
            alternative["include_high"] = False
        alternatives.append(alternative)
    if "key" not in result:
        full = [a for a in alternatives if a["credit"] >= 1.0]
        if not full:
            raise BadError(where(interaction), "no condition earns full credit")
        first = full[0]
        if first.get("include_low", True) and first.get("include_high", True):
            alternatives.remove(first)
            result["key"] = (first["low"] + first["high"]) / 2
            result["tolerance"] = (first["high"] - first["low"]) / 2
        else:
            result["key"] = (first["low"] + first["high"]) / 2
    for alt in alternatives:
        if alt["credit"] >= 1.0:
            del alt["credit"]
    if alternatives:
        result["alternatives"] = alternatives
    return result


def _text_rules(
    interaction: etree._Element,
    decl: Declaration,
    branches: list[tuple[tuple[Any, ...], float]],
) -> dict[str, Any]:
    key: list[str] = []
    alternatives: list[dict[str, Any]] = []
    sensitivity: set[bool] = set()
    for condition, credit in branches:
        if condition[0] == "string":
            text, sensitive = condition[1], condition[2]
        elif condition[0] == "string-correct" and decl.correct:
            text, sensitive = decl.correct[0], condition[1]
        elif condition[0] in ("match",) and decl.correct:
            text, sensitive = decl.correct[0], True
        elif condition[0] == "value":
            text, sensitive = condition[1], True
        else:
            raise SkipError(where(interaction), f"a {condition[0]} condition on text")
        sensitivity.add(sensitive)
        if credit >= 1.0:
            key.append(text)
        else:
            alternatives.append({"text": text, "credit": credit})
    if not key:
        raise BadError(where(interaction), "no condition earns full credit")
    if len(sensitivity) > 1:
        raise SkipError(where(interaction), "case-sensitive and case-insensitive answers mixed")
    return {
        "type": "short_text",
        "key": key,
        "alternatives": alternatives,
        "case_sensitive": sensitivity == {True},
    }


def _order(interaction: etree._Element, decl: Declaration, scoring: Scoring) -> dict[str, Any]:
    if _kind(scoring) != "match":
        raise SkipError(where(interaction), "an order interaction scored other than match_correct")
    choices = kids(interaction, "qti-simple-choice")
    if not decl.correct:
        raise BadError(where(interaction), "match_correct needs a qti-correct-response")
    return {
        "type": "order",
        "options": _options(choices, {}),
        "key": decl.correct,
        "shuffle": interaction.get("shuffle", "false").lower() == "true",
    }


def _match(interaction: etree._Element, decl: Declaration, scoring: Scoring) -> dict[str, Any]:
    sets = kids(interaction, "qti-simple-match-set")
    if len(sets) != 2:
        raise BadError(where(interaction), "a match interaction needs two qti-simple-match-set")
    sources = _options(kids(sets[0], "qti-simple-associable-choice"), {})
    targets = _options(kids(sets[1], "qti-simple-associable-choice"), {})
    shuffle = interaction.get("shuffle", "false").lower() == "true"

    def pair(text: str) -> dict[str, str]:
        parts = text.split()
        if len(parts) != 2:
            raise BadError(where(interaction), f"{text!r} is not a pair of identifiers")
        return {"source": parts[0], "target": parts[1]}

    kind = _kind(scoring)
    if kind == "match":
        if not decl.correct:
            raise BadError(where(interaction), "match_correct needs a qti-correct-response")
        return {
            "type": "match",
            "sources": sources,
            "targets": targets,
            "key": [pair(v) for v in decl.correct],
            "shuffle": shuffle,
        }
    if kind != "map" or decl.mapping is None:
        raise SkipError(where(interaction), "this response processing does not fit a match")
    if decl.mapping.default != 0:
        raise SkipError(where(interaction), "a non-zero default-value for unlisted pairs")
    credits, _ = _normalised_credits(decl.mapping, True)
    scored = [{**pair(k), "credit": v} for k, v in credits.items()]
    key = [pair(v) for v in decl.correct] or [pair(k) for k, v in credits.items() if v > 0]
    return {
        "type": "match",
        "sources": sources,
        "targets": targets,
        "key": key,
        "scoring": "weighted",
        "credits": scored,
        "shuffle": shuffle,
    }


def _extended(interaction: etree._Element) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "extended_text"}
    for attr, name in (
        ("expected-lines", "expected_lines"),
        ("expected-length", "expected_length"),
    ):
        value = interaction.get(attr)
        if value and value.isdigit() and int(value) > 0:
            out[name] = int(value)
    return out


# --------------------------------------------------------------------------- the item


@dataclass
class ItemContext:
    """What a package knows about an item from outside its file."""

    skills: tuple[tuple[str, str], ...] = ()
    irt: dict[str, Any] | None = None
    #: the ``src`` of the images the package kept (already rewritten to the bank's media paths)
    media: frozenset[str] = frozenset()


def _stem(body: etree._Element) -> str:
    body = copy.deepcopy(body)
    for element in list(body.iter()):
        if not isinstance(element.tag, str):
            continue
        name = local(element)
        if name.endswith("-interaction") and name != "qti-end-attempt-interaction":
            prompt = kid(element, "qti-prompt")
            parent = element.getparent()
            if parent is None:
                continue
            if name == "qti-text-entry-interaction":
                siblings_text = "".join(parent.itertext()).strip()
                replacement = etree.Element("span")
                replacement.text = "_____" if siblings_text else ""
                replacement.tail = element.tail
                parent.replace(element, replacement)
                continue
            holder = etree.Element("div")
            if prompt is not None:
                holder.extend(list(prompt))
                holder.text = prompt.text
            holder.tail = element.tail
            parent.replace(element, holder)
    return html_to_markdown(body, _SKIP_IN_TEXT)


def read_item_file(data: bytes, source: str, *, limits: Limits = DEFAULT_LIMITS) -> ImportResult:
    """Read one QTI 3.0 item file into a one-item bank (id from the file name)."""
    root = parse_xml(data, source, limits=limits)
    if namespace(root) != NS:
        raise BankValidationError(
            [
                Problem(
                    source=source,
                    field=where(root),
                    message=f"not a QTI 3.0 document (namespace {namespace(root) or 'none'!r})",
                )
            ]
        )
    collected = Collected()
    read_item(root, source, collected)
    return assemble(collected, source=source, limits=limits)


def read_item(
    root: etree._Element,
    source: str,
    collected: Collected,
    context: ItemContext | None = None,
) -> None:
    """Read one ``qti-assessment-item`` into ``collected`` (a draft, a skip or errors)."""
    context = context or ItemContext()
    raw_id = root.get("identifier", "")
    item_id = slug(raw_id, "item") if raw_id else "item"
    if raw_id and item_id != raw_id:
        collected.warnings.append(
            Problem(
                source=source,
                item=item_id,
                field="identifier",
                message=f"identifier {raw_id!r} is not a bank identifier; read as {item_id!r}",
            )
        )

    def skip(field: str | None, message: str) -> None:
        collected.skipped.append(
            Problem(source=source, item=item_id, field=field, message=f"skipped: {message}")
        )

    if local(root) != "qti-assessment-item":
        collected.errors.append(
            Problem(
                source=source,
                field=where(root),
                message="not an assessment item (expected <qti-assessment-item>)",
            )
        )
        return
    try:
        draft = _read(root, source, item_id, context, collected)
    except SkipError as exc:
        skip(exc.field, exc.message)
        return
    except BadError as exc:
        collected.errors.append(
            Problem(source=source, item=item_id, field=exc.field, message=exc.message)
        )
        return
    collected.drafts.append(draft)


def _read(
    root: etree._Element,
    source: str,
    item_id: str,
    context: ItemContext,
    collected: Collected,
) -> Draft:
    if root.get("adaptive", "false").lower() == "true":
        raise SkipError(where(root), "adaptive items (several attempts) are not supported")
    for name in ("qti-template-declaration", "qti-template-processing"):
        found = kid(root, name)
        if found is not None:
            raise SkipError(where(found), "template (cloned) items are not supported")
    body = kid(root, "qti-item-body")
    if body is None:
        raise BadError(where(root), "the item has no qti-item-body")
    interactions = [
        e
        for e in body.iter()
        if isinstance(e.tag, str)
        and local(e).endswith("-interaction")
        and local(e) != "qti-end-attempt-interaction"
    ]
    if not interactions:
        raise SkipError(where(body), "the item has no interaction")
    if len(interactions) > 1 or local(interactions[0]) in FIELD_ONLY:
        return _read_composite(
            root,
            body,
            interactions,
            source=source,
            item_id=item_id,
            context=context,
            collected=collected,
        )
    interaction = interactions[0]
    name = local(interaction)
    if name not in SUPPORTED:
        raise SkipError(where(interaction), f"<{name}> is not a supported interaction")
    response = interaction.get("response-identifier", "RESPONSE")
    declarations = read_declarations(root)
    decl = declarations.get(response)
    if decl is None:
        raise BadError(where(interaction), f'no response declaration "{response}"')
    choice_ids = {
        c.get("identifier", "")
        for c in interaction.iter()
        if isinstance(c.tag, str) and local(c) in ("qti-simple-choice",)
    }
    feedback = read_feedback(root, choice_ids)
    table: Table | None = None
    if name == "qti-extended-text-interaction":
        body_interaction = _extended(interaction)
    else:
        body_interaction, table = _scored(root, interaction, response, declarations, feedback)
    for note in feedback.unplaced:
        collected.warnings.append(
            Problem(
                source=source,
                item=item_id,
                field=note.location,
                message=f'feedback "{note.ident or note.outcome}" has no place in a bank (not '
                "a rationale, hint or solution; feedback shown through an outcome is kept when "
                "the rules show it for whole options of a single choice, for the correct or "
                "the other answers, or for wrong typed answers); not kept",
            )
        )
    raw: dict[str, Any] = {
        "id": item_id,
        "stem": _stem(body) or item_id,
        "interaction": body_interaction,
    }
    title = " ".join((root.get("title") or "").split())
    if title and title not in (root.get("identifier", ""), item_id):
        raw["title"] = title[:200]
    _warn_dropped(root, interaction, source, item_id, collected, kept=context.media)
    notes = [
        text
        for element in root.iter()
        if isinstance(element.tag, str) and local(element) == "qti-rubric-block"
        for text in [html_to_markdown(element)]
        if text
    ]
    if notes:
        raw["notes"] = "\n\n".join(notes)
    if feedback.solution:
        raw["solution"] = "\n\n".join(feedback.solution)
    if feedback.hints:
        raw["hints"] = feedback.hints
    _answer_class_feedback(raw, feedback)
    provisional = False
    if context.irt is not None:
        raw["irt"] = context.irt
    elif table is not None and body_interaction.get("scoring") != "partial":
        levels = table.levels()
        reachable = None if table.exhaustive else reachable_levels(body_interaction)
        if reachable is not None:  # a sampled table may miss levels an additive form has
            levels = tuple(sorted(set(levels) | reachable))
        if len(levels) > 1:
            raw["irt"], credit_levels = _provisional_partial(levels)
            if credit_levels:
                raw["credit_levels"] = credit_levels
            provisional = True
    return Draft(raw=raw, source=source, skills=context.skills, provisional=provisional)


#: Joint answers tried when checking a composite item's fields against its rules together.
JOINT_PROBES = 512


def _composite_stem(body: etree._Element, field_of: dict[str, str]) -> str:
    """The item body as Markdown, each interaction written ``{{FIELD_ID}}`` where it stands."""
    body = copy.deepcopy(body)
    originals = [e for e in body.iter() if isinstance(e.tag, str)]
    for element in originals:
        fid = (
            field_of.get(element.get("response-identifier", ""))
            if local(element).endswith("-interaction")
            else None
        )
        parent = element.getparent()
        if fid is None or parent is None:
            continue
        marker = etree.Element("span" if local(element) in INLINE else "p")
        marker.text = "{{" + fid + "}}"
        marker.tail = element.tail
        parent.replace(element, marker)
    return html_to_markdown(body, _SKIP_IN_TEXT)


def _read_composite(
    root: etree._Element,
    body: etree._Element,
    interactions: list[etree._Element],
    *,
    source: str,
    item_id: str,
    context: ItemContext,
    collected: Collected,
) -> Draft:
    """An item of several interactions (or one only a composite holds) as a composite item.

    Each field's form is read off its own credit table (the item's rules run with the
    other responses NULL); field weights are each field's best score, so the item's score
    is the sum of the fields' scores. The fields are then checked **together** against the
    rules on up to :data:`JOINT_PROBES` joint answers; when the rules are not a sum of
    field scores but give credit only when every field is right, the fields are read with
    the others held at their correct responses and the item becomes right/wrong.
    """
    names = [local(e) for e in interactions]
    for element, name in zip(interactions, names, strict=True):
        if name == "qti-extended-text-interaction":
            raise SkipError(where(element), "an essay among other interactions is not supported")
        if name not in SUPPORTED and name not in FIELD_ONLY:
            raise SkipError(where(element), f"<{name}> is not a supported interaction")
    responses = [e.get("response-identifier", "RESPONSE") for e in interactions]
    repeated = sorted({r for r in responses if responses.count(r) > 1})
    if repeated:
        raise SkipError(
            where(interactions[0]),
            f'interactions that share one response ("{repeated[0]}") are not supported',
        )
    declarations = read_declarations(root)
    for element, response in zip(interactions, responses, strict=True):
        if response not in declarations:
            raise BadError(where(element), f'no response declaration "{response}"')
    processing = kid(root, "qti-response-processing")
    if processing is None:
        raise SkipError(where(root), "the item has no response processing")
    try:
        rules = parse_processing(processing, responses[0])
    except UnsupportedProcessingError as exc:
        raise SkipError(exc.field, exc.message) from None
    outcomes = read_outcomes(root)
    feedback = read_feedback(root, set())
    ids = {r: slug(r, "field") for r in responses}
    for response, fid in ids.items():
        if fid != response:
            collected.warnings.append(
                Problem(
                    source=source,
                    item=item_id,
                    field=f"fields[{fid}]",
                    message=f"response identifier {response!r} is read as {fid!r}",
                )
            )

    def read_fields(
        held: dict[str, Value] | None,
    ) -> tuple[list[dict[str, Any]], list[Table]]:
        fields, tables = [], []
        for element, response in zip(interactions, responses, strict=True):
            others = {} if held is None else {r: v for r, v in held.items() if r != response}
            try:
                form, table = _scored(
                    root, element, response, declarations, feedback, context=others
                )
            except (SkipError, BadError) as exc:
                raise SkipError(exc.field, f"field {response!r}: {exc.message}") from None
            fields.append({"id": ids[response], "interaction": form})
            tables.append(table)
        return fields, tables

    def joint(fields: list[dict[str, Any]], tables: list[Table], additive: bool) -> str | None:
        composite = msgspec.convert({"type": "composite", "fields": fields}, Composite)
        rng = random.Random(0)
        best = [t.credits.index(max(t.credits)) for t in tables]
        combos = [best] + [
            [rng.randrange(len(t.probes) + 1) for t in tables] for _ in range(JOINT_PROBES)
        ]
        combos += [[*best[:k], len(t.probes), *best[k + 1 :]] for k, t in enumerate(tables)]
        full = sum(t.top for t in tables) if additive else None
        top = None
        for combo in combos:
            value = {
                r: t.probes[k].value
                for r, t, k in zip(responses, tables, combo, strict=True)
                if k < len(t.probes)
            }
            given = {
                ids[r]: t.probes[k].answer
                for r, t, k in zip(responses, tables, combo, strict=True)
                if k < len(t.probes)
            }
            if not given:
                continue
            qti = score(rules, declarations, outcomes, value)
            top = qti if top is None else top
            try:
                credits = field_credits(item_id, composite, join_fields(given))
            except AnswerError as exc:
                return f"the answer {given} is refused by Skillgauge ({exc.message})"
            ours = weighted_mean(composite.fields, credits)
            if additive:
                assert full is not None
                theirs = min(1.0, max(0.0, qti / full))
                if abs(theirs - ours) > 1e-6:
                    return (
                        f"the answer {given} earns {theirs:g} of full credit by the QTI rules "
                        f"but {ours:g} as the sum of its fields"
                    )
            elif (qti >= (top or 0) - 1e-9) != (ours >= 1 - 1e-9):
                return (
                    f"the answer {given} earns {qti:g} by the QTI rules; Skillgauge gives full "
                    "credit only when every field is right"
                )
        return None

    additive = True
    problem: str | None = None
    try:
        fields, tables = read_fields(None)
        tops = [t.top for t in tables]
        if len(set(tops)) > 1:  # weights in the ratio of the fields' best scores
            scale = 1.0 / min(tops) if max(tops) / min(tops) <= 100 else 100.0 / max(tops)
            for form, top in zip(fields, tops, strict=True):
                if abs(top * scale - 1.0) > 1e-12:
                    form["weight"] = top * scale
        problem = joint(fields, tables, additive=True)
    except SkipError as exc:
        problem = exc.message
    if problem is not None:
        first = problem
        correct: dict[str, Value] = {}
        for response in responses:
            decl = declarations[response]
            if not decl.correct:
                raise SkipError(
                    where(processing),
                    f"custom response processing: Skillgauge cannot score this item as its "
                    f"rules do ({first})",
                )
            correct[response] = from_texts(
                decl.correct, decl.cardinality, decl.base_type or "string", response
            )
        additive = False
        fields, tables = read_fields(correct)
        problem = joint(fields, tables, additive=False)
        if problem is not None:
            raise SkipError(
                where(processing),
                f"custom response processing: Skillgauge cannot score this item as its rules "
                f"do ({first}; {problem})",
            )
    field_of = dict(ids)
    for form, element in zip(fields, interactions, strict=True):
        prompt = kid(element, "qti-prompt")
        if prompt is not None and local(element) not in INLINE:
            form["prompt"] = html_to_markdown(prompt, _SKIP_IN_TEXT)
        label = " ".join((element.get("aria-label") or "").split())
        if label:
            form["label"] = label[:200]
    rationales = {n.ident: n for n in feedback.unplaced if n.ident in ids}
    for form, response in zip(fields, responses, strict=True):
        if response in rationales:
            form["rationale"] = rationales[response].text
    for note in feedback.unplaced:
        if note.ident in rationales:
            continue
        collected.warnings.append(
            Problem(
                source=source,
                item=item_id,
                field=note.location,
                message=f'feedback "{note.ident or note.outcome}" has no place in a bank (not '
                "a field's rationale, a hint or the solution); not kept",
            )
        )
    raw: dict[str, Any] = {
        "id": item_id,
        "stem": _composite_stem(body, field_of) or item_id,
        "interaction": {"type": "composite", "fields": fields},
    }
    title = " ".join((root.get("title") or "").split())
    if title and title not in (root.get("identifier", ""), item_id):
        raw["title"] = title[:200]
    for element in interactions:
        _warn_dropped(root, element, source, item_id, collected, kept=context.media)
        _warn_gap_images(element, source, item_id, collected)
    if feedback.solution:
        raw["solution"] = "\n\n".join(feedback.solution)
    if feedback.hints:
        raw["hints"] = feedback.hints
    provisional = False
    if context.irt is not None:
        raw["irt"] = context.irt
    elif additive:
        composite = msgspec.convert(raw["interaction"], Composite)
        levels = tuple(sorted(c for c in reachable_credits(composite) if c > 0))
        if len(levels) > 1:
            raw["irt"], credit_levels = _provisional_partial(levels)
            if credit_levels:
                raw["credit_levels"] = credit_levels
            provisional = True
    return Draft(raw=raw, source=source, skills=context.skills, provisional=provisional)


def _warn_gap_images(
    interaction: etree._Element, source: str, item_id: str, collected: Collected
) -> None:
    """Warn, located, that a graphic gap match's gap images are kept as their alt text only."""
    for gap in descendants(interaction, "qti-gap-img"):
        picture = next(iter(descendants(gap, "img")), None)
        alt = picture.get("alt", "") if picture is not None else ""
        collected.warnings.append(
            Problem(
                source=source,
                item=item_id,
                field=where(gap),
                message=f"the gap image {gap.get('identifier', '')!r} is kept as its alt text "
                f"{alt!r} (learners choose labels from a select); its picture is not shown",
            )
        )


def _warn_dropped(
    root: etree._Element,
    interaction: etree._Element,
    source: str,
    item_id: str,
    collected: Collected,
    *,
    kept: frozenset[str] = frozenset(),
) -> None:
    """Warn, located, about what the item says that a bank item cannot keep.

    ``kept`` are the media paths a package stored as the bank's media, or already warned
    about with a reason (not warned about again).
    """

    def warn(element: etree._Element, message: str) -> None:
        collected.warnings.append(
            Problem(source=source, item=item_id, field=where(element), message=message)
        )

    shuffled = interaction.get("shuffle", "false").lower() == "true"
    for element in interaction.iter():
        if not isinstance(element.tag, str):
            continue
        if shuffled and element.get("fixed", "false").lower() == "true":
            warn(
                element,
                f'choice "{element.get("identifier", "")}" is fixed in place; Skillgauge '
                "shuffles all options or none, so its position is not kept",
            )
    for element in root.iter():
        name = local(element) if isinstance(element.tag, str) else ""
        if name == "qti-rubric-block":
            views = (element.get("view") or "").split()
            if not views or "candidate" in views:
                warn(
                    element,
                    f"a rubric block for {'candidates' if views else 'an unspecified view'} "
                    "is kept as an author note (notes); learners do not see it",
                )
        elif name in _MEDIA:
            src = element.get("src") or element.get("data") or ""
            if not src:
                sources = [c.get("src", "") for c in element if isinstance(c.tag, str)]
                src = next((x for x in sources if x), "")
            if src not in kept:
                warn(
                    element,
                    f"the media file {src!r} is not kept (Skillgauge keeps a package's PNG, "
                    "JPEG, GIF and WebP images, MP3, Ogg, M4A and WAV audio and MP4 and WebM "
                    "video only); the text keeps only its reference",
                )
            if name == "img" and not (element.get("alt") or "").strip():
                warn(element, f"the image {src!r} has no alt text")


def _provisional_partial(levels: tuple[float, ...]) -> tuple[dict[str, Any], list[float]]:
    """A provisional GPCM with one category per credit level (equal steps past 20 levels).

    Steps are spread evenly over [-1, 1], as for partially scored multiple response; the
    levels are kept as ``credit_levels`` unless they are the equal steps ``k / K``.
    """
    if len(levels) > MAX_LEVELS:
        k, kept = MAX_LEVELS, []
    else:
        k = len(levels)
        equal = all(abs(level - (i + 1) / k) < 1e-9 for i, level in enumerate(levels))
        kept = [] if equal else list(levels)
    steps = [round(-1 + 2 * i / (k - 1), 6) for i in range(k)]
    return {"model": "gpcm", "a": 1.0, "thresholds": steps}, kept


#: Interactions only a composite item holds (an item with just one is a one-field composite).
FIELD_ONLY = (
    "qti-inline-choice-interaction",
    "qti-gap-match-interaction",
    "qti-hottext-interaction",
    "qti-associate-interaction",
    "qti-hotspot-interaction",
    "qti-graphic-gap-match-interaction",
)
#: Interactions written inside a sentence.
INLINE = ("qti-text-entry-interaction", "qti-inline-choice-interaction")


def _marked_text(interaction: etree._Element, spot: str, drop: tuple[str, ...]) -> str:
    """The interaction's content as Markdown, each ``spot`` element written ``{{id}}``."""
    content = copy.deepcopy(interaction)
    for element in list(content.iter()):
        if not isinstance(element.tag, str):
            continue
        parent = element.getparent()
        if parent is None:
            continue
        if local(element) in drop:
            tail = element.tail
            previous = element.getprevious()
            parent.remove(element)
            if tail:
                if previous is not None:
                    previous.tail = (previous.tail or "") + tail
                else:
                    parent.text = (parent.text or "") + tail
        elif local(element) == spot:
            marker = etree.Element("span")
            marker.text = "{{" + element.get("identifier", "") + "}}"
            marker.tail = element.tail
            parent.replace(element, marker)
    return html_to_markdown(content, _SKIP_IN_TEXT)


def _mapped_pairs(
    decl: Declaration, table: Table, base: dict[str, Any], pairs: list[str]
) -> list[dict[str, Any]]:
    """A weighted pair form read off the mapping: each pair's mapped value over the best score.

    Pairs the mapping does not list get its default.

    The table alone cannot show what a wrong pair subtracts when ``lower-bound`` clips a
    lone wrong pair to 0 (QTI's gap match example maps unlisted pairs to -1).
    """
    if decl.mapping is None or table.top <= 0:
        return []
    unordered = decl.base_type == "pair"

    def canonical(text: str) -> str:
        parts = text.split()
        return " ".join(sorted(parts) if unordered else parts)

    worth = {canonical(k): v / table.top for k, v, _ in decl.mapping.entries}
    default = decl.mapping.default / table.top
    credits = {p: worth.get(canonical(p), default) for p in pairs}
    if any(abs(c) > 1 for c in credits.values()):
        return []

    def pair(text: str) -> dict[str, str]:
        source, target = text.split()
        return {"source": source, "target": target}

    key = [pair(p) for p, c in credits.items() if c > 0]
    if not key:
        return []
    return [
        {
            **base,
            "key": key,
            "scoring": "weighted",
            "credits": [{**pair(p), "credit": c} for p, c in credits.items() if c],
        }
    ]


def _as_written(
    candidate: dict[str, Any], written: dict[frozenset[str], list[str]]
) -> dict[str, Any]:
    """An associate form with its pairs as the correct response writes them (ends and order)."""

    def orient(pair: dict[str, Any]) -> dict[str, Any]:
        ends = written.get(frozenset((pair["source"], pair["target"])))
        if ends is None:
            return pair
        return {**pair, "source": ends[0], "target": ends[1]}

    place = {key: n for n, key in enumerate(written)}

    def position(pair: dict[str, Any]) -> int:
        return place.get(frozenset((pair["source"], pair["target"])), len(place))

    for name in ("key", "credits"):
        if name in candidate:
            candidate[name] = sorted((orient(p) for p in candidate[name]), key=position)
    return candidate


def _hotspot_image(interaction: etree._Element) -> tuple[str, int, int]:
    """A hotspot's image as Markdown (``![alt](src)``) with its width and height in pixels.

    QTI 3.0 writes an ``img``; QTI 2.x an ``object`` (its text is the alt text).
    """
    picture = next(iter(kids(interaction, "img")), None)  # gap images are inside qti-gap-img
    if picture is not None:
        src, alt = picture.get("src", ""), picture.get("alt", "")
    else:
        picture = next(iter(kids(interaction, "object")), None)
        if picture is None:
            raise SkipError(where(interaction), "the hotspot interaction has no image")
        src, alt = picture.get("data", ""), "".join(picture.itertext())
    alt = " ".join(alt.replace("[", "(").replace("]", ")").split())
    size = [picture.get(side, "").strip().removesuffix("px") for side in ("width", "height")]
    if not all(side.isdigit() and 0 < int(side) <= 10_000 for side in size):
        raise SkipError(
            where(picture),
            "the hotspot image needs its width and height in pixels (the areas' coordinates "
            f"are in them), got width={size[0]!r}, height={size[1]!r}",
        )
    if not src or any(c.isspace() or c in "()" for c in src):
        raise SkipError(where(picture), f"the hotspot image's address {src!r} cannot be kept")
    return f"![{alt or 'image'}]({src})", int(size[0]), int(size[1])


def _hotspot_areas(
    choices: list[etree._Element],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Options labelled by ``hotspot-label`` (else the identifier) and their areas."""
    options, areas = [], []
    for choice in choices:
        ident = choice.get("identifier", "")
        label = " ".join((choice.get("hotspot-label") or "").split()) or ident
        options.append({"id": ident, "text": label[:200]})
        try:
            coords = [float(c) for c in (choice.get("coords") or "").split(",") if c.strip()]
        except ValueError:
            message = f"coords {choice.get('coords')!r} are not numbers"
            raise BadError(where(choice), message) from None
        shape = choice.get("shape", "")
        if shape not in ("rect", "circle", "ellipse", "poly"):
            raise SkipError(where(choice), f"the hotspot shape {shape!r} is not supported")
        areas.append({"id": ident, "shape": shape, "coords": coords})
    return options, areas


def _graphic_gap_candidates(
    interaction: etree._Element, decl: Declaration, table: Table
) -> list[dict[str, Any]]:
    """Forms of a graphic gap match read off the table: a gap match of labels to areas.

    Gap texts keep their text; a gap image becomes its alt text (else its identifier).
    """
    image, width, height = _hotspot_image(interaction)
    sources = []
    for choice in kids(interaction, "qti-gap-text") + kids(interaction, "qti-gap-img"):
        ident = choice.get("identifier", "")
        if local(choice) == "qti-gap-text":
            text = html_to_markdown(choice, _SKIP_IN_TEXT)
        else:
            inner = next(iter(descendants(choice, "img")), None)
            text = inner.get("alt", "") if inner is not None else "".join(choice.itertext())
            text = " ".join(text.split())
        sources.append({"id": ident, "text": (text or ident)[:200]})
    targets, areas = _hotspot_areas(descendants(interaction, "qti-associable-hotspot"))
    base = {
        "sources": sources,
        "targets": targets,
        "shuffle": interaction.get("shuffle", "false").lower() == "true",
    }
    pairs = [f"{s['id']} {t['id']}" for s in sources for t in targets]
    found = match_candidates(table, base) + _mapped_pairs(decl, table, base, pairs)
    picture = {"image": image, "width": width, "height": height, "areas": areas}
    return [{**c, **picture, "type": "graphic_gap_match"} for c in found]


def _hotspot_candidates(
    interaction: etree._Element, decl: Declaration, table: Table
) -> list[dict[str, Any]]:
    """Forms of a hotspot read off the table: a choice among its areas, with the image.

    An area's label is its ``hotspot-label``, else its identifier; bad coordinates are
    left to validation, which names the area.
    """
    image, width, height = _hotspot_image(interaction)
    choices = descendants(interaction, "qti-hotspot-choice")
    options, areas = [], []
    for choice in choices:
        ident = choice.get("identifier", "")
        label = " ".join((choice.get("hotspot-label") or "").split()) or ident
        options.append({"id": ident, "text": label[:200]})
        try:
            coords = [float(c) for c in (choice.get("coords") or "").split(",") if c.strip()]
        except ValueError:
            raise BadError(
                where(choice), f"coords {choice.get('coords')!r} are not numbers"
            ) from None
        shape = choice.get("shape", "")
        if shape not in ("rect", "circle", "ellipse", "poly"):
            raise SkipError(where(choice), f"the hotspot shape {shape!r} is not supported")
        areas.append({"id": ident, "shape": shape, "coords": coords})
    most = int(interaction.get("max-choices", "1") or "1")
    multiple = decl.cardinality != "single" or most != 1
    base = {"options": options}
    out = []
    for candidate in choice_candidates(table, base, multiple):
        converted = {
            **candidate, "type": "hotspot", "image": image, "width": width, "height": height,
            "areas": areas, "max_choices": most,
        }  # fmt: skip
        converted.pop("shuffle", None)
        if not multiple:
            if candidate.get("scoring") == "weighted":
                converted["key"] = [o["id"] for o in candidate["options"] if o.get("credit", 0) > 0]
            else:
                converted["key"] = [candidate["key"]]
        out.append(converted)
    return out


def _field_only_candidates(
    interaction: etree._Element, decl: Declaration, table: Table, feedback: Feedback
) -> list[dict[str, Any]]:
    """Forms of an inline choice, hot text, gap match or associate read off the table."""
    name = local(interaction)
    shuffle = interaction.get("shuffle", "false").lower() == "true"
    base: dict[str, Any]
    if name == "qti-hotspot-interaction":
        return _hotspot_candidates(interaction, decl, table)
    if name == "qti-graphic-gap-match-interaction":
        return _graphic_gap_candidates(interaction, decl, table)
    if name == "qti-inline-choice-interaction":
        base = {"options": _options(kids(interaction, "qti-inline-choice"), {}), "shuffle": shuffle}
        return [
            {**c, "type": "inline_choice"} for c in choice_candidates(table, base, multiple=False)
        ]
    if name == "qti-hottext-interaction":
        most = int(interaction.get("max-choices", "1") or "1")
        multiple = decl.cardinality != "single" or most != 1
        base = {"options": _options(descendants(interaction, "qti-hottext"), {})}
        text = _marked_text(interaction, "qti-hottext", ("qti-prompt",))
        out = []
        for candidate in choice_candidates(table, base, multiple):
            converted = {**candidate, "type": "hot_text", "text": text, "max_choices": most}
            if not multiple:
                if candidate.get("scoring") == "weighted":
                    converted["key"] = [
                        o["id"] for o in candidate["options"] if o.get("credit", 0) > 0
                    ]
                else:
                    converted["key"] = [candidate["key"]]
            out.append(converted)
        return out
    if name == "qti-gap-match-interaction":
        texts = [c for c in interaction if isinstance(c.tag, str) and local(c) in ("qti-gap-text",)]
        gaps = descendants(interaction, "qti-gap")
        base = {
            "sources": _options(texts, {}),
            "targets": [
                {"id": g.get("identifier", ""), "text": f"gap {k + 1}"} for k, g in enumerate(gaps)
            ],
            "shuffle": shuffle,
        }
        text = _marked_text(interaction, "qti-gap", ("qti-prompt", "qti-gap-text", "qti-gap-img"))
        pairs = [f"{t['id']} {g['id']}" for t in base["sources"] for g in base["targets"]]
        found = match_candidates(table, base) + _mapped_pairs(decl, table, base, pairs)
        return [{**c, "type": "gap_match", "text": text} for c in found]
    base = {
        "options": _options(descendants(interaction, "qti-simple-associable-choice"), {}),
        "shuffle": shuffle,
    }
    associations = interaction.get("max-associations", "1") or "1"
    ids = [o["id"] for o in base["options"]]
    pairs = [f"{a} {b}" for k, a in enumerate(ids) for b in ids[k + 1 :]]
    out = []
    mapped = [{**c, "type": "associate"} for c in _mapped_pairs(decl, table, base, pairs)]
    written = {frozenset(v.split()): v.split() for v in decl.correct if len(v.split()) == 2}
    for candidate in associate_candidates(table, base) + mapped:
        converted = _as_written(dict(candidate), written)
        if associations.isdigit() and int(associations) > len(candidate["key"]):
            converted["max_associations"] = min(100, int(associations))
        out.append(converted)
    return out


def _scored(
    root: etree._Element,
    interaction: etree._Element,
    response: str,
    declarations: dict[str, Declaration],
    feedback: Feedback,
    *,
    context: dict[str, Value] | None = None,
) -> tuple[dict[str, Any], Table]:
    """The interaction as a bank holds it, checked answer by answer against the QTI rules.

    The form read from the rules' shape comes first (it keeps keys and tolerances exactly);
    forms read off the credit table follow; the first that scores every answer of the
    table as the rules do is kept (:mod:`item_banks.formats.qti_scoring`).
    """
    name = local(interaction)
    decl = declarations[response]
    processing = kid(root, "qti-response-processing")
    if processing is None:
        raise SkipError(where(root), "the item has no response processing")
    template = template_name(processing.get("template") or "")
    if template == "map_response_point" or decl.area_mapping is not None:
        raise SkipError(
            where(interaction),
            "map_response_point scores point (graphic) answers, which are not supported",
        )
    try:
        rules = parse_processing(processing, response)
    except UnsupportedProcessingError as exc:
        raise SkipError(exc.field, exc.message) from None
    if size_of(rules) > MAX_OPERATORS:
        raise SkipError(
            where(processing),
            f"response processing of {size_of(rules):,} rules and operators; "
            f"the limit is {MAX_OPERATORS:,}",
        )
    single = decl.cardinality == "single" and interaction.get("max-choices", "1") == "1"
    if name == "qti-choice-interaction" and single:
        place_by_outcome(
            rules,
            declarations,
            read_outcomes(root),
            response,
            choices=[c.get("identifier", "") for c in kids(interaction, "qti-simple-choice")],
            feedback=feedback,
        )
    candidates: list[dict[str, Any]] = []
    shape_error: SkipError | BadError | None = None
    table_only = name in FIELD_ONLY or context is not None
    try:
        if table_only:  # forms come from the credit table alone (a field, or one of several)
            raise SkipError(None, "read off the credit table")
        scoring = read_scoring(root, response)
        assert scoring is not None
        if name == "qti-choice-interaction":
            candidates.append(_choice(interaction, decl, scoring, feedback))
        elif name == "qti-text-entry-interaction":
            candidates.append(_text_entry(interaction, decl, scoring))
        elif name == "qti-order-interaction":
            candidates.append(_order(interaction, decl, scoring))
        else:
            candidates.append(_match(interaction, decl, scoring))
    except (SkipError, BadError) as exc:
        exc.field = exc.field or where(interaction)
        if isinstance(exc, BadError) or exc.final:
            raise
        shape_error = None if table_only else exc
    numeric = decl.base_type in ("float", "integer")
    kind = {
        "qti-choice-interaction": "choice",
        "qti-inline-choice-interaction": "choice",
        "qti-hottext-interaction": "choice",
        "qti-hotspot-interaction": "choice",
        "qti-order-interaction": "order",
        "qti-match-interaction": "match",
        "qti-gap-match-interaction": "gap",
        "qti-graphic-gap-match-interaction": "gap",
        "qti-associate-interaction": "associate",
    }.get(name, "number" if numeric else "text")
    try:
        table = credit_table(
            rules,
            declarations,
            read_outcomes(root),
            response,
            probes(kind, interaction, decl, rules),
            context=context,
        )
    except NoCreditError:
        raise BadError(where(processing), "no answer earns a positive score") from None
    except InvalidProcessingError as exc:
        located = exc.field if exc.field and exc.field.startswith("line ") else None
        raise BadError(located or where(processing), exc.message) from None
    shuffle = interaction.get("shuffle", "false").lower() == "true"
    shaped = len(candidates)
    base: dict[str, Any]
    if name in FIELD_ONLY:
        candidates += _field_only_candidates(interaction, decl, table, feedback)
    elif kind == "choice":
        base = {"options": _options(kids(interaction, "qti-simple-choice"), feedback.rationales)}
        multiple = decl.cardinality != "single" or interaction.get("max-choices", "1") != "1"
        candidates += choice_candidates(table, {**base, "shuffle": shuffle}, multiple)
    elif kind == "order":
        base = {"options": _options(kids(interaction, "qti-simple-choice"), {})}
        candidates += order_candidates(table, {**base, "shuffle": shuffle})
    elif kind == "match":
        sets = kids(interaction, "qti-simple-match-set")
        if len(sets) == 2:
            base = {
                "sources": _options(kids(sets[0], "qti-simple-associable-choice"), {}),
                "targets": _options(kids(sets[1], "qti-simple-associable-choice"), {}),
                "shuffle": shuffle,
            }
            candidates += match_candidates(table, base)
    elif kind == "number":
        if table_only:
            candidates += equal_candidates(rules, response, typed_correct(decl))
        candidates += number_candidates(table, typed_correct(decl))
    else:
        candidates += text_candidates(table)
    first: str | None = None
    for candidate in candidates:
        problem = disagreement(candidate, table)
        if problem is None:
            if context is None:
                return _with_answer_class_feedback(
                    root, rules, declarations, response, table, candidate, feedback
                ), table
            return candidate, table
        first = first or problem
    if shape_error is not None and len(candidates) == shaped:
        raise shape_error
    raise SkipError(
        where(processing),
        f"custom response processing: Skillgauge cannot score this item as its rules do "
        f"({first or 'no bank form fits'})",
    )
