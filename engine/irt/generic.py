"""What every IRT model family shares: the theta convention, information and likelihood.

Shapes
------
A family of ``n`` items evaluates at ``theta`` given either as a 1-D array of ``Q`` ability
points (every item at every point: results ``(n, Q)`` or ``(n, C, Q)``) or as a 2-D array of
shape ``(n, Q)`` / ``(n, 1)`` (each item at its own points). ``C`` is the family's largest
number of score categories; categories an item does not have get probability 0.
"""

from __future__ import annotations

from typing import Protocol, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


def as_theta(theta: ArrayLike) -> Array:
    """Return ``theta`` as a float array broadcastable against ``(n_items, Q)``.

    A scalar or 1-D input becomes ``(1, Q)``; a 2-D input is taken as ``(n, Q)`` per item.
    """
    t = np.asarray(theta, dtype=np.float64)
    if t.ndim == 0:
        return t.reshape(1, 1)
    if t.ndim == 1:
        return t[None, :]
    if t.ndim == 2:
        return t
    raise ValueError(f"theta must be a scalar, 1-D or 2-D array, got shape {t.shape}")


class Family(Protocol):
    """A set of items of one IRT model family, with parameters as arrays."""

    @property
    def n_items(self) -> int:
        """Number of items."""
        ...

    @property
    def n_categories(self) -> int:
        """Largest number of score categories of an item of this family."""
        ...

    def probabilities(self, theta: ArrayLike) -> Array:
        """Category probabilities, shape ``(n, C, Q)``."""
        ...

    def derivatives(self, theta: ArrayLike) -> tuple[Array, Array, Array]:
        """Category probabilities and their first and second theta-derivatives."""
        ...

    def information(self, theta: ArrayLike) -> Array:
        """Fisher information, shape ``(n, Q)``."""
        ...

    def take(self, index: NDArray[np.intp]) -> Self:
        """The sub-family of the items at ``index``."""
        ...


def information_from_derivatives(p: Array, dp: Array) -> Array:
    r"""Item Fisher information from category probabilities and their derivatives.

    .. math:: I_i(\theta) = \sum_k \frac{P_{ik}'(\theta)^2}{P_{ik}(\theta)}

    Categories with ``P = 0`` (absent categories, or underflow far from the item) add 0.

    Parameters
    ----------
    p, dp
        Arrays of shape ``(n, C, Q)``.

    Returns
    -------
    ndarray
        Shape ``(n, Q)``.

    References
    ----------
    Samejima, F. (1969). Estimation of latent ability using a response pattern of graded
    scores. *Psychometrika Monograph Supplement*, 17.
    """
    ratio = np.divide(dp * dp, p, out=np.zeros_like(p), where=p > 0)
    return np.asarray(ratio.sum(axis=1))


def expected_second_derivative(p: Array, dp: Array, d2p: Array) -> Array:
    r"""Minus the expected second derivative of the item log-likelihood.

    .. math:: -E\left[\frac{\partial^2 \log P_{iU}}{\partial\theta^2}\right]
              = \sum_k \left(\frac{P_{ik}'^2}{P_{ik}} - P_{ik}''\right)

    Because :math:`\sum_k P_{ik}'' = 0`, this equals the Fisher information; the identity is
    what the property tests check, with derivatives taken numerically.
    """
    ratio = np.divide(dp * dp, p, out=np.zeros_like(p), where=p > 0)
    return np.asarray((ratio - d2p).sum(axis=1))


def warm_correction(p: Array, dp: Array, d2p: Array) -> tuple[Array, Array]:
    r"""The two sums Warm's weighted likelihood estimator needs, per item.

    .. math:: I_i = \sum_k \frac{P_{ik}'^2}{P_{ik}}, \qquad
              J_i = \sum_k \frac{P_{ik}' P_{ik}''}{P_{ik}}

    The WLE solves :math:`\sum_i \partial \log P_{iu_i}/\partial\theta + J / (2I) = 0` with
    :math:`I = \sum_i I_i` and :math:`J = \sum_i J_i`.

    References
    ----------
    Warm, T. A. (1989). Weighted likelihood estimation of ability in item response theory.
    *Psychometrika*, 54(3), 427-450. Samejima, F. (1998). Expansion of Warm's weighted
    likelihood estimator of ability for the three-parameter logistic model to general
    discrete responses. Paper at the annual meeting of NCME.
    """
    info = np.divide(dp * dp, p, out=np.zeros_like(p), where=p > 0).sum(axis=1)
    j = np.divide(dp * d2p, p, out=np.zeros_like(p), where=p > 0).sum(axis=1)
    return np.asarray(info), np.asarray(j)
