"""Scoring of a raw answer into an IRT score category: pure functions, no I/O.

A *raw answer* is what the learner submitted: an option id (single choice), a list of option
ids (multiple response), or text (numeric, short text). A malformed answer (an option the item
does not have, text that is not a number) raises :class:`~item_banks.errors.AnswerError` so it
can be corrected; it is never scored as wrong.
"""

from __future__ import annotations

import math
import re

import msgspec

from item_banks.errors import AnswerError
from item_banks.model import (
    Item,
    MultipleResponse,
    Numeric,
    ShortText,
    SingleChoice,
    category_count,
)
from item_banks.validation import normalise_text

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
_GROUPED = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")


def parse_number(text: str, *, unit: str | None = None) -> float:
    """Parse a typed number.

    Accepts surrounding spaces, a Unicode minus sign, thousands separators written as commas
    (``12,345.5``), scientific notation, and the item's unit written after the number
    (``12.5 kg`` when the unit is ``kg``).

    Raises
    ------
    ValueError
        With a message for the learner when the text is not a number.
    """
    value = text.strip().replace("\u2212", "-").replace("\u00a0", " ")
    if unit:
        stripped = unit.strip()
        if stripped and value.endswith(stripped):
            value = value[: -len(stripped)].strip()
    if not value:
        raise ValueError("the answer is empty")
    compact = value.replace(" ", "")
    if _GROUPED.match(compact):
        compact = compact.replace(",", "")
    elif re.match(r"^[+-]?\d+,\d+$", compact):
        raise ValueError(f"{text.strip()!r}: write the decimal separator as a point")
    if not _NUMBER.match(compact):
        raise ValueError(f"{text.strip()!r} is not a number")
    number = float(compact)
    if not math.isfinite(number):
        raise ValueError(f"{text.strip()!r} is not a finite number")
    return number


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
        ``max(0, correct picks - wrong picks)``.

    Raises
    ------
    AnswerError
        When the answer does not fit the interaction.
    """
    interaction = item.interaction
    top = category_count(item.irt) - 1
    if isinstance(interaction, SingleChoice):
        if not isinstance(answer, str):
            raise AnswerError(item.id, "choose exactly one option")
        options = {o.id for o in interaction.options}
        if answer not in options:
            raise AnswerError(item.id, f'"{answer}" is not an option of this item')
        return ScoredAnswer(category=int(answer == interaction.key), max_category=top)
    if isinstance(interaction, MultipleResponse):
        chosen = [answer] if isinstance(answer, str) else list(answer)
        options = {o.id for o in interaction.options}
        unknown = [c for c in chosen if c not in options]
        if unknown:
            raise AnswerError(item.id, f'"{unknown[0]}" is not an option of this item')
        if len(set(chosen)) != len(chosen):
            raise AnswerError(item.id, "an option was chosen twice")
        keys = set(interaction.key)
        picked = set(chosen)
        if interaction.scoring == "partial":
            hits = len(picked & keys)
            false_alarms = len(picked - keys)
            return ScoredAnswer(category=max(0, min(top, hits - false_alarms)), max_category=top)
        return ScoredAnswer(category=int(picked == keys), max_category=top)
    if isinstance(interaction, Numeric):
        if not isinstance(answer, str):
            raise AnswerError(item.id, "type one number")
        try:
            value = parse_number(answer, unit=interaction.unit)
        except ValueError as exc:
            raise AnswerError(item.id, str(exc)) from None
        return ScoredAnswer(category=int(numeric_matches(interaction, value)), max_category=top)
    if isinstance(interaction, ShortText):
        if not isinstance(answer, str):
            raise AnswerError(item.id, "type a short answer")
        typed = normalise_text(answer, case_sensitive=interaction.case_sensitive)
        if not typed:
            raise AnswerError(item.id, "the answer is empty")
        accepted = {
            normalise_text(k, case_sensitive=interaction.case_sensitive) for k in interaction.key
        }
        return ScoredAnswer(category=int(typed in accepted), max_category=top)
    raise AssertionError(f"unhandled interaction {type(interaction).__name__}")
