r"""The M-step: Fisher scoring on all items of a family at once.

Given the expected counts :math:`r_{jkq}` of the E-step, item :math:`j`'s parameters maximise
the expected complete-data log posterior

.. math:: f_j(\xi) = \sum_{k,q} r_{jkq} \log P_{jk}(\theta_q; \xi) + \log p(\xi),

a weighted multinomial regression on the nodes. Its gradient and expected information are

.. math:: g_j = \sum_{k,q} \frac{r_{jkq}}{P_{jkq}} \frac{\partial P_{jkq}}{\partial\xi},
          \qquad
          \mathcal I_j = \sum_q N_{jq} \sum_k \frac{1}{P_{jkq}}
          \frac{\partial P_{jkq}}{\partial\xi}\frac{\partial P_{jkq}}{\partial\xi^\top}
          - \nabla^2 \log p(\xi),

with :math:`N_{jq} = \sum_k r_{jkq}`. Each Fisher-scoring step :math:`\xi \leftarrow \xi +
\mathcal I_j^{-1} g_j` (Newton's method for the logistic 2PL, whose link is canonical) is a
batched ``solve`` over items, followed by step halving wherever :math:`f_j` did not increase
(Bock & Aitkin, 1981; Baker & Kim, 2004, ch. 6). The 1PL's common slope couples the items;
its step solves the bordered system by the Schur complement of the slope.

References
----------
Bock, R. D., & Aitkin, M. (1981). Marginal maximum likelihood estimation of item parameters:
Application of an EM algorithm. *Psychometrika*, 46(4), 443-459.
Baker, F. B., & Kim, S.-H. (2004). *Item Response Theory: Parameter Estimation Techniques*
(2nd ed.). Marcel Dekker.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from calibration.estep import LOG_FLOOR
from calibration.models import Family

Array = NDArray[np.float64]


def objective(family: Family, xi: Array, counts: Array, theta: Array) -> Array:
    r"""Expected complete-data log posterior of each item, ``(n,)``.

    :math:`f_j(\xi) = \sum_{k,q} r_{jkq}\log P_{jk}(\theta_q;\xi) + \log p(\xi)`
    (Bock & Aitkin, 1981).
    """
    p = family.probabilities(xi, theta)
    with np.errstate(divide="ignore"):
        logs = np.maximum(np.log(p), LOG_FLOOR)
    return np.asarray((counts[:, : p.shape[1]] * logs).sum(axis=(1, 2)) + family.log_prior(xi))


def gradient_information(
    family: Family, xi: Array, counts: Array, theta: Array
) -> tuple[Array, Array]:
    r"""Gradient ``(n, f)`` and expected information ``(n, f, f)`` in the free parameters.

    :math:`g = \sum_{k,q} (r_{jkq}/P_{jkq})\,\partial P_{jkq}/\partial\xi` and
    :math:`\mathcal I = \sum_q N_{jq}\sum_k P_{jkq}^{-1}\,\partial P\,\partial P^\top -
    \nabla^2\log p` (Baker & Kim, 2004, ch. 6).
    """
    free = np.flatnonzero(family.free)
    p, dp = family.jacobian(xi, theta)
    dp = dp[..., free]
    r = counts[:, : p.shape[1]]
    safe = p > 1e-300
    ratio = np.divide(r, p, out=np.zeros_like(p), where=safe)
    grad = np.einsum("ncq,ncqf->nf", ratio, dp)
    weight = np.divide(r.sum(axis=1, keepdims=True), p, out=np.zeros_like(p), where=safe)
    info = np.einsum("ncq,ncqf,ncqg->nfg", weight, dp, dp)
    pg, ph = family.prior_gradient_hessian(xi)
    grad += pg[:, free]
    info -= ph[:, free][:, :, free]
    return grad, info


def _solve(info: Array, grad: Array) -> Array:
    f = info.shape[1]
    scale = np.maximum(np.abs(np.diagonal(info, axis1=1, axis2=2)).max(axis=1), 1e-12)
    ridge = info + (1e-10 * scale)[:, None, None] * np.eye(f)[None]
    try:
        return np.asarray(np.linalg.solve(ridge, grad[..., None])[..., 0])
    except np.linalg.LinAlgError:
        diag = np.maximum(np.diagonal(ridge, axis1=1, axis2=2), 1e-12)
        return np.asarray(grad / diag)


def m_step(
    family: Family,
    xi: Array,
    counts: Array,
    theta: Array,
    *,
    max_iter: int = 60,
    tol: float = 1e-9,
) -> Array:
    """Maximise every item's expected complete-data log posterior.

    Parameters
    ----------
    family
        The items' family.
    xi
        ``(n, p)`` current internal parameters (start values).
    counts
        ``(n, C, Q)`` expected counts for these items.
    theta
        ``(Q,)`` quadrature nodes.

    Returns
    -------
    ndarray
        ``(n, p)`` new parameters; parameters that are not free are returned unchanged.
    """
    if xi.shape[0] == 0:
        return xi.copy()
    if family.shared_slope:
        return _m_step_shared_slope(family, xi, counts, theta, max_iter=max_iter, tol=tol)
    free = np.flatnonzero(family.free)
    x = family.clamp(xi)
    f = objective(family, x, counts, theta)
    active = np.ones(x.shape[0], dtype=bool)
    for _ in range(max_iter):
        rows = np.flatnonzero(active)
        grad, info = gradient_information(family, x[rows], counts[rows], theta)
        step = _solve(info, grad)
        t = np.ones(rows.size)
        pending = np.ones(rows.size, dtype=bool)
        moved = np.zeros(rows.size)
        for _ in range(40):
            idx = np.flatnonzero(pending)
            cand = x[rows[idx]].copy()
            cand[:, free] += t[idx, None] * step[idx]
            cand = family.clamp(cand)
            fc = objective(family, cand, counts[rows[idx]], theta)
            old = f[rows[idx]]
            good = fc >= old - 1e-12 * (1.0 + np.abs(old))
            accepted = idx[good]
            moved[accepted] = np.abs(cand[good] - x[rows[accepted]]).max(axis=1)
            x[rows[accepted]] = cand[good]
            f[rows[accepted]] = fc[good]
            pending[accepted] = False
            if not pending.any():
                break
            t[pending] *= 0.5
        active[rows[moved < tol]] = False
        if not active.any():
            break
    return x


def _m_step_shared_slope(
    family: Family, xi: Array, counts: Array, theta: Array, *, max_iter: int, tol: float
) -> Array:
    r"""Fisher scoring for one slope :math:`a` shared by all items and intercepts :math:`d_j`.

    With per-item information blocks :math:`[[I^j_{aa}, I^j_{ad}], [I^j_{ad}, I^j_{dd}]]`,
    :math:`\delta a = (\sum_j g^j_a - \sum_j I^j_{ad} g^j_d / I^j_{dd}) /
    (\sum_j I^j_{aa} - \sum_j (I^j_{ad})^2 / I^j_{dd})` and
    :math:`\delta d_j = (g^j_d - I^j_{ad}\,\delta a) / I^j_{dd}`.
    """
    x = family.clamp(xi)
    x[:, 0] = float(np.mean(x[:, 0]))
    total = float(objective(family, x, counts, theta).sum())
    for _ in range(max_iter):
        grad, info = gradient_information(family, x, counts, theta)  # free = (a, d)
        i_aa, i_ad, i_dd = info[:, 0, 0], info[:, 0, 1], np.maximum(info[:, 1, 1], 1e-12)
        g_a, g_d = grad[:, 0], grad[:, 1]
        schur = i_aa.sum() - (i_ad * i_ad / i_dd).sum()
        delta_a = (g_a.sum() - (i_ad * g_d / i_dd).sum()) / max(schur, 1e-12)
        delta_d = (g_d - i_ad * delta_a) / i_dd
        t = 1.0
        for _ in range(40):
            cand = x.copy()
            cand[:, 0] += t * delta_a
            cand[:, 1] += t * delta_d
            cand = family.clamp(cand)
            value = float(objective(family, cand, counts, theta).sum())
            if value >= total - 1e-12 * (1.0 + abs(total)):
                break
            t *= 0.5
        else:
            return x
        moved = float(np.abs(cand - x).max())
        x, total = cand, value
        if moved < tol:
            break
    return x
