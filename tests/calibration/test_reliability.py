"""Marginal and empirical reliability, the test information curve: golden, recovery, properties.

Golden values are R's ``integrate()`` applied to the definitions (``golden/make_goldens.R``):
for LSAT7 with R mirt's published 2PL estimates (mirt's ``marginal_rxx`` integrand, the EAP
of every pattern, ``empirical_rxx`` of the 1000 persons' EAPs) and for VerbalAggression with
the glmer Rasch estimates and their population SD.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.data import from_array
from calibration.reliability import (
    empirical_reliability,
    information_curve,
    marginal_reliability,
    scale_reliability,
)
from calibration.scoring import score
from calibration.simulate import simulate_responses
from calibration.skeleton import skeleton_bank
from calibration.workflow import calibrate_responses
from engine.pool import ItemPool, compile_pool
from item_banks.model import IrtParameters, OnePL, TwoPL
from tests.calibration.conftest import lsat7_patterns

GOLDEN = json.loads((Path(__file__).parent / "golden" / "goldens.json").read_text("utf-8"))
RELIABILITY = GOLDEN["reliability"]


def pool_of(parameters: Sequence[IrtParameters]) -> ItemPool:
    ids = [f"i{k}" for k in range(len(parameters))]
    data = from_array(np.zeros((1, len(ids)), dtype=np.int8), item_ids=ids)
    bank = skeleton_bank(
        data,
        dict.fromkeys(ids, "scale"),
        dict.fromkeys(ids, 2),
        parameters=dict(zip(ids, parameters, strict=True)),
    )
    return compile_pool(bank)


def lsat7_pool() -> ItemPool:
    golden = RELIABILITY["lsat7"]
    return pool_of([TwoPL(a=a, b=-d / a) for a, d in zip(golden["a"], golden["d"], strict=True)])


def test_marginal_reliability_of_lsat7_is_mirts_integral() -> None:
    pool = lsat7_pool()
    value = marginal_reliability(pool, np.arange(5), 0.0, 1.0)
    assert value == pytest.approx(RELIABILITY["lsat7"]["marginal"], abs=1e-9)


def test_eap_and_empirical_reliability_of_lsat7_match_r() -> None:
    golden = RELIABILITY["lsat7"]
    pool = lsat7_pool()
    patterns, counts = lsat7_patterns()
    scores = score(pool, np.arange(5), patterns.astype(np.int8), "eap")
    np.testing.assert_allclose(scores.theta, golden["eap"], atol=1e-7)
    np.testing.assert_allclose(scores.se, golden["eap_sd"], atol=1e-7)
    value = empirical_reliability(scores.theta, scores.se, counts.astype(float))
    assert value == pytest.approx(golden["empirical"], abs=1e-7)
    # the same with the 1000 persons one by one
    rows = np.repeat(np.arange(32), counts)
    assert empirical_reliability(scores.theta[rows], scores.se[rows]) == pytest.approx(value)


def test_marginal_reliability_with_an_estimated_population_sd() -> None:
    golden = RELIABILITY["verbal_aggression_rasch"]
    pool = pool_of([OnePL(b=b) for b in golden["b"]])
    items = np.arange(len(golden["b"]))
    value = marginal_reliability(pool, items, 0.0, golden["sigma"])
    assert value == pytest.approx(golden["marginal"], abs=1e-9)


def test_information_curve_is_the_sum_of_item_informations() -> None:
    pool = lsat7_pool()
    theta = np.linspace(-3, 3, 13)
    golden = RELIABILITY["lsat7"]
    a, d = np.array(golden["a"]), np.array(golden["d"])
    p = 1.0 / (1.0 + np.exp(-(a[:, None] * theta[None, :] + d[:, None])))
    np.testing.assert_allclose(
        information_curve(pool, np.arange(5), theta), (a[:, None] ** 2 * p * (1 - p)).sum(axis=0)
    )
    np.testing.assert_array_equal(information_curve(pool, np.array([], dtype=np.intp), theta), 0)


def test_recovery_empirical_reliability_is_the_squared_correlation_with_the_truth() -> None:
    """For EAP scores var(EAP) / (var(EAP) + E[SD^2]) = corr(EAP, theta)^2 in the population."""
    rng = np.random.default_rng(17)
    truth = [
        TwoPL(a=float(a), b=float(b))
        for a, b in zip(rng.uniform(0.7, 2.0, 20), rng.normal(0, 1, 20), strict=True)
    ]
    pool = pool_of(truth)
    theta = rng.standard_normal(6000)
    matrix = simulate_responses(pool, theta, rng)
    data = from_array(matrix, item_ids=list(pool.item_ids), source="simulated")
    calibration = calibrate_responses(data, model="2pl")
    scale = calibration.scales[0]
    rel = scale_reliability(scale, compile_pool(calibration.bank))
    eap = score(compile_pool(calibration.bank), np.arange(20), matrix, "eap")
    squared = float(np.corrcoef(eap.theta, theta)[0, 1] ** 2)
    assert rel.empirical == pytest.approx(squared, abs=0.015)
    assert rel.marginal == pytest.approx(squared, abs=0.02)
    # and the true model's marginal reliability
    assert marginal_reliability(pool, np.arange(20)) == pytest.approx(squared, abs=0.02)


slopes = st.floats(0.2, 3.0)
locations = st.floats(-3.0, 3.0)


@settings(max_examples=40, deadline=None)
@given(
    items=st.lists(st.tuples(slopes, locations), min_size=1, max_size=12),
    extra=st.tuples(slopes, locations),
    mean=st.floats(-1.0, 1.0),
    sd=st.floats(0.3, 2.5),
)
def test_marginal_reliability_is_in_the_unit_interval_and_grows_with_the_test(
    items: list[tuple[float, float]], extra: tuple[float, float], mean: float, sd: float
) -> None:
    parameters = [TwoPL(a=a, b=b) for a, b in [*items, extra]]
    pool = pool_of(parameters)
    shorter = marginal_reliability(pool, np.arange(len(items)), mean, sd)
    longer = marginal_reliability(pool, np.arange(len(items) + 1), mean, sd)
    assert 0.0 <= shorter <= longer < 1.0
    # a longer test of parallel items is more reliable (Spearman-Brown direction)
    doubled = pool_of(parameters + parameters)
    assert marginal_reliability(doubled, np.arange(2 * len(parameters)), mean, sd) > longer


@settings(max_examples=60, deadline=None)
@given(
    theta=st.lists(st.floats(-4, 4), min_size=2, max_size=40),
    se=st.floats(0.05, 2.0),
    scale=st.floats(0.1, 10.0),
)
def test_empirical_reliability_is_in_the_unit_interval_and_scale_free(
    theta: list[float], se: float, scale: float
) -> None:
    t = np.asarray(theta)
    errors = np.full(t.size, se)
    value = empirical_reliability(t, errors)
    assert 0.0 <= value < 1.0
    assert empirical_reliability(scale * t + 3.0, scale * errors) == pytest.approx(value)


def test_edge_cases() -> None:
    pool = lsat7_pool()
    assert marginal_reliability(pool, np.array([], dtype=np.intp)) == 0.0
    with pytest.raises(ValueError, match="positive"):
        marginal_reliability(pool, np.arange(5), 0.0, 0.0)
    assert math.isnan(empirical_reliability(np.array([0.3]), np.array([0.5])))
    assert math.isnan(empirical_reliability(np.zeros(4), np.zeros(4)))
    # non-finite estimates (an ML score at infinity) are left out, as mirt does
    value = empirical_reliability(np.array([0.0, 1.0, np.inf, -1.0]), np.array([0.5] * 4))
    assert value == empirical_reliability(np.array([0.0, 1.0, -1.0]), np.array([0.5] * 3))
    # a perfectly measured sample is perfectly reliable; pure noise is not at all
    assert empirical_reliability(np.array([-1.0, 0.0, 1.0]), np.zeros(3)) == 1.0
    assert empirical_reliability(np.zeros(5), np.ones(5)) == 0.0
