"""Credits and score categories: the credit an item's answers can reach, and its category.

Kept apart from :mod:`item_banks.scoring` so validation can use them (scoring imports
validation's text normalisation).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from item_banks.model import (
    Associate,
    Composite,
    ExtendedText,
    FieldInteraction,
    Interaction,
    Match,
    MultipleResponse,
    Numeric,
    ShortText,
    SingleChoice,
)

__all__ = ["credit_category", "reachable_credits"]


def credit_category(credit: float, top: int, levels: tuple[float, ...] = ()) -> int:
    """Turn a credit fraction into an IRT score category.

    Without ``levels``: ``category = floor(clip(s, 0, 1) * K + 1e-7)`` for an item with
    categories ``0..K``: a right/wrong item (K = 1) earns 1 only for full credit; a K-step
    polytomous item (GRM, GPCM) earns one step per ``1/K`` of credit. The ``1e-7`` absorbs
    binary rounding (credits of 1/3 summing to 0.9999999).

    With ``levels`` (an item's ``credit_levels``: the least credit of categories 1..K,
    increasing, the last 1): ``category = #{k : l_k <= clip(s, 0, 1) + 1e-7}``, one category
    per distinct credit level however the levels are spaced (0.25 and 1 make categories
    1 and 2).

    Parameters
    ----------
    credit
        The fraction of full credit earned (may fall outside [0, 1] before clipping).
    top
        The item's highest category K.
    levels
        The item's credit levels, or empty for equal steps.
    """
    clipped = min(1.0, max(0.0, credit))
    if levels:
        return min(top, sum(1 for level in levels if clipped + 1e-7 >= level))
    return min(top, math.floor(clipped * top + 1e-7))


def reachable_credits(interaction: Interaction | FieldInteraction, most: int = 5000) -> set[float]:
    """Every credit in [0, 1] an answer can earn (rounded), or empty when there are too many.

    Composite items combine their fields' credits by weight, so a cloze of three equal
    blanks reaches {0, 1/3, 2/3, 1}.
    """
    if isinstance(interaction, Composite):
        total = sum(f.weight for f in interaction.fields)
        sums = {0.0}
        for field in interaction.fields:
            levels = reachable_credits(field.interaction, most)
            if not levels:
                return set()
            sums = {round(s + field.weight * c, 12) for s in sums for c in levels}
            if len(sums) > most:
                return set()
        return _distinct(min(1.0, max(0.0, s / total)) for s in sums)
    weights: list[float] | None = None
    fixed: set[float] = {0.0, 1.0}
    if isinstance(interaction, SingleChoice):
        if interaction.scoring == "weighted":
            fixed = {0.0} | {o.credit or 0.0 for o in interaction.options}
    elif isinstance(interaction, MultipleResponse):
        if interaction.scoring == "weighted":
            weights = [o.credit or 0.0 for o in interaction.options]
        elif interaction.scoring == "partial":
            fixed = {k / len(interaction.key) for k in range(len(interaction.key) + 1)}
    elif isinstance(interaction, Match | Associate):
        if interaction.scoring == "weighted":
            weights = [p.credit for p in interaction.credits]
    elif isinstance(interaction, Numeric | ShortText):
        fixed |= {alt.credit for alt in interaction.alternatives}
    elif isinstance(interaction, ExtendedText):
        return set()
    if weights is not None:
        sums = {0.0}
        for weight in weights:
            if weight:
                sums |= {round(s + weight, 12) for s in sums}
            if len(sums) > most:
                return set()
        fixed = sums
    return _distinct(min(1.0, max(0.0, c)) for c in fixed)


def _distinct(credits: Iterable[float], within: float = 1e-7) -> set[float]:
    """The credits, values closer than ``within`` merged (to the lowest).

    Sums of rounded thirds then make one level each; values that near 0 or 1 become 0 or 1.
    """
    out: list[float] = []
    for credit in sorted(credits):
        level = 0.0 if credit < within else 1.0 if credit > 1 - within else credit
        if not out or level - out[-1] >= within:
            out.append(level)
    return set(out)
