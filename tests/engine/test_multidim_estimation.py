"""Joint estimation under the multivariate-normal prior, against brute-force integrals.

Golden values: the posterior mean, covariance and marginals on a product grid (81 points a
side), the exact MAP by a general-purpose optimiser, the unidimensional estimators when the
competencies are independent. Properties by hypothesis; degenerate patterns.
"""

from __future__ import annotations

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from engine.errors import PoolError
from engine.estimation import Grid, GridTables, eap, map_estimate
from engine.multidim import JointPosterior, MvnPrior
from engine.pool import ItemPool, compile_pool
from engine.synthetic import synthetic_bank
from tests.engine.multidim_reference import log_posterior, product_grid_posterior


def equicorrelation(k: int, rho: float) -> np.ndarray:
    r = np.full((k, k), rho)
    np.fill_diagonal(r, 1.0)
    return r


def pool_with(model: str, k: int, rho: float, n_items: int = 60, seed: int = 3) -> ItemPool:
    return compile_pool(synthetic_bank(n_items, model, k, seed, correlation=rho))  # type: ignore[arg-type]


def pattern(
    pool: ItemPool, n: int, seed: int, *, truth: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    items = rng.choice(pool.n_items, n, replace=False).astype(np.intp)
    theta = truth if truth is not None else rng.standard_normal(pool.n_competencies) * 1.2
    cats = []
    for item in items.tolist():
        probs = pool.response_probabilities(item, float(theta[pool.competency[item]]))
        cats.append(int(np.searchsorted(np.cumsum(probs)[:-1], rng.random(), side="right")))
    return items, np.array(cats, dtype=np.intp)


CASES = [
    # model, K, rho, items, seed, forced pattern
    ("2pl", 2, 0.6, 1, 1, None),
    ("2pl", 2, 0.9, 12, 2, None),
    ("3pl", 2, 0.6, 8, 3, None),
    ("3pl", 3, 0.7, 30, 4, None),
    ("2pl", 3, 0.5, 40, 5, 1),  # all right
    ("2pl", 3, 0.5, 40, 6, 0),  # all wrong
    ("3pl", 3, 0.8, 20, 7, 0),  # all wrong, 3PL (non-concave likelihood)
    ("grm", 2, 0.6, 10, 8, None),
    ("gpcm", 3, 0.4, 15, 9, None),
    ("2pl", 3, -0.3, 20, 10, None),
]


@pytest.mark.parametrize(("model", "k", "rho", "n", "seed", "forced"), CASES)
def test_eap_matches_the_product_grid_integral(
    model: str, k: int, rho: float, n: int, seed: int, forced: int | None
) -> None:
    pool = pool_with(model, k, rho)
    assert pool.correlation is not None
    joint = JointPosterior(pool, MvnPrior.build(0.0, 1.0, pool.correlation))
    items, cats = pattern(pool, n, seed)
    if forced is not None:
        cats = np.where(forced == 1, pool.n_categories[items] - 1, 0).astype(np.intp)
    mean, cov, _, _ = product_grid_posterior(pool, pool.correlation, items, cats)
    sd = np.sqrt(np.diag(cov))
    estimate = joint.eap(items, cats)
    # Documented accuracy: 0.02 posterior SDs in the mean, 3 % in the SDs (512 QMC points).
    assert np.abs(estimate.theta - mean).max() <= 0.02 * sd.min()
    np.testing.assert_allclose(estimate.se, sd, rtol=0.03)
    np.testing.assert_allclose(estimate.covariance, cov, atol=0.03 * sd.max() ** 2)


@pytest.mark.parametrize(("model", "k", "rho", "n", "seed", "forced"), CASES)
def test_map_is_the_exact_mode(
    model: str, k: int, rho: float, n: int, seed: int, forced: int | None
) -> None:
    pool = pool_with(model, k, rho)
    assert pool.correlation is not None
    joint = JointPosterior(pool, MvnPrior.build(0.0, 1.0, pool.correlation))
    items, cats = pattern(pool, n, seed)
    if forced is not None:
        cats = np.where(forced == 1, pool.n_categories[items] - 1, 0).astype(np.intp)
    estimate = joint.map(items, cats)
    best = minimize(
        lambda t: -log_posterior(pool, pool.correlation, items, cats, t),
        estimate.theta + 0.3,
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-13, "maxiter": 20000},
    )
    exact = log_posterior(pool, pool.correlation, items, cats, estimate.theta)
    assert exact >= -best.fun - 1e-9  # nothing better than our mode
    np.testing.assert_allclose(estimate.theta, best.x, atol=1e-4)
    # Laplace covariance: (diag(I(theta)) + Lambda)^{-1}, Fisher information from the pool.
    info = np.zeros(k)
    for item in items.tolist():
        p, dp, _ = pool.derivatives(
            np.array([item]), np.array([estimate.theta[pool.competency[item]]])
        )
        info[pool.competency[item]] += float(
            (dp[0, :, 0] ** 2 / np.maximum(p[0, :, 0], 1e-300)).sum()
        )
    expected = np.linalg.inv(np.diag(info) + np.linalg.inv(pool.correlation))
    np.testing.assert_allclose(estimate.covariance, expected, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(estimate.se, np.sqrt(np.diag(expected)), rtol=1e-6)


def test_marginal_posteriors_match_the_product_grid() -> None:
    pool = pool_with("2pl", 2, 0.7)
    assert pool.correlation is not None
    tables = GridTables(pool, Grid.normal(-6.0, 6.0, 81))
    joint = JointPosterior(pool, MvnPrior.build(0.0, 1.0, pool.correlation), tables)
    for seed, n in ((11, 3), (12, 25)):
        items, cats = pattern(pool, n, seed)
        _, _, exact, _ = product_grid_posterior(pool, pool.correlation, items, cats)
        ours = joint.marginals(items, cats)
        np.testing.assert_allclose(ours.sum(axis=1), 1.0)
        assert np.abs(np.cumsum(ours, axis=1) - np.cumsum(exact, axis=1)).max() < 0.01


def test_independent_competencies_reduce_to_the_unidimensional_estimators() -> None:
    pool = pool_with("3pl", 3, 0.5)
    identity = np.eye(3)
    tables = GridTables(pool, Grid.normal(-8.0, 8.0, 161))
    joint = JointPosterior(pool, MvnPrior.build(0.0, 1.0, identity), tables)
    items, cats = pattern(pool, 24, 21)
    joint_map = joint.map(items, cats)
    joint_eap = joint.eap(items, cats)
    for k in range(3):
        mine = pool.competency[items] == k
        single_map = map_estimate(pool, tables, items[mine], cats[mine])
        assert joint_map.theta[k] == pytest.approx(single_map.theta, abs=1e-6)
        assert joint_map.se[k] == pytest.approx(single_map.se, rel=1e-6)
        single_eap = eap(tables, items[mine], cats[mine])
        assert joint_eap.theta[k] == pytest.approx(single_eap.theta, abs=0.02 * single_eap.se)
        assert joint_eap.se[k] == pytest.approx(single_eap.se, rel=0.03)


def test_an_answer_informs_the_other_competencies_through_the_correlation() -> None:
    pool = pool_with("2pl", 3, 0.7)
    assert pool.correlation is not None
    joint = JointPosterior(pool, MvnPrior.build(0.0, 1.0, pool.correlation))
    on_first = np.flatnonzero(pool.competency == 0)[:3]
    right = joint.eap(on_first, np.ones(3, dtype=np.intp))
    wrong = joint.eap(on_first, np.zeros(3, dtype=np.intp))
    assert right.theta[1] > 0.1 and right.theta[2] > 0.1
    assert wrong.theta[1] < -0.1
    assert right.se[1] < 1.0  # the other competencies' uncertainty shrinks as well
    independent = JointPosterior(pool, MvnPrior.build(0.0, 1.0, np.eye(3)))
    alone = independent.eap(on_first, np.ones(3, dtype=np.intp))
    assert alone.theta[1] == pytest.approx(0.0, abs=0.02)  # the prior, to the EAP's accuracy
    assert alone.se[1] == pytest.approx(1.0, rel=0.03)
    alone_map = independent.map(on_first, np.ones(3, dtype=np.intp))
    assert alone_map.theta[1] == 0.0 and alone_map.se[1] == pytest.approx(1.0, rel=1e-12)


def test_no_answers_give_the_prior() -> None:
    pool = pool_with("2pl", 3, 0.4)
    assert pool.correlation is not None
    joint = JointPosterior(pool, MvnPrior.build(0.5, 2.0, pool.correlation))
    none = np.zeros(0, dtype=np.intp)
    for estimate in (joint.eap(none, none), joint.map(none, none)):
        np.testing.assert_allclose(estimate.theta, 0.5)
        np.testing.assert_allclose(estimate.se, 2.0)


@pytest.mark.parametrize("category", [0, 1])
def test_a_competency_with_one_item_and_extreme_patterns_stay_finite(category: int) -> None:
    bank = synthetic_bank(61, "3pl", 2, seed=5, correlation=0.6)
    # Competency c2 keeps one item: the others move to c1.
    moved = tuple(
        msgspec.structs.replace(item, competency="c1")
        if item.competency == "c2" and item.id != "s02"
        else item
        for item in bank.items
    )
    pool = compile_pool(msgspec.structs.replace(bank, items=moved))
    assert int((pool.competency == 1).sum()) == 1
    assert pool.correlation is not None
    joint = JointPosterior(pool, MvnPrior.build(0.0, 1.0, pool.correlation))
    given = np.arange(pool.n_items, dtype=np.intp)
    cats = np.full(given.size, category, dtype=np.intp)
    for estimate in (joint.eap(given, cats), joint.map(given, cats)):
        assert np.isfinite(estimate.theta).all() and np.isfinite(estimate.se).all()
        assert (estimate.se < 1.0).all()
        direction = 1.0 if category else -1.0
        assert (direction * estimate.theta > 0.5).all()
    mean, cov, _, _ = product_grid_posterior(pool, pool.correlation, given, cats)
    estimate = joint.eap(given, cats)
    assert np.abs(estimate.theta - mean).max() <= 0.02 * np.sqrt(np.diag(cov)).min()


def test_a_singular_correlation_cannot_be_a_prior() -> None:
    with pytest.raises(PoolError, match="not positive definite"):
        MvnPrior.build(0.0, 1.0, np.array([[1.0, 1.0], [1.0, 1.0]]))
    with pytest.raises(PoolError, match="symmetric"):
        MvnPrior.build(0.0, 1.0, np.array([[1.0, 0.2], [0.3, 1.0]]))


@settings(max_examples=40, deadline=None)
@given(
    rho=st.floats(-0.45, 0.95),
    seed=st.integers(0, 10_000),
    n=st.integers(0, 30),
    extra=st.integers(1, 10),
)
def test_posterior_covariances_are_positive_definite_and_shrink_with_items(
    rho: float, seed: int, n: int, extra: int
) -> None:
    pool = POOL_3
    correlation = equicorrelation(3, rho)
    joint = JointPosterior(pool, MvnPrior.build(0.0, 1.0, correlation))
    items, cats = pattern(pool, n + extra, seed)
    for estimate in (joint.map(items, cats), joint.eap(items, cats)):
        assert np.linalg.eigvalsh(estimate.covariance).min() > 0
        assert np.isfinite(estimate.theta).all()
    # At a fixed ability, more items never raise any competency's Laplace SE (Loewner order).
    theta = np.random.default_rng(seed).standard_normal(3)
    fewer = joint.laplace_covariance(joint.likelihood.information(items[:n], theta))
    more = joint.laplace_covariance(joint.likelihood.information(items, theta))
    assert (np.diag(more) <= np.diag(fewer) + 1e-12).all()
    assert np.linalg.eigvalsh(fewer - more).min() >= -1e-10


POOL_3 = pool_with("2pl", 3, 0.5, n_items=90, seed=17)
