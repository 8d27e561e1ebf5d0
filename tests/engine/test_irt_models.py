"""IRT kernels: golden values, identities, property tests, and catsim's implementation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from catsim import irt as catsim_irt
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from engine.irt import (
    Dichotomous,
    GeneralizedPartialCredit,
    GradedResponse,
    expected_second_derivative,
    information_from_derivatives,
)
from engine.irt.dichotomous import DichotomousKernel
from engine.irt.generic import warm_correction

THETA = np.linspace(-4.0, 4.0, 33)


# ------------------------------------------------------------------ golden values


def test_two_pl_information_at_difficulty_is_a_squared_over_four() -> None:
    fam = Dichotomous.from_arrays([0.5, 1.0, 2.3], [-1.0, 0.0, 1.7])
    info = fam.information(np.array([-1.0, 0.0, 1.7]))
    assert np.diag(info) == pytest.approx([0.0625, 0.25, 2.3**2 / 4])
    assert np.diag(fam.correct(np.array([-1.0, 0.0, 1.7]))) == pytest.approx([0.5] * 3)


@pytest.mark.parametrize(("a", "b", "c"), [(1.0, 0.0, 0.2), (1.7, -0.5, 0.25), (0.8, 1.2, 0.1)])
def test_three_pl_maximum_information_birnbaum_lord(a: float, b: float, c: float) -> None:
    """Birnbaum (1968): the 3PL peaks at b + ln((1 + sqrt(1 + 8c)) / 2) / a, with
    Lord's (1980, eq. 10-4) height a^2 (1 - 20c - 8c^2 + (1 + 8c)^1.5) / (8 (1 - c)^2)."""
    fam = Dichotomous.from_arrays([a], [b], [c])
    where = b + math.log((1 + math.sqrt(1 + 8 * c)) / 2) / a
    height = a * a * (1 - 20 * c - 8 * c * c + (1 + 8 * c) ** 1.5) / (8 * (1 - c) ** 2)
    fine = np.linspace(where - 0.5, where + 0.5, 20001)
    info = fam.information(fine)[0]
    assert fine[np.argmax(info)] == pytest.approx(where, abs=1e-4)
    assert info.max() == pytest.approx(height, rel=1e-9)


def test_grm_hand_computed_categories() -> None:
    fam = GradedResponse.from_lists([1.0], [[-1.0, 1.0]])
    p = fam.probabilities(np.array([0.0]))[0, :, 0]
    star1, star2 = 1 / (1 + math.exp(-1)), 1 / (1 + math.exp(1))
    assert p == pytest.approx([1 - star1, star1 - star2, star2])


def test_one_step_polytomous_models_are_two_pl() -> None:
    two_pl = Dichotomous.from_arrays([1.3], [0.4])
    grm = GradedResponse.from_lists([1.3], [[0.4]])
    gpcm = GeneralizedPartialCredit.from_lists([1.3], [[0.4]])
    for fam in (grm, gpcm):
        assert fam.probabilities(THETA) == pytest.approx(two_pl.probabilities(THETA))
        assert fam.information(THETA) == pytest.approx(two_pl.information(THETA))


def test_gpcm_information_is_a_squared_times_score_variance() -> None:
    fam = GeneralizedPartialCredit.from_lists([1.4], [[-0.5, 0.3, 1.1]])
    p = fam.probabilities(THETA)[0]
    scores = np.arange(4)[:, None]
    mean = (p * scores).sum(axis=0)
    var = (p * (scores - mean) ** 2).sum(axis=0)
    assert fam.information(THETA)[0] == pytest.approx(1.4**2 * var)


def test_matches_catsim_probability_and_information() -> None:
    rng = np.random.default_rng(3)
    n = 50
    a = rng.uniform(0.4, 2.5, n)
    b = rng.uniform(-3, 3, n)
    c = rng.uniform(0, 0.3, n)
    d = rng.uniform(0.85, 1.0, n)
    fam = Dichotomous.from_arrays(a, b, c, d)
    items = np.column_stack((a, b, c, d))
    for theta in (-2.5, 0.0, 0.7, 3.1):
        ours_p = fam.correct(np.array([theta]))[:, 0]
        ours_i = fam.information(np.array([theta]))[:, 0]
        assert ours_p == pytest.approx(catsim_irt.icc_hpc(theta, items), rel=1e-12)
        assert ours_i == pytest.approx(catsim_irt.inf_hpc(theta, items), rel=1e-9)


def test_hot_path_kernel_matches_generic_information() -> None:
    rng = np.random.default_rng(5)
    for c_hi, d_lo in ((0.0, 1.0), (0.3, 0.9)):
        n = 400
        fam = Dichotomous.from_arrays(
            rng.uniform(0.3, 3, n),
            rng.uniform(-3, 3, n),
            rng.uniform(0, c_hi, n) if c_hi else None,
            rng.uniform(d_lo, 1, n) if d_lo < 1 else None,
        )
        kernel = DichotomousKernel(fam)
        theta = rng.uniform(-4, 4, n)
        out = np.empty(n)
        expected = np.diag(fam.information(theta))
        assert kernel.information(theta, out) == pytest.approx(expected, rel=1e-10)


# ------------------------------------------------------------------ properties

slopes = st.floats(0.2, 4.0)
locations = st.floats(-4.0, 4.0)


@st.composite
def dichotomous_families(draw: st.DrawFn) -> Dichotomous:
    n = draw(st.integers(1, 6))
    a = draw(arrays(np.float64, n, elements=slopes))
    b = draw(arrays(np.float64, n, elements=locations))
    c = draw(arrays(np.float64, n, elements=st.floats(0.0, 0.35)))
    d = draw(arrays(np.float64, n, elements=st.floats(0.8, 1.0)))
    d = np.maximum(d, c + 0.05)
    return Dichotomous.from_arrays(a, b, c, d)


@st.composite
def graded_families(draw: st.DrawFn) -> GradedResponse:
    n = draw(st.integers(1, 5))
    a = draw(arrays(np.float64, n, elements=slopes))
    steps = [
        sorted(
            draw(
                st.lists(locations, min_size=1, max_size=5, unique=True).filter(
                    lambda v: min(np.diff(sorted(v)), default=1.0) > 1e-3
                )
            )
        )
        for _ in range(n)
    ]
    return GradedResponse.from_lists(a, steps)


@st.composite
def partial_credit_families(draw: st.DrawFn) -> GeneralizedPartialCredit:
    n = draw(st.integers(1, 5))
    a = draw(arrays(np.float64, n, elements=slopes))
    steps = [draw(st.lists(locations, min_size=1, max_size=5)) for _ in range(n)]
    return GeneralizedPartialCredit.from_lists(a, steps)


families = st.one_of(dichotomous_families(), graded_families(), partial_credit_families())


@settings(max_examples=60)
@given(families)
def test_probabilities_are_a_distribution(fam: Dichotomous) -> None:
    p = fam.probabilities(THETA)
    assert np.all(p >= 0.0)
    assert np.all(p <= 1.0)
    assert p.sum(axis=1) == pytest.approx(np.ones((fam.n_items, THETA.size)))


@settings(max_examples=60)
@given(families)
def test_expected_score_increases_with_ability(fam: Dichotomous) -> None:
    p = fam.probabilities(THETA)
    expected = (p * np.arange(p.shape[1])[None, :, None]).sum(axis=1)
    assert np.all(np.diff(expected, axis=1) >= -1e-12)


@settings(max_examples=60)
@given(families)
def test_information_is_non_negative_and_consistent(fam: Dichotomous) -> None:
    p, dp, _ = fam.derivatives(THETA)
    info = fam.information(THETA)
    assert np.all(info >= 0.0)
    assert info == pytest.approx(information_from_derivatives(p, dp), rel=1e-9, abs=1e-12)


@settings(max_examples=60)
@given(families, st.floats(-3.0, 3.0))
def test_information_is_minus_expected_second_derivative(fam: Dichotomous, theta: float) -> None:
    """I(theta) = -E[d^2/dtheta^2 log P_U(theta)], with the derivative taken numerically."""
    h = 1e-4
    points = np.array([theta - h, theta, theta + h])
    p = fam.probabilities(points)
    logs = np.log(np.maximum(p, 1e-300))
    second = (logs[:, :, 2] - 2 * logs[:, :, 1] + logs[:, :, 0]) / (h * h)
    numeric = -(p[:, :, 1] * second).sum(axis=1)
    analytic = fam.information(np.array([theta]))[:, 0]
    assert numeric == pytest.approx(analytic, rel=1e-4, abs=1e-6)
    pa, dpa, d2pa = fam.derivatives(np.array([theta]))
    assert expected_second_derivative(pa, dpa, d2pa)[:, 0] == pytest.approx(
        analytic, rel=1e-9, abs=1e-12
    )


@settings(max_examples=60)
@given(families, st.floats(-3.0, 3.0))
def test_analytic_derivatives_match_finite_differences(fam: Dichotomous, theta: float) -> None:
    h = 1e-5
    _, dp, d2p = fam.derivatives(np.array([theta]))
    up = fam.probabilities(np.array([theta + h]))
    down = fam.probabilities(np.array([theta - h]))
    assert dp == pytest.approx((up - down) / (2 * h), abs=1e-7)
    dp_up = fam.derivatives(np.array([theta + h]))[1]
    dp_down = fam.derivatives(np.array([theta - h]))[1]
    assert d2p == pytest.approx((dp_up - dp_down) / (2 * h), abs=1e-6)


def test_warm_correction_for_two_pl_is_derivative_of_half_log_information() -> None:
    """For 2PL items J = I', so J / 2I = d/dtheta (1/2) log I (Warm, 1989)."""
    fam = Dichotomous.from_arrays([0.8, 1.5, 2.0], [-1.0, 0.2, 1.0])
    theta = np.linspace(-2, 2, 9)
    p, dp, d2p = fam.derivatives(theta)
    info, j = warm_correction(p, dp, d2p)
    h = 1e-5

    def total(t: float) -> float:
        return float(fam.information(np.array([t])).sum())

    numeric = np.array([(total(t + h) - total(t - h)) / (2 * h) for t in theta])
    assert j.sum(axis=0) == pytest.approx(numeric, rel=1e-6)
    assert info.sum(axis=0) == pytest.approx(fam.information(theta).sum(axis=0))


def test_far_from_the_item_nothing_is_nan() -> None:
    fam = GradedResponse.from_lists([10.0], [[-10.0, 10.0]])
    p, dp, _ = fam.derivatives(np.array([-20.0, 20.0]))
    assert np.isfinite(p).all()
    assert np.isfinite(information_from_derivatives(p, dp)).all()
    # The small probability keeps its precision (computed on the non-cancelling side).
    assert p[0, 0, 1] == pytest.approx(1 / (1 + math.exp(300)), rel=1e-12, abs=0)
    dich = Dichotomous.from_arrays([10.0], [10.0])
    assert np.isfinite(dich.information(np.array([-60.0, 60.0]))).all()
