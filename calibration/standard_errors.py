r"""Standard errors of the estimated item (and population) parameters.

Three estimates of the information matrix of the marginal log-likelihood are offered:

``oakes`` (R mirt's default)
    Oakes' (1999) identity for EM: with :math:`Q(\xi \mid \xi_0)` the expected complete-data
    log posterior of the M-step,

    .. math:: \mathcal I(\hat\xi) = -\left[\frac{\partial^2 Q(\xi\mid\xi_0)}
              {\partial\xi\,\partial\xi^\top} + \frac{\partial^2 Q(\xi\mid\xi_0)}
              {\partial\xi\,\partial\xi_0^\top}\right]_{\xi = \xi_0 = \hat\xi}.

    The first term is block diagonal (one block per item) and is obtained by central
    differences of the analytic gradient, all items at once; the second differentiates the
    gradient at :math:`\hat\xi` through the E-step, one forward difference per parameter
    (one E-step each).
``xpd``
    The cross-product of the persons' marginal scores (the empirical information),
    :math:`\sum_u n_u \hat s_u \hat s_u^\top` with
    :math:`\hat s_u = \sum_q w_{uq} \partial \log f_u(\theta_q) / \partial\xi`
    (mirt ``SE.type = "crossprod"``); cheap for any size.
``sandwich``
    :math:`\mathcal I_{\text{Oakes}}^{-1}\, \mathrm{XPD}\, \mathcal I_{\text{Oakes}}^{-1}`,
    robust to misspecification (White, 1982).
``xpd-items``
    What ``auto`` uses for large sparse data (:class:`calibration.sparse_estep.SparseDesign`
    with more than :data:`XPD_FULL_BUDGET` persons x parameters): the diagonal blocks of
    the XPD, one per item, :math:`\sum_{u \ni j} n_u \hat s_{uj} \hat s_{uj}^\top` over the
    persons who answered item :math:`j`, from one E-step's posteriors. Its cost is linear
    in the answers; it leaves out the coupling of items through the persons' abilities,
    so its standard errors are a lower bound (the inverse of a diagonal block is at most
    the block of the inverse); ``tests/calibration/test_cat_scale.py`` bounds the
    difference from the full XPD on CAT data.

Standard errors of the bank's parameters (:math:`b = -d/a`, thresholds, asymptotes) follow
by the delta method from the covariance of the internal parameters.

References
----------
Oakes, D. (1999). Direct calculation of the information matrix via the EM algorithm.
*Journal of the Royal Statistical Society B*, 61(2), 479-482.
Chalmers, R. P. (2018). Numerical approximation of the observed information matrix with
Oakes' identity. *British Journal of Mathematical and Statistical Psychology*, 71(3),
415-436.
White, H. (1982). Maximum likelihood estimation of misspecified models. *Econometrica*,
50(1), 1-25.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from calibration.em import CalibrationModel, FitResult
from calibration.errors import CalibrationWarning
from calibration.estep import EStepResult
from calibration.models import Family
from calibration.mstep import gradient_information
from calibration.sparse_estep import SparseDesign

Array = NDArray[np.float64]
SEMethod = Literal["oakes", "xpd", "xpd-items", "sandwich", "none", "auto"]
#: ``auto`` uses Oakes while (parameters x patterns x indicator columns), the work of its
#: E-steps, stays below this (a few seconds), and the cross-product beyond.
OAKES_BUDGET = 2.5e8
#: ``auto`` on sparse data uses the full XPD while persons x parameters stay below this,
#: its item blocks beyond.
XPD_FULL_BUDGET = 2.5e7


def _latent_scores(cal: CalibrationModel, mean: float, sd: float) -> Array:
    r""":math:`\partial \log \pi_q / \partial(\mu, \log\sigma)` at every node, ``(Q, 2)``."""
    theta = cal.theta
    w = np.exp(cal.quadrature.log_weights(mean, sd))
    z = (theta - mean) / sd
    d_mu = z / sd - w @ (z / sd)
    d_log_sd = z * z - w @ (z * z)
    return np.column_stack((d_mu, d_log_sd))


def _latent_columns(cal: CalibrationModel) -> list[int]:
    return [k for k, on in enumerate((cal.estimate_mean, cal.estimate_sd)) if on]


def q_gradient(cal: CalibrationModel, vector: Array, estep: EStepResult) -> Array:
    r"""Gradient of :math:`Q(\\xi \\mid \\xi_0)` at ``vector`` for the counts of ``estep``.

    Laid out like :meth:`CalibrationModel.pack` (the 1PL's slope once per item).
    """
    xi, mean, sd = cal.unpack(vector)
    parts = []
    for fam, cols, x, est in zip(cal.families, cal.members, xi, cal.estimate, strict=True):
        if est.any():
            grad, _ = gradient_information(fam, x[est], estep.counts[cols[est]], cal.theta)
            parts.append(grad.ravel())
    latent = _latent_columns(cal)
    if latent:
        parts.append(estep.node_counts @ _latent_scores(cal, mean, sd)[:, latent])
    return np.concatenate(parts)


def _complete_hessian(cal: CalibrationModel, vector: Array, estep: EStepResult) -> Array:
    """Hessian of Q in the estimated parameters at fixed counts (block diagonal)."""
    n = vector.size
    hess = np.zeros((n, n))
    xi, _, _ = cal.unpack(vector)
    pos = 0
    for fam, cols, x, est in zip(cal.families, cal.members, xi, cal.estimate, strict=True):
        rows = int(est.sum())
        if not rows:
            continue
        free = np.flatnonzero(fam.free)
        width = free.size
        base = x[est]
        counts = estep.counts[cols[est]]
        for a, col in enumerate(free):  # loop over a family's few parameters, not items
            h = 1e-5 * np.maximum(1.0, np.abs(base[:, col]))
            plus, minus = base.copy(), base.copy()
            plus[:, col] += h
            minus[:, col] -= h
            gp, _ = gradient_information(fam, plus, counts, cal.theta)
            gm, _ = gradient_information(fam, minus, counts, cal.theta)
            block = (gp - gm) / (2.0 * h[:, None])  # (rows, width): d grad / d param a
            for i in range(width):
                idx = pos + np.arange(rows) * width
                hess[idx + i, idx + a] = block[:, i]
        pos += rows * width
    latent = _latent_columns(cal)
    if latent:
        k = len(latent)
        lat = np.zeros((k, k))
        for a in range(k):
            step = np.zeros(vector.size)
            step[pos + a] = 1e-5
            gp = estep.node_counts @ _latent_scores(cal, *_latent_at(cal, vector + step))[:, latent]
            gm = estep.node_counts @ _latent_scores(cal, *_latent_at(cal, vector - step))[:, latent]
            lat[:, a] = (gp - gm) / 2e-5
        hess[pos:, pos:] = 0.5 * (lat + lat.T)
    return 0.5 * (hess + hess.T)


def _latent_at(cal: CalibrationModel, vector: Array) -> tuple[float, float]:
    _, mean, sd = cal.unpack(vector)
    return mean, sd


def oakes_information(cal: CalibrationModel, vector: Array) -> Array:
    """Observed information of the packed parameters by Oakes' identity.

    The cross term uses forward differences (one E-step per parameter, relative step
    ``1e-6``): the gradient is smooth in the E-step's parameters, and the error of order
    ``h`` is far below the precision a standard error needs.
    """
    xi, mean, sd = cal.unpack(vector)
    base = cal.e_step(xi, mean, sd)
    first = _complete_hessian(cal, vector, base)
    g_base = q_gradient(cal, vector, base)
    n = vector.size
    second = np.zeros((n, n))
    for i in range(n):  # one E-step per parameter: the cost of Oakes' method
        h = 1e-6 * max(1.0, abs(float(vector[i])))
        moved = vector.copy()
        moved[i] += h
        second[:, i] = (q_gradient(cal, vector, cal.e_step(*cal.unpack(moved))) - g_base) / h
    info = -(first + 0.5 * (second + second.T))
    return np.asarray(0.5 * (info + info.T))


def crossproduct_information(cal: CalibrationModel, vector: Array) -> Array:
    r"""Sum over patterns of the outer products of the marginal scores (XPD).

    :math:`\sum_u n_u \hat s_u \hat s_u^\top`, :math:`\hat s_u = \sum_q w_{uq}
    \sum_j \partial\log P_{j x_{uj}}(\theta_q)/\partial\xi` (Mislevy, 1984; Paek & Cai,
    2014, *Educational and Psychological Measurement*, 74(1), 58-76).
    """
    xi, mean, sd = cal.unpack(vector)
    design = cal.design
    log_p = cal.log_probabilities(xi)
    log_prior = cal.quadrature.log_weights(mean, sd)
    blocks = []  # per family: (item columns, free params, d log P / d xi) (n, C, Q, f)
    for fam, cols, x, est in zip(cal.families, cal.members, xi, cal.estimate, strict=True):
        if not est.any():
            continue
        free = np.flatnonzero(fam.free)
        p, dp = fam.jacobian(x[est], cal.theta)
        dlog = np.divide(
            dp[..., free], p[..., None], out=np.zeros_like(dp[..., free]), where=p[..., None] > 0
        )
        blocks.append((cols[est], free.size, dlog))
    latent = _latent_columns(cal)
    lat_scores = _latent_scores(cal, mean, sd)[:, latent] if latent else None
    n = vector.size
    xpd = np.zeros((n, n))
    for part, w, _, _, _ in design.posterior_chunks(log_p, log_prior):
        patterns = design.patterns[part]
        counts = design.counts[part]
        scores = []
        for cols, width, dlog in blocks:
            rows, c, q, _ = dlog.shape
            # expected d log P_jk / d xi under each pattern's posterior: (U, rows, C, f)
            expected = (w @ dlog.transpose(2, 0, 1, 3).reshape(q, rows * c * width)).reshape(
                -1, rows, c, width
            )
            resp = patterns[:, cols]
            onehot = resp[:, :, None] == np.arange(c)[None, None, :]
            scores.append((expected * onehot[..., None]).sum(axis=2).reshape(-1, rows * width))
        if lat_scores is not None:
            scores.append(w @ lat_scores)
        s = np.concatenate(scores, axis=1)
        xpd += (s * counts[:, None]).T @ s
    return xpd


def item_block_information(cal: CalibrationModel, vector: Array) -> Array:
    r"""The XPD's diagonal blocks (one per item, and one for the population), zeros elsewhere.

    For item :math:`j` answered by persons :math:`u` in category :math:`x_{uj}`:
    :math:`\hat s_{uj} = \sum_q w_{uq}\, \partial \log P_{j x_{uj}}(\theta_q) / \partial
    \xi_j` and the block is :math:`\sum_u n_u \hat s_{uj} \hat s_{uj}^\top`; cost linear in
    the answers (one posterior per person, kept in single precision).
    """
    design = cal.design
    assert isinstance(design, SparseDesign)
    xi, mean, sd = cal.unpack(vector)
    log_p = cal.log_probabilities(xi)
    log_prior = cal.quadrature.log_weights(mean, sd)
    q = cal.theta.size
    posterior = np.empty((design.n_patterns, q), dtype=np.float32)
    for part, w, _, _, _ in design.posterior_chunks(log_p, log_prior):
        posterior[part] = w
    persons, codes, starts = design.by_item()
    n = vector.size
    info = np.zeros((n, n))
    pos = 0
    for fam, cols, x, est in zip(cal.families, cal.members, xi, cal.estimate, strict=True):
        rows = int(est.sum())
        if not rows:
            continue
        free = np.flatnonzero(fam.free)
        width = free.size
        p, dp = fam.jacobian(x[est], cal.theta)
        dlog = np.divide(
            dp[..., free], p[..., None], out=np.zeros_like(dp[..., free]), where=p[..., None] > 0
        )  # (rows, C, Q, f)
        c = dlog.shape[1]
        for r, col in enumerate(cols[est]):  # one block per item (post-EM, once)
            who = persons[starts[col] : starts[col + 1]]
            table = dlog[r].transpose(1, 0, 2).reshape(q, c * width).astype(np.float32)
            expected = (posterior[who] @ table).reshape(-1, c, width)
            s = expected[np.arange(who.size), codes[starts[col] : starts[col + 1]]]
            s = s.astype(np.float64)
            block = (s * design.counts[who][:, None]).T @ s
            at = pos + r * width
            info[at : at + width, at : at + width] = block
        pos += rows * width
    latent = _latent_columns(cal)
    if latent:
        scores = posterior.astype(np.float64) @ _latent_scores(cal, mean, sd)[:, latent]
        info[pos:, pos:] = (scores * design.counts[:, None]).T @ scores
    return info


@dataclass(frozen=True)
class Covariance:
    """Covariance of the packed parameters and the method that produced it."""

    matrix: Array
    method: str
    ok: bool


def shared_slope_map(cal: CalibrationModel) -> Array:
    """Matrix ``T`` with ``packed = T @ reduced``: the 1PL slope copies collapse to one."""
    n = cal.pack(cal.xi, cal.latent_mean, cal.latent_sd).size
    keep = np.ones(n, dtype=bool)
    owner = np.arange(n)
    pos = 0
    for fam, est in zip(cal.families, cal.estimate, strict=True):
        rows = int(est.sum())
        width = int(fam.free.sum())
        if fam.shared_slope and rows > 1:
            slots = pos + np.arange(rows) * width
            keep[slots[1:]] = False
            owner[slots[1:]] = slots[0]
        pos += rows * width
    reduced_index = -np.ones(n, dtype=np.intp)
    reduced_index[keep] = np.arange(int(keep.sum()))
    t = np.zeros((n, int(keep.sum())))
    t[np.arange(n), reduced_index[owner]] = 1.0
    return t


def covariance(result: FitResult, method: SEMethod = "auto") -> Covariance:
    """Covariance matrix of the packed estimated parameters.

    ``auto`` is Oakes while its cost stays within :data:`OAKES_BUDGET`, the cross-product
    beyond.
    """
    cal = result.model
    vector = cal.pack(cal.xi, cal.latent_mean, cal.latent_sd)
    sparse = isinstance(cal.design, SparseDesign)
    if method == "auto":
        work = vector.size * cal.design.n_patterns * (cal.design.col_item.size + 1)
        method = "oakes" if work <= OAKES_BUDGET else "xpd"
        if method == "xpd" and sparse and vector.size * cal.design.n_patterns > XPD_FULL_BUDGET:
            method = "xpd-items"
    if method == "xpd-items" and not sparse:
        method = "xpd"
    t = shared_slope_map(cal)
    if method in ("oakes", "sandwich"):
        info = t.T @ oakes_information(cal, vector) @ t
    elif method == "xpd-items":
        info = t.T @ item_block_information(cal, vector) @ t
    else:
        info = t.T @ crossproduct_information(cal, vector) @ t
    ok = True
    try:
        chol = np.linalg.cholesky(info)
        inverse = np.linalg.inv(chol)
        cov = inverse.T @ inverse
    except np.linalg.LinAlgError:
        ok = False
        cov = np.linalg.pinv(info)
    if method == "sandwich":
        meat = t.T @ crossproduct_information(cal, vector) @ t
        cov = cov @ meat @ cov
    return Covariance(matrix=t @ cov @ t.T, method=method, ok=ok)


def attach_standard_errors(result: FitResult, method: SEMethod = "auto") -> None:
    """Compute standard errors and store them on ``result`` (bank metric, per item).

    ``result.standard_errors[item]`` has the layout of :meth:`FitResult.irt_vector`, NaN
    where a parameter is not estimated; ``result.se_internal[item]`` holds the SEs of the
    internal (slope-intercept) parameters.
    """
    if method == "none":
        return
    cov = covariance(result, method)
    cal = result.model
    diag = np.diag(cov.matrix)
    if not cov.ok or (diag <= 0).any():
        result.warnings.append(
            CalibrationWarning(
                kind="se_unavailable",
                message="the information matrix is not positive definite; standard errors "
                "of items with undetermined parameters are left out",
            )
        )
    pos = 0
    per_family_start = []
    for fam, est in zip(cal.families, cal.estimate, strict=True):
        per_family_start.append(pos)
        pos += int(est.sum()) * int(fam.free.sum())
    est_rank = [np.cumsum(est) - 1 for est in cal.estimate]
    internal: dict[str, Array] = {}
    bank: dict[str, Array] = {}
    for item, (f, row) in enumerate(result.family_of):
        fam = cal.families[f]
        if not cal.estimate[f][row]:
            continue
        free = np.flatnonzero(fam.free)
        width = free.size
        start = per_family_start[f] + int(est_rank[f][row]) * width
        block = cov.matrix[start : start + width, start : start + width]
        se_int = np.full(fam.n_params, np.nan)
        with np.errstate(invalid="ignore"):
            se_int[free] = np.where(np.diag(block) > 0, np.sqrt(np.diag(block)), np.nan)
        x = cal.xi[f][row : row + 1]
        jac = _irt_jacobian(fam, x)[:, free]  # (m, width)
        var = np.einsum("mi,ij,mj->m", jac, block, jac)
        se_bank = np.where(var > 0, np.sqrt(np.abs(var)), np.nan)
        estimated_cols = np.abs(jac).sum(axis=1) > 0
        se_bank[~estimated_cols] = np.nan
        if np.isnan(se_int[free]).any():
            se_bank[:] = np.nan
        internal[result.item_ids[item]] = se_int
        bank[result.item_ids[item]] = se_bank
    result.standard_errors = bank
    result.se_internal = internal
    result.se_method = cov.method
    if cal.estimate_mean or cal.estimate_sd:
        lat = np.sqrt(np.maximum(np.diag(cov.matrix)[pos:], 0.0))
        names = [
            n
            for n, on in zip(("mean", "log_sd"), (cal.estimate_mean, cal.estimate_sd), strict=True)
            if on
        ]
        result.latent_se = dict(zip(names, lat.tolist(), strict=True))


def _irt_jacobian(fam: Family, x: Array) -> Array:
    """Numerical Jacobian of the bank-form vector in the internal parameters, ``(m, p)``."""
    base = fam.irt_vector(x)[0]
    p = x.shape[1]
    jac = np.zeros((base.size, p))
    for k in range(p):
        h = 1e-6 * max(1.0, abs(float(x[0, k])))
        plus, minus = x.copy(), x.copy()
        plus[0, k] += h
        minus[0, k] -= h
        jac[:, k] = (fam.irt_vector(plus)[0] - fam.irt_vector(minus)[0]) / (2.0 * h)
    return jac
