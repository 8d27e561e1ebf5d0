"""Forecasting a policy by simulation: what share reaches the SE target, who starts where.

Checked four ways: against an independent per-learner Session loop (reference), on a bank
whose information makes the answer known in advance (recovery), properties of the numbers
(hypothesis), and edge cases (a target no bank reaches, a fixed length, an estimator the
batch does not run).
"""

from __future__ import annotations

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.policy import ContentConfig, EstimatorConfig, ExposureConfig, Policy, SelectionConfig
from engine.policy_forecast import LOW_SHARE, forecast, se_target
from engine.pool import compile_pool
from engine.session import Session
from engine.simulation import run
from engine.stopping import (
    AllOf,
    AnyOf,
    Classification,
    FixedLength,
    MaxItems,
    MinItems,
    StandardErrorRule,
)
from engine.synthetic import synthetic_bank

BANK = synthetic_bank(150, "2pl", 1, seed=4)
POOL = compile_pool(BANK)


def precision(max_se: float, cap: int, exposure: str = "none") -> Policy:
    return Policy(
        content=ContentConfig(balance="none"),
        exposure=ExposureConfig(method=exposure, randomesque_size=5),  # type: ignore[arg-type]
        stopping=AllOf(
            rules=(MinItems(n=3), AnyOf(rules=(StandardErrorRule(max_se=max_se), MaxItems(n=cap))))
        ),
    )


def test_se_target_finds_the_strictest_rule() -> None:
    assert se_target(FixedLength(n=5)) is None
    assert se_target(StandardErrorRule(max_se=0.4)) == 0.4
    nested = AllOf(
        rules=(
            AnyOf(rules=(StandardErrorRule(max_se=0.5), MaxItems(n=9))),
            AnyOf(rules=(StandardErrorRule(max_se=0.3), Classification())),
        )
    )
    assert se_target(nested) == 0.3


def test_the_share_agrees_with_a_per_learner_session_loop() -> None:
    """Reference: the same policy run learner by learner through Session."""
    policy = precision(0.35, 20)
    predicted = forecast(POOL, policy, simulees=400, seed=3)
    rng = np.random.default_rng(99)
    theta = rng.standard_normal((150, 1))
    looped = run(Session(POOL, policy), theta, seed=5)
    share = float(np.mean(np.all(looped.se <= 0.35 + 1e-9, axis=1)))
    assert predicted.met_se_target is not None
    # Two samples of the same share (400 and 150 learners): within 4 standard errors.
    spread = 4 * np.sqrt(share * (1 - share) * (1 / 400 + 1 / 150)) + 0.02
    assert abs(predicted.met_se_target - share) <= spread
    assert abs(predicted.mean_length - float(np.mean(looped.lengths))) <= 2.0


def test_an_unreachable_target_is_flagged_and_a_reachable_one_is_not() -> None:
    """Recovery: a 2-item cap cannot reach SE 0.3; 60 items of this bank always do."""
    hopeless = forecast(POOL, precision(0.3, 4), simulees=300)
    assert hopeless.met_se_target == 0.0
    assert hopeless.stopped_early == 0.0
    assert hopeless.length_p10 == hopeless.length_p90 == 4
    assert any("reach the precision target" in w for w in hopeless.warnings)
    assert "± 30 points, SE 0.3" in hopeless.warnings[0]
    easy = forecast(POOL, precision(0.5, 60), simulees=300)
    assert easy.met_se_target is not None and easy.met_se_target > 0.99
    assert not any("precision target" in w for w in easy.warnings)


def test_without_exposure_control_every_session_starts_alike() -> None:
    plain = forecast(POOL, precision(0.4, 20), simulees=200)
    assert plain.same_first_item == 1.0
    assert any("start with the same question" in w for w in plain.warnings)
    spread = forecast(POOL, precision(0.4, 20, exposure="randomesque"), simulees=200)
    assert spread.same_first_item < 0.5
    assert not any("same question" in w for w in spread.warnings)


def test_fixed_length_and_unvectorised_policies() -> None:
    fixed = forecast(POOL, Policy(stopping=FixedLength(n=7)), simulees=50)
    assert fixed.se_target is None and fixed.met_se_target is None
    assert fixed.length_p10 == fixed.length_p90 == 7 and fixed.stopped_early == 0.0
    mapped = Policy(estimator=EstimatorConfig(method="map"), stopping=FixedLength(n=7))
    approx = forecast(POOL, mapped, simulees=50)
    assert approx.approximation == "simulated with EAP for MAP"
    assert forecast(POOL, mapped, simulees=50) == approx  # reproducible


@settings(max_examples=15, deadline=None)
@given(
    max_se=st.floats(0.25, 0.9),
    cap=st.integers(3, 30),
    seed=st.integers(0, 1000),
)
def test_forecast_numbers_are_shares_and_lengths_in_range(
    max_se: float, cap: int, seed: int
) -> None:
    f = forecast(POOL, precision(max_se, cap), simulees=60, seed=seed)
    assert f.met_se_target is not None and 0.0 <= f.met_se_target <= 1.0
    assert f.stopped_early is not None and 0.0 <= f.stopped_early <= 1.0
    assert 3 <= f.length_p10 <= f.length_p90 <= cap
    assert f.length_p10 <= f.mean_length <= f.length_p90 or f.length_p10 == f.length_p90
    assert 0.0 < f.same_first_item <= 1.0
    warned = any("precision target" in w for w in f.warnings)
    assert warned == (f.met_se_target < LOW_SHARE)


@pytest.mark.parametrize("simulees", [1, 2])
def test_tiny_simulations_work(simulees: int) -> None:
    f = forecast(POOL, precision(0.4, 10), simulees=simulees)
    assert f.simulees == simulees
    # One learner says nothing about exposure; two without exposure control start alike.
    assert any("same question" in w for w in f.warnings) == (simulees > 1)


def test_correlated_policies_are_forecast_with_the_independent_model() -> None:
    """The batch cannot score jointly: the forecast says so; nothing is refused or lost."""
    correlated = compile_pool(synthetic_bank(80, "2pl", 2, seed=3, correlation=0.6))
    policy = Policy(
        model="correlated", stopping=AnyOf(rules=(StandardErrorRule(max_se=0.4), MaxItems(n=30)))
    )
    f = forecast(correlated, policy, simulees=40)
    assert f.approximation.startswith("simulated with the independent model for the correlated")
    independent = forecast(
        correlated, msgspec.structs.replace(policy, model="independent"), simulees=40
    )
    assert independent.approximation == ""
    assert f.mean_length == independent.mean_length  # the same simulation
    assert not any("no correlation matrix" in w for w in f.warnings)
    # D-optimality is replaced too, and both replacements are named.
    d_optimal = msgspec.structs.replace(policy, selection=SelectionConfig(method="d_optimal"))
    both = forecast(correlated, d_optimal, simulees=40).approximation
    assert "independent model" in both and "maximum information for d_optimal" in both


def test_a_correlated_policy_on_a_bank_without_a_matrix_is_warned() -> None:
    policy = Policy(model="correlated", stopping=FixedLength(n=5))
    f = forecast(POOL, policy, simulees=20)
    assert POOL.correlation is None
    assert f.approximation == ""  # it runs independent, which the batch runs exactly
    assert any("no correlation matrix" in w and "scored independent" in w for w in f.warnings)
    plain = forecast(POOL, Policy(stopping=FixedLength(n=5)), simulees=20)
    assert not any("correlation matrix" in w for w in plain.warnings)
