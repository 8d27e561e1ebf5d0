"""Scaled scores, level probabilities, strengths and gaps: references, recovery, properties."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate
from scipy.stats import norm

from engine.policy import EstimatorConfig, Policy
from engine.pool import compile_pool
from engine.session import Session, SessionState
from engine.standing import (
    level_index,
    level_probabilities,
    scaled_score,
    scaled_se,
    standing,
)
from engine.stopping import FixedLength
from engine.synthetic import synthetic_bank

BANK = synthetic_bank(120, "2pl", 1, seed=11)
POOL = compile_pool(BANK)


def session(method: Literal["eap", "map", "mle", "wle"] = "eap", n: int = 15) -> Session:
    return Session(
        POOL,
        Policy(estimator=EstimatorConfig(method=method), stopping=FixedLength(n=n)),
    )


def answered(engine: Session, pattern: list[int]) -> SessionState:
    state = engine.start(3)
    for category in pattern:
        state = engine.next_item(state)
        assert state.pending is not None
        state = engine.record(state, state.pending, category)
    return state


def test_scaled_score_is_the_documented_linear_transform() -> None:
    assert scaled_score(0.0) == 500.0
    assert scaled_score(-1.5) == 350.0
    assert np.allclose(scaled_score([0.2, 1.0]), [520.0, 600.0])
    assert scaled_se(0.3) == pytest.approx(30.0)


def test_level_probabilities_golden_values() -> None:
    """theta ~ N(0, 1) between -1 and 1: the 68-95-99.7 rule (Phi(1) = 0.841344746)."""
    above = norm.cdf((0.0 - np.array([-1.0, 1.0])) / 1.0)
    probs = level_probabilities(above)
    assert probs == pytest.approx([0.158655254, 0.682689492, 0.158655254], abs=1e-9)
    two = level_probabilities(norm.cdf((0.0 - np.array([-2.0, 2.0])) / 1.0))
    assert two[1] == pytest.approx(0.954499736, abs=1e-9)


def test_normal_approximation_for_ml_estimators() -> None:
    engine = session("mle")
    state = answered(engine, [1, 0, 1, 1, 0, 1])
    theta, se = state.theta[0], state.se[0]
    got = engine.probability_above(state, 0, [-1.0, 0.5])
    assert got == pytest.approx(norm.cdf((theta - np.array([-1.0, 0.5])) / se), abs=1e-12)


def test_posterior_mass_matches_a_brute_force_integral() -> None:
    """EAP: the probability above a cut is the posterior mass, integrated by quadrature."""
    engine = session("eap")
    state = answered(engine, [1, 1, 0, 1, 0, 0, 1, 1])
    items = np.array(state.items)
    cats = np.array(state.categories)

    def density(t: float) -> float:
        p, _, _ = POOL.derivatives(items, np.array([t]))
        like = float(np.log(p[np.arange(items.size), cats, 0]).sum())
        return math.exp(like - 0.5 * t * t)

    total = integrate.quad(density, -12, 12, epsabs=0, epsrel=1e-11, limit=200)[0]
    for cut in (-1.0, 0.0, 0.7):
        exact = integrate.quad(density, cut, 12, epsabs=0, epsrel=1e-11, limit=200)[0] / total
        got = float(engine.probability_above(state, 0, [cut])[0])
        assert got == pytest.approx(exact, abs=5e-3), cut


def test_agrees_with_the_classification_confidence() -> None:
    engine = session("eap")
    state = answered(engine, [1, 0, 1, 1, 1, 0, 1])
    result = engine.result(state)
    (competency,) = result.competencies
    assert competency.cut_score is not None and competency.confidence is not None
    above = float(engine.probability_above(state, 0, [competency.cut_score])[0])
    assert max(above, 1 - above) == pytest.approx(competency.confidence, abs=1e-12)


def test_level_probabilities_are_calibrated_on_simulated_learners() -> None:
    """Recovery: the probability given to the reported level matches how often it is right.

    400 simulated learners answer 12 adaptively chosen items drawn from the 2PL; the level
    reported is the one holding the EAP estimate, with the engine's posterior probability.
    """
    engine = session("eap", n=12)
    rng = np.random.default_rng(5)
    boundaries = [-1.0, 0.0, 1.0]
    predicted = []
    hit = []
    for j in range(400):
        true_theta = float(rng.normal())
        state = engine.start(j)
        while True:
            state = engine.next_item(state)
            if state.finished or state.pending is None:
                break
            p_right = POOL.response_probabilities(state.pending, true_theta)[1]
            state = engine.record(state, state.pending, int(rng.random() < p_right))
            if state.finished:
                break
        level = level_index(state.theta[0], boundaries)
        probs = level_probabilities(engine.probability_above(state, 0, boundaries))
        predicted.append(probs[level])
        hit.append(level == level_index(true_theta, boundaries))
    assert abs(float(np.mean(predicted)) - float(np.mean(hit))) < 0.06
    assert 0.4 < float(np.mean(hit)) < 0.95


@given(
    st.lists(st.floats(-5, 5), min_size=0, max_size=6, unique=True).map(sorted),
    st.floats(-6, 6),
    st.floats(0.05, 3.0),
)
def test_level_probabilities_are_a_distribution(
    boundaries: list[float], theta: float, se: float
) -> None:
    probs = level_probabilities(norm.cdf((theta - np.array(boundaries)) / se))
    assert probs.shape == (len(boundaries) + 1,)
    assert (probs >= 0).all()
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)


@given(
    st.lists(st.floats(-5, 5), min_size=1, max_size=6, unique=True).map(sorted),
    st.floats(-6, 6),
    st.floats(-6, 6),
)
def test_level_index_is_monotone(boundaries: list[float], a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert level_index(low, boundaries) <= level_index(high, boundaries)


def test_edge_cases() -> None:
    assert list(level_probabilities([])) == [1.0]  # one level: certain
    assert level_index(0.0, [0.0]) == 1  # on a boundary: the higher level
    assert level_index(-9.0, [-1.0, 0.0]) == 0
    assert list(level_probabilities([1.0, 0.0])) == [0.0, 1.0, 0.0]  # SE = 0: a step
    noisy = level_probabilities([0.6, 0.6000001, 0.2])  # rounding noise never goes negative
    assert (noisy >= 0).all() and noisy.sum() == pytest.approx(1.0)
    engine = session("wle")
    state = engine.start(1)
    zero_se = type(state)(bank=state.bank, seed=1, theta=(0.5,), se=(0.0,), measured=(False,))
    assert list(engine.probability_above(zero_se, 0, [0.0, 0.5, 1.0])) == [1.0, 1.0, 0.0]


def test_standing_thresholds() -> None:
    assert standing(0.8) == "strength"
    assert standing(0.95) == "strength"
    assert standing(0.2) == "gap"
    assert standing(0.5) == "unclear"
    assert standing(0.79) == "unclear"
