r"""Samejima's graded response model (GRM), logistic metric with D = 1.

For an item with slope :math:`a` and ordered thresholds :math:`b_1 < \dots < b_K`, the
cumulative ("boundary") probabilities are

.. math:: P^*_k(\theta) = \frac{1}{1 + e^{-a(\theta - b_k)}}, \quad
          P^*_0 = 1, \quad P^*_{K+1} = 0,

and the category probabilities :math:`P_k = P^*_k - P^*_{k+1}` for :math:`k = 0..K`. With
:math:`P^{*\prime}_k = a P^*_k (1 - P^*_k)` and
:math:`P^{*\prime\prime}_k = a^2 P^*_k (1 - P^*_k)(1 - 2 P^*_k)`, the category derivatives
are the differences of the boundary derivatives, and the information is
:math:`I = \sum_k P_k'^2 / P_k` (Samejima, 1969).

Items with fewer categories than the family's widest are padded with thresholds at
:math:`+\infty`, whose boundary probabilities and derivatives are exactly 0.

References
----------
Samejima, F. (1969). Estimation of latent ability using a response pattern of graded scores.
*Psychometrika Monograph Supplement*, 17.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit

from engine.irt.generic import Array, as_theta, information_from_derivatives


@dataclass(frozen=True, slots=True)
class GradedResponse:
    """GRM items: slopes ``a`` ``(n,)`` and thresholds ``(n, K)`` padded with ``+inf``."""

    a: Array
    thresholds: Array

    @classmethod
    def from_lists(cls, a: ArrayLike, thresholds: Sequence[Sequence[float]]) -> GradedResponse:
        """Build from per-item threshold lists of any lengths (padded with ``+inf``)."""
        a_ = np.ascontiguousarray(a, dtype=np.float64).reshape(-1)
        width = max((len(t) for t in thresholds), default=1)
        table = np.full((len(thresholds), width), np.inf)
        for i, steps in enumerate(thresholds):
            table[i, : len(steps)] = steps
        return cls(a_, table)

    @property
    def n_items(self) -> int:
        """Number of items."""
        return int(self.a.shape[0])

    @property
    def n_categories(self) -> int:
        """Widest item's number of categories, ``K + 1``."""
        return int(self.thresholds.shape[1]) + 1

    def take(self, index: NDArray[np.intp]) -> GradedResponse:
        """The items at ``index``."""
        return GradedResponse(self.a[index], self.thresholds[index])

    def _z(self, theta: ArrayLike) -> Array:
        t = as_theta(theta)  # (1|n, Q)
        return np.asarray(self.a[:, None, None] * (t[:, None, :] - self.thresholds[:, :, None]))

    def probabilities(self, theta: ArrayLike) -> Array:
        """Category probabilities, shape ``(n, K + 1, Q)``.

        Each difference of boundary probabilities is taken on the side where it does not
        cancel: ``expit(-z_{k+1}) - expit(-z_k)`` above the threshold, so small probabilities
        keep their relative precision far from the item.
        """
        z = self._z(theta)  # (n, K, Q)
        n, k, q = z.shape
        upper = np.empty((n, k + 2, q))  # P*_0 .. P*_{K+1}
        lower = np.empty((n, k + 2, q))  # 1 - P*_k
        upper[:, 0, :] = 1.0
        lower[:, 0, :] = 0.0
        upper[:, 1:-1, :] = expit(z)
        lower[:, 1:-1, :] = expit(-z)
        upper[:, -1, :] = 0.0
        lower[:, -1, :] = 1.0
        direct = upper[:, :-1, :] - upper[:, 1:, :]
        complement = lower[:, 1:, :] - lower[:, :-1, :]
        # P_k = P*_k - P*_{k+1} cancels when both are near 1, i.e. when z_{k+1} > 0.
        positive = np.empty((n, k + 1, q), dtype=bool)
        positive[:, :-1, :] = z > 0
        positive[:, -1, :] = False
        return np.where(positive, complement, direct)

    def derivatives(self, theta: ArrayLike) -> tuple[Array, Array, Array]:
        """Category probabilities and first and second derivatives, ``(n, K + 1, Q)``."""
        p = self.probabilities(theta)
        z = self._z(theta)
        star = expit(z)
        core = star * (1.0 - star)
        a = self.a[:, None, None]
        d1 = a * core
        d2 = a * a * core * (1.0 - 2.0 * star)
        n, _, q = z.shape
        pad = np.zeros((n, 1, q))
        d1_full = np.concatenate((pad, d1, pad), axis=1)
        d2_full = np.concatenate((pad, d2, pad), axis=1)
        return p, d1_full[:, :-1] - d1_full[:, 1:], d2_full[:, :-1] - d2_full[:, 1:]

    def information(self, theta: ArrayLike) -> Array:
        """Fisher information, shape ``(n, Q)``."""
        p, dp, _ = self.derivatives(theta)
        return information_from_derivatives(p, dp)
