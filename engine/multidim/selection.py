r"""Multidimensional item selection: optimal-design criteria, vectorised over the pool.

After the items given so far, the posterior precision is approximately
:math:`P = \Lambda + \operatorname{diag}(I(\hat\theta))` (the prior precision plus the test
information at the current estimate; Segall, 1996) and :math:`V = P^{-1}`. Item :math:`j`
measures competency :math:`k` only, so its information matrix is :math:`I_j e_k e_k^\top` with
:math:`I_j = I_j(\hat\theta_k)`, a rank-one update, and every criterion has a closed form
(matrix determinant lemma and Sherman-Morrison; Harville, 1997, ch. 18):

``d_optimal`` (mirtCAT's ``DPrule``)
    maximise :math:`\det(P + I_j e_k e_k^\top) = \det P \,(1 + I_j V_{kk})`: the criterion is
    :math:`I_j V_{kk}`.
``a_optimal`` (``APrule``, competency weights :math:`w`)
    minimise :math:`\operatorname{tr}(W (P + I_j e_k e_k^\top)^{-1})`, i.e. maximise the
    decrease :math:`I_j\, (V W V)_{kk} / (1 + I_j V_{kk})`.
``c_optimal`` (Python mirt's C-optimality)
    minimise the posterior variance of the composite :math:`w^\top\theta`: maximise
    :math:`I_j (V w)_k^2 / (1 + I_j V_{kk})`.
``t_optimal`` (``TPrule``)
    maximise :math:`\operatorname{tr}(W (P + I_j e_k e_k^\top))`: the criterion is
    :math:`w_k I_j`.
``e_optimal`` (``EPrule``)
    maximise the smallest eigenvalue of :math:`P + I_j e_k e_k^\top` (batched symmetric
    eigenvalues, :math:`K \le 8`).

Weights default to 1 for every competency. Content balancing and exposure control act on
these values exactly as on the unidimensional criteria.

References
----------
Segall, D. O. (1996). Multidimensional adaptive testing. *Psychometrika*, 61(2), 331-354.
Chalmers, R. P. (2016). Generating adaptive and non-adaptive test interfaces for
multidimensional item response theory applications. *Journal of Statistical Software*,
71(5), 1-38 (mirtCAT's criteria).
Harville, D. A. (1997). *Matrix Algebra From a Statistician's Perspective*. Springer.
"""

from __future__ import annotations

import numpy as np

from engine.irt.generic import Array
from engine.multidim.linalg import spd_inverse
from engine.pool import ItemPool

#: The joint criteria (need the posterior precision, not only each competency's estimate).
JOINT_METHODS = ("d_optimal", "a_optimal", "c_optimal", "t_optimal", "e_optimal")


class JointCriteria:
    """Optimal-design criteria for every item of a pool.

    Parameters
    ----------
    pool
        The compiled bank.
    method
        One of :data:`JOINT_METHODS`.
    weights
        Competency weights ``(K,)`` (A-, C- and T-optimality), default all 1.
    """

    def __init__(self, pool: ItemPool, method: str, weights: Array | None = None) -> None:
        if method not in JOINT_METHODS:
            raise ValueError(f"unknown joint criterion {method!r}")
        self.pool = pool
        self.method = method
        k = pool.n_competencies
        self.weights = np.ones(k) if weights is None else np.asarray(weights, dtype=np.float64)
        self._out = np.empty(pool.n_items)
        self._directions = np.zeros((k, k, k))
        for d in range(k):
            self._directions[d, d, d] = 1.0

    def criterion(self, information: Array, precision: Array) -> Array:
        """Criterion values (higher is better) for every item, ``(n_items,)``.

        Parameters
        ----------
        information
            Each item's Fisher information at its competency's estimate, ``(n_items,)``.
        precision
            The current posterior precision :math:`P`, ``(K, K)``.
        """
        comp = self.pool.competency
        out = self._out
        method = self.method
        if method == "t_optimal":
            return np.multiply(information, self.weights[comp], out=out)
        if method == "e_optimal":
            stacked = precision[None] + information[:, None, None] * self._directions[comp]
            return np.asarray(np.linalg.eigvalsh(stacked)[:, 0], dtype=np.float64)
        v = spd_inverse(precision)
        diagonal = np.diag(v)
        if method == "d_optimal":
            return np.multiply(information, diagonal[comp], out=out)
        if method == "a_optimal":
            numerator = np.einsum("lk,l,lk->k", v, self.weights, v)  # (V W V)_kk
        else:  # c_optimal
            numerator = (v @ self.weights) ** 2
        gain: Array = information * numerator[comp]
        np.divide(gain, 1.0 + information * diagonal[comp], out=out)
        return out
