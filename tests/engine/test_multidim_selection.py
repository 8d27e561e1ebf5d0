"""Multidimensional selection criteria against their definitions, matrix by matrix."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.multidim import JOINT_METHODS, JointCriteria
from engine.pool import compile_pool
from engine.synthetic import synthetic_bank

POOL = compile_pool(synthetic_bank(40, "2pl", 4, seed=2, correlation=0.5))


def precision_matrix(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((4, 4))
    return a @ a.T + np.diag(rng.uniform(0.5, 5.0, 4))


def brute(
    method: str, information: np.ndarray, precision: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Each criterion computed from its definition with the candidate's full update."""
    out = []
    for item, info in enumerate(information):
        k = int(POOL.competency[item])
        updated = precision.copy()
        updated[k, k] += info
        cov_before = np.linalg.inv(precision)
        cov_after = np.linalg.inv(updated)
        w = np.diag(weights)
        if method == "d_optimal":  # det ratio - 1 is monotone in the criterion; equal to it
            out.append(np.linalg.det(updated) / np.linalg.det(precision) - 1.0)
        elif method == "a_optimal":
            out.append(np.trace(w @ cov_before) - np.trace(w @ cov_after))
        elif method == "c_optimal":
            out.append(weights @ cov_before @ weights - weights @ cov_after @ weights)
        elif method == "t_optimal":
            out.append(np.trace(w @ updated) - np.trace(w @ precision))
        else:
            out.append(np.linalg.eigvalsh(updated).min())
    return np.array(out)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), method=st.sampled_from(JOINT_METHODS))
def test_every_criterion_equals_its_definition(seed: int, method: str) -> None:
    rng = np.random.default_rng(seed)
    information = rng.uniform(0.0, 2.0, POOL.n_items)
    weights = rng.uniform(0.2, 3.0, 4)
    precision = precision_matrix(seed)
    ours = JointCriteria(POOL, method, weights).criterion(information, precision)
    np.testing.assert_allclose(
        ours, brute(method, information, precision, weights), rtol=1e-8, atol=1e-10
    )


def test_d_optimality_prefers_the_least_known_competency() -> None:
    information = np.ones(POOL.n_items)
    precision = np.diag([10.0, 10.0, 2.0, 10.0])  # competency 3 is the least known
    values = JointCriteria(POOL, "d_optimal").criterion(information, precision)
    assert POOL.competency[int(np.argmax(values))] == 2


def test_unknown_criteria_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown joint criterion"):
        JointCriteria(POOL, "f_optimal")
