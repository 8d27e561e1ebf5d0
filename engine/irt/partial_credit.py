r"""Muraki's generalised partial credit model (GPCM), logistic metric with D = 1.

For an item with slope :math:`a` and step difficulties :math:`b_1, \dots, b_K`,

.. math:: P_k(\theta) = \frac{\exp z_k}{\sum_{j=0}^{K} \exp z_j}, \qquad
          z_k = \sum_{v=1}^{k} a(\theta - b_v), \quad z_0 = 0.

With :math:`E = \sum_k k P_k` and :math:`V = \sum_k (k - E)^2 P_k`:

.. math:: P_k' = a P_k (k - E), \qquad P_k'' = a^2 P_k \left[(k - E)^2 - V\right],
          \qquad I(\theta) = a^2 V.

Items with fewer categories than the family's widest have their missing categories' logits
set to :math:`-\infty` (probability exactly 0).

References
----------
Muraki, E. (1992). A generalized partial credit model: Application of an EM algorithm.
*Applied Psychological Measurement*, 16(2), 159-176.
Donoghue, J. R. (1994). An empirical examination of the IRT information of polytomously
scored reading items under the generalized partial credit model. *Journal of Educational
Measurement*, 31(4), 295-311.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import softmax

from engine.irt.generic import Array, as_theta


@dataclass(frozen=True, slots=True)
class GeneralizedPartialCredit:
    """GPCM items: slopes ``a`` ``(n,)`` and steps ``(n, K)`` padded with NaN."""

    a: Array
    thresholds: Array

    @classmethod
    def from_lists(
        cls, a: ArrayLike, thresholds: Sequence[Sequence[float]]
    ) -> GeneralizedPartialCredit:
        """Build from per-item step lists of any lengths (padded with NaN)."""
        a_ = np.ascontiguousarray(a, dtype=np.float64).reshape(-1)
        width = max((len(t) for t in thresholds), default=1)
        table = np.full((len(thresholds), width), np.nan)
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

    def take(self, index: NDArray[np.intp]) -> GeneralizedPartialCredit:
        """The items at ``index``."""
        return GeneralizedPartialCredit(self.a[index], self.thresholds[index])

    def _logits(self, theta: ArrayLike) -> Array:
        t = as_theta(theta)  # (1|n, Q)
        valid = ~np.isnan(self.thresholds)
        steps = np.where(valid, self.thresholds, 0.0)
        n, k = steps.shape
        cum = np.zeros((n, k + 1))
        cum[:, 1:] = np.cumsum(steps, axis=1)
        scores = np.arange(k + 1, dtype=np.float64)
        z = self.a[:, None, None] * (
            scores[None, :, None] * t[:, None, :] - cum[:, :, None]
        )  # (n, K+1, Q)
        present = np.ones((n, k + 1), dtype=bool)
        present[:, 1:] = valid
        return np.where(present[:, :, None], z, -np.inf)

    def probabilities(self, theta: ArrayLike) -> Array:
        """Category probabilities, shape ``(n, K + 1, Q)``."""
        return np.asarray(softmax(self._logits(theta), axis=1))

    def _moments(self, p: Array) -> tuple[Array, Array, Array]:
        scores = np.arange(p.shape[1], dtype=np.float64)[None, :, None]
        mean = (p * scores).sum(axis=1, keepdims=True)
        centred = scores - mean
        var = (p * centred * centred).sum(axis=1, keepdims=True)
        return scores, centred, var

    def derivatives(self, theta: ArrayLike) -> tuple[Array, Array, Array]:
        """Category probabilities and first and second derivatives, ``(n, K + 1, Q)``."""
        p = self.probabilities(theta)
        _, centred, var = self._moments(p)
        a = self.a[:, None, None]
        return p, a * p * centred, a * a * p * (centred * centred - var)

    def information(self, theta: ArrayLike) -> Array:
        r"""Fisher information :math:`a^2 \operatorname{Var}(X \\mid \\theta)`, ``(n, Q)``."""
        p = self.probabilities(theta)
        _, _, var = self._moments(p)
        return np.asarray((self.a[:, None] ** 2) * var[:, 0, :])
