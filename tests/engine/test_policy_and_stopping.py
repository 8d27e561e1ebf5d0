"""Stopping rules and the checks that refuse policies which cannot work."""

from __future__ import annotations

import math
from pathlib import Path

import msgspec
import numpy as np
import pytest

from engine.errors import PolicyError
from engine.policy import (
    ContentConfig,
    PretestConfig,
    SelectionConfig,
    check_policy,
    decode_policy,
    load_policy,
)
from engine.policy import Policy as P
from engine.pool import ItemPool, compile_pool
from engine.stopping import (
    AllOf,
    AnyOf,
    Classification,
    FixedLength,
    MaxItems,
    MinItems,
    StandardErrorRule,
    StopContext,
    decide,
    length_bound,
    minimum_length,
)
from engine.synthetic import synthetic_bank
from item_banks.model import TwoPL
from tests.engine.helpers import make_bank, make_item


def context(
    n: int,
    se: list[float],
    theta: list[float] | None = None,
    cut: list[float] | None = None,
    llr: float = 0.0,
) -> StopContext:
    k = len(se)
    return StopContext(
        n_items=n,
        theta=np.array(theta or [0.0] * k),
        se=np.array(se),
        cut=np.array(cut if cut is not None else [math.nan] * k),
        sprt_llr=lambda _k, _lo, _hi: llr,
    )


def test_counting_rules() -> None:
    assert not decide(MaxItems(n=10), context(9, [1.0])).stop
    assert decide(MaxItems(n=10), context(10, [1.0])).stop
    assert decide(FixedLength(n=3), context(3, [1.0])).reason == "fixed length of 3 items"
    assert decide(MinItems(n=3), context(3, [1.0])).stop


def test_standard_error_rule_needs_every_competency() -> None:
    rule = StandardErrorRule(max_se=0.3)
    d = decide(rule, context(5, [0.25, 0.31]))
    assert not d.stop
    assert d.done is not None
    assert d.done.tolist() == [True, False]
    assert decide(rule, context(5, [0.25, 0.3])).stop


def test_composite_every_se_below_or_forty_items() -> None:
    rule = AnyOf(rules=(StandardErrorRule(max_se=0.3), MaxItems(n=40)))
    assert not decide(rule, context(39, [0.4, 0.2])).stop
    stop = decide(rule, context(40, [0.4, 0.2]))
    assert stop.stop
    assert stop.reason == "reached the maximum of 40 items"
    assert stop.done is not None
    assert stop.done.tolist() == [False, True]
    delayed = AllOf(rules=(MinItems(n=10), rule))
    assert not decide(delayed, context(8, [0.1, 0.1])).stop
    fired = decide(delayed, context(10, [0.1, 0.1]))
    assert fired.stop
    assert "SE <= 0.3" in fired.reason


def test_confidence_interval_classification() -> None:
    rule = Classification(method="ci", confidence=0.95)
    # 0.5 - 1.96 * 0.25 = 0.01 > 0: classified pass; the second competency has no cut.
    assert decide(rule, context(5, [0.25, 9.0], [0.5, 0.0], [0.0, math.nan])).stop
    assert not decide(rule, context(5, [0.26, 9.0], [0.5, 0.0], [0.0, math.nan])).stop
    assert decide(rule, context(5, [0.25, 1.0], [-0.5, 0.0], [0.0, math.nan])).stop


def test_sprt_uses_wald_bounds() -> None:
    rule = Classification(method="sprt", alpha=0.05, beta=0.05, delta=0.3)
    upper = math.log(0.95 / 0.05)
    assert decide(rule, context(5, [1.0], cut=[0.0], llr=upper + 1e-9)).stop
    assert decide(rule, context(5, [1.0], cut=[0.0], llr=-upper - 1e-9)).stop
    assert not decide(rule, context(5, [1.0], cut=[0.0], llr=upper - 0.01)).stop


def test_length_bounds() -> None:
    rule = AllOf(
        rules=(MinItems(n=5), AnyOf(rules=(StandardErrorRule(max_se=0.3), MaxItems(n=40))))
    )
    assert length_bound(rule) == 40
    assert minimum_length(rule) == 5
    assert length_bound(StandardErrorRule(max_se=0.3)) is None
    assert length_bound(AnyOf(rules=(StandardErrorRule(max_se=0.3),))) is None


# ------------------------------------------------------------------ policy checks


@pytest.fixture(scope="module")
def small_pool() -> ItemPool:
    items = [
        make_item(f"i{j}", TwoPL(a=1.0, b=j / 10 - 1), "c1" if j < 12 else "c2") for j in range(20)
    ]
    return compile_pool(make_bank(items, ("c1", "c2"), cuts=(None, None)))


def problems(policy: P, pool: ItemPool) -> list[str]:
    with pytest.raises(PolicyError) as info:
        check_policy(policy, pool)
    return info.value.problems


def test_default_policy_fits_a_large_bank() -> None:
    check_policy(P(), compile_pool(synthetic_bank(200, "3pl", 2, seed=1)))


def test_more_items_than_the_bank(small_pool: ItemPool) -> None:
    found = problems(P(stopping=FixedLength(n=25)), small_pool)
    assert any("asks for up to 25 items; the bank has 20 operational items" in p for p in found)
    assert any("can never fire" in p for p in found)


def test_unreachable_standard_error(small_pool: ItemPool) -> None:
    found = problems(P(stopping=StandardErrorRule(max_se=0.2)), small_pool)
    assert len(found) == 1
    assert 'SE <= 0.2 is out of reach for competency "c2"' in found[0]
    # Inside `any` with a reachable rule it is fine.
    check_policy(
        P(stopping=AnyOf(rules=(StandardErrorRule(max_se=0.2), MaxItems(n=15)))), small_pool
    )


def test_classification_without_cut_scores(small_pool: ItemPool) -> None:
    found = problems(P(stopping=AnyOf(rules=(Classification(), MinItems(n=100)))), small_pool)
    assert any("classification needs a cut score" in p for p in found)
    check_policy(P(stopping=Classification(), cut_scores={"c1": 0.0}), small_pool)


def test_unknown_ids_and_bad_proportions(small_pool: ItemPool) -> None:
    found = problems(
        P(
            stopping=MaxItems(n=10),
            cut_scores={"nope": 0.0},
            content=ContentConfig(competencies={"c1": 0.5, "c2": 0.2}, areas={"zz": 0.1}),
        ),
        small_pool,
    )
    assert 'cut_scores.nope: "nope" is not a competency of the bank' in found
    assert "content.competencies: proportions must add up to 1, got 0.7" in found
    assert 'content.areas.zz: "zz" is not a content area of the bank' in found


def test_other_refusals(small_pool: ItemPool) -> None:
    assert any(
        "strata" in p
        for p in problems(
            P(stopping=MaxItems(n=10), selection=SelectionConfig(method="a_stratified", strata=10)),
            small_pool,
        )
    )
    assert any(
        "shadow test needs a stopping rule with a maximum length" in p
        for p in problems(
            P(
                stopping=AnyOf(rules=(StandardErrorRule(max_se=0.5),)),
                content=ContentConfig(balance="shadow_test"),
            ),
            small_pool,
        )
    )
    assert any(
        "no pretest items" in p
        for p in problems(
            P(stopping=MaxItems(n=10), pretest=PretestConfig(rate=0.1, max_items=2)), small_pool
        )
    )


def test_infeasible_shadow_test(small_pool: ItemPool) -> None:
    # c2 has 8 items; 90% of 10 items cannot come from it.
    found = problems(
        P(
            stopping=FixedLength(n=10),
            content=ContentConfig(balance="shadow_test", competencies={"c1": 0.1, "c2": 0.9}),
        ),
        small_pool,
    )
    assert any("no test of 10 items meets the content targets" in p for p in found)


def test_policy_from_toml_with_located_errors(tmp_path: Path) -> None:
    good = tmp_path / "policy.toml"
    good.write_text(
        """
[estimator]
method = "wle"

[selection]
method = "min_posterior_variance"

[stopping]
rule = "all"
rules = [
  {rule = "min_items", n = 5},
  {rule = "any", rules = [{rule = "standard_error", max_se = 0.3}, {rule = "max_items", n = 40}]},
]
"""
    )
    policy = load_policy(good)
    assert policy.estimator.method == "wle"
    assert isinstance(policy.stopping, AllOf)
    assert length_bound(policy.stopping) == 40
    bad = tmp_path / "bad.toml"
    bad.write_text('[stopping]\nrule = "any"\nrules = [{rule = "standard_error", max_se = -1}]\n')
    with pytest.raises(PolicyError) as info:
        load_policy(bad)
    assert str(info.value) == f"{bad}: stopping.rules[0].max_se: must be > 0, got -1"
    broken = tmp_path / "broken.toml"
    broken.write_text("[estimator\n")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(broken)
    with pytest.raises(PolicyError, match=r"selection\.colour: is not a known field"):
        decode_policy({"selection": {"colour": "red"}})


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"c1": 1.0, "c2": -1.0}, "selection.weights.c2: must be > 0, got -1.0"),
        ({"c1": 500.0}, "selection.weights.c1: must be <= 100, got 500.0"),
        ({"c1": 2.0, "c3": "high"}, "selection.weights.c3: must be a number, got 'high'"),
        ({"c1": 0.0, "c2": -3.0}, "selection.weights.c1: must be > 0, got 0.0"),
    ],
)
def test_a_bad_mapping_value_is_located_at_its_key(
    weights: dict[str, object], message: str
) -> None:
    """msgspec names a mapping's bad value ``[...]``; the message names the key."""
    with pytest.raises(PolicyError) as info:
        decode_policy({"selection": {"method": "a_optimal", "weights": weights}})
    assert info.value.problems == [message]
    with pytest.raises(PolicyError) as info:
        decode_policy({"cut_scores": {"c1": 0.5, "c9": 7.0}})
    assert info.value.problems == ["cut_scores.c9: must be <= 6, got 7.0"]


def test_policy_round_trips_through_json() -> None:
    policy = P(stopping=AnyOf(rules=(Classification(method="sprt"), MaxItems(n=30))))
    again = msgspec.json.decode(msgspec.json.encode(policy), type=P)
    assert again == policy
