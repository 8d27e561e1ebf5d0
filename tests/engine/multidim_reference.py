"""Brute-force references for the correlated engine: the posterior on a product grid.

For ``K <= 3`` competencies the posterior is tabulated on every point of a ``Q^K`` grid
(81 points a side on [-6, 6], rectangular rule): means, covariances and marginals to far
better than the estimators' promised accuracy. Independent of the code under test: the
likelihood comes from the pool's category probabilities, the prior from numpy.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from engine.pool import ItemPool

Array = NDArray[np.float64]


def product_grid_posterior(
    pool: ItemPool,
    correlation: Array,
    items: NDArray[np.intp],
    categories: NDArray[np.intp],
    *,
    points: int = 81,
    span: float = 6.0,
    mean: float = 0.0,
    sd: float = 1.0,
) -> tuple[Array, Array, Array, Array]:
    """Posterior mean, covariance, marginals ``(K, Q)`` and the grid of one pattern."""
    k = correlation.shape[0]
    grid = np.linspace(-span, span, points)
    probabilities = pool.probabilities(grid)
    loglik = np.zeros((k, points))
    for item, category in zip(items.tolist(), categories.tolist(), strict=True):
        loglik[pool.competency[item]] += np.log(np.maximum(probabilities[item, category], 1e-300))
    index = np.stack(np.meshgrid(*[np.arange(points)] * k, indexing="ij"), axis=-1).reshape(-1, k)
    mesh = grid[index]
    covariance = sd * sd * correlation
    precision = np.linalg.inv(covariance)
    centred = mesh - mean
    log_post = -0.5 * np.einsum("nk,kl,nl->n", centred, precision, centred)
    for d in range(k):
        log_post += loglik[d][index[:, d]]
    weights = np.exp(log_post - log_post.max())
    weights /= weights.sum()
    posterior_mean = weights @ mesh
    deviation = mesh - posterior_mean
    posterior_cov = (deviation * weights[:, None]).T @ deviation
    marginals = np.stack(
        [np.bincount(index[:, d], weights=weights, minlength=points) for d in range(k)]
    )
    return posterior_mean, posterior_cov, marginals.astype(np.float64), grid


def log_posterior(
    pool: ItemPool,
    correlation: Array,
    items: NDArray[np.intp],
    categories: NDArray[np.intp],
    theta: Array,
) -> float:
    """The exact log posterior (up to a constant) at one ability vector."""
    total = 0.0
    for item, category in zip(items.tolist(), categories.tolist(), strict=True):
        p = pool.probabilities(np.array([theta[pool.competency[item]]]))[item, category, 0]
        total += float(np.log(max(p, 1e-300)))
    precision = np.linalg.inv(correlation)
    return total - 0.5 * float(theta @ precision @ theta)
