"""Vectorised person scoring equals the engine's one-learner estimators, edge cases included."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.scoring import METHODS, Method, score
from calibration.simulate import simulate_responses
from engine.estimation import Grid, GridTables, eap, map_estimate, mle, wle
from engine.pool import ItemPool, compile_pool
from engine.synthetic import synthetic_bank


def reference(
    pool: ItemPool, tables: GridTables, row: np.ndarray, method: Method
) -> tuple[float, float]:
    items = np.flatnonzero(row >= 0)
    cats = row[items].astype(np.intp)
    if method == "eap":
        est = eap(tables, items, cats)
    elif method == "map":
        est = map_estimate(pool, tables, items, cats)
    elif method == "ml":
        est = mle(pool, items, cats)
    else:
        est = wle(pool, items, cats)
    return est.theta, est.se


@pytest.mark.parametrize("model", ["2pl", "3pl", "grm", "gpcm"])
def test_every_method_equals_the_engine_for_every_person(model: str) -> None:
    pool = compile_pool(synthetic_bank(25, model, 1, seed=2))  # type: ignore[arg-type]
    rng = np.random.default_rng(1)
    responses = simulate_responses(pool, rng.normal(size=120), rng)
    responses[rng.random(responses.shape) < 0.6] = -1
    top = pool.n_categories[:25] - 1
    responses[0] = -1  # nothing answered
    responses[1] = -1
    responses[1, :4] = top[:4]  # all at the maximum
    responses[2] = -1
    responses[2, :3] = 0  # all at zero
    responses[3] = -1
    responses[3, 7] = 1  # a single response
    tables = GridTables(pool, Grid.normal())
    for method in METHODS:
        scores = score(pool, np.arange(25), responses, method)
        expected = np.array([reference(pool, tables, row, method) for row in responses])
        np.testing.assert_allclose(scores.theta, expected[:, 0], atol=1e-6, err_msg=method)
        np.testing.assert_allclose(scores.se, expected[:, 1], atol=1e-6, err_msg=method)
        assert np.isfinite(scores.theta).all() and np.isfinite(scores.se).all()
        np.testing.assert_array_equal(scores.n_responses, (responses >= 0).sum(axis=1))


def test_documented_edge_cases() -> None:
    pool = compile_pool(synthetic_bank(10, "2pl", 1, seed=4))
    responses = np.full((3, 10), -1, dtype=np.int8)
    responses[1, :5] = 1
    responses[2, :5] = 0
    ml = score(pool, np.arange(10), responses, "ml")
    assert ml.theta.tolist() == [0.0, 4.0, -4.0]  # start; the bounds for perfect patterns
    assert ml.se[0] == 10.0
    eap_scores = score(pool, np.arange(10), responses, "eap")
    assert abs(eap_scores.theta[0]) < 1e-12 and eap_scores.se[0] == pytest.approx(1.0, abs=1e-6)
    assert eap_scores.theta[2] < 0 < eap_scores.theta[1]
    custom = score(pool, np.arange(10), responses, "ml", bounds=(-3.0, 3.0), se_max=5.0)
    assert custom.theta.tolist() == [0.0, 3.0, -3.0]


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=0, max_value=2**31), st.sampled_from(list(METHODS)))
def test_scores_are_finite_and_inside_their_bounds(seed: int, method: Method) -> None:
    pool = compile_pool(synthetic_bank(8, "3pl", 1, seed=seed % 50))
    rng = np.random.default_rng(seed)
    responses = rng.integers(-1, 2, size=(30, 8)).astype(np.int8)
    scores = score(pool, np.arange(8), responses, method)
    assert np.isfinite(scores.theta).all()
    assert np.all(scores.se > 0)
    if method in ("ml", "wle"):
        assert np.all(np.abs(scores.theta) <= 4.0)
    else:
        assert np.all(np.abs(scores.theta) < 8.0)
