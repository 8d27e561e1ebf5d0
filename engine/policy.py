"""A session policy: estimator, selection rule, exposure and content control, stopping rule.

Policies are msgspec Structs, so they come from TOML files (:func:`load_policy`), JSON API
bodies or a database column with the same validation. :func:`check_policy` then checks a
policy against the pool it will run on and reports every problem at once.

Example ``policy.toml``::

    model = "correlated"           # or "independent" (the default)

    [estimator]
    method = "eap"

    [selection]
    method = "max_info"

    [exposure]
    method = "randomesque"
    randomesque_size = 5

    [stopping]
    rule = "all"
    rules = [
      {rule = "min_items", n = 5},
      {rule = "any", rules = [{rule = "standard_error", max_se = 0.3},
                              {rule = "max_items", n = 40}]},
    ]
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

import msgspec
import numpy as np
from msgspec import Meta

from engine.content import shadow_feasible
from engine.errors import PolicyError
from engine.integrity_policy import IntegrityConfig
from engine.pool import ItemPool
from engine.stopping import (
    AllOf,
    AnyOf,
    Classification,
    FixedLength,
    MaxItems,
    MinItems,
    StandardErrorRule,
    StoppingRule,
    length_bound,
    minimum_length,
)
from item_banks.messages import explain, join_path

Proportion = Annotated[float, Meta(ge=0.0, le=1.0)]


class _Config(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Common configuration of policy sections."""


class Prior(_Config, frozen=True):
    """Normal prior on each competency's ability."""

    mean: Annotated[float, Meta(ge=-4.0, le=4.0)] = 0.0
    sd: Annotated[float, Meta(gt=0.0, le=10.0)] = 1.0


class GridSpec(_Config, frozen=True):
    """Equally spaced quadrature grid for EAP and the posterior-based rules.

    The default, 81 points on [-8, 8] (spacing 0.2), keeps EAP within 1e-6 of the exact
    integral even for all-wrong or all-correct patterns, whose posteriors reach past +-6
    (R mirt's calibration grid of 61 points on [-6, 6] truncates those at about 1e-6).
    """

    lower: Annotated[float, Meta(ge=-20.0, le=0.0)] = -8.0
    upper: Annotated[float, Meta(ge=0.0, le=20.0)] = 8.0
    points: Annotated[int, Meta(ge=11, le=401)] = 81


class EstimatorConfig(_Config, frozen=True):
    """How abilities are estimated (see :mod:`engine.estimation` for the edge cases)."""

    method: Literal["eap", "map", "mle", "wle"] = "eap"
    grid: GridSpec = GridSpec()
    prior: Prior = Prior()
    bounds: tuple[float, float] = (-4.0, 4.0)
    se_max: Annotated[float, Meta(gt=0.0, le=100.0)] = 10.0


SelectionMethod = Literal[
    "max_info",
    "kl",
    "posterior_kl",
    "max_posterior_info",
    "min_posterior_variance",
    "a_stratified",
    "random",
    "d_optimal",
    "a_optimal",
    "c_optimal",
    "t_optimal",
    "e_optimal",
]


class SelectionConfig(_Config, frozen=True):
    """The item selection rule (see :mod:`engine.selection` and :mod:`engine.multidim.selection`).

    ``d_optimal``, ``a_optimal``, ``c_optimal``, ``t_optimal`` and ``e_optimal`` are the
    multidimensional criteria (mirtCAT's D-, A-, T- and E-rules with the prior, and Python
    mirt's C-optimality); ``weights`` maps competency ids to their weights in the A-, C- and
    T-criteria (1 for competencies not listed).
    """

    method: SelectionMethod = "max_info"
    kl_width: Annotated[float, Meta(gt=0.0, le=10.0)] = 3.0
    strata: Annotated[int, Meta(ge=2, le=20)] = 4
    weights: dict[str, Annotated[float, Meta(gt=0.0, le=100.0)]] = msgspec.field(
        default_factory=dict
    )


class ExposureConfig(_Config, frozen=True):
    """Exposure control (see :mod:`engine.exposure`)."""

    method: Literal["none", "randomesque", "sympson_hetter", "eligibility"] = "none"
    randomesque_size: Annotated[int, Meta(ge=1, le=100)] = 5
    r_max: Annotated[float, Meta(gt=0.0, le=1.0)] = 0.25


class ContentConfig(_Config, frozen=True):
    """Content balancing across competencies and content areas.

    ``competencies`` and ``areas`` map ids to target proportions of the test. With
    ``balance = "targets"`` (Kingsbury & Zara, 1989) each item comes from the competency, then
    the area, furthest below its target; an empty ``competencies`` means equal shares.
    ``shadow_test`` assembles a full-length test meeting the proportions as counts at every
    step (van der Linden & Reese, 1998).
    """

    balance: Literal["none", "targets", "shadow_test"] = "targets"
    competencies: dict[str, Proportion] = msgspec.field(default_factory=dict)
    areas: dict[str, Proportion] = msgspec.field(default_factory=dict)


class PretestConfig(_Config, frozen=True):
    """Seeding of pretest items: each step is a pretest item with probability ``rate``."""

    rate: Annotated[float, Meta(ge=0.0, le=0.5)] = 0.0
    max_items: Annotated[int, Meta(ge=0, le=50)] = 0


DEFAULT_STOPPING: StoppingRule = AllOf(
    rules=(MinItems(n=5), AnyOf(rules=(StandardErrorRule(max_se=0.3), MaxItems(n=40))))
)


LatentModel = Literal["independent", "correlated"]


class Policy(_Config, frozen=True):
    """Everything that decides how a session runs.

    ``cut_scores`` overrides the bank's cut scores (theta scale) per competency id.
    ``integrity`` says what each integrity flag does (:mod:`engine.integrity_policy`).
    ``model``: ``independent`` scores each competency from its own answers only;
    ``correlated`` scores all competencies jointly under the multivariate-normal prior with
    the bank's correlation matrix (:mod:`engine.multidim`), so every answer informs every
    competency. A bank without a correlation matrix runs independent whatever ``model`` says.
    """

    model: LatentModel = "independent"
    estimator: EstimatorConfig = EstimatorConfig()
    selection: SelectionConfig = msgspec.field(default_factory=SelectionConfig)
    exposure: ExposureConfig = ExposureConfig()
    content: ContentConfig = msgspec.field(default_factory=ContentConfig)
    stopping: StoppingRule = DEFAULT_STOPPING
    pretest: PretestConfig = PretestConfig()
    cut_scores: dict[str, Annotated[float, Meta(ge=-6.0, le=6.0)]] = msgspec.field(
        default_factory=dict
    )
    integrity: IntegrityConfig = IntegrityConfig()


def decode_policy(raw: object, source: str = "policy") -> Policy:
    """Convert decoded TOML/JSON data to a :class:`Policy`, with a located error."""
    try:
        return msgspec.convert(raw, Policy)
    except msgspec.ValidationError as exc:
        parts, message = explain(str(exc), raw)
        where = join_path(parts)
        raise PolicyError([f"{where}: {message}" if where else message], source) from None


def load_policy(path: str | Path) -> Policy:
    """Read a policy from a TOML file."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError([f"cannot read the file: {exc.strerror}"], str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError([f"not valid TOML: {exc}"], str(path)) from None
    return decode_policy(raw, str(path))


def cut_scores(policy: Policy, pool: ItemPool) -> np.ndarray:
    """Cut score per competency: the policy's override, else the bank's, else NaN."""
    cuts = pool.cut_scores.copy()
    for cid, value in policy.cut_scores.items():
        if cid in pool.competency_ids:
            cuts[pool.competency_ids.index(cid)] = value
    return cuts


def _max_information(pool: ItemPool) -> np.ndarray:
    """Upper bound of each competency's test information: every item at its own maximum."""
    points = np.linspace(-6.0, 6.0, 241)
    peak = pool.information(points).max(axis=1)
    peak = np.where(pool.operational, peak, 0.0)
    return np.bincount(pool.competency, weights=peak, minlength=pool.n_competencies)


def check_policy(policy: Policy, pool: ItemPool, source: str = "policy") -> None:
    """Check that ``policy`` can run on ``pool``; raise :class:`PolicyError` listing all problems.

    Refused: ids the bank does not have, proportions that cannot add up, a test longer than
    the bank, a stopping rule that can never fire (a standard error the whole bank cannot
    reach, classification without cut scores, more items than there are), a shadow test
    without a maximum length or whose constraints cannot be met.
    """
    problems: list[str] = []
    n_operational = int(pool.operational.sum())
    comp_ids = set(pool.competency_ids)

    est = policy.estimator
    if not est.grid.lower < est.grid.upper:
        problems.append("estimator.grid: lower must be below upper")
    if not est.bounds[0] < est.bounds[1]:
        problems.append(f"estimator.bounds: must be (low, high), got {list(est.bounds)}")

    for cid in policy.cut_scores:
        if cid not in comp_ids:
            problems.append(f'cut_scores.{cid}: "{cid}" is not a competency of the bank')
    for cid in policy.content.competencies:
        if cid not in comp_ids:
            problems.append(f'content.competencies.{cid}: "{cid}" is not a competency of the bank')
    for aid in policy.content.areas:
        if aid not in pool.area_ids:
            problems.append(f'content.areas.{aid}: "{aid}" is not a content area of the bank')
    if policy.content.competencies:
        total = sum(policy.content.competencies.values())
        if abs(total - 1.0) > 0.01:
            problems.append(f"content.competencies: proportions must add up to 1, got {total:g}")

    for cid in policy.selection.weights:
        if cid not in comp_ids:
            problems.append(f'selection.weights.{cid}: "{cid}" is not a competency of the bank')
    if policy.model == "correlated" and est.method not in ("eap", "map"):
        problems.append(
            f'model: a correlated session needs a Bayesian estimator (eap or map); "{est.method}" '
            "ignores the prior that carries the competencies' correlations"
        )

    cuts = cut_scores(policy, pool)
    problems.extend(_check_stopping(policy.stopping, pool, policy, cuts, n_operational))

    if policy.selection.method == "a_stratified":
        smallest = int(np.bincount(pool.competency[pool.operational]).min())
        if policy.selection.strata > smallest:
            problems.append(
                f"selection.strata: {policy.selection.strata} strata, but a competency has "
                f"only {smallest} operational items"
            )
    if policy.content.balance == "shadow_test":
        bound = length_bound(policy.stopping)
        if bound is None:
            problems.append(
                "content.balance: a shadow test needs a stopping rule with a maximum length"
            )
    if policy.pretest.rate > 0 and policy.pretest.max_items == 0:
        problems.append("pretest.max_items: must be > 0 when pretest.rate > 0")
    if policy.pretest.rate > 0 and pool.operational.all():
        problems.append("pretest.rate: the bank has no pretest items to seed")
    if problems:
        raise PolicyError(problems, source)

    if policy.content.balance == "shadow_test":
        reason = shadow_feasible(pool, policy)
        if reason:
            raise PolicyError([f"content: {reason}"], source)


def _check_stopping(
    rule: StoppingRule, pool: ItemPool, policy: Policy, cuts: np.ndarray, n_operational: int
) -> list[str]:
    problems: list[str] = []
    bound = length_bound(rule)
    if bound is not None and bound > n_operational:
        problems.append(
            f"stopping: asks for up to {bound} items; "
            f"the bank has {n_operational} operational items"
        )
    reason = _never_fires(rule, pool, policy, cuts, n_operational)
    if reason:
        problems.append(f"stopping: the rule can never fire: {reason}")
    return problems


def _never_fires(
    rule: StoppingRule, pool: ItemPool, policy: Policy, cuts: np.ndarray, n_operational: int
) -> str | None:
    """Return why ``rule`` can never say stop, or None when it can."""
    if isinstance(rule, MaxItems | MinItems | FixedLength):
        if rule.n > n_operational:
            return f"{rule.n} items, but the bank has {n_operational} operational items"
        return None
    if isinstance(rule, StandardErrorRule):
        info = _max_information(pool)
        prior = (
            1.0 / policy.estimator.prior.sd**2 if policy.estimator.method in ("eap", "map") else 0.0
        )
        reachable = 1.0 / np.sqrt(info + prior)
        worst = int(np.argmax(reachable))
        if reachable[worst] > rule.max_se:
            return (
                f"SE <= {rule.max_se:g} is out of reach for competency "
                f'"{pool.competency_ids[worst]}": even every item of the bank gives SE '
                f">= {reachable[worst]:.3f}"
            )
        return None
    if isinstance(rule, Classification):
        if np.isnan(cuts).all():
            return "classification needs a cut score, and no competency has one"
        return None
    reasons = [_never_fires(child, pool, policy, cuts, n_operational) for child in rule.rules]
    if isinstance(rule, AnyOf):
        return "; ".join(r for r in reasons if r) if all(reasons) else None
    if minimum_length(rule) > n_operational:
        return f"needs at least {minimum_length(rule)} items; the bank has {n_operational}"
    failing = [r for r in reasons if r]
    return failing[0] if failing else None
