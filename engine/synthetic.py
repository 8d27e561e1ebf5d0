"""Synthetic banks for simulation studies and benchmarks (``skillgauge bank synth``).

Parameters are drawn from the distributions usual in CAT simulation studies: log-normal
slopes, standard normal difficulties, Beta(5, 17) lower asymptotes (mean about 0.23, a
four-option item), upper asymptotes between 0.9 and 1.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from item_banks.correlations import labelled
from item_banks.model import (
    Bank,
    Competency,
    ContentArea,
    FourPL,
    Graded,
    IrtParameters,
    Item,
    MultipleResponse,
    OnePL,
    Option,
    PartialCredit,
    SingleChoice,
    ThreePL,
    TwoPL,
)

SynthModel = Literal["1pl", "2pl", "3pl", "4pl", "grm", "gpcm"]
_AREAS = ("recall", "application", "analysis", "evaluation")


def _parameters(model: SynthModel, rng: np.random.Generator, categories: int) -> IrtParameters:
    a = float(np.clip(rng.lognormal(0.0, 0.3), 0.4, 3.0))
    b = float(np.clip(rng.normal(0.0, 1.0), -3.5, 3.5))
    if model == "1pl":
        return OnePL(b=round(b, 4))
    if model == "2pl":
        return TwoPL(a=round(a, 4), b=round(b, 4))
    if model == "3pl":
        return ThreePL(a=round(a, 4), b=round(b, 4), c=round(float(rng.beta(5, 17)), 4))
    if model == "4pl":
        return FourPL(
            a=round(a, 4),
            b=round(b, 4),
            c=round(float(rng.beta(5, 17)), 4),
            d=round(float(rng.uniform(0.9, 1.0)), 4),
        )
    k = categories - 1
    if model == "grm":
        steps = np.sort(b + rng.normal(0.0, 0.8, size=k))
        steps = steps + np.arange(k) * 1e-3  # strictly increasing even after rounding
        return Graded(a=round(a, 4), thresholds=tuple(round(float(s), 4) for s in steps))
    steps = b + rng.normal(0.0, 0.8, size=k)
    return PartialCredit(a=round(a, 4), thresholds=tuple(round(float(s), 4) for s in steps))


def synthetic_bank(
    n_items: int,
    model: SynthModel,
    n_competencies: int,
    seed: int,
    *,
    categories: int = 4,
    pretest: int = 0,
    correlation: float | None = None,
) -> Bank:
    """Return a bank of ``n_items`` items spread evenly over ``n_competencies``.

    Dichotomous models get single-choice items with four options; ``grm`` and ``gpcm`` get
    partially scored multiple-response items with ``categories - 1`` keys. The last
    ``pretest`` items are marked ``pretest``. With ``correlation`` the bank carries a latent
    correlation matrix with that value between every two competencies (it must be above
    ``-1 / (K - 1)`` and below 1 to be positive definite).
    """
    if n_items < 1:
        raise ValueError("a synthetic bank needs at least one item")
    if not 1 <= n_competencies <= n_items:
        raise ValueError("need between 1 and n_items competencies")
    if model in ("grm", "gpcm") and not 2 <= categories <= 8:
        raise ValueError("polytomous items need 2..8 categories")
    if correlation is not None and not (
        -1.0 / max(n_competencies - 1, 1) < correlation < 1.0 and n_competencies > 1
    ):
        raise ValueError(
            f"a correlation of {correlation:g} between {n_competencies} competencies is not a "
            f"positive definite correlation matrix (it must lie in "
            f"(-1/{max(n_competencies - 1, 1)}, 1), with at least two competencies)"
        )
    rng = np.random.default_rng(seed)
    competencies = tuple(
        Competency(
            id=f"c{k + 1}",
            name=f"Competency {k + 1}",
            description="Synthetic competency for simulation.",
            cut_score=0.0,
        )
        for k in range(n_competencies)
    )
    width = len(str(n_items))
    items = []
    for i in range(n_items):
        params = _parameters(model, rng, categories)
        letters = "abcd"
        if model in ("grm", "gpcm"):
            n_keys = categories - 1
            options = tuple(
                Option(
                    id=f"o{j + 1}",
                    text=f"Statement {j + 1}",
                    rationale="True statement." if j < n_keys else "False statement.",
                )
                for j in range(n_keys + 2)
            )
            interaction: SingleChoice | MultipleResponse = MultipleResponse(
                options=options,
                key=tuple(f"o{j + 1}" for j in range(n_keys)),
                scoring="partial",
            )
        else:
            key = letters[int(rng.integers(4))]
            interaction = SingleChoice(
                options=tuple(
                    Option(
                        id=x,
                        text=f"Option {x.upper()}",
                        rationale="Correct." if x == key else "Distractor.",
                    )
                    for x in letters
                ),
                key=key,
            )
        items.append(
            Item(
                id=f"s{i + 1:0{width}d}",
                competency=competencies[i % n_competencies].id,
                content_areas=(_AREAS[int(rng.integers(len(_AREAS)))],),
                stem=f"Synthetic item {i + 1}.",
                interaction=interaction,
                solution="Synthetic item: no solution.",
                irt=params,
                status="pretest" if i >= n_items - pretest else "operational",
            )
        )
    return Bank(
        id=f"synthetic-{model}-{n_items}",
        title=f"Synthetic {model.upper()} bank ({n_items} items)",
        version=f"seed-{seed}",
        description="Generated by `skillgauge bank synth` for simulation and benchmarks.",
        notes="Synthetic parameters: a ~ lognormal(0, 0.3), b ~ N(0, 1), c ~ Beta(5, 17).",
        competencies=competencies,
        content_areas=tuple(ContentArea(id=a, name=a.title()) for a in _AREAS),
        items=tuple(items),
        correlations=None
        if correlation is None
        else labelled(
            [c.id for c in competencies],
            [
                [1.0 if i == j else correlation for j in range(n_competencies)]
                for i in range(n_competencies)
            ],
        ),
    )
