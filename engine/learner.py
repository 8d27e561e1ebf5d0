"""A simulated learner who types real answers.

Simulation studies only need score categories; demos, end-to-end tests and load tests need
the raw answer a person would submit. :func:`raw_answer` turns a score category into such an
answer (the key, a distractor, a number outside the tolerance...), so the answer goes through
the same scoring as a real one.
"""

from __future__ import annotations

import random

from item_banks.model import Item, MultipleResponse, Numeric, ShortText, SingleChoice
from item_banks.scoring import RawAnswer


def raw_answer(item: Item, category: int, rng: random.Random) -> RawAnswer:
    """Return an answer to ``item`` that scores exactly ``category``.

    Raises
    ------
    ValueError
        When no answer of the interaction can score ``category``.
    """
    interaction = item.interaction
    if isinstance(interaction, SingleChoice):
        if category >= 1:
            return interaction.key
        distractors = [o.id for o in interaction.options if o.id != interaction.key]
        return rng.choice(distractors)
    if isinstance(interaction, MultipleResponse):
        keys = list(interaction.key)
        others = [o.id for o in interaction.options if o.id not in interaction.key]
        if interaction.scoring == "partial":
            if category > len(keys):
                raise ValueError(f"no answer to {item.id} scores {category}")
            return rng.sample(keys, category)
        if category >= 1:
            return keys
        if others:
            return [*keys[:-1], rng.choice(others)]
        return keys[:-1]
    if isinstance(interaction, Numeric):
        if category >= 1:
            return repr(interaction.key)
        width = interaction.tolerance
        if interaction.tolerance_mode == "relative":
            width *= abs(interaction.key)
        slip = interaction.key * 10 if interaction.key != 0.0 else 1.0
        if abs(slip - interaction.key) <= 2 * width + 1e-6:
            slip = interaction.key + 3 * width + 1.0
        return repr(slip)
    if isinstance(interaction, ShortText):
        if category >= 1:
            return interaction.key[0]
        return "I am not sure"
    raise AssertionError(f"unhandled interaction {type(interaction).__name__}")
