"""Conversions between Skillgauge's IRT parameters and R mirt's slope-intercept form.

Skillgauge stores the IRT (difficulty) form with D = 1; mirt estimates and prints the
slope-intercept form (``coef(mod, IRTpars = FALSE)``):

* dichotomous: ``P = g + (u - g) / (1 + exp(-(a1 theta + d)))``, so
  ``a1 = a``, ``d = -a b``, ``g = c``, ``u = d`` (our upper asymptote);
* graded: ``P(X >= k) = 1 / (1 + exp(-(a1 theta + d_k)))``, so ``d_k = -a b_k``;
* generalised partial credit, mirt's ``gpcm`` with scoring ``ak = 0..K`` and ``d_0 = 0``:
  ``P(X = k) ∝ exp(k a1 theta + d_k)``, so ``d_k = -a sum_{v <= k} b_v`` and
  ``b_k = -(d_k - d_{k-1}) / a``.

Reference: Chalmers, R. P. (2012). mirt: A multidimensional item response theory package for
the R environment. *Journal of Statistical Software*, 48(6), 1-29.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from item_banks.model import (
    FourPL,
    Graded,
    IrtParameters,
    OnePL,
    PartialCredit,
    ThreePL,
    TwoPL,
    model_name,
)

ModelName = Literal["1pl", "2pl", "3pl", "4pl", "grm", "gpcm"]


class SlopeIntercept(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """mirt's parameters of one item.

    ``d`` holds one intercept for dichotomous items and ``K`` intercepts for GRM/GPCM
    (``d_1 .. d_K``; mirt's fixed ``d_0 = 0`` of the GPCM is not stored).
    """

    model: ModelName
    a1: float
    d: tuple[float, ...]
    g: float = 0.0
    u: float = 1.0


def to_slope_intercept(params: IrtParameters) -> SlopeIntercept:
    """Convert IRT parameters to mirt's slope-intercept form (``d = -a b``)."""
    model: ModelName = model_name(params)  # type: ignore[assignment]
    if isinstance(params, Graded):
        return SlopeIntercept(
            model=model, a1=params.a, d=tuple(-params.a * b for b in params.thresholds)
        )
    if isinstance(params, PartialCredit):
        intercepts: list[float] = []
        total = 0.0
        for step in params.thresholds:
            total += step
            intercepts.append(-params.a * total)
        return SlopeIntercept(model=model, a1=params.a, d=tuple(intercepts))
    c = params.c if isinstance(params, ThreePL | FourPL) else 0.0
    upper = params.d if isinstance(params, FourPL) else 1.0
    return SlopeIntercept(model=model, a1=params.a, d=(-params.a * params.b,), g=c, u=upper)


def from_slope_intercept(si: SlopeIntercept) -> IrtParameters:
    """Convert mirt's slope-intercept parameters back to the IRT form (``b = -d / a``).

    Raises
    ------
    ValueError
        When ``a1 <= 0`` (the IRT form needs a positive slope) or the intercept count does not
        fit the model.
    """
    if si.a1 <= 0:
        raise ValueError(f"a1 must be > 0 to convert to the IRT form, got {si.a1}")
    a = si.a1
    if si.model in ("grm", "gpcm"):
        if not si.d:
            raise ValueError(f"{si.model} needs at least one intercept")
        if si.model == "grm":
            return Graded(a=a, thresholds=tuple(-dk / a for dk in si.d))
        previous = 0.0
        steps = []
        for dk in si.d:
            steps.append(-(dk - previous) / a)
            previous = dk
        return PartialCredit(a=a, thresholds=tuple(steps))
    if len(si.d) != 1:
        raise ValueError(f"{si.model} needs exactly one intercept, got {len(si.d)}")
    b = -si.d[0] / a
    if si.model == "1pl":
        return OnePL(a=a, b=b)
    if si.model == "2pl":
        return TwoPL(a=a, b=b)
    if si.model == "3pl":
        return ThreePL(a=a, b=b, c=si.g)
    return FourPL(a=a, b=b, c=si.g, d=si.u)
