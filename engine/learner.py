"""A simulated learner who types real answers.

Simulation studies only need score categories; demos, end-to-end tests and load tests need
the raw answer a person would submit. :func:`raw_answer` turns a score category into such an
answer (the key, a distractor, a number outside the tolerance...), so the answer goes through
the same scoring as a real one.
"""

from __future__ import annotations

import itertools
import math
import random

import msgspec

from item_banks.model import (
    Associate,
    Composite,
    FieldInteraction,
    Item,
    Match,
    MultipleResponse,
    Numeric,
    Order,
    ShortText,
    SingleChoice,
    TwoPL,
    category_count,
)
from item_banks.scoring import (
    RawAnswer,
    answer_credit,
    credit_category,
    join_fields,
    numeric_credit,
    weighted_mean,
)


def raw_answer(item: Item, category: int, rng: random.Random) -> RawAnswer:
    """Return an answer to ``item`` that scores exactly ``category``.

    The answer is never empty where a non-empty answer scores ``category`` (the service
    refuses empty answers instead of scoring them): a wrong multiple-response answer picks
    a wrong option, a wrong match pairs an item with a wrong choice.

    Raises
    ------
    ValueError
        When no answer of the interaction can score ``category``.
    """
    interaction = item.interaction
    top = category_count(item.irt) - 1
    if isinstance(interaction, Composite):
        return _composite_answer(item, interaction, category, top, rng)
    if isinstance(interaction, SingleChoice) and interaction.scoring == "weighted":
        fits = [
            o.id
            for o in interaction.options
            if credit_category(o.credit or 0.0, top, item.credit_levels) == category
        ]
        if not fits:
            raise ValueError(f"no answer to {item.id} scores {category}")
        return rng.choice(fits)
    if isinstance(interaction, MultipleResponse) and interaction.scoring == "weighted":
        return _weighted_subset(item, interaction, category, top, rng)
    if isinstance(interaction, Order):
        if category >= 1:
            return list(interaction.key)
        return [*interaction.key[1:], interaction.key[0]]
    if isinstance(interaction, Match):
        return _match_answer(item, interaction, category, top)
    if isinstance(interaction, Numeric) and interaction.alternatives and 0 < category < top:
        for alt in interaction.alternatives:
            for value in (alt.low, alt.high, (alt.low + alt.high) / 2):
                if (
                    credit_category(numeric_credit(interaction, value), top, item.credit_levels)
                    == category
                ):
                    return repr(value)
        raise ValueError(f"no answer to {item.id} scores {category}")
    if isinstance(interaction, ShortText) and 0 < category < top:
        for accepted in interaction.alternatives:
            if credit_category(accepted.credit, top, item.credit_levels) == category:
                return accepted.text
        raise ValueError(f"no answer to {item.id} scores {category}")
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
            if category == 0 and others:
                return [rng.choice(others)]  # one wrong choice: max(0, 0 - 1) = 0
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
    raise ValueError(f"{item.id}: a {type(interaction).__name__} answer is scored by a person")


def _weighted_subset(
    item: Item, interaction: MultipleResponse, category: int, top: int, rng: random.Random
) -> list[str]:
    """Search small option subsets (up to 4 options) for one that scores ``category``."""
    ids = [o.id for o in interaction.options]
    credit = {o.id: o.credit or 0.0 for o in interaction.options}
    if category == top:
        return list(interaction.key)
    for size in (1, 2, 3, 4, 0):  # the empty answer only when nothing else fits
        fits = [
            list(combo)
            for combo in itertools.combinations(ids, size)
            if credit_category(sum(credit[c] for c in combo), top, item.credit_levels) == category
        ]
        if fits:
            return rng.choice(fits)
    raise ValueError(f"no answer to {item.id} scores {category}")


def _match_answer(item: Item, interaction: Match, category: int, top: int) -> list[str]:
    key = [f"{p.source} {p.target}" for p in interaction.key]
    if category == top:
        return key
    wrong = _wrong_pair(interaction)
    if interaction.scoring == "weighted":
        worth = {(p.source, p.target): p.credit for p in interaction.credits}
        pairs = [(p.source, p.target) for p in interaction.key]
        for size in range(len(pairs), 0, -1):
            for combo in itertools.combinations(pairs, size):
                if (
                    credit_category(sum(worth.get(p, 0.0) for p in combo), top, item.credit_levels)
                    == category
                ):
                    return [f"{s} {t}" for s, t in combo]
        if category == 0:
            return [wrong] if wrong else []
        raise ValueError(f"no answer to {item.id} scores {category}")
    if len(key) == 1 and wrong:
        return [wrong]
    return key[:-1]


def _wrong_pair(interaction: Match) -> str | None:
    """A ``"SOURCE TARGET"`` pair the key does not have (None when every pair is a key)."""
    keyed = {(p.source, p.target) for p in interaction.key}
    for source in interaction.sources:
        for target in interaction.targets:
            if (source.id, target.id) not in keyed:
                return f"{source.id} {target.id}"
    return None


def _field_answers(item: Item, interaction: FieldInteraction) -> list[RawAnswer]:
    """A wrong and a right answer to one field of a composite item (each non-empty)."""
    if isinstance(interaction, Associate):
        right = [f"{p.source} {p.target}" for p in interaction.key]
        keyed = {frozenset((p.source, p.target)) for p in interaction.key}
        ids = [o.id for o in interaction.options]
        wrong = [
            f"{a} {b}"
            for i, a in enumerate(ids)
            for b in ids[i + 1 :]
            if frozenset((a, b)) not in keyed
        ][:1]
        return [wrong or right[:-1], right]
    alone = msgspec.structs.replace(
        item,
        interaction=interaction,
        irt=TwoPL(a=1.0, b=0.0),
        credit_levels=(),
    )
    rng = random.Random(0)
    found = [raw_answer(alone, 0, rng), raw_answer(alone, 1, rng)]
    if isinstance(interaction, Match):
        wrong_pair = _wrong_pair(interaction)
        if wrong_pair:
            found.append([wrong_pair])
        found += [[f"{p.source} {p.target}"] for p in interaction.key]
    return found


def _composite_answer(
    item: Item, composite: Composite, category: int, top: int, rng: random.Random
) -> list[str]:
    """Fields answered right, wrong or partly so that the item's category is ``category``.

    Every combination of the fields' answers is tried when there are at most 4,096, else
    4,096 random ones.
    """
    choices = {f.id: _field_answers(item, f.interaction) for f in composite.fields}
    credit = {
        f.id: [answer_credit(item.id, f.interaction, a) for a in choices[f.id]]
        for f in composite.fields
    }
    ids = [f.id for f in composite.fields]
    sizes = [range(len(choices[fid])) for fid in ids]
    if math.prod(len(r) for r in sizes) <= 4096:
        patterns: list[tuple[int, ...]] = list(itertools.product(*sizes))
        rng.shuffle(patterns)
    else:
        patterns = [tuple(rng.choice(r) for r in sizes) for _ in range(4096)]
    for pattern in patterns:
        earned = {fid: credit[fid][right] for fid, right in zip(ids, pattern, strict=True)}
        total = weighted_mean(composite.fields, earned)
        if credit_category(total, top, item.credit_levels) == category:
            return join_fields(
                {fid: choices[fid][right] for fid, right in zip(ids, pattern, strict=True)}
            )
    raise ValueError(f"no answer to {item.id} scores {category}")
