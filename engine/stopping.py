r"""Stopping rules: when an adaptive test has measured enough.

Rules are msgspec Structs tagged by ``rule`` so a policy file can compose them::

    [stopping]
    rule = "any"
    rules = [{rule = "standard_error", max_se = 0.3}, {rule = "max_items", n = 40}]

Counting rules count operational items only (pretest items never count).

Classification rules decide, per competency with a cut score :math:`\theta_c`:

* ``ci`` (Kingsbury & Weiss, 1983): classified once the interval
  :math:`\hat\theta \pm z\,SE` excludes :math:`\theta_c`, with :math:`z` the two-sided
  normal quantile of ``confidence``;
* ``sprt`` (Reckase, 1983; Eggen, 1999): with :math:`\Lambda = \log L(\theta_c + \delta) -
  \log L(\theta_c - \delta)`, pass when :math:`\Lambda \ge \log\frac{1-\beta}{\alpha}`, fail
  when :math:`\Lambda \le \log\frac{\beta}{1-\alpha}`.

References
----------
Kingsbury, G. G., & Weiss, D. J. (1983). A comparison of IRT-based adaptive mastery testing
and a sequential mastery testing procedure. In D. J. Weiss (Ed.), *New Horizons in Testing*.
Reckase, M. D. (1983). A procedure for decision making using tailored testing. In D. J. Weiss
(Ed.), *New Horizons in Testing*. Eggen, T. J. H. M. (1999). Item selection in adaptive testing
with the sequential probability ratio test. *Applied Psychological Measurement*, 23(3), 249-261.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec
import numpy as np
from msgspec import Meta
from numpy.typing import NDArray
from scipy.stats import norm

from engine.irt.generic import Array

Count = Annotated[int, Meta(ge=1, le=10_000)]


class _Rule(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="rule"
):
    """Base of the stopping-rule structs."""


class MaxItems(_Rule, tag="max_items", frozen=True):
    """Stop once ``n`` operational items were administered."""

    n: Count


class MinItems(_Rule, tag="min_items", frozen=True):
    """A condition: at least ``n`` items. Alone it stops at ``n``; inside ``all`` it delays."""

    n: Count


class FixedLength(_Rule, tag="fixed_length", frozen=True):
    """Exactly ``n`` operational items."""

    n: Count


class StandardErrorRule(_Rule, tag="standard_error", frozen=True):
    """Stop when every competency's standard error is at most ``max_se``."""

    max_se: Annotated[float, Meta(gt=0.0, le=5.0)]


class Classification(_Rule, tag="classification", frozen=True):
    """Stop when every competency that has a cut score is classified (``ci`` or ``sprt``)."""

    method: Literal["ci", "sprt"] = "ci"
    confidence: Annotated[float, Meta(gt=0.5, lt=1.0)] = 0.95
    alpha: Annotated[float, Meta(gt=0.0, lt=0.5)] = 0.05
    beta: Annotated[float, Meta(gt=0.0, lt=0.5)] = 0.05
    delta: Annotated[float, Meta(gt=0.0, le=2.0)] = 0.3


class AnyOf(_Rule, tag="any", frozen=True):
    """Stop when any of ``rules`` says stop."""

    rules: Annotated[tuple[StoppingRule, ...], Meta(min_length=1, max_length=20)]


class AllOf(_Rule, tag="all", frozen=True):
    """Stop when all of ``rules`` say stop."""

    rules: Annotated[tuple[StoppingRule, ...], Meta(min_length=1, max_length=20)]


StoppingRule = (
    MaxItems | MinItems | FixedLength | StandardErrorRule | Classification | AnyOf | AllOf
)


@dataclass(slots=True)
class StopContext:
    """What the rules look at, per competency (arrays of length K)."""

    n_items: int
    theta: Array
    se: Array
    cut: Array
    sprt_llr: Callable[[int, float, float], float]
    """``sprt_llr(k, lower, upper)``: log L(upper) - log L(lower) for competency ``k``."""


@dataclass(frozen=True, slots=True)
class Decision:
    """A rule's verdict: whether to stop, why, and which competencies are measured enough.

    ``done`` is None when the rule has no per-competency opinion (counting rules).
    """

    stop: bool
    reason: str
    done: NDArray[np.bool_] | None = None


def classify(rule: Classification, ctx: StopContext) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Return ``(classified, passed)`` boolean arrays per competency for ``rule``.

    Competencies without a cut score count as classified (there is nothing to decide).
    """
    has_cut = ~np.isnan(ctx.cut)
    classified = ~has_cut
    passed = np.zeros_like(has_cut)
    if rule.method == "ci":
        z = float(norm.ppf(1.0 - (1.0 - rule.confidence) / 2.0))
        lower = ctx.theta - z * ctx.se
        upper = ctx.theta + z * ctx.se
        with np.errstate(invalid="ignore"):
            above = has_cut & (lower > ctx.cut)
            below = has_cut & (upper < ctx.cut)
        return classified | above | below, above
    upper_bound = math.log((1.0 - rule.beta) / rule.alpha)
    lower_bound = math.log(rule.beta / (1.0 - rule.alpha))
    classified = classified.copy()
    for k in np.flatnonzero(has_cut):
        llr = ctx.sprt_llr(int(k), ctx.cut[k] - rule.delta, ctx.cut[k] + rule.delta)
        if llr >= upper_bound:
            classified[k] = True
            passed[k] = True
        elif llr <= lower_bound:
            classified[k] = True
    return classified, passed


def decide(rule: StoppingRule, ctx: StopContext) -> Decision:
    """Evaluate ``rule`` on the session's current state."""
    if isinstance(rule, MaxItems):
        return Decision(ctx.n_items >= rule.n, f"reached the maximum of {rule.n} items")
    if isinstance(rule, MinItems):
        return Decision(ctx.n_items >= rule.n, f"reached {rule.n} items")
    if isinstance(rule, FixedLength):
        return Decision(ctx.n_items >= rule.n, f"fixed length of {rule.n} items")
    if isinstance(rule, StandardErrorRule):
        within = ctx.se <= rule.max_se
        worst = float(ctx.se.max()) if ctx.se.size else 0.0
        return Decision(
            bool(within.all()),
            f"every competency measured with SE <= {rule.max_se:g} (largest {worst:.3f})",
            within,
        )
    if isinstance(rule, Classification):
        classified, _ = classify(rule, ctx)
        label = "confidence interval" if rule.method == "ci" else "SPRT"
        return Decision(
            bool(classified.all()),
            f"every competency with a cut score classified ({label})",
            classified,
        )
    children = [decide(child, ctx) for child in rule.rules]
    opinions = [c.done for c in children if c.done is not None]
    combine = np.logical_or if isinstance(rule, AnyOf) else np.logical_and
    done: NDArray[np.bool_] | None = (
        np.asarray(combine.reduce(opinions), dtype=bool) if opinions else None
    )
    if isinstance(rule, AnyOf):
        fired = [c for c in children if c.stop]
        return Decision(bool(fired), fired[0].reason if fired else "", done)
    stop = all(c.stop for c in children)
    reasons = [c.reason for c in children if c.done is not None] or [children[-1].reason]
    return Decision(stop, "; ".join(reasons) if stop else "", done)


def length_bound(rule: StoppingRule) -> int | None:
    """The most operational items ``rule`` can ever give, or None when it sets no bound."""
    if isinstance(rule, MaxItems | FixedLength):
        return rule.n
    if isinstance(rule, MinItems):
        return rule.n
    if isinstance(rule, StandardErrorRule | Classification):
        return None
    bounds = [length_bound(child) for child in rule.rules]
    if isinstance(rule, AnyOf):
        known = [b for b in bounds if b is not None]
        return min(known) if known else None
    if any(b is None for b in bounds):
        return None
    return max(b for b in bounds if b is not None)


def minimum_length(rule: StoppingRule) -> int:
    """The fewest operational items before ``rule`` can stop (0 if it can stop at once)."""
    if isinstance(rule, MinItems | FixedLength | MaxItems):
        return rule.n
    if isinstance(rule, StandardErrorRule | Classification):
        return 0
    lengths = [minimum_length(child) for child in rule.rules]
    return min(lengths) if isinstance(rule, AnyOf) else max(lengths)
