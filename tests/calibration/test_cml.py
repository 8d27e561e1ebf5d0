"""Conditional ML: the ESFs against enumeration, derivatives, recovery, normalisations, edges.

The golden comparisons with psychotools and eRm are in test_golden_psychotools.py.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.cml import _conditional_first, _eta_matrix, _groups, _information, cml
from calibration.cml_population import fit_population
from calibration.data import ResponseData, from_array
from calibration.em import EMOptions, calibrate
from calibration.errors import CalibrationError, ModelError
from calibration.esf import log_elementary_symmetric


def brute_force_gamma(eta: np.ndarray, cats: list[int], items: list[int]) -> np.ndarray:
    """gamma_r by summing the weights of every response vector (the definition)."""
    top = sum(cats[i] - 1 for i in range(len(cats)))
    out = np.zeros(top + 1)
    for x in itertools.product(*(range(cats[i]) for i in items)):
        out[sum(x)] += math.exp(sum(eta[i, k] for i, k in zip(items, x, strict=True)))
    return out


@settings(max_examples=60, deadline=None)
@given(
    cats=st.lists(st.integers(2, 4), min_size=1, max_size=5),
    data=st.data(),
)
def test_summation_algorithm_equals_the_definition(cats: list[int], data: st.DataObject) -> None:
    j = len(cats)
    eta = np.zeros((j, max(cats)))
    for i, m in enumerate(cats):
        eta[i, 1:m] = data.draw(
            st.lists(st.floats(-6, 6), min_size=m - 1, max_size=m - 1), label=f"eta{i}"
        )
    masks = np.array(
        data.draw(
            st.lists(st.lists(st.booleans(), min_size=j, max_size=j), min_size=1, max_size=4),
            label="masks",
        )
    )
    logs = log_elementary_symmetric(eta, np.array(cats), masks)
    for row, mask in enumerate(masks):
        expected = brute_force_gamma(eta, cats, list(np.flatnonzero(mask)))
        np.testing.assert_allclose(np.exp(logs[row]), expected, rtol=1e-10)


def test_the_functions_survive_weights_beyond_the_floating_point_range() -> None:
    # 400 easy items, weights e^30: gamma_400 = e^12000 overflows a double
    eta = np.zeros((400, 2))
    eta[:, 1] = 30.0
    logs = log_elementary_symmetric(eta, np.full(400, 2), np.ones((1, 400), dtype=bool))[0]
    r = np.arange(401)
    exact = np.array([math.lgamma(401) - math.lgamma(k + 1) - math.lgamma(401 - k) for k in r])
    np.testing.assert_allclose(logs, exact + 30.0 * r, rtol=1e-12, atol=1e-9)
    # a spread of difficulties, 200 items with 3 categories: against the recursion in logs
    eta = np.zeros((200, 3))
    eta[:100, 1:] = [3.0, 5.0]
    eta[100:, 1:] = [-3.0, -7.0]
    logs = log_elementary_symmetric(eta, np.full(200, 3), np.ones((1, 200), dtype=bool))[0]
    reference = np.array([0.0])
    for row in eta:
        new = np.full(reference.size + 2, -np.inf)
        for k in range(3):
            new[k : k + reference.size] = np.logaddexp(
                new[k : k + reference.size], row[k] + reference
            )
        reference = new
    np.testing.assert_allclose(logs, reference, rtol=1e-11, atol=1e-9)
    # gamma_r is log-concave in r (Newton's inequalities for positive weights)
    assert np.all(np.diff(logs, 2) <= 1e-9)


def simulate_pcm(
    n: int, steps: list[list[float]], seed: int, sd: float = 1.0
) -> tuple[ResponseData, np.ndarray]:
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, sd, n)
    out = np.empty((n, len(steps)), dtype=np.int8)
    for j, delta in enumerate(steps):
        k = np.arange(len(delta) + 1)
        eta = -np.concatenate(([0.0], np.cumsum(delta)))
        z = k[None, :] * theta[:, None] + eta[None, :]
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        out[:, j] = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    return from_array(out, item_ids=[f"i{j}" for j in range(len(steps))]), theta


def test_gradient_and_information_are_the_derivatives_of_the_conditional_loglik() -> None:
    data, _ = simulate_pcm(300, [[-0.5, 0.4], [0.2], [0.0, -0.3, 0.8], [1.0]], seed=3)
    responses = data.responses.copy()
    responses[np.random.default_rng(4).random(responses.shape) < 0.15] = -1
    cats = np.array([3, 2, 4, 2])
    groups = _groups(responses, cats)
    eta = np.random.default_rng(5).normal(0, 0.5, int((cats - 1).sum()))

    def loglik(vector: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        ll, prob, lg = _conditional_first(_eta_matrix(vector, cats), cats, groups)
        ll += float(groups.totals @ vector)
        expected = (prob * groups.score_counts[:, None, :]).sum(axis=(0, 2))
        return ll, groups.totals - expected, prob, lg

    _, grad, prob, lg = loglik(eta)
    info = _information(_eta_matrix(eta, cats), cats, groups, prob, lg)
    h = 1e-5
    for p in range(eta.size):
        step = np.zeros_like(eta)
        step[p] = h
        numeric = (loglik(eta + step)[0] - loglik(eta - step)[0]) / (2 * h)
        assert grad[p] == pytest.approx(numeric, rel=1e-6, abs=1e-6)
        hessian_column = (loglik(eta + step)[1] - loglik(eta - step)[1]) / (2 * h)
        np.testing.assert_allclose(-hessian_column, info[:, p], rtol=1e-5, atol=1e-5)
    # the information is singular exactly along the scale shift eta_ik + k c
    k = np.array([1, 2, 1, 1, 2, 3, 1], dtype=float)
    np.testing.assert_allclose(info @ k, 0.0, atol=1e-8)


def test_rasch_recovery() -> None:
    truth = np.linspace(-2.0, 2.0, 15)
    data, _ = simulate_pcm(4000, [[b] for b in truth], seed=11, sd=1.3)
    result = cml(data, "rasch")
    assert result.converged
    estimate, cov = result.estimates("mean")
    se = np.sqrt(np.diag(cov))
    errors = estimate - (truth - truth.mean())
    assert np.sqrt(np.mean(errors**2)) < 0.05
    assert np.all(np.abs(errors) < 4 * se)
    assert np.all((se > 0.02) & (se < 0.08))


def test_partial_credit_recovery_and_thresholds_of_every_item() -> None:
    truth = [[-1.0, 0.5], [0.0, -0.5, 1.0], [0.8], [-0.3, 0.3], [1.2, -0.2, 0.4]]
    data, _ = simulate_pcm(5000, truth, seed=12)
    result = cml(data, "pcm")
    flat = np.concatenate([np.asarray(t) for t in truth])
    estimate, cov = result.estimates("mean")
    se = np.sqrt(np.diag(cov))
    errors = estimate - (flat - flat.mean())
    assert np.sqrt(np.mean(errors**2)) < 0.06
    assert np.all(np.abs(errors) < 4 * se)
    per_item = result.item_thresholds()
    assert [len(v) for v, _ in per_item] == [2, 3, 1, 2, 3]
    np.testing.assert_allclose(np.concatenate([v for v, _ in per_item]), estimate)


def test_the_normalisations_describe_the_same_estimates() -> None:
    data, _ = simulate_pcm(800, [[-0.5, 0.4], [0.2, 0.1], [0.0, -0.3, 0.8], [1.0]], seed=6)
    result = cml(data, "pcm")
    mean, _ = result.estimates("mean")
    first, _ = result.estimates("first", thresholds=False)
    total, _ = result.estimates("sum", thresholds=False)
    assert mean.mean() == pytest.approx(0.0, abs=1e-12)
    assert first[0] == pytest.approx(0.0, abs=1e-12)
    assert total.sum() == pytest.approx(0.0, abs=1e-12)
    # thresholds are differences of cumulative parameters in every normalisation
    for cumulative in (first, total):
        steps = np.diff(np.concatenate(([0.0], cumulative[:2])))
        np.testing.assert_allclose(steps - mean[:2], (steps - mean[:2])[0], atol=1e-10)
    # the conditional log-likelihood is invariant under the shift of the scale
    ll = result.loglik
    shifted = cml(data, "pcm", tol=1e-12)
    assert shifted.loglik == pytest.approx(ll, abs=1e-9)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), shift=st.floats(-2, 2))
def test_estimates_move_with_the_persons_and_the_loglik_is_shift_free(
    seed: int, shift: float
) -> None:
    """CML never sees the abilities: shifting them moves no relative difficulty."""
    truth = [[-0.8], [-0.2], [0.3], [0.9], [0.0]]
    data, _ = simulate_pcm(600, truth, seed=seed)
    result = cml(data, "rasch")
    diffs = np.diff(result.estimates("mean")[0])
    assert np.all(np.isfinite(diffs))
    # a constant added to the truth is invisible to CML (same data-generating differences)
    moved, _ = simulate_pcm(600, [[b[0] + shift] for b in truth], seed=seed)
    assert cml(moved, "rasch").converged


def test_items_every_person_answered_alike_are_left_out_with_a_warning() -> None:
    data, _ = simulate_pcm(500, [[-0.5], [0.0], [0.5]], seed=2)
    matrix = np.column_stack([data.responses, np.ones(500, dtype=np.int8)])
    result = cml(from_array(matrix, item_ids=["a", "b", "c", "always"]), "rasch")
    assert result.item_ids == ("a", "b", "c")
    assert "every one of its 500 responses is 1" in result.excluded["always"]
    assert [w.kind for w in result.warnings] == ["not_estimable"]


def test_extreme_scores_are_left_out_and_counted() -> None:
    data, _ = simulate_pcm(400, [[-1.0], [0.0], [1.0]], seed=8)
    result = cml(data, "rasch")
    raw = data.responses.sum(axis=1)
    assert result.n_extreme == int(((raw == 0) | (raw == 3)).sum())
    assert result.n_persons + result.n_extreme == 400


def test_edge_cases_are_clear_errors() -> None:
    ones = from_array(np.ones((50, 4), dtype=np.int8), source="all-correct.csv")
    with pytest.raises(CalibrationError, match="at least two items"):
        cml(ones, "rasch")
    zeros = from_array(np.zeros((50, 4), dtype=np.int8), source="all-wrong.csv")
    with pytest.raises(CalibrationError, match="at least two items"):
        cml(zeros, "rasch")
    single = from_array(np.array([[0], [1], [1], [0]], dtype=np.int8))
    with pytest.raises(CalibrationError, match="at least two items"):
        cml(single, "rasch")
    # every person extreme: the first half all wrong, the second all right
    extreme = from_array(np.repeat(np.array([[0, 0], [1, 1]], dtype=np.int8), 20, axis=0))
    with pytest.raises(CalibrationError, match="raw score between 0 and the maximum"):
        cml(extreme, "rasch")
    polytomous = from_array(np.array([[0, 2], [1, 1], [2, 0]], dtype=np.int8), source="x.csv")
    with pytest.raises(ModelError, match='item "item1": code 2 is not a category'):
        cml(polytomous, "rasch")
    # raw scores whose functions leave the floating-point range: a clear error, no NaN
    eta = np.zeros((300, 3))
    eta[:150, 1:] = [3.0, 5.0]
    eta[150:, 1:] = [-3.0, -7.0]
    responses = np.zeros((2, 300), dtype=np.int8)
    responses[:, 0] = 1  # raw score 1 of 600: log gamma_1 is 770 below the largest
    responses[1, 1] = 1
    cats = np.full(300, 3)
    with pytest.raises(CalibrationError, match="floating-point range"):
        _conditional_first(eta, cats, _groups(responses, cats))
    with pytest.raises(CalibrationError, match="CML is available for rasch and pcm"):
        cml(polytomous, "2pl")  # type: ignore[arg-type]


def test_population_step_gives_a_full_result_on_the_mml_parameterisation() -> None:
    truth = np.linspace(-1.5, 1.5, 10)
    data, theta = simulate_pcm(3000, [[b] for b in truth], seed=21, sd=1.4)
    conditional = cml(data, "rasch")
    result = fit_population(data, conditional)
    assert result.latent_mean == 0.0
    assert result.latent_sd == pytest.approx(1.4, abs=0.08)
    assert result.se_method == "cml"
    # bank difficulties = CML difficulties moved to the population's origin
    b_bank = np.array([result.irt_vector(i)[1] for i in range(10)])
    b_cml, _ = conditional.estimates("mean")
    np.testing.assert_allclose(np.diff(b_bank), np.diff(b_cml), atol=1e-12)
    np.testing.assert_allclose(b_bank, truth - theta.mean(), atol=0.12)
    # and the marginal log-likelihood is close to the MML maximum, never above it
    mml = calibrate(data, "rasch", options=EMOptions(tol=1e-7))
    assert result.loglik <= mml.loglik + 1e-6
    assert result.loglik == pytest.approx(mml.loglik, abs=1.0)
    assert result.n_parameters == mml.n_parameters


def test_mml_pcm_with_two_categories_is_the_rasch_model() -> None:
    data, _ = simulate_pcm(1500, [[b] for b in np.linspace(-1, 1, 8)], seed=4, sd=1.2)
    rasch = calibrate(data, "rasch", options=EMOptions(tol=1e-8))
    pcm = calibrate(data, "pcm", options=EMOptions(tol=1e-8))
    assert pcm.loglik == pytest.approx(rasch.loglik, abs=1e-8)
    assert pcm.latent_sd == pytest.approx(rasch.latent_sd, abs=1e-8)
    for i in range(8):
        assert pcm.irt_vector(i)[1] == pytest.approx(rasch.irt_vector(i)[1], abs=1e-7)
        assert pcm.irt_vector(i)[0] == 1.0


def test_mml_pcm_recovers_thresholds_and_the_population_sd() -> None:
    truth = [[-1.0, 0.5], [0.0, -0.5, 1.0], [0.8], [-0.3, 0.3], [1.2, -0.2, 0.4], [0.1, 0.6]]
    data, _ = simulate_pcm(6000, truth, seed=31, sd=0.8)
    result = calibrate(data, "pcm", options=EMOptions(tol=1e-6))
    assert result.converged
    assert result.latent_sd == pytest.approx(0.8, abs=0.05)
    estimate = np.concatenate([result.irt_vector(i)[1:] for i in range(len(truth))])
    flat = np.concatenate([np.asarray(t) for t in truth])
    assert np.sqrt(np.mean((estimate - flat) ** 2)) < 0.07


def test_items_the_answers_do_not_link_both_ways_are_a_clear_error() -> None:
    # whoever got one item of a pair right and the other wrong always chose the same one:
    # the conditional likelihood rises without bound as the two difficulties separate
    pattern = np.array([[0, 1]] * 12 + [[0, 0]] * 5 + [[1, 1]] * 9, dtype=np.int8)
    with pytest.raises(CalibrationError, match=r'2 groups \(\{"item1"\}; \{"item2"\}\)'):
        cml(from_array(pattern, source="one-way.csv"), "rasch")
    # one person the other way round links them: the estimates exist and are finite
    linked = from_array(np.vstack([pattern, [[1, 0]]]).astype(np.int8))
    result = cml(linked, "rasch")
    assert np.isfinite(result.eta).all()
    # three items linked in a cycle: estimable
    three = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0]] * 4 + [[1, 0, 0]], dtype=np.int8)
    three[-1] = [0, 1, 0]
    assert cml(from_array(three), "rasch").eta.size == 3
    # the third item is never answered worse than another by anyone: a group of its own
    three_one_way = np.array([[1, 0, 1], [0, 1, 1]] * 5 + [[0, 0, 0]] * 3, dtype=np.int8)
    with pytest.raises(CalibrationError, match=r'2 groups \(\{"item1", "item2"\}; \{"item3"\}\)'):
        cml(from_array(three_one_way), "rasch")


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 5), st.integers(6, 30))
def test_cml_gives_finite_estimates_or_says_why(seed: int, items: int, persons: int) -> None:
    rng = np.random.default_rng(seed)
    pattern = (rng.random((persons, items)) < rng.random(items)).astype(np.int8)
    try:
        result = cml(from_array(pattern), "rasch")
    except CalibrationError as exc:
        assert str(exc).startswith("<array>: ")
        return
    assert np.isfinite(result.eta).all() and np.abs(result.eta).max() < 60
