"""A correlated session: every answer re-estimates every competency; the rest is unchanged."""

from __future__ import annotations

import itertools
from typing import Any

import msgspec
import numpy as np
import pytest

from engine.batch import run_batch
from engine.errors import PolicyError
from engine.policy import decode_policy
from engine.pool import ItemPool, compile_pool
from engine.session import Session, SessionState
from engine.synthetic import synthetic_bank

CORRELATED = compile_pool(synthetic_bank(200, "2pl", 4, seed=7, correlation=0.6))
PLAIN = compile_pool(synthetic_bank(200, "2pl", 4, seed=7))


def policy(**raw: Any) -> Any:
    base: dict[str, Any] = {"model": "correlated", "exposure": {"method": "none"}}
    base.update(raw)
    return decode_policy(base)


def run(session: Session, truth: np.ndarray, seed: int = 1) -> SessionState:
    rng = np.random.default_rng(seed)
    state = session.start(seed)
    while not state.finished:
        state = session.next_item(state)
        if state.finished or state.pending is None:
            break
        item = state.pending
        p = session.pool.response_probabilities(item, float(truth[session.pool.competency[item]]))
        state = session.record(state, item, int(rng.random() < p[1]))
    return state


def test_one_answer_moves_every_competency() -> None:
    session = Session(CORRELATED, policy())
    assert session.model == "correlated"
    state = session.next_item(session.start(3))
    assert state.pending is not None
    k = int(CORRELATED.competency[state.pending])
    after = session.record(state, state.pending, 1)
    others = [j for j in range(4) if j != k]
    assert all(after.theta[j] > 0.05 for j in others)
    assert all(after.se[j] < 1.0 for j in others)
    assert after.theta[k] > max(after.theta[j] for j in others)


def test_a_bank_without_a_matrix_runs_independent() -> None:
    session = Session(PLAIN, policy())
    independent = Session(PLAIN, policy(model="independent"))
    assert session.model == "independent" and session.joint is None
    truth = np.array([0.5, -0.5, 1.0, 0.0])
    a, b = run(session, truth), run(independent, truth)
    assert a == b
    assert session.result(a).model == "independent"


@pytest.mark.parametrize("method", ["eap", "map"])
def test_identity_correlation_scores_like_the_independent_model(method: str) -> None:
    # The same bank with R = I: the correlated model's estimates are the independent ones.
    bank = synthetic_bank(200, "2pl", 4, seed=7, correlation=0.0)
    identity = compile_pool(bank)
    correlated = Session(identity, policy(estimator={"method": method}))
    independent = Session(identity, policy(model="independent", estimator={"method": method}))
    state = independent.start(2)
    for step in range(12):
        state = independent.next_item(state)
        assert state.pending is not None
        joint = correlated.record(state, state.pending, step % 2)
        state = independent.record(state, state.pending, step % 2)
        tolerance = 1e-6 if method == "map" else 0.02
        np.testing.assert_allclose(joint.theta, state.theta, atol=tolerance)
        np.testing.assert_allclose(joint.se, state.se, rtol=1e-6 if method == "map" else 0.03)


def test_correlated_tests_reach_the_standard_error_in_fewer_items() -> None:
    rule = {
        "rule": "all",
        "rules": [
            {"rule": "min_items", "n": 4},
            {
                "rule": "any",
                "rules": [
                    {"rule": "standard_error", "max_se": 0.5},
                    {"rule": "max_items", "n": 80},
                ],
            },
        ],
    }
    correlated = Session(CORRELATED, policy(stopping=rule))
    independent = Session(CORRELATED, policy(model="independent", stopping=rule))
    rng = np.random.default_rng(4)
    r = np.full((4, 4), 0.6)
    np.fill_diagonal(r, 1.0)
    truths = rng.standard_normal((30, 4)) @ np.linalg.cholesky(r).T
    lengths = {"c": [], "i": []}  # type: dict[str, list[int]]
    for j, truth in enumerate(truths):
        for key, session in (("c", correlated), ("i", independent)):
            state = run(session, truth, seed=j)
            assert (
                state.stop_reason.startswith("every competency")
                or "standard error" in state.stop_reason
                or state.finished
            )
            assert max(state.se) <= 0.5 + 1e-9
            lengths[key].append(len(state.items))
    assert np.mean(lengths["c"]) < 0.95 * np.mean(lengths["i"])


def test_content_balance_and_exposure_still_apply() -> None:
    session = Session(
        CORRELATED,
        policy(
            selection={"method": "d_optimal"},
            exposure={"method": "randomesque", "randomesque_size": 3},
            content={"balance": "targets"},
            stopping={"rule": "fixed_length", "n": 20},
        ),
    )
    state = run(session, np.array([1.0, 1.0, -1.0, 0.0]))
    counts = np.bincount(CORRELATED.competency[list(state.items)], minlength=4)
    assert counts.tolist() == [5, 5, 5, 5]


def test_state_round_trips_and_replays_exactly() -> None:
    session = Session(CORRELATED, policy(selection={"method": "a_optimal", "weights": {"c1": 2.0}}))
    state = run(session, np.array([0.3, 0.1, -0.2, 0.4]))
    again = msgspec.json.decode(msgspec.json.encode(state), type=SessionState)
    assert again == state
    result = session.result(state)
    assert result.model == "correlated"
    for c in result.competencies:
        assert c.confidence is not None and 0.5 <= c.confidence <= 1.0
        assert c.confidence < 1.0  # never claims certainty
    replay = run(session, np.array([0.3, 0.1, -0.2, 0.4]))
    assert replay == state


def test_classification_confidence_is_the_marginal_posterior_mass() -> None:
    session = Session(CORRELATED, policy(stopping={"rule": "fixed_length", "n": 8}))
    state = run(session, np.array([1.5, 1.5, 1.5, 1.5]))
    above = session.probability_above(state, 0, [0.0, -10.0, 10.0])
    assert above[1] == pytest.approx(1.0) and above[2] == pytest.approx(0.0, abs=1e-12)
    result = session.result(state).competencies[0]
    assert result.confidence == pytest.approx(max(above[0], 1 - above[0]))


def test_policies_that_cannot_run_correlated_are_refused() -> None:
    with pytest.raises(PolicyError, match="model: a correlated session needs a Bayesian estimator"):
        Session(CORRELATED, policy(estimator={"method": "mle"}))
    with pytest.raises(PolicyError, match=r'weights\.ghost: "ghost" is not a competency'):
        Session(CORRELATED, policy(selection={"method": "a_optimal", "weights": {"ghost": 1.0}}))
    with pytest.raises(PolicyError, match="model: a correlated session estimates every competency"):
        run_batch(Session(CORRELATED, policy()), np.zeros((3, 4)), seed=1)


def _pool_checks(pool: ItemPool) -> None:
    assert pool.correlation is None or pool.correlation.shape == (4, 4)


def test_joint_criteria_run_for_independent_banks_too() -> None:
    _pool_checks(PLAIN)
    session = Session(
        PLAIN,
        policy(
            model="independent",
            selection={"method": "d_optimal"},
            content={"balance": "none"},
            stopping={"rule": "fixed_length", "n": 12},
        ),
    )
    state = run(session, np.array([0.0, 0.0, 0.0, 0.0]))
    counts = np.bincount(PLAIN.competency[list(state.items)], minlength=4)
    assert counts.min() >= 2  # D-optimality spreads the items over the least-known competencies


def _answer_all(session: Session, category: int, seed: int = 5) -> list[SessionState]:
    """Every pending item answered ``category``; the states after each answer."""
    states = []
    state = session.start(seed)
    while not state.finished:
        state = session.next_item(state)
        if state.finished or state.pending is None:
            break
        state = session.record(state, state.pending, category)
        states.append(state)
    return states


@pytest.mark.parametrize("estimator", ["eap", "map"])
@pytest.mark.parametrize("selection", ["max_info", "d_optimal", "e_optimal"])
@pytest.mark.parametrize("category", [0, 1])
def test_all_right_and_all_wrong_through_the_correlated_cat(
    estimator: str, selection: str, category: int
) -> None:
    """No finite ML estimate exists; the prior keeps every step finite, ordered and shrinking."""
    session = Session(
        CORRELATED,
        policy(
            estimator={"method": estimator},
            selection={"method": selection},
            stopping={"rule": "fixed_length", "n": 24},
        ),
    )
    states = _answer_all(session, category)
    last = states[-1]
    assert last.finished and len(last.items) == 24 == len(set(last.items))
    direction = 1.0 if category else -1.0
    for before, after in itertools.pairwise(states):
        assert np.isfinite(after.theta).all() and np.isfinite(after.se).all()
        # Each further right (wrong) answer moves every competency up (down) or keeps it.
        assert (direction * (np.array(after.theta) - np.array(before.theta)) >= -1e-6).all()
    assert (direction * np.array(last.theta) > 1.0).all()
    assert (np.abs(last.theta) < 4.0).all()  # inside the estimator's bounds
    assert (np.array(last.se) < 1.0).all()
    result = session.result(last)
    assert result.model == "correlated"
    for c in result.competencies:
        assert c.confidence is None or c.confidence < 1.0


def test_a_competency_with_one_item_through_the_correlated_cat() -> None:
    """Its single item is given once; the other competencies' answers still inform it."""
    bank = synthetic_bank(41, "2pl", 2, seed=5, correlation=0.7)
    moved = tuple(
        msgspec.structs.replace(item, competency="c1")
        if item.competency == "c2" and item.id != "s02"
        else item
        for item in bank.items
    )
    pool = compile_pool(msgspec.structs.replace(bank, items=moved))
    assert int((pool.competency == 1).sum()) == 1 and pool.correlation is not None
    for selection in ("max_info", "d_optimal"):
        session = Session(
            pool,
            policy(selection={"method": selection}, stopping={"rule": "fixed_length", "n": 12}),
        )
        last = _answer_all(session, 1)[-1]
        assert len(last.items) == 12 == len(set(last.items))
        assert sum(int(pool.competency[i]) == 1 for i in last.items) <= 1
        # One item at most, yet c2 is measured better than its own item alone could through
        # the correlation 0.7 with c1's eleven right answers.
        alone = Session(
            pool,
            policy(model="independent", stopping={"rule": "fixed_length", "n": pool.n_items}),
        )
        only = _answer_all(alone, 1)[-1]  # the whole bank, c2's single item included
        assert last.se[1] < only.se[1]
        assert last.theta[1] > 0.3 and np.isfinite(last.theta).all()
