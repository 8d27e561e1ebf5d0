r"""Ability estimation for one competency: EAP, MAP, ML and WLE, each with a standard error.

All four take the items a learner answered (pool indices) and the score categories, and
return an :class:`Estimate`. What each does with degenerate patterns (no responses, all
correct, all wrong) is part of its contract; no infinity or NaN ever reaches the caller:

========  ===============================================================================
EAP       Always finite: the prior keeps the posterior proper. All correct / all wrong
          shrink toward the prior. No responses: the prior mean and SD.
MAP       Always finite, like EAP; SE is :math:`1/\sqrt{I(\hat\theta) + 1/\sigma^2}`.
ML        The likelihood has no maximum for all-correct (all-wrong) patterns: the estimate
          is the upper (lower) search bound, default :math:`\pm 4`, and the SE is evaluated
          there, capped at ``se_max``. No responses: ``start`` with SE ``se_max``.
WLE       Finite for every pattern of 1PL/2PL/GRM/GPCM items that stays inside the bounds;
          when the weighted score has no root inside the bounds (possible with 3PL items
          and all-wrong patterns) the nearest bound, as for ML.
========  ===============================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import brentq, minimize_scalar

from engine.irt.generic import Array
from engine.pool import Index, ItemPool


class Estimate(NamedTuple):
    """An ability estimate and its standard error."""

    theta: float
    se: float


@dataclass(frozen=True, slots=True)
class Grid:
    r"""A fixed quadrature grid with a normal prior.

    ``log_prior`` holds the log of the normalised prior weights at ``points`` (rectangular
    quadrature on an equally spaced grid, as in Bock & Aitkin, 1981). The default, 81 points
    on :math:`[-8, 8]`, is wider than R mirt's 61 points on :math:`[-6, 6]` so that extreme
    response patterns, whose posteriors reach past :math:`\pm 6`, are integrated to 1e-6.
    """

    points: Array
    log_prior: Array
    prior_mean: float
    prior_sd: float

    @classmethod
    def normal(
        cls,
        lower: float = -8.0,
        upper: float = 8.0,
        n: int = 81,
        mean: float = 0.0,
        sd: float = 1.0,
    ) -> Grid:
        """Build an equally spaced grid on ``[lower, upper]`` with a N(mean, sd^2) prior."""
        points = np.linspace(lower, upper, n)
        log_prior = -0.5 * ((points - mean) / sd) ** 2
        log_prior -= np.log(np.exp(log_prior - log_prior.max()).sum()) + log_prior.max()
        return cls(points, log_prior, mean, sd)


class GridTables:
    """Category probabilities, their logs and item information of a pool on a grid.

    Computed once per (pool, grid); every EAP update and every posterior-weighted selection
    rule is then a gather and a sum over these tables.
    """

    __slots__ = ("grid", "information", "log_probabilities", "probabilities")

    def __init__(self, pool: ItemPool, grid: Grid) -> None:
        self.grid = grid
        self.probabilities = pool.probabilities(grid.points)  # (n, C, Q)
        # Floored at 1e-300 so that absent categories and underflow far from an item give a
        # large finite penalty instead of -inf (which would turn 0 * log 0 into NaN).
        self.log_probabilities = np.log(np.maximum(self.probabilities, 1e-300))
        self.information = pool.information(grid.points)  # (n, Q)

    def log_likelihood(self, items: Index, categories: Index) -> Array:
        r""":math:`\log L(\theta_q) = \sum_j \log P_{i_j u_j}(\theta_q)` on the grid, ``(Q,)``."""
        if items.size == 0:
            return np.zeros_like(self.grid.points)
        return np.asarray(self.log_probabilities[items, categories].sum(axis=0))

    def posterior(self, items: Index, categories: Index) -> Array:
        """Normalised posterior weights on the grid, ``(Q,)``."""
        log_post = self.log_likelihood(items, categories) + self.grid.log_prior
        log_post -= log_post.max()
        weights = np.exp(log_post)
        return np.asarray(weights / weights.sum())


def eap(tables: GridTables, items: Index, categories: Index) -> Estimate:
    r"""Expected a posteriori estimate and posterior standard deviation.

    .. math:: \hat\theta = \frac{\sum_q \theta_q L(\theta_q) \pi(\theta_q)}
                               {\sum_q L(\theta_q) \pi(\theta_q)}, \qquad
              SE = \sqrt{\sum_q (\theta_q - \hat\theta)^2 w_q}

    with :math:`w_q` the normalised posterior weights on the grid.

    References
    ----------
    Bock, R. D., & Mislevy, R. J. (1982). Adaptive EAP estimation of ability in a
    microcomputer environment. *Applied Psychological Measurement*, 6(4), 431-444.
    """
    w = tables.posterior(items, categories)
    points = tables.grid.points
    mean = float(w @ points)
    centred = points - mean
    return Estimate(mean, float(np.sqrt(w @ (centred * centred))))


class _Observed:
    """Log-likelihood pieces of one response pattern at arbitrary ability points."""

    def __init__(self, pool: ItemPool, items: Index, categories: Index) -> None:
        self.pool = pool
        self.items = items
        self.rows = np.arange(items.size)
        self.categories = categories

    def pieces(self, theta: Array) -> tuple[Array, Array, Array, Array]:
        """Return log-likelihood, score, test information and Warm's J at ``theta``."""
        p, dp, d2p = self.pool.derivatives(self.items, theta)
        p_obs = p[self.rows, self.categories]
        dp_obs = dp[self.rows, self.categories]
        with np.errstate(divide="ignore"):
            loglik = np.log(p_obs).sum(axis=0)
        score = np.divide(dp_obs, p_obs, out=np.zeros_like(p_obs), where=p_obs > 0).sum(axis=0)
        info = np.divide(dp * dp, p, out=np.zeros_like(p), where=p > 0).sum(axis=(0, 1))
        j = np.divide(dp * d2p, p, out=np.zeros_like(p), where=p > 0).sum(axis=(0, 1))
        return loglik, score, info, j

    def at(self, theta: float) -> tuple[float, float, float, float]:
        ll, score, info, j = self.pieces(np.array([theta]))
        return float(ll[0]), float(score[0]), float(info[0]), float(j[0])


def _se(info: float, extra: float, se_max: float) -> float:
    total = info + extra
    if total <= 1.0 / (se_max * se_max):
        return se_max
    return float(1.0 / np.sqrt(total))


def _search_points(bounds: tuple[float, float]) -> Array:
    lo, hi = bounds
    return np.linspace(lo, hi, max(9, round((hi - lo) / 0.05) + 1))


def mle(
    pool: ItemPool,
    items: Index,
    categories: Index,
    *,
    bounds: tuple[float, float] = (-4.0, 4.0),
    start: float = 0.0,
    se_max: float = 10.0,
) -> Estimate:
    r"""Maximum likelihood estimate inside ``bounds`` and its standard error.

    .. math:: \hat\theta = \arg\max_{\theta \in [l, u]} \sum_j \log P_{i_j u_j}(\theta),
              \qquad SE = 1 / \sqrt{I(\hat\theta)}

    The global maximum is located on a 0.05-spaced search grid (the 3PL likelihood can be
    multimodal) and refined by bounded Brent minimisation between the neighbouring points.

    References
    ----------
    Lord, F. M. (1980). *Applications of Item Response Theory to Practical Testing
    Problems*. Hillsdale, NJ: Erlbaum, ch. 4.
    """
    if items.size == 0:
        return Estimate(float(start), se_max)
    obs = _Observed(pool, items, categories)
    points = _search_points(bounds)
    ll, _, _, _ = obs.pieces(points)
    best = int(np.argmax(ll))
    lo = points[max(best - 1, 0)]
    hi = points[min(best + 1, points.size - 1)]
    result = minimize_scalar(
        lambda t: -obs.at(float(t))[0],
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-10},
    )
    theta = float(result.x)
    for edge in bounds:  # Brent stops within xatol of an edge; an edge optimum is the edge.
        if abs(theta - edge) < 1e-6 and obs.at(edge)[0] >= obs.at(theta)[0]:
            theta = edge
    _, _, info, _ = obs.at(theta)
    return Estimate(theta, _se(info, 0.0, se_max))


def map_estimate(
    pool: ItemPool,
    tables: GridTables,
    items: Index,
    categories: Index,
    *,
    se_max: float = 10.0,
) -> Estimate:
    r"""Maximum a posteriori (Bayes modal) estimate with a normal prior.

    .. math:: \hat\theta = \arg\max_\theta \left[\log L(\theta)
              - \frac{(\theta - \mu)^2}{2\sigma^2}\right], \qquad
              SE = \left(I(\hat\theta) + \sigma^{-2}\right)^{-1/2}

    Started at the best grid point and refined by bounded Brent minimisation.

    References
    ----------
    Mislevy, R. J. (1986). Bayes modal estimation in item response models.
    *Psychometrika*, 51(2), 177-195.
    """
    grid = tables.grid
    mu, sd = grid.prior_mean, grid.prior_sd
    if items.size == 0:
        return Estimate(mu, min(sd, se_max))
    log_post = tables.log_likelihood(items, categories) + grid.log_prior
    best = int(np.argmax(log_post))
    points = grid.points
    lo = points[max(best - 1, 0)]
    hi = points[min(best + 1, points.size - 1)]
    obs = _Observed(pool, items, categories)

    def negative(t: float) -> float:
        return -(obs.at(float(t))[0] - 0.5 * ((t - mu) / sd) ** 2)

    result = minimize_scalar(negative, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
    theta = float(result.x)
    _, _, info, _ = obs.at(theta)
    return Estimate(theta, _se(info, 1.0 / (sd * sd), se_max))


def wle(
    pool: ItemPool,
    items: Index,
    categories: Index,
    *,
    bounds: tuple[float, float] = (-4.0, 4.0),
    start: float = 0.0,
    se_max: float = 10.0,
) -> Estimate:
    r"""Warm's weighted likelihood estimate inside ``bounds`` and its standard error.

    Solves the bias-corrected score equation

    .. math:: \sum_j \frac{\partial \log P_{i_j u_j}(\theta)}{\partial \theta}
              + \frac{J(\theta)}{2 I(\theta)} = 0,

    with :math:`I = \sum_i \sum_k P_{ik}'^2 / P_{ik}` and
    :math:`J = \sum_i \sum_k P_{ik}' P_{ik}'' / P_{ik}`; SE is :math:`1/\sqrt{I(\hat\theta)}`.
    Roots are bracketed on a 0.05-spaced grid (downward crossings are maxima of the weighted
    likelihood) and refined with Brent's method; among several, the one with the highest
    :math:`\log L + \tfrac12 \log I` is taken.

    References
    ----------
    Warm, T. A. (1989). Weighted likelihood estimation of ability in item response theory.
    *Psychometrika*, 54(3), 427-450.
    """
    if items.size == 0:
        return Estimate(float(start), se_max)
    obs = _Observed(pool, items, categories)
    points = _search_points(bounds)
    ll, score, info, j = obs.pieces(points)
    safe = np.maximum(info, 1e-300)
    f = score + j / (2.0 * safe)
    down = np.flatnonzero((f[:-1] > 0) & (f[1:] <= 0))

    def weighted(t: float) -> float:
        _, s, i, jj = obs.at(t)
        return s + jj / (2.0 * max(i, 1e-300))

    if down.size == 0:
        theta = bounds[1] if f[-1] > 0 else bounds[0]
        if f[0] <= 0 < f[-1]:  # only upward crossings: an interior minimum; take the better edge
            penalised = ll + 0.5 * np.log(safe)
            theta = bounds[1] if penalised[-1] >= penalised[0] else bounds[0]
    else:
        candidates = []
        for k in down:
            root = float(brentq(weighted, points[k], points[k + 1], xtol=1e-12))
            l_root, _, i_root, _ = obs.at(root)
            candidates.append((l_root + 0.5 * np.log(max(i_root, 1e-300)), root))
        theta = max(candidates)[1]
    _, _, info_hat, _ = obs.at(theta)
    return Estimate(theta, _se(info_hat, 0.0, se_max))


def total_information(pool: ItemPool, items: Index, theta: float) -> float:
    """Sum of the Fisher information of ``items`` at ``theta``."""
    if items.size == 0:
        return 0.0
    p, dp, _ = pool.derivatives(items, np.array([theta]))
    return float(np.divide(dp * dp, p, out=np.zeros_like(p), where=p > 0).sum())


def as_index(values: list[int] | tuple[int, ...] | NDArray[np.intp]) -> Index:
    """Return ``values`` as an index array."""
    return np.asarray(values, dtype=np.intp)
