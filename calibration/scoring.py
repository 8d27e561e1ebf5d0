r"""Scoring a whole data set: EAP, MAP, ML and WLE with standard errors, vectorised.

The definitions and the edge-case contract are the engine's (:mod:`engine.estimation`), which
scores one learner at a time during a test; here every person of a data set is scored at
once, with the engine's item kernels (:meth:`engine.pool.ItemPool.derivatives`):

* the log-likelihood, score, information and Warm's :math:`J` of every person on a grid are
  matrix products of the response indicators with per-item tables (as in the E-step);
* the maximum (MAP, ML) or the root of the weighted score (WLE) is located on the grid and
  refined by a safeguarded Newton / false-position iteration on all persons together.

========  ===============================================================================
EAP       Posterior mean and SD on the engine's grid (default 81 nodes on [-8, 8]).
MAP       Posterior mode; SE :math:`(I(\hat\theta) + \sigma^{-2})^{-1/2}`.
ML        Maximum inside the bounds (default :math:`\pm 4`); all-correct / all-wrong
          patterns get the bound, SE evaluated there and capped at ``se_max``.
WLE       Root of :math:`\partial_\theta \log L + J/(2I)` with a downward crossing; among
          several, the one with the largest :math:`\log L + \tfrac12 \log I`; none inside
          the bounds: the nearest bound, as for ML.
========  ===============================================================================

Persons with no responses get the prior mean and SD (EAP, MAP) or ``start`` and ``se_max``
(ML, WLE), never NaN.

References
----------
Bock, R. D., & Mislevy, R. J. (1982). Adaptive EAP estimation of ability in a
microcomputer environment. *Applied Psychological Measurement*, 6(4), 431-444.
Warm, T. A. (1989). Weighted likelihood estimation of ability in item response theory.
*Psychometrika*, 54(3), 427-450.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from calibration.estep import LOG_FLOOR, Design
from engine.estimation import Grid
from engine.pool import Index, ItemPool

Array = NDArray[np.float64]
Method = Literal["eap", "map", "ml", "wle"]
METHODS: tuple[Method, ...] = ("eap", "map", "ml", "wle")


@dataclass(frozen=True)
class Scores:
    """Per-person estimates, standard errors and the number of responses used."""

    theta: Array
    se: Array
    n_responses: NDArray[np.intp]
    method: Method


class _Tables:
    """Per-item tables on a grid and evaluation at person-specific abilities."""

    def __init__(self, pool: ItemPool, items: Index, responses: NDArray[np.int8]) -> None:
        self.pool = pool
        self.items = items
        self.responses = responses
        self.design = Design(
            responses,
            np.ones(responses.shape[0]),
            pool.n_categories[items],
            cache_bytes=128 * 2**20,
        )
        self.mask = responses >= 0

    def grid_pieces(self, points: Array) -> tuple[Array, Array, Array, Array]:
        """Log-likelihood, score, information and Warm's J of every person on ``points``."""
        p, dp, d2p = self.pool.derivatives(self.items, points)
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), LOG_FLOOR)
        dlog = np.divide(dp, p, out=np.zeros_like(p), where=p > 0)
        info = np.divide(dp * dp, p, out=np.zeros_like(p), where=p > 0).sum(axis=1)
        warm = np.divide(dp * d2p, p, out=np.zeros_like(p), where=p > 0).sum(axis=1)
        n = self.responses.shape[0]
        out = [np.empty((n, points.size)) for _ in range(4)]
        ll_diff, ll_base = self.design.tables(log_p)
        sc_diff = dlog[self.design.col_item, self.design.col_cat] - dlog[self.design.col_item, 0]
        sc_base = dlog[:, 0]
        for part, x, m in self.design.chunks():
            mask = m if m is not None else np.ones((x.shape[0], self.items.size))
            out[0][part] = x @ ll_diff + mask @ ll_base
            out[1][part] = x @ sc_diff + mask @ sc_base
            out[2][part] = mask @ info
            out[3][part] = mask @ warm
        return out[0], out[1], out[2], out[3]

    def at(self, theta: Array, rows: NDArray[np.intp]) -> tuple[Array, Array, Array, Array]:
        """Score, its derivative, information and Warm's J at one ability per person."""
        n = rows.size
        out = [np.zeros(n) for _ in range(4)]
        step = max(1, (2**24) // max(1, self.items.size * self.pool.max_categories))
        for start in range(0, n, step):
            sel = rows[start : start + step]
            t = theta[start : start + step]
            p, dp, d2p = self.pool.derivatives(self.items, t)  # (J, C, n)
            resp = self.responses[sel].T  # (J, n)
            given = resp >= 0
            cat = np.where(given, resp, 0)
            j_idx = np.arange(self.items.size)[:, None]
            u_idx = np.arange(sel.size)[None, :]
            p_obs = p[j_idx, cat, u_idx]
            dp_obs = dp[j_idx, cat, u_idx]
            d2p_obs = d2p[j_idx, cat, u_idx]
            ok = given & (p_obs > 0)
            ratio = np.divide(dp_obs, p_obs, out=np.zeros_like(p_obs), where=ok)
            curv = np.divide(d2p_obs, p_obs, out=np.zeros_like(p_obs), where=ok) - ratio**2
            info = np.divide(dp * dp, p, out=np.zeros_like(p), where=p > 0).sum(axis=1)
            warm = np.divide(dp * d2p, p, out=np.zeros_like(p), where=p > 0).sum(axis=1)
            part = slice(start, start + sel.size)
            out[0][part] = (ratio * given).sum(axis=0)
            out[1][part] = (curv * given).sum(axis=0)
            out[2][part] = (info * given).sum(axis=0)
            out[3][part] = (warm * given).sum(axis=0)
        return out[0], out[1], out[2], out[3]


def _se(info: Array, extra: float, se_max: float) -> Array:
    total = info + extra
    with np.errstate(divide="ignore"):
        se = 1.0 / np.sqrt(np.maximum(total, 1e-300))
    return np.where(total <= 1.0 / (se_max * se_max), se_max, se)


def _refine(
    f_of: object,
    lo: Array,
    hi: Array,
    f_lo: Array,
    f_hi: Array,
    *,
    iterations: int = 60,
    xtol: float = 1e-11,
) -> Array:
    """Vectorised Illinois false position for decreasing roots (``f_lo > 0 >= f_hi``)."""
    assert callable(f_of)
    lo, hi, f_lo, f_hi = lo.copy(), hi.copy(), f_lo.copy(), f_hi.copy()
    side = np.zeros(lo.size, dtype=np.int8)
    x = 0.5 * (lo + hi)
    for _ in range(iterations):
        denom = f_lo - f_hi
        x = np.where(np.abs(denom) > 0, lo + f_lo * (hi - lo) / np.where(denom == 0, 1, denom), x)
        x = np.clip(x, np.minimum(lo, hi), np.maximum(lo, hi))
        fx: Array = f_of(x)
        right = fx > 0  # root lies above x
        lo = np.where(right, x, lo)
        f_lo = np.where(right, fx, f_lo)
        hi = np.where(right, hi, x)
        f_hi = np.where(right, f_hi, fx)
        # Illinois: halve the stale end's value when the same side moves twice in a row.
        stale_hi = right & (side == 1)
        stale_lo = ~right & (side == -1)
        f_hi = np.where(stale_hi, 0.5 * f_hi, f_hi)
        f_lo = np.where(stale_lo, 0.5 * f_lo, f_lo)
        side = np.where(right, 1, -1).astype(np.int8)
        if float(np.max(hi - lo, initial=0.0)) < xtol:
            break
    return x


def score(
    pool: ItemPool,
    items: Index,
    responses: NDArray[np.int8],
    method: Method = "eap",
    *,
    grid: Grid | None = None,
    bounds: tuple[float, float] = (-4.0, 4.0),
    start: float = 0.0,
    se_max: float = 10.0,
) -> Scores:
    r"""Score every person (row of ``responses``) on the items ``items`` of ``pool``.

    EAP :math:`\hat\theta = \sum_q \theta_q L_u(\theta_q)\pi_q / \sum_q
    L_u(\theta_q)\pi_q`; MAP and ML maximise :math:`\log L_u + \log\pi` and
    :math:`\log L_u`; WLE solves :math:`\partial_\theta\log L_u + J/(2I) = 0` (Warm,
    1989). See the module documentation for the edge cases and references.

    Parameters
    ----------
    pool
        The compiled bank; ``items`` are pool indices of the response columns.
    responses
        ``int8`` ``(N, len(items))``, ``-1`` for not administered.
    method
        ``eap``, ``map``, ``ml`` or ``wle``.
    grid
        Grid and normal prior for EAP and MAP (default: the engine's, 81 nodes on [-8, 8]).
    bounds, start, se_max
        As in :mod:`engine.estimation`.
    """
    grid = grid or Grid.normal()
    items = np.asarray(items, dtype=np.intp)
    responses = np.ascontiguousarray(responses, dtype=np.int8)
    n = responses.shape[0]
    counts = (responses >= 0).sum(axis=1).astype(np.intp)
    tables = _Tables(pool, items, responses)
    if method == "eap":
        log_p = np.maximum(np.log(np.maximum(pool.probabilities(grid.points)[items], 0)), LOG_FLOOR)
        theta = np.empty(n)
        se = np.empty(n)
        for part, w, _, _, _ in tables.design.posterior_chunks(log_p, grid.log_prior):
            mean = w @ grid.points
            theta[part] = mean
            se[part] = np.sqrt(np.maximum(w @ grid.points**2 - mean**2, 0.0))
        return Scores(theta, se, counts, method)
    if method == "map":
        return _map(tables, grid, counts, se_max)
    return _likelihood(tables, method, counts, bounds=bounds, start=start, se_max=se_max)


def _map(tables: _Tables, grid: Grid, counts: NDArray[np.intp], se_max: float) -> Scores:
    mu, sd = grid.prior_mean, grid.prior_sd
    n = counts.size
    theta = np.full(n, mu)
    se = np.full(n, min(sd, se_max))
    rows = np.flatnonzero(counts > 0)
    if rows.size == 0:
        return Scores(theta, se, counts, "map")
    points = grid.points
    ll, _, _, _ = tables.grid_pieces(points)
    post = ll[rows] + grid.log_prior[None, :]
    best = post.argmax(axis=1)
    lo = points[np.maximum(best - 1, 0)]
    hi = points[np.minimum(best + 1, points.size - 1)]

    def slope(x: Array) -> Array:
        s, _, _, _ = tables.at(x, rows)
        return s - (x - mu) / (sd * sd)

    f_lo, f_hi = slope(lo), slope(hi)
    inside = (f_lo > 0) & (f_hi <= 0)
    est = np.where(f_lo <= 0, lo, hi)  # maximum at a bracket end (edge of the grid)
    if inside.any():
        sub = np.flatnonzero(inside)

        def slope_sub(x: Array) -> Array:
            s, _, _, _ = tables.at(x, rows[sub])
            return s - (x - mu) / (sd * sd)

        est[sub] = _refine(slope_sub, lo[sub], hi[sub], f_lo[sub], f_hi[sub])
    _, _, info, _ = tables.at(est, rows)
    theta[rows] = est
    se[rows] = _se(info, 1.0 / (sd * sd), se_max)
    return Scores(theta, se, counts, "map")


def _likelihood(
    tables: _Tables,
    method: Method,
    counts: NDArray[np.intp],
    *,
    bounds: tuple[float, float],
    start: float,
    se_max: float,
) -> Scores:
    n = counts.size
    theta = np.full(n, float(start))
    se = np.full(n, se_max)
    rows = np.flatnonzero(counts > 0)
    if rows.size == 0:
        return Scores(theta, se, counts, method)
    lo_b, hi_b = bounds
    points = np.linspace(lo_b, hi_b, max(9, round((hi_b - lo_b) / 0.05) + 1))
    ll, sc, info, warm = (a[rows] for a in tables.grid_pieces(points))
    if method == "ml":
        f = sc
        crit = ll
    else:
        f = sc + warm / (2.0 * np.maximum(info, 1e-300))
        crit = ll + 0.5 * np.log(np.maximum(info, 1e-300))
    down = (f[:, :-1] > 0) & (f[:, 1:] <= 0)
    has_root = down.any(axis=1)
    if method == "ml":
        # The global maximum on the grid; refine between its neighbours.
        best = crit.argmax(axis=1)
        k = np.clip(best, 0, points.size - 2)
        left = np.where((best > 0) & (f[np.arange(rows.size), best] <= 0), best - 1, k)
        k = left
    else:
        masked = np.where(down, crit[:, :-1], -np.inf)
        k = masked.argmax(axis=1)
    est = np.empty(rows.size)
    lo, hi = points[k], points[k + 1]
    f_lo = f[np.arange(rows.size), k]
    f_hi = f[np.arange(rows.size), k + 1]
    bracket = (f_lo > 0) & (f_hi <= 0)
    if method == "wle":
        bracket &= has_root
    sub = np.flatnonzero(bracket)
    if sub.size:

        def weighted(x: Array) -> Array:
            s, _, i, j = tables.at(x, rows[sub])
            if method == "ml":
                return s
            return s + j / (2.0 * np.maximum(i, 1e-300))

        est[sub] = _refine(weighted, lo[sub], hi[sub], f_lo[sub], f_hi[sub])
    rest = np.flatnonzero(~bracket)
    if rest.size:
        if method == "ml":
            grid_best = crit[rest].argmax(axis=1)
            est[rest] = points[grid_best]
        else:
            f_first, f_last = f[rest, 0], f[rest, -1]
            edge = np.where(f_last > 0, hi_b, lo_b)
            upward_only = (f_first <= 0) & (f_last > 0)
            better_top = crit[rest, -1] >= crit[rest, 0]
            edge = np.where(upward_only, np.where(better_top, hi_b, lo_b), edge)
            est[rest] = edge
    _, _, info_hat, _ = tables.at(est, rows)
    theta[rows] = est
    se[rows] = _se(info_hat, 0.0, se_max)
    return Scores(theta, se, counts, method)
