"""Feedback on one answer: pure code beside the engine, rendered by ``web/``.

Given an item, the raw answer and its score, :func:`feedback_for` decides what the learner
is told. Texts are Markdown from the bank; the web layer renders them.
"""

from __future__ import annotations

import msgspec

from item_banks.model import (
    ExtendedText,
    Item,
    Match,
    MultipleResponse,
    Numeric,
    Order,
    ShortText,
    SingleChoice,
)
from item_banks.scoring import RawAnswer, ScoredAnswer


class Feedback(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the learner is told about one answer.

    Attributes
    ----------
    correct
        Full credit.
    category, max_category
        The score category and the item's highest.
    correct_answer
        The right answer, as Markdown (the key option's text, the number with its unit...).
    """

    correct: bool
    category: int
    max_category: int
    correct_answer: str


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
        return f"{interaction.key:g}{unit}"
    if isinstance(interaction, ShortText):
        return interaction.key[0]
    if isinstance(interaction, Order):
        by_id = {o.id: o.text for o in interaction.options}
        return "\n".join(f"{n}. {by_id[key]}" for n, key in enumerate(interaction.key, start=1))
    if isinstance(interaction, Match):
        sources = {o.id: o.text for o in interaction.sources}
        targets = {o.id: o.text for o in interaction.targets}
        return "\n".join(f"- {sources[p.source]} → {targets[p.target]}" for p in interaction.key)
    if isinstance(interaction, ExtendedText):
        return "A person will score this answer."
    raise AssertionError(f"unhandled interaction {type(interaction).__name__}")


def feedback_for(item: Item, answer: RawAnswer, scored: ScoredAnswer) -> Feedback:
    """Decide the feedback for ``answer`` to ``item`` scored as ``scored``."""
    del answer  # the elaborated, answer-specific feedback builds on this
    return Feedback(
        correct=scored.correct,
        category=scored.category,
        max_category=scored.max_category,
        correct_answer=correct_answer_text(item),
    )
