"""The E-step's matrix products equal the per-person definition, however the data are cut."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp

from calibration.data import collapse, from_array
from calibration.em import EMOptions, calibrate, squarem
from calibration.estep import Design
from calibration.models import Family
from calibration.priors import DEFAULT_PRIORS
from calibration.quadrature import Quadrature


def mixed_problem(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, Quadrature]:
    """Three 2PL items and two 4-category GRM items, 30 % missing, with log-probabilities."""
    rng = np.random.default_rng(seed)
    quad = Quadrature.grid(21, -5, 5)
    dich = Family("2pl", 2, DEFAULT_PRIORS)
    grm = Family("grm", 4, DEFAULT_PRIORS)
    xi_d = np.column_stack((rng.uniform(0.5, 2, 3), rng.normal(size=3), np.zeros(3), np.zeros(3)))
    xi_g = np.column_stack((rng.uniform(0.5, 2, 2), rng.normal(1, 0.3, 2), rng.normal(size=(2, 2))))
    p = np.zeros((5, 4, quad.n_points))
    p[:3, :2] = dich.probabilities(xi_d, quad.points)
    p[3:] = grm.probabilities(xi_g, quad.points)
    cats = np.array([2, 2, 2, 4, 4])
    responses = np.column_stack(
        (rng.integers(0, 2, size=(200, 3)), rng.integers(0, 4, size=(200, 2)))
    ).astype(np.int8)
    responses[rng.random(responses.shape) < 0.3] = -1
    return responses, cats, np.log(np.maximum(p, 1e-300)), quad


def brute_force(
    responses: np.ndarray, log_p: np.ndarray, log_prior: np.ndarray
) -> tuple[np.ndarray, float]:
    counts = np.zeros_like(log_p)
    loglik = 0.0
    for row in responses:  # the definition, one person at a time
        ll = log_prior.copy()
        for j, x in enumerate(row):
            if x >= 0:
                ll += log_p[j, x]
        loglik += float(logsumexp(ll))
        w = np.exp(ll - logsumexp(ll))
        for j, x in enumerate(row):
            if x >= 0:
                counts[j, x] += w
    return counts, loglik


def test_e_step_equals_the_per_person_definition() -> None:
    responses, cats, log_p, quad = mixed_problem()
    log_prior = quad.log_weights()
    expected_counts, expected_ll = brute_force(responses, log_p, log_prior)
    design = Design(responses, np.ones(len(responses)), cats)
    result = design.e_step(log_p, log_prior)
    np.testing.assert_allclose(result.counts, expected_counts, atol=1e-10)
    assert result.loglik == pytest.approx(expected_ll, rel=1e-12)
    assert result.node_counts.sum() == pytest.approx(len(responses))
    # Each item's counts add up to the number of persons who answered it.
    np.testing.assert_allclose(result.counts.sum(axis=(1, 2)), (responses >= 0).sum(axis=0))


@pytest.mark.parametrize(("chunk_rows", "cache_bytes"), [(7, 0), (64, 10**9), (1000, 0)])
def test_chunking_and_caching_do_not_change_the_result(chunk_rows: int, cache_bytes: int) -> None:
    responses, cats, log_p, quad = mixed_problem(1)
    reference = Design(responses, np.ones(len(responses)), cats).e_step(log_p, quad.log_weights())
    design = Design(
        responses, np.ones(len(responses)), cats, chunk_rows=chunk_rows, cache_bytes=cache_bytes
    )
    for _ in range(2):  # second pass reads the cache where there is one
        result = design.e_step(log_p, quad.log_weights())
        np.testing.assert_allclose(result.counts, reference.counts, atol=1e-10)
        assert result.loglik == pytest.approx(reference.loglik, rel=1e-13)


def test_collapsed_patterns_with_counts_equal_the_expanded_data() -> None:
    responses, cats, log_p, quad = mixed_problem(2)
    doubled = np.concatenate((responses, responses))
    patterns = collapse(doubled)
    assert patterns.n_patterns < len(doubled)
    a = Design(doubled, np.ones(len(doubled)), cats).e_step(log_p, quad.log_weights())
    b = Design(patterns.patterns, patterns.counts, cats).e_step(log_p, quad.log_weights())
    np.testing.assert_allclose(a.counts, b.counts, atol=1e-9)
    assert a.loglik == pytest.approx(b.loglik, rel=1e-12)


@pytest.mark.parametrize("accelerate", ["none", "squarem"])
def test_em_never_decreases_the_likelihood(accelerate: str) -> None:
    rng = np.random.default_rng(3)
    a, b = rng.uniform(0.6, 2, 10), rng.normal(size=10)
    theta = rng.standard_normal(800)
    p = 1 / (1 + np.exp(-a[None] * (theta[:, None] - b[None])))
    data = from_array((rng.random(p.shape) < p).astype(np.int8))
    options = EMOptions(accelerate=accelerate, tol=1e-9)  # type: ignore[arg-type]
    fit = calibrate(data, "2pl", options=options)
    history = np.array(fit.trace.history)  # log-likelihood where each cycle starts
    assert history.size > 3
    assert np.all(np.diff(history) >= -1e-8 * abs(history[0]))


def test_squarem_reaches_the_fixed_point_of_a_slow_linear_map() -> None:
    target = np.array([1.0, -2.0, 3.0])
    rate = np.diag([0.99, 0.9, 0.5])

    def em_map(x: np.ndarray) -> tuple[np.ndarray, float, float]:
        new = target + rate @ (x - target)
        value = -float(np.sum((x - target) ** 2))
        return new, value, value

    x, trace = squarem(em_map, np.zeros(3), tol=1e-10, max_em_steps=5000)
    np.testing.assert_allclose(x, target, atol=1e-8)
    plain_steps = int(np.ceil(np.log(1e-10 / 3) / np.log(0.99)))
    assert trace.converged
    assert trace.em_steps < plain_steps / 10


def test_person_weights_equal_replicated_persons() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.uniform(0.6, 2, 8), rng.normal(size=8)
    theta = rng.standard_normal(600)
    p = 1 / (1 + np.exp(-a[None] * (theta[:, None] - b[None])))
    matrix = (rng.random(p.shape) < p).astype(np.int8)
    weights = rng.integers(1, 4, size=600).astype(np.float64)
    weighted = calibrate(from_array(matrix), "2pl", weights=weights)
    replicated = calibrate(from_array(np.repeat(matrix, weights.astype(int), axis=0)), "2pl")
    assert weighted.loglik == pytest.approx(replicated.loglik, rel=1e-9)
    for i in range(8):
        np.testing.assert_allclose(weighted.irt_vector(i), replicated.irt_vector(i), atol=1e-6)


@pytest.mark.parametrize(("model", "linear"), [("2pl", True), ("gpcm", True), ("3pl", False)])
def test_linear_log_odds_shortcut_equals_the_full_product(model: str, linear: bool) -> None:
    rng = np.random.default_rng(11)
    top = 3 if model == "gpcm" else 1
    matrix = rng.integers(0, top + 1, size=(300, 6)).astype(np.int8)
    matrix[rng.random(matrix.shape) < 0.2] = -1
    fit = calibrate(from_array(matrix), model, options=EMOptions(max_em_steps=3))  # type: ignore[arg-type]
    cal = fit.model
    factors = cal.low_rank(cal.xi)
    assert (factors is not None) == linear
    if factors is None:
        return
    log_p, prior = cal.log_probabilities(cal.xi), cal.quadrature.log_weights()
    full = cal.design.e_step(log_p, prior)
    short = cal.design.e_step(log_p, prior, factors)
    np.testing.assert_allclose(short.counts, full.counts, atol=1e-10)
    assert short.loglik == pytest.approx(full.loglik, rel=1e-12)


def test_subsample_warm_start_reaches_the_same_estimate() -> None:
    rng = np.random.default_rng(12)
    a, b = rng.uniform(0.7, 2, 40), rng.uniform(-2, 2, 40)
    theta = rng.standard_normal(24_000)
    p = 1 / (1 + np.exp(-a[None] * (theta[:, None] - b[None])))
    data = from_array((rng.random(p.shape) < p).astype(np.int8))
    assert collapse(data.responses).n_patterns >= 20_000  # the warm start applies
    tight = calibrate(data, "2pl", options=EMOptions(tol=1e-8, warm_start=False))
    for warm in (True, False):
        fit = calibrate(data, "2pl", options=EMOptions(warm_start=warm))
        assert fit.converged
        for i in range(40):
            np.testing.assert_allclose(fit.irt_vector(i), tight.irt_vector(i), atol=3e-3)
        assert fit.loglik == pytest.approx(tight.loglik, abs=0.05)
