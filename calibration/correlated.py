r"""Correlated competencies: between-item multidimensional calibration by QMC-EM.

The model: person :math:`i` has abilities :math:`\theta_i \sim N(0, R)` on the bank's
:math:`K` competencies (unit variances, correlation matrix :math:`R`), and item :math:`j`
measures its own competency :math:`k(j)` with any of the unidimensional families
(:mod:`calibration.models`: 1PL-4PL, GRM, GPCM), :math:`P_j(u \mid \theta_{k(j)})`. The
marginal likelihood is a :math:`K`-dimensional integral per person, which a product grid
cannot reach past three dimensions (61 nodes: 13.8 million points at :math:`K = 4`).

**Estimator.** Monte Carlo EM (Wei & Tanner, 1990) with randomised quasi-Monte Carlo
importance sampling per person (the QMC-EM of Jank, 2005, with a deterministic point set):

* E-step. The log-likelihood of each person's items of competency :math:`k` is tabulated on
  a fine grid (:data:`GRID_POINTS` nodes on :math:`[-6, 6]`, spacing 0.1) with the
  unidimensional E-step's matrix products (:class:`calibration.estep.Design`). Its
  moments under :math:`N(0, 1)` give a Gaussian approximation of each person's likelihood,
  and with the prior a Gaussian approximation :math:`N(m_i, P_i^{-1})` of the posterior.
  :data:`DRAWS` points of a scrambled Sobol sequence (Owen, 1997; each person a 2^m block,
  itself a net) are mapped to a multivariate t with 5 degrees of freedom centred at
  :math:`m_i` with scale :math:`P_i^{-1}` (heavier tails than the posterior, so importance
  weights stay bounded; Geweke, 1989). Weights are
  :math:`w_{is} \propto \exp(\sum_k \ell_{ik}(\theta_{isk}))\,\phi_R(\theta_{is})
  / q_i(\theta_{is})`, with :math:`\ell_{ik}` interpolated from its table (cubic Catmull-Rom, error
  :math:`O(h^3)`). The points are drawn once, so every EM step is a deterministic map.
* M-step of the items. For between-item structure the expected complete-data
  log-likelihood separates per item given the posterior of its own competency: the weighted
  points are binned onto the grid (linear weights keep each point's mean) and the
  unidimensional M-step (:func:`calibration.mstep.m_step`, Fisher scoring per family) runs
  unchanged on the expected counts.
* M-step of the correlations, by parameter expansion (PX-EM; Liu, Rubin & Wu, 1998): the
  expanded model lets the abilities have any mean :math:`\tilde\mu` and covariance
  :math:`\tilde\Sigma`, estimated as the moments of the weighted points; the reduction back
  to :math:`N(0, R)` is :math:`R = D^{-1/2}\tilde\Sigma D^{-1/2}` with
  :math:`D = \operatorname{diag}\tilde\Sigma`, and every item of competency :math:`k` takes
  :math:`a \leftarrow a \sqrt{D_{kk}}`, :math:`d_c \leftarrow d_c + c' a \tilde\mu_k`
  (:math:`c' = 1` for the dichotomous and graded intercepts, the category score for the
  GPCM's). PX-EM has EM's fixed points and converges faster in the scale directions.

Start values are each competency's unidimensional calibration (exact for the marginal
model: under between-item structure each competency's items follow the unidimensional
model with :math:`N(0, 1)`), and the correlations of the competencies' EAP scores
disattenuated by their reliabilities.

**Standard errors** of the items and correlations: the cross-product of the persons'
observed-data scores (XPD; Fisher's identity, the scores as posterior expectations of the
complete-data scores from the same weighted points), R mirt's ``SE.type = "crossprod"``
(Paek & Cai, 2014). The correlation :math:`\rho_{kl}`'s complete-data score is
:math:`-(R^{-1})_{kl} + (R^{-1}\theta\theta^\top R^{-1})_{kl}`.

Convergence: the largest change of an estimated parameter (internal metric, as the
unidimensional EM) or of a correlation in one EM step below ``tol``.

References
----------
Wei, G. C. G., & Tanner, M. A. (1990). A Monte Carlo implementation of the EM algorithm.
*JASA*, 85(411), 699-704.
Jank, W. (2005). Quasi-Monte Carlo sampling to improve the efficiency of Monte Carlo EM.
*Computational Statistics & Data Analysis*, 48(4), 685-701.
Owen, A. B. (1997). Scrambled net variance for integrals of smooth functions. *Annals of
Statistics*, 25(4), 1541-1562.
Geweke, J. (1989). Bayesian inference in econometric models using Monte Carlo integration.
*Econometrica*, 57(6), 1317-1339.
Liu, C., Rubin, D. B., & Wu, Y. N. (1998). Parameter expansion to accelerate EM: the PX-EM
algorithm. *Biometrika*, 85(4), 755-770.
Paek, I., & Cai, L. (2014). A comparison of item parameter standard error estimation
procedures for unidimensional and multidimensional item response theory modeling.
*Educational and Psychological Measurement*, 74(1), 58-76.
Cai, L. (2010). High-dimensional exploratory item factor analysis by a Metropolis-Hastings
Robbins-Monro algorithm. *Psychometrika*, 75(1), 33-57 (the alternative mirt uses).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.special import gammaln, ndtri
from scipy.stats import chi2, qmc

from calibration.em import FitResult
from calibration.errors import CalibrationError, CalibrationWarning
from calibration.estep import Design
from calibration.models import Family
from calibration.mstep import m_step
from calibration.standard_errors import _irt_jacobian

Array = NDArray[np.float64]
#: Nodes of the per-competency likelihood tables and of the M-step, on [-6, 6].
GRID_POINTS = 121
GRID_RANGE = (-6.0, 6.0)
#: Quasi-Monte Carlo points per person (a power of two).
DRAWS = 32
#: Degrees of freedom of the multivariate-t proposal.
PROPOSAL_DF = 5.0
#: Persons per E-step chunk.
CHUNK = 2048
_SEED = 20261301
Progress = Callable[[int, float, float], None]


@dataclass(frozen=True)
class CorrelatedOptions:
    """Settings of the correlated calibration.

    Attributes
    ----------
    draws
        Quasi-Monte Carlo points per person.
    tol
        Convergence: largest change of a parameter or correlation in one EM step.
    max_em_steps
        Budget of EM steps.
    seed
        Scrambling seed of the Sobol points (results are reproducible for a seed).
    """

    draws: int = DRAWS
    tol: float = 1e-3
    max_em_steps: int = 500
    seed: int = _SEED


@dataclass
class _Scale:
    """One competency's items: its unidimensional fit, its design and current parameters."""

    fit: FitResult
    design: Design
    xi: list[Array]

    @property
    def families(self) -> list[Family]:
        return self.fit.model.families

    @property
    def members(self) -> list[NDArray[np.intp]]:
        return self.fit.model.members

    @property
    def estimate(self) -> list[NDArray[np.bool_]]:
        return self.fit.model.estimate


@dataclass
class CorrelatedFit:
    """The outcome of a correlated calibration.

    ``scales`` are the competencies' fit results with the multidimensional estimates and
    standard errors written into them (``xi``, ``standard_errors``, ``se_method``).
    """

    competencies: tuple[str, ...]
    scales: list[FitResult]
    correlation: Array
    correlation_se: Array
    loglik: float
    n_persons: int
    n_parameters: int
    em_steps: int
    converged: bool
    max_change: float
    seconds: float
    warnings: list[CalibrationWarning] = field(default_factory=list)

    @property
    def aic(self) -> float:
        r""":math:`-2 \log L + 2p`."""
        return -2.0 * self.loglik + 2.0 * self.n_parameters

    @property
    def bic(self) -> float:
        r""":math:`-2 \log L + p \log N`."""
        return -2.0 * self.loglik + self.n_parameters * math.log(max(self.n_persons, 1))


# --------------------------------------------------------------------------- numerics


def proposal_points(n_persons: int, draws: int, dimension: int, seed: int) -> Array:
    r"""Standard multivariate-t points, ``(n_persons, draws, K)``, one Sobol block per person.

    :math:`t = z / \sqrt{w}` with :math:`z = \Phi^{-1}(u_{1..K})`,
    :math:`w = F^{-1}_{\chi^2_\nu}(u_{K+1}) / \nu` from consecutive blocks of ``draws``
    points of one scrambled Sobol sequence in :math:`K + 1` dimensions.
    """
    sobol = qmc.Sobol(d=dimension + 1, scramble=True, seed=seed)
    total = n_persons * draws
    u = sobol.random_base2(max(1, math.ceil(math.log2(total))))[:total]
    u = np.clip(u, 1e-12, 1.0 - 1e-12)
    z = ndtri(u[:, :dimension])
    w = chi2.ppf(u[:, dimension], PROPOSAL_DF) / PROPOSAL_DF
    return np.asarray((z / np.sqrt(w)[:, None]).reshape(n_persons, draws, dimension))


def t_log_density(points: Array) -> Array:
    r"""Log density of the standard multivariate :math:`t_\nu` at ``points`` ``(..., K)``."""
    k = points.shape[-1]
    nu = PROPOSAL_DF
    const = gammaln((nu + k) / 2.0) - gammaln(nu / 2.0) - 0.5 * k * math.log(nu * math.pi)
    return np.asarray(const - 0.5 * (nu + k) * np.log1p((points * points).sum(axis=-1) / nu))


def interpolate(table: Array, position: Array) -> Array:
    r"""Catmull-Rom cubic interpolation of each row of ``table`` at fractional ``position``.

    ``table`` is ``(n, Q)`` on an equally spaced grid; ``position`` ``(n, S)`` in grid units
    (clamped to the inner nodes). With :math:`f` the fractional part and :math:`y_{-1..2}`
    the neighbouring nodes,
    :math:`y(f) = y_0 + \tfrac12 f (y_1 - y_{-1}) + f^2 (y_{-1} - \tfrac52 y_0 + 2 y_1 -
    \tfrac12 y_2) + \tfrac12 f^3 (3 y_0 - y_{-1} - 3 y_1 + y_2)` (Catmull & Rom, 1974).
    """
    n, q = table.shape
    pos = np.clip(position, 1.0, q - 2.000001)
    left = pos.astype(np.intp)
    f = pos - left
    flat = table.ravel()
    base = left + (np.arange(n) * q)[:, None]
    ym, y0, y1, y2 = flat[base - 1], flat[base], flat[base + 1], flat[base + 2]
    return np.asarray(
        y0
        + f
        * (
            0.5 * (y1 - ym)
            + f
            * ((ym - 2.5 * y0 + 2.0 * y1 - 0.5 * y2) + f * 0.5 * (3.0 * y0 - ym - 3.0 * y1 + y2))
        )
    )


def _log_probabilities(scale: _Scale, grid: Array) -> Array:
    design = scale.design
    out = np.full((design.n_items, design.max_categories, grid.size), np.log(1e-300))
    for fam, cols, x in zip(scale.families, scale.members, scale.xi, strict=True):
        p = fam.probabilities(x, grid)
        out[cols, : p.shape[1]] = np.log(np.maximum(p, 1e-300))
    return out


def _low_rank(scale: _Scale, grid: Array) -> tuple[Array, Array] | None:
    design = scale.design
    column_of = np.full((design.n_items, design.max_categories), -1, dtype=np.intp)
    column_of[design.col_item, design.col_cat] = np.arange(design.col_item.size)
    factors = np.zeros((design.col_item.size, 2))
    for fam, cols, x in zip(scale.families, scale.members, scale.xi, strict=True):
        lin = fam.linear_logits(x)
        if lin is None:
            return None
        for k in range(lin.shape[1]):  # categories (a handful), not items
            factors[column_of[cols, k + 1]] = lin[:, k]
    return factors, np.vstack((grid, np.ones_like(grid)))


@dataclass
class _EStep:
    """What one E-step gives: expected counts per competency, moments, log-likelihood."""

    counts: list[Array]  # per competency (J_k, C, Q)
    mean: Array  # (K,) average posterior mean
    second: Array  # (K, K) average posterior second moment
    loglik: float


class _Engine:
    """The per-person machinery shared by the E-step and the standard errors."""

    def __init__(self, scales: list[_Scale], n_persons: int, options: CorrelatedOptions) -> None:
        self.scales = scales
        self.k = len(scales)
        self.n = n_persons
        self.grid = np.linspace(GRID_RANGE[0], GRID_RANGE[1], GRID_POINTS)
        self.h = float(self.grid[1] - self.grid[0])
        self.log_std_normal = -0.5 * self.grid**2
        self.standard = proposal_points(n_persons, options.draws, self.k, options.seed)
        self.log_t = t_log_density(self.standard)  # (N, S)
        self.slices = scales[0].design.slices

    def posterior(
        self, correlation: Array
    ) -> Iterator[tuple[slice, list[tuple[Array, Array | None]], Array, Array, Array]]:
        """Weighted points of every person's posterior, chunk by chunk.

        Yields ``(rows, [(X_k, M_k)], points (n, S, K), weights (n, S), log p(u_i) (n,))``.
        """
        k = self.k
        precision = np.linalg.inv(correlation)
        sign, logdet = np.linalg.slogdet(correlation)
        if sign <= 0:
            raise CalibrationError("the latent correlation matrix lost positive definiteness")
        prior_const = -0.5 * logdet - 0.5 * k * math.log(2.0 * math.pi)
        tables = [
            (s.design.tables(_log_probabilities(s, self.grid)), _low_rank(s, self.grid))
            for s in self.scales
        ]
        iterators = [s.design.chunks() for s in self.scales]
        for part in self.slices:
            indicators = []
            logliks = []
            for scale, (diff_base, low), it in zip(self.scales, tables, iterators, strict=True):
                rows, x, m = next(it)
                assert rows == part
                diff, base = diff_base
                indicators.append((x, m))
                logliks.append(scale.design.log_likelihood(x, m, diff, base, low))
            n = part.stop - part.start
            # Gaussian approximation of each competency's likelihood from its N(0, 1) posterior.
            lam = np.empty((n, k))
            lin = np.empty((n, k))
            for d, ll in enumerate(logliks):
                lw = ll + self.log_std_normal
                lw -= lw.max(axis=1, keepdims=True)
                w = np.exp(lw)
                w /= w.sum(axis=1, keepdims=True)
                m1 = w @ self.grid
                v1 = np.maximum(w @ (self.grid**2) - m1 * m1, 1e-6)
                lam[:, d] = np.maximum(1.0 / v1 - 1.0, 0.0)
                lin[:, d] = m1 / v1
            system = np.broadcast_to(precision, (n, k, k)).copy()
            system[:, np.arange(k), np.arange(k)] += lam
            chol = np.linalg.cholesky(system)
            factor = np.linalg.inv(chol)  # R_i^{-1}; theta = m + F^T t
            cov = np.swapaxes(factor, 1, 2) @ factor
            centre = (cov @ lin[:, :, None])[:, :, 0]
            standard = self.standard[part]
            points = centre[:, None, :] + standard @ factor  # (n, S, K)
            log_q = (
                self.log_t[part] + np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)[:, None]
            )
            log_w = -0.5 * np.einsum("nsk,kl,nsl->ns", points, precision, points) + prior_const
            for d, ll in enumerate(logliks):
                pos = (points[:, :, d] - self.grid[0]) / self.h
                log_w += interpolate(ll, pos)
            log_w -= log_q
            top = log_w.max(axis=1, keepdims=True)
            w = np.exp(log_w - top)
            total = w.sum(axis=1)
            w /= total[:, None]
            marginal = top[:, 0] + np.log(total / w.shape[1])
            yield part, indicators, points, w, marginal

    def binned(self, points: Array, weights: Array, d: int) -> Array:
        """Competency ``d``'s posterior of each person on the grid (linear binning), ``(n, Q)``."""
        n = points.shape[0]
        q = self.grid.size
        pos = np.clip((points[:, :, d] - self.grid[0]) / self.h, 0.0, q - 1.000001)
        left = pos.astype(np.intp)
        frac = pos - left
        flat = left + (np.arange(n) * q)[:, None]
        out = np.bincount(flat.ravel(), weights=(weights * (1.0 - frac)).ravel(), minlength=n * q)
        out += np.bincount((flat + 1).ravel(), weights=(weights * frac).ravel(), minlength=n * q)
        return np.asarray(out.reshape(n, q), dtype=np.float64)

    def e_step(self, correlation: Array) -> _EStep:
        """Expected counts per competency and the posterior moments, at the current values."""
        k = self.k
        q = self.grid.size
        by_column = [np.zeros((s.design.col_item.size, q)) for s in self.scales]
        responders = [np.zeros((s.design.n_items, q)) for s in self.scales]
        first = np.zeros(k)
        second = np.zeros((k, k))
        loglik = 0.0
        for _part, indicators, points, w, marginal in self.posterior(correlation):
            loglik += float(marginal.sum())
            mean_i = np.einsum("ns,nsk->nk", w, points)
            first += mean_i.sum(axis=0)
            second += np.einsum("ns,nsk,nsl->kl", w, points, points)
            for d, (x, m) in enumerate(indicators):
                post = self.binned(points, w, d)
                by_column[d] += x.T @ post
                if m is None:
                    responders[d] += post.sum(axis=0)[None, :]
                else:
                    responders[d] += m.T @ post
        counts = []
        for d, scale in enumerate(self.scales):
            design = scale.design
            c = np.zeros((design.n_items, design.max_categories, q))
            c[design.col_item, design.col_cat] = by_column[d]
            rest = responders[d].copy()
            np.subtract.at(rest, design.col_item, by_column[d])
            c[:, 0] = np.maximum(rest, 0.0)
            counts.append(c)
        return _EStep(counts, first / self.n, second / self.n, loglik)


def _rescale(family: Family, xi: Array, shift: float, scale: float) -> Array:
    r"""Items on :math:`\tilde\theta = \tilde\mu + s\theta^*`: slopes scaled, intercepts shifted.

    :math:`a\tilde\theta + d = (a s)\theta^* + (d + a\tilde\mu)`; the GPCM's category
    :math:`c` intercept gains :math:`c\, a \tilde\mu`.
    """
    out = xi.copy()
    a = xi[:, 0] if family.model != "rasch" else np.ones(xi.shape[0])
    if family.model == "gpcm":
        scores = np.arange(1, family.n_categories, dtype=np.float64)
        out[:, 1:] += (a * shift)[:, None] * scores[None, :]
    else:
        out[:, 1] += a * shift
    out[:, 0] = xi[:, 0] * scale
    return family.clamp(out)


def _start_correlation(engine: _Engine) -> Array:
    """Correlations of the competencies' EAP scores, disattenuated by their reliabilities."""
    k = engine.k
    eap = np.zeros((engine.n, k))
    tables = [
        (s.design.tables(_log_probabilities(s, engine.grid)), _low_rank(s, engine.grid))
        for s in engine.scales
    ]
    for d, (scale, ((diff, base), low)) in enumerate(zip(engine.scales, tables, strict=True)):
        for part, x, m in scale.design.chunks():
            lw = scale.design.log_likelihood(x, m, diff, base, low) + engine.log_std_normal
            lw -= lw.max(axis=1, keepdims=True)
            w = np.exp(lw)
            eap[part, d] = (w @ engine.grid) / w.sum(axis=1)
    cov = eap.T @ eap / engine.n
    reliability = np.maximum(np.diag(cov), 1e-3)
    start = cov / np.sqrt(np.outer(reliability, reliability))
    np.fill_diagonal(start, 1.0)
    start = np.clip(start, -0.95, 0.95)
    np.fill_diagonal(start, 1.0)
    return _nearest_correlation(start)


#: Smallest eigenvalue of a correlation matrix written to a bank: the 6-decimal rounding
#: then keeps it positive definite for the bank's check (:mod:`item_banks.correlations`).
STORE_FLOOR = 1e-4


def storable(correlation: Array) -> Array:
    """``correlation`` with its eigenvalues floored at :data:`STORE_FLOOR` (else unchanged)."""
    if np.linalg.eigvalsh(correlation).min() >= STORE_FLOOR:
        return correlation
    return _nearest_correlation(correlation, floor=STORE_FLOOR)


def _nearest_correlation(matrix: Array, floor: float = 1e-3) -> Array:
    """Eigenvalues floored at ``floor`` and the diagonal rescaled to 1 (a valid start)."""
    values, vectors = np.linalg.eigh(0.5 * (matrix + matrix.T))
    fixed = (vectors * np.maximum(values, floor)) @ vectors.T
    d = np.sqrt(np.diag(fixed))
    out = fixed / np.outer(d, d)
    out = 0.5 * (out + out.T)
    np.fill_diagonal(out, 1.0)
    return np.asarray(out)


def _max_change(old: list[list[Array]], new: list[list[Array]], scales: list[_Scale]) -> float:
    change = 0.0
    for s, before, after in zip(scales, old, new, strict=True):
        for fam, est, x0, x1 in zip(s.families, s.estimate, before, after, strict=True):
            if est.any():
                free = fam.free
                change = max(change, float(np.abs(x1[est][:, free] - x0[est][:, free]).max()))
    return change


# --------------------------------------------------------------------------- standard errors


def _score_layout(scales: list[_Scale]) -> tuple[list[list[NDArray[np.intp]]], int]:
    """Column of every (family, item, free parameter) in the score vector; 1PL slopes shared."""
    layout: list[list[NDArray[np.intp]]] = []
    pos = 0
    for s in scales:
        per_family = []
        for fam, est in zip(s.families, s.estimate, strict=True):
            rows = int(est.sum())
            width = int(fam.free.sum())
            cols = np.full((est.size, width), -1, dtype=np.intp)
            if fam.shared_slope and rows:
                cols[est, 0] = pos
                pos += 1
                if width > 1:
                    cols[est, 1:] = pos + np.arange(rows * (width - 1)).reshape(rows, width - 1)
                    pos += rows * (width - 1)
            elif rows:
                cols[est] = pos + np.arange(rows * width).reshape(rows, width)
                pos += rows * width
            per_family.append(cols)
        layout.append(per_family)
    return layout, pos


def _crossproduct(
    engine: _Engine, correlation: Array
) -> tuple[Array, list[list[NDArray[np.intp]]], int]:
    """The XPD information of the item parameters and the correlations (last columns)."""
    scales = engine.scales
    layout, n_items_params = _score_layout(scales)
    k = engine.k
    pairs = [(a, b) for a in range(k) for b in range(a + 1, k)]
    total = n_items_params + len(pairs)
    precision = np.linalg.inv(correlation)
    blocks = []
    for s in scales:
        per_family = []
        for fam, x, est in zip(s.families, s.xi, s.estimate, strict=True):
            free = np.flatnonzero(fam.free)
            p, dp = fam.jacobian(x, engine.grid)
            dlog = np.divide(
                dp[..., free],
                p[..., None],
                out=np.zeros_like(dp[..., free]),
                where=p[..., None] > 0,
            )
            per_family.append((free.size, dlog, est))
        blocks.append(per_family)
    info = np.zeros((total, total))
    for part, _ind, points, w, _m in engine.posterior(correlation):
        n = part.stop - part.start
        score_t = np.zeros((total, n))
        for d, s in enumerate(scales):
            post = engine.binned(points, w, d)
            responses = s.design.patterns[part]
            for (width, dlog, est), cols, members in zip(
                blocks[d], layout[d], s.members, strict=True
            ):
                rows, c, q, _ = dlog.shape
                expected = (post @ dlog.transpose(2, 0, 1, 3).reshape(q, rows * c * width)).reshape(
                    n, rows, c, width
                )
                resp = responses[:, members]
                onehot = resp[:, :, None] == np.arange(c)[None, None, :]
                item_scores = (expected * onehot[..., None]).sum(axis=2)  # (n, rows, width)
                # Scatter into the score columns; a 1PL's shared slope column sums its items.
                np.add.at(score_t, cols[est].ravel(), item_scores[:, est, :].reshape(n, -1).T)
        score = score_t.T
        moment = np.einsum("ns,nsk,nsl->nkl", w, points, points)
        outer = precision @ moment @ precision  # (n, K, K)
        for col, (a, b) in enumerate(pairs):
            score[:, n_items_params + col] = outer[:, a, b] - precision[a, b]
        info += score.T @ score
    return info, layout, n_items_params


# --------------------------------------------------------------------------- driver


def fit_correlated(
    fits: Sequence[FitResult],
    competencies: Sequence[str],
    *,
    options: CorrelatedOptions | None = None,
    progress: Progress | None = None,
) -> CorrelatedFit:
    """Calibrate the between-item multidimensional model from per-competency start fits.

    Parameters
    ----------
    fits
        One unidimensional fit per competency (:func:`calibration.em.calibrate` on that
        competency's items, persons in the same order in every fit, no anchors): its
        families and estimates are the start values; the results are written back into it.
    competencies
        The competencies' ids, in the order of ``fits``.

    Raises
    ------
    CalibrationError
        With fewer than two competencies, anchors, Rasch items (fixed slopes leave the
        abilities' variances to estimate: use ``1pl``), or persons that differ between fits.
    """
    began = time.perf_counter()
    options = options or CorrelatedOptions()
    if len(fits) < 2:
        raise CalibrationError("a correlated calibration needs at least two competencies")
    if len(fits) != len(competencies):
        raise CalibrationError("need one fit per competency")
    persons = fits[0].data.person_ids
    for fit, cid in zip(fits, competencies, strict=True):
        if fit.data.person_ids != persons:
            raise CalibrationError(f'competency "{cid}": its fit has other persons')
        if not all(fit.estimated):
            raise CalibrationError(
                f'competency "{cid}": anchors are not supported by the correlated calibration '
                "(it estimates every item on the N(0, R) scale)"
            )
        if any(f.model == "rasch" for f in fit.model.families):
            raise CalibrationError(
                f'competency "{cid}": the Rasch model fixes the slopes, so the abilities\' '
                "variances would have to be estimated; calibrate it as 1pl"
            )
    answered = np.zeros(len(persons), dtype=bool)
    for fit in fits:
        answered |= (fit.data.responses >= 0).any(axis=1)
    keep = np.flatnonzero(answered)
    scales = []
    for fit in fits:
        responses = np.ascontiguousarray(fit.data.responses[keep])
        design = Design(
            responses,
            np.ones(keep.size),
            np.array(fit.n_categories, dtype=np.intp),
            chunk_rows=CHUNK,
        )
        scales.append(_Scale(fit=fit, design=design, xi=[x.copy() for x in fit.model.xi]))
    engine = _Engine(scales, int(keep.size), options)
    correlation = _start_correlation(engine)
    converged = False
    change = math.inf
    steps = 0
    warnings: list[CalibrationWarning] = []
    result = None
    while steps < options.max_em_steps:
        steps += 1
        result = engine.e_step(correlation)
        before = [[x.copy() for x in s.xi] for s in scales]
        tilde_mean = result.mean
        tilde_cov = result.second - np.outer(tilde_mean, tilde_mean)
        sd = np.sqrt(np.maximum(np.diag(tilde_cov), 1e-12))
        for d, s in enumerate(scales):
            new = []
            for fam, cols, x, est in zip(s.families, s.members, s.xi, s.estimate, strict=True):
                updated = x.copy()
                if est.any():
                    updated[est] = m_step(fam, x[est], result.counts[d][cols[est]], engine.grid)
                    updated[est] = _rescale(fam, updated[est], float(tilde_mean[d]), float(sd[d]))
                new.append(updated)
            s.xi = new
        new_correlation = _nearest_correlation(tilde_cov / np.outer(sd, sd), floor=1e-6)
        change = max(
            _max_change(before, [s.xi for s in scales], scales),
            float(np.abs(new_correlation - correlation).max()),
        )
        correlation = new_correlation
        if progress is not None:
            progress(steps, change, result.loglik)
        if change < options.tol:
            converged = True
            break
    final = engine.e_step(correlation)
    if not converged:
        warnings.append(
            CalibrationWarning(
                kind="not_converged",
                message=f"QMC-EM stopped after {steps} steps without meeting the criterion "
                f"(largest change {change:.2g} > {options.tol:g})",
            )
        )
    if np.linalg.eigvalsh(correlation).min() < 1e-4:
        warnings.append(
            CalibrationWarning(
                kind="singular_correlation",
                message="the estimated correlation matrix is nearly singular: two "
                "competencies measure almost the same ability",
            )
        )
    info, layout, n_item_params = _crossproduct(engine, correlation)
    cov, ok = _invert(info)
    if not ok:
        warnings.append(
            CalibrationWarning(
                kind="se_unavailable",
                message="the cross-product information is not positive definite; standard "
                "errors are from its pseudo-inverse",
            )
        )
    k = len(scales)
    pairs = [(a, b) for a in range(k) for b in range(a + 1, k)]
    correlation_se = np.zeros((k, k))
    for col, (a, b) in enumerate(pairs):
        value = cov[n_item_params + col, n_item_params + col]
        correlation_se[a, b] = correlation_se[b, a] = math.sqrt(value) if value > 0 else math.nan
    for d, s in enumerate(scales):
        _write_back(s, layout[d], cov)
    return CorrelatedFit(
        competencies=tuple(competencies),
        scales=[s.fit for s in scales],
        correlation=correlation,
        correlation_se=correlation_se,
        loglik=final.loglik,
        n_persons=int(keep.size),
        n_parameters=n_item_params + len(pairs),
        em_steps=steps,
        converged=converged,
        max_change=change,
        seconds=time.perf_counter() - began,
        warnings=warnings,
    )


def _invert(info: Array) -> tuple[Array, bool]:
    try:
        chol = np.linalg.cholesky(info)
        inverse = np.linalg.inv(chol)
        return np.asarray(inverse.T @ inverse, dtype=np.float64), True
    except np.linalg.LinAlgError:
        return np.asarray(np.linalg.pinv(info), dtype=np.float64), False


def _write_back(scale: _Scale, layout: list[NDArray[np.intp]], cov: Array) -> None:
    """Put the estimates and their standard errors (internal and bank metric) on the fit."""
    fit = scale.fit
    fit.model.xi = [x.copy() for x in scale.xi]
    fit.xi = fit.model.xi
    internal: dict[str, Array] = {}
    bank: dict[str, Array] = {}
    for item, (f, row) in enumerate(fit.family_of):
        fam = scale.families[f]
        if not scale.estimate[f][row]:
            continue
        cols = layout[f][row]
        free = np.flatnonzero(fam.free)
        block = cov[np.ix_(cols, cols)]
        variances = np.diag(block)
        se_int = np.full(fam.n_params, np.nan)
        se_int[free] = np.where(variances > 0, np.sqrt(np.abs(variances)), np.nan)
        jac = _irt_jacobian(fam, fit.model.xi[f][row : row + 1])[:, free]
        var = np.einsum("mi,ij,mj->m", jac, block, jac)
        se_bank = np.where(var > 0, np.sqrt(np.abs(var)), np.nan)
        se_bank[np.abs(jac).sum(axis=1) == 0] = np.nan
        internal[fit.item_ids[item]] = se_int
        bank[fit.item_ids[item]] = se_bank
    fit.standard_errors = bank
    fit.se_internal = internal
    fit.se_method = "xpd (correlated QMC-EM)"
