"""Scoring of a raw answer into an IRT score category: pure functions, no I/O.

A *raw answer* is what the learner submitted: an option id (single choice), a list of option
ids (multiple response; order, in the learner's order), a list of ``"SOURCE TARGET"`` pairs
(match), or text (numeric, short text). A malformed answer (an option the item does not have,
text that is not a number) raises :class:`~item_banks.errors.AnswerError` so it can be
corrected; it is never scored as wrong. Extended-text answers are scored by a person:
:func:`score_answer` refuses them with :class:`~item_banks.errors.NotAutoScoredError`.

Interactions that can earn partial credit (``scoring: weighted``, numeric and short-text
``alternatives``) first compute a credit ``s`` in [0, 1] and turn it into a category with
:func:`credit_category`.
"""

from __future__ import annotations

import math
import re

import msgspec

from item_banks.credits import credit_category, reachable_credits
from item_banks.errors import AnswerError, NotAutoScoredError
from item_banks.model import (
    Associate,
    Composite,
    ExtendedText,
    Field,
    FieldInteraction,
    Hotspot,
    HotText,
    Interaction,
    Item,
    Match,
    MultipleResponse,
    Numeric,
    NumericRange,
    Order,
    ShortText,
    SingleChoice,
    category_count,
)
from item_banks.validation import normalise_text

__all__ = [
    "RawAnswer",
    "ScoredAnswer",
    "answer_credit",
    "composite_credit",
    "credit_category",
    "field_credits",
    "field_label",
    "in_range",
    "join_fields",
    "numeric_credit",
    "numeric_matches",
    "parse_number",
    "reachable_credits",
    "score_answer",
    "single_valued",
    "split_fields",
    "weighted_mean",
]

RawAnswer = str | list[str]


class ScoredAnswer(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The score of one answer.

    Attributes
    ----------
    category
        The IRT score category, 0 .. ``max_category``.
    max_category
        The item's highest category (1 for right/wrong items).
    """

    category: int
    max_category: int

    @property
    def correct(self) -> bool:
        """True when the answer earned full credit."""
        return self.category == self.max_category


_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
#: Thousands grouped with commas; a leading 0 is never a group (``0,625`` is a decimal comma).
_GROUPED = re.compile(r"^[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
#: A number (possibly grouped, or with a decimal comma) followed by something else.
_NUMBER_THEN_TEXT = re.compile(r"^([+-]?(?:\d[\d,. ]*|\.\d+)(?:[eE][+-]?\d+)?)\s*([^\d\s.,+-].*)$")
#: Values that code can print but that are not finite: scored (always wrong), not refused.
_SPECIAL = {
    "nan": math.nan,
    "+nan": math.nan,
    "-nan": math.nan,
    "inf": math.inf,
    "+inf": math.inf,
    "infinity": math.inf,
    "+infinity": math.inf,
    "-inf": -math.inf,
    "-infinity": -math.inf,
}


def _unit_forms(unit: str) -> set[str]:
    """The spellings of ``unit`` read as the unit itself: any case, singular or plural."""
    folded = unit.strip().casefold()
    forms = {folded, folded + "s"}
    if len(folded) > 1 and folded.endswith("s"):
        forms.add(folded[:-1])
    if folded in ("%", "percent", "per cent"):
        forms |= {"%", "percent", "per cent"}
    return forms


def _plain_number(compact: str) -> float | None:
    """The value of a number without spaces, or None when it is not one."""
    if _GROUPED.match(compact):
        compact = compact.replace(",", "")
    if not _NUMBER.match(compact):
        return None
    return float(compact)


def parse_number(text: str, *, unit: str | None = None) -> float:
    """Parse a typed number.

    Accepted: surrounding spaces, a Unicode minus sign, thousands separators written as
    commas (``12,345.5``) or spaces (``12 345.5``), scientific notation, the item's unit after
    the number (``12.5 kg`` when the unit is ``kg``; any case, singular or plural), and the
    values code prints for non-finite floats (``nan``, ``inf``, ``-inf``), which are scored
    like any other number (never right, since keys are finite).

    Refused with a message saying what to change (the learner is asked again, nothing is
    scored): an empty answer; a decimal comma (``0,5``); a percent sign when the item's unit
    is not a percentage (``62.5%``: a plain number is asked for); a unit other than the item's
    (``44 hours`` for days), or any unit when the item has none; a number too large for a
    float; and text that holds no number at all.

    Raises
    ------
    ValueError
        With a message for the learner.
    """
    shown = text.strip()
    value = shown.replace("\u2212", "-").replace("\u00a0", " ").replace("\u202f", " ")
    if not value:
        raise ValueError("the answer is empty")
    special = _SPECIAL.get(value.replace(" ", "").casefold())
    if special is not None:
        return special
    if unit and unit.strip():
        tail = _NUMBER_THEN_TEXT.match(value)
        if tail and tail.group(2).strip().casefold() in _unit_forms(unit):
            value = tail.group(1).strip()
    compact = value.replace(" ", "")
    number = _plain_number(compact)
    if number is None:
        raise ValueError(_not_a_number(shown, compact, value, unit))
    if not math.isfinite(number):
        raise ValueError(f"{shown!r} is not a finite number")
    return number


def _not_a_number(shown: str, compact: str, value: str, unit: str | None) -> str:
    """Say why ``shown`` is not read as a number: a formatting slip, a unit, or no number."""
    if _DECIMAL_COMMA.match(compact):
        point = compact.replace(",", ".")
        return f"{shown!r}: write the decimal separator as a point ({point})"
    if compact.endswith("%"):
        number = _plain_number(compact[:-1])
        if number is not None:
            return (
                f"{shown!r}: give a plain number without the percent sign "
                f"({compact[:-1]}% is {number / 100:.10g})"
            )
    tail = _NUMBER_THEN_TEXT.match(value)
    if tail:
        number_part = tail.group(1).replace(" ", "")
        written = tail.group(2).strip()
        if _plain_number(number_part) is not None or _DECIMAL_COMMA.match(number_part):
            if unit and unit.strip():
                return f"{shown!r}: give the answer in {unit.strip()} ({written!r} is not {unit})"
            return f"{shown!r}: give just the number, without {written!r}"
    return f"{shown!r} is not a number"


def numeric_matches(interaction: Numeric, value: float) -> bool:
    """Return whether ``value`` is within the interaction's tolerance of its key.

    A tiny allowance (1e-9 relative) absorbs binary floating point, so ``0.1 + 0.2``
    matches a key of ``0.3`` with zero tolerance.
    """
    key = interaction.key
    if interaction.tolerance_mode == "relative":
        tolerance = interaction.tolerance * abs(key)
    else:
        tolerance = interaction.tolerance
    return abs(value - key) <= tolerance + 1e-9 * max(1.0, abs(key))


def in_range(interval: NumericRange, value: float) -> bool:
    """Whether ``value`` lies in ``interval``, each end included or excluded as it says.

    A value within ``1e-9`` (relative) of an end counts as *on* that end, absorbing binary
    floating point: on an included end it is inside, on an excluded end outside.
    """
    slack = 1e-9 * max(1.0, abs(value))
    above = value >= interval.low - slack if interval.include_low else value > interval.low + slack
    below = (
        value <= interval.high + slack if interval.include_high else value < interval.high - slack
    )
    return above and below


def numeric_credit(interaction: Numeric, value: float) -> float:
    """Credit of a typed number: 1 within tolerance of the key, else the best interval's."""
    if numeric_matches(interaction, value):
        return 1.0
    return max(
        (alt.credit for alt in interaction.alternatives if in_range(alt, value)),
        default=0.0,
    )


def _distinct_ids(item_id: str, chosen: list[str], known: set[str]) -> list[str]:
    unknown = [c for c in chosen if c not in known]
    if unknown:
        raise AnswerError(item_id, f'"{unknown[0]}" is not an option of this item')
    if len(set(chosen)) != len(chosen):
        raise AnswerError(item_id, "an option was chosen twice")
    return chosen


def _pairs(item_id: str, interaction: Match, answer: RawAnswer) -> set[tuple[str, str]]:
    given = [answer] if isinstance(answer, str) else list(answer)
    sources = {o.id for o in interaction.sources}
    targets = {o.id for o in interaction.targets}
    pairs: set[tuple[str, str]] = set()
    for text in given:
        parts = text.split()
        if len(parts) != 2:
            raise AnswerError(item_id, f'"{text}" is not a pair "SOURCE TARGET"')
        source, target = parts
        if source not in sources:
            raise AnswerError(item_id, f'"{source}" is not a source of this item')
        if target not in targets:
            raise AnswerError(item_id, f'"{target}" is not a target of this item')
        if (source, target) in pairs:
            raise AnswerError(item_id, f'the pair "{source} {target}" was given twice')
        pairs.add((source, target))
    return pairs


def score_answer(item: Item, answer: RawAnswer) -> ScoredAnswer:
    """Score ``answer`` to ``item`` into an IRT category.

    Parameters
    ----------
    item
        The item answered.
    answer
        The raw answer (see the module docstring for its shape per interaction).

    Returns
    -------
    ScoredAnswer
        Category 0/1 for right/wrong items; for ``multiple_response`` with partial scoring,
        ``max(0, correct picks - wrong picks)``; for weighted items and alternatives,
        :func:`credit_category` of the credit earned.

    Raises
    ------
    AnswerError
        When the answer does not fit the interaction.
    NotAutoScoredError
        For extended-text items, which a person scores.
    """
    interaction = item.interaction
    top = category_count(item.irt) - 1
    if isinstance(interaction, ExtendedText):
        raise NotAutoScoredError(item.id)
    if isinstance(interaction, MultipleResponse) and interaction.scoring == "partial":
        chosen = [answer] if isinstance(answer, str) else list(answer)
        picked = set(_distinct_ids(item.id, chosen, {o.id for o in interaction.options}))
        keys = set(interaction.key)
        hits = len(picked & keys)
        false_alarms = len(picked - keys)
        return ScoredAnswer(category=max(0, min(top, hits - false_alarms)), max_category=top)
    credit = answer_credit(item.id, interaction, answer)
    return ScoredAnswer(category=credit_category(credit, top, item.credit_levels), max_category=top)


def answer_credit(
    item_id: str, interaction: Interaction | FieldInteraction, answer: RawAnswer
) -> float:
    """The fraction of full credit ``answer`` earns, before it becomes a category.

    Right/wrong interactions earn 0 or 1; ``weighted`` ones the sum of the chosen options'
    or pairs' credits (not yet clipped); ``partial`` multiple response
    ``max(0, hits - false alarms) / K``; numeric and short text the best accepted answer's.

    Raises
    ------
    AnswerError
        When the answer does not fit the interaction.
    NotAutoScoredError
        For extended-text items, which a person scores.
    """
    if isinstance(interaction, SingleChoice):
        if not isinstance(answer, str):
            raise AnswerError(item_id, "choose exactly one option")
        options = {o.id: o for o in interaction.options}
        if answer not in options:
            raise AnswerError(item_id, f'"{answer}" is not an option of this item')
        if interaction.scoring == "weighted":
            return options[answer].credit or 0.0
        return float(answer == interaction.key)
    if isinstance(interaction, MultipleResponse):
        chosen = [answer] if isinstance(answer, str) else list(answer)
        credits = {o.id: o.credit or 0.0 for o in interaction.options}
        picked = set(_distinct_ids(item_id, chosen, set(credits)))
        if isinstance(interaction, HotText | Hotspot) and 0 < interaction.max_choices < len(picked):
            raise AnswerError(item_id, f"select at most {interaction.max_choices}")
        keys = set(interaction.key)
        if interaction.scoring == "weighted":
            return sum(credits[c] for c in picked)
        if interaction.scoring == "partial":
            hits = len(picked & keys)
            false_alarms = len(picked - keys)
            return max(0, hits - false_alarms) / len(keys)
        return float(picked == keys)
    if isinstance(interaction, Numeric):
        if not isinstance(answer, str):
            raise AnswerError(item_id, "type one number")
        try:
            value = parse_number(answer, unit=interaction.unit)
        except ValueError as exc:
            raise AnswerError(item_id, str(exc)) from None
        return numeric_credit(interaction, value)
    if isinstance(interaction, ShortText):
        if not isinstance(answer, str):
            raise AnswerError(item_id, "type a short answer")
        if not normalise_text(answer, case_sensitive=True):
            raise AnswerError(item_id, "the answer is empty")
        credit = 0.0
        for text, worth, sensitive in (
            *((k, 1.0, interaction.case_sensitive) for k in interaction.key),
            *(
                (
                    alt.text,
                    alt.credit,
                    interaction.case_sensitive
                    if alt.case_sensitive is None
                    else alt.case_sensitive,
                )
                for alt in interaction.alternatives
            ),
        ):
            if normalise_text(text, case_sensitive=sensitive) == normalise_text(
                answer, case_sensitive=sensitive
            ):
                credit = max(credit, worth)
        return credit
    if isinstance(interaction, Order):
        if isinstance(answer, str):
            raise AnswerError(item_id, "give the options as a list, in order")
        ordered = _distinct_ids(item_id, list(answer), {o.id for o in interaction.options})
        return float(tuple(ordered) == interaction.key)
    if isinstance(interaction, Match):
        pairs = _pairs(item_id, interaction, answer)
        if interaction.scoring == "weighted":
            pair_credit = {(p.source, p.target): p.credit for p in interaction.credits}
            return sum(pair_credit.get(pair, 0.0) for pair in pairs)
        key = {(p.source, p.target) for p in interaction.key}
        return float(pairs == key)
    if isinstance(interaction, Associate):
        return _associate_credit(item_id, interaction, answer)
    if isinstance(interaction, Composite):
        return composite_credit(item_id, interaction, answer)
    if isinstance(interaction, ExtendedText):
        raise NotAutoScoredError(item_id)
    raise AssertionError(f"unhandled interaction {type(interaction).__name__}")


# --------------------------------------------------------------------------- composite items

#: Field interactions whose raw answer is one string (the others take a list).
_SINGLE_VALUED = (SingleChoice, Numeric, ShortText)


def single_valued(interaction: FieldInteraction) -> bool:
    """Whether a field's raw answer is one string (choice, inline choice, number, text)."""
    return isinstance(interaction, _SINGLE_VALUED)


def split_fields(item_id: str, composite: Composite, answer: RawAnswer) -> dict[str, RawAnswer]:
    """The raw answer of each field of ``composite`` from its ``"FIELD=VALUE"`` entries.

    Fields without an entry, or with only blank values, are left out (they earn 0).
    Multi-valued fields keep their values in the order given.

    Raises
    ------
    AnswerError
        An entry without ``=``, a field the item does not have, or two values for a
        single-valued field.
    """
    entries = [answer] if isinstance(answer, str) else list(answer)
    fields = {f.id: f for f in composite.fields}
    gathered: dict[str, list[str]] = {}
    for entry in entries:
        name, sep, value = entry.partition("=")
        name = name.strip()
        if not sep:
            raise AnswerError(item_id, f'"{entry}" is not a "FIELD=VALUE" answer')
        if name not in fields:
            raise AnswerError(item_id, f'"{name}" is not a field of this item')
        if value.strip():
            gathered.setdefault(name, []).append(value)
    out: dict[str, RawAnswer] = {}
    for name, values in gathered.items():
        if single_valued(fields[name].interaction):
            if len(values) > 1:
                raise AnswerError(item_id, f"{field_label(composite, name)}: give one answer")
            out[name] = values[0]
        else:
            out[name] = values
    return out


def join_fields(answers: dict[str, RawAnswer]) -> list[str]:
    """The raw answer of a composite item from each field's raw answer (inverse of split)."""
    out: list[str] = []
    for name, value in answers.items():
        values = [value] if isinstance(value, str) else value
        out.extend(f"{name}={v}" for v in values)
    return out


def field_label(composite: Composite, field_id: str) -> str:
    """What the field is called for learners: its label, or "Blank 2 of 3"."""
    for position, field in enumerate(composite.fields, start=1):
        if field.id == field_id:
            return field.label or f"Blank {position} of {len(composite.fields)}"
    return field_id


def field_credits(item_id: str, composite: Composite, answer: RawAnswer) -> dict[str, float]:
    """Each field's credit in [0, 1] (unanswered fields earn 0).

    Raises
    ------
    AnswerError
        When a field's answer does not fit its interaction; the message names the field.
    """
    given = split_fields(item_id, composite, answer)
    credits: dict[str, float] = {}
    for field in composite.fields:
        value = given.get(field.id)
        if value is None:
            credits[field.id] = 0.0
            continue
        try:
            credit = answer_credit(item_id, field.interaction, value)
        except AnswerError as exc:
            raise AnswerError(
                item_id, f"{field_label(composite, field.id)}: {exc.message}"
            ) from None
        credits[field.id] = min(1.0, max(0.0, credit))
    return credits


def composite_credit(item_id: str, composite: Composite, answer: RawAnswer) -> float:
    """The item's credit: the fields' credits weighted by their points, ``sum(w s) / sum(w)``.

    Raises
    ------
    AnswerError
        When no field was answered, or a field's answer does not fit its interaction.
    """
    credits = field_credits(item_id, composite, answer)
    if not split_fields(item_id, composite, answer):
        raise AnswerError(item_id, "fill in at least one blank")
    return weighted_mean(composite.fields, credits)


def weighted_mean(fields: tuple[Field, ...], credits: dict[str, float]) -> float:
    """``sum(w_f s_f) / sum(w_f)`` over ``fields``."""
    total = sum(f.weight for f in fields)
    return sum(f.weight * credits.get(f.id, 0.0) for f in fields) / total


def _associate_credit(item_id: str, interaction: Associate, answer: RawAnswer) -> float:
    given = [answer] if isinstance(answer, str) else list(answer)
    ids = {o.id for o in interaction.options}
    pairs: set[frozenset[str]] = set()
    for text in given:
        parts = text.split()
        if len(parts) != 2:
            raise AnswerError(item_id, f'"{text}" is not a pair "A B"')
        for part in parts:
            if part not in ids:
                raise AnswerError(item_id, f'"{part}" is not an option of this item')
        if parts[0] == parts[1]:
            raise AnswerError(item_id, f'"{parts[0]}" cannot be paired with itself')
        pair = frozenset(parts)
        if pair in pairs:
            raise AnswerError(item_id, f'the pair "{text}" was given twice')
        pairs.add(pair)
    most = interaction.max_associations or len(interaction.key)
    if len(pairs) > most:
        raise AnswerError(item_id, f"give at most {most} pairs")
    if interaction.scoring == "weighted":
        credit = {frozenset((p.source, p.target)): p.credit for p in interaction.credits}
        return sum(credit.get(pair, 0.0) for pair in pairs)
    return float(pairs == {frozenset((p.source, p.target)) for p in interaction.key})
