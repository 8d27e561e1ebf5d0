"""Selection rules, exposure control and content balancing."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest
from catsim.item_bank import ItemBank
from catsim.selection import MaxInfoSelector

from engine.estimation import Grid, GridTables
from engine.exposure import randomesque, sympson_hetter, update_eligibility
from engine.policy import ContentConfig, ExposureConfig, Policy, SelectionConfig
from engine.pool import ItemPool, compile_pool
from engine.selection import _POLY_GRID, Selector, interpolated_information
from engine.session import Session
from engine.simulation import simulate
from engine.stopping import FixedLength
from engine.synthetic import synthetic_bank
from tests.engine.helpers import mixed_pool

NO_BALANCE = ContentConfig(balance="none")


def selector_for(pool: ItemPool, method: str) -> Selector:
    tables = GridTables(pool, Grid.normal())
    return Selector(
        pool,
        SelectionConfig(method=method),  # type: ignore[arg-type]
        tables,
        planned_length=20,
        shares=np.full(pool.n_competencies, 1 / pool.n_competencies),
    )


def uniform(n: int) -> np.ndarray:
    return np.random.default_rng(0).random(n)


def test_max_info_is_the_information_at_each_competency_estimate(pool_3pl: ItemPool) -> None:
    sel = selector_for(pool_3pl, "max_info")
    theta = np.array([-1.0, 0.5, 2.0])
    values = sel.criterion(theta, np.zeros(3), lambda k: np.ones(1), uniform)
    expected = np.array(
        [
            pool_3pl.information(np.array([theta[k]]))[i, 0]
            for i, k in enumerate(pool_3pl.competency)
        ]
    )
    assert values == pytest.approx(expected, rel=1e-10)


def test_max_info_on_a_mixed_pool() -> None:
    pool = mixed_pool()
    sel = selector_for(pool, "max_info")
    values = sel.criterion(np.array([0.3]), np.zeros(1), lambda k: np.ones(1), uniform)
    assert values == pytest.approx(pool.information(np.array([0.3]))[:, 0])


def test_same_item_as_catsim_max_info() -> None:
    """Same bank, same administered items, same estimate: the same item."""
    pool = compile_pool(synthetic_bank(500, "3pl", 1, seed=2))
    fam = pool.dichotomous
    bank = ItemBank(np.column_stack((fam.a, fam.b, fam.c, fam.d)))
    theirs = MaxInfoSelector()
    session = Session(pool, Policy(content=NO_BALANCE, stopping=FixedLength(n=40)))
    rng = np.random.default_rng(4)
    state = session.start(1)
    for _ in range(30):
        state = session.next_item(state)
        assert state.pending is not None
        expected = theirs.select(
            item_bank=bank, administered_items=list(state.items), est_theta=state.theta[0]
        )
        assert state.pending == expected
        p = pool.response_probabilities(state.pending, 0.7)[1]
        state = session.record(state, state.pending, int(rng.random() < p))


def posterior_for(pool: ItemPool, tables: GridTables, items: list[int], cats: list[int]):  # type: ignore[no-untyped-def]
    return tables.posterior(np.array(items, dtype=np.intp), np.array(cats, dtype=np.intp))


def test_min_expected_posterior_variance_matches_brute_force() -> None:
    pool = compile_pool(synthetic_bank(60, "2pl", 1, seed=3))
    tables = GridTables(pool, Grid.normal())
    sel = selector_for(pool, "min_posterior_variance")
    items, cats = [0, 1, 2], [1, 0, 1]
    w = posterior_for(pool, tables, items, cats)
    values = sel.criterion(np.array([0.0]), np.array([3.0]), lambda k: w, uniform)
    points = tables.grid.points
    for i in (5, 17, 42):
        epv = 0.0
        for k in (0, 1):
            joint = w * tables.probabilities[i, k]
            mass = joint.sum()
            mean = (joint * points).sum() / mass
            epv += mass * ((joint / mass) * (points - mean) ** 2).sum()
        assert values[i] == pytest.approx(-epv, rel=1e-9)


def test_posterior_weighted_information_and_kl() -> None:
    pool = compile_pool(synthetic_bank(60, "3pl", 1, seed=3))
    tables = GridTables(pool, Grid.normal())
    w = posterior_for(pool, tables, [0, 1], [1, 1])
    mpwi = selector_for(pool, "max_posterior_info").criterion(
        np.array([0.4]), np.array([2.0]), lambda k: w, uniform
    )
    assert mpwi == pytest.approx(tables.information @ w)
    kl = selector_for(pool, "posterior_kl").criterion(
        np.array([0.4]), np.array([2.0]), lambda k: w, uniform
    )
    p0 = pool.probabilities(np.array([0.4]))[:, :, 0]
    expected = np.array(
        [
            sum(
                w[q]
                * sum(p0[i, k] * np.log(p0[i, k] / tables.probabilities[i, k, q]) for k in (0, 1))
                for q in range(w.size)
            )
            for i in range(pool.n_items)
        ]
    )
    assert kl == pytest.approx(expected, rel=1e-6)
    assert np.all(kl >= 0)


def test_kl_index_integrates_over_the_shrinking_interval() -> None:
    pool = compile_pool(synthetic_bank(40, "2pl", 1, seed=6))
    sel = selector_for(pool, "kl")
    theta = np.array([0.2])
    values = sel.criterion(theta, np.array([4.0]), lambda k: np.ones(1), uniform)
    delta = 3.0 / 2.0
    grid = np.linspace(0.2 - delta, 0.2 + delta, 4001)
    p0 = pool.probabilities(theta)[:, :, 0]
    p = pool.probabilities(grid)
    kl = (p0[:, :, None] * np.log(p0[:, :, None] / p)).sum(axis=1)
    expected = np.trapezoid(kl, grid, axis=1)
    assert values == pytest.approx(expected, rel=1e-3)
    # With more items the interval narrows and the index shrinks.
    later = sel.criterion(theta, np.array([25.0]), lambda k: np.ones(1), uniform)
    assert np.all(later < values)


def test_a_stratified_moves_from_low_to_high_discrimination() -> None:
    pool = compile_pool(synthetic_bank(200, "2pl", 1, seed=9))
    session = Session(
        pool,
        Policy(
            selection=SelectionConfig(method="a_stratified", strata=4),
            content=NO_BALANCE,
            stopping=FixedLength(n=20),
        ),
    )
    state = session.start(3)
    chosen = []
    for _ in range(20):
        state = session.next_item(state)
        assert state.pending is not None
        chosen.append(state.pending)
        state = session.record(state, state.pending, 1 if len(chosen) % 2 else 0)
    slopes = pool.slope[chosen]
    order = np.sort(pool.slope)
    assert np.all(slopes[:5] <= order[50])  # first quarter of the test: lowest a stratum
    assert np.all(slopes[-5:] >= order[149])  # last quarter: highest
    first = chosen[0]
    stratum = np.argsort(pool.slope)[:50]
    assert first == stratum[np.argmin(np.abs(pool.location[stratum] - 0.0))]


def test_random_selection_is_reproducible() -> None:
    pool = compile_pool(synthetic_bank(100, "2pl", 1, seed=9))
    policy = Policy(
        selection=SelectionConfig(method="random"), content=NO_BALANCE, stopping=FixedLength(n=5)
    )
    session = Session(pool, policy)
    a = session.next_item(session.start(5)).pending
    b = session.next_item(session.start(5)).pending
    others = {session.next_item(session.start(s)).pending for s in range(20)}
    assert a == b
    assert len(others) > 10


# ------------------------------------------------------------------ exposure


def test_randomesque_picks_among_the_best() -> None:
    values = np.array([0.1, 0.9, 0.5, -np.inf, 0.8, 0.7])
    rng = random.Random(1)
    picks = Counter(randomesque(values, 3, rng) for _ in range(3000))
    assert set(picks) == {1, 4, 5}
    assert min(picks.values()) > 850
    assert randomesque(np.full(4, -np.inf), 3, rng) is None
    assert randomesque(values, 1, rng) == 1


def test_sympson_hetter_administers_with_probability_k() -> None:
    values = np.array([0.9, 0.5, 0.1])
    k = np.array([0.3, 1.0, 1.0])
    rng = random.Random(2)
    outcomes = Counter(sympson_hetter(values, k, rng)[0] for _ in range(5000))
    assert outcomes[0] / 5000 == pytest.approx(0.3, abs=0.03)
    assert outcomes[1] / 5000 == pytest.approx(0.7, abs=0.03)
    item, refused = sympson_hetter(values, np.array([1e-9, 1e-9, 1.0]), random.Random(0))
    assert (item, refused) == (2, [0, 1])


def test_eligibility_update() -> None:
    prob = np.array([1.0, 0.5, 1.0, 0.8])
    rate = np.array([0.5, 0.2, 0.0, 0.1])
    assert update_eligibility(prob, rate, 0.25).tolist() == pytest.approx([0.5, 0.625, 1.0, 1.0])


@pytest.mark.parametrize("method", ["randomesque", "eligibility"])
def test_exposure_control_lowers_maximum_exposure(method: str) -> None:
    pool = compile_pool(synthetic_bank(300, "3pl", 1, seed=11))
    base = Policy(content=NO_BALANCE, stopping=FixedLength(n=15))
    controlled = Policy(
        content=NO_BALANCE,
        stopping=FixedLength(n=15),
        exposure=ExposureConfig(method=method, r_max=0.25, randomesque_size=8),  # type: ignore[arg-type]
    )
    _, plain = simulate(pool, base, examinees=300, seed=1)
    _, limited = simulate(pool, controlled, examinees=300, seed=1)
    assert plain.max_exposure == 1.0  # the first item is always the same without control
    # Randomesque spreads the first items but a very informative item stays in the top
    # few at many steps, so its rate drops less than under eligibility control.
    assert limited.max_exposure < 0.8
    assert limited.overlap < plain.overlap
    if method == "eligibility":
        assert limited.max_exposure <= 0.25 + 0.1


# ------------------------------------------------------------------ content


def test_target_proportions_are_met() -> None:
    pool = compile_pool(synthetic_bank(300, "2pl", 3, seed=12))
    policy = Policy(
        content=ContentConfig(balance="targets", competencies={"c1": 0.5, "c2": 0.3, "c3": 0.2}),
        stopping=FixedLength(n=20),
    )
    session = Session(pool, policy)
    for seed in range(5):
        state = session.start(seed)
        while not state.finished:
            state = session.next_item(state)
            if state.pending is None:
                break
            state = session.record(state, state.pending, seed % 2)
        counts = Counter(int(pool.competency[i]) for i in state.items)
        assert counts == {0: 10, 1: 6, 2: 4}


def test_area_targets_are_followed() -> None:
    pool = compile_pool(synthetic_bank(300, "2pl", 1, seed=12))
    policy = Policy(
        content=ContentConfig(balance="targets", areas={"recall": 0.5}),
        stopping=FixedLength(n=10),
    )
    session = Session(pool, policy)
    state = session.start(0)
    while not state.finished:
        state = session.next_item(state)
        assert state.pending is not None
        state = session.record(state, state.pending, 1)
    recall = pool.area_ids.index("recall")
    assert pool.areas[list(state.items), recall].sum() == 5


def test_shadow_test_meets_counts_exactly() -> None:
    pool = compile_pool(synthetic_bank(150, "3pl", 3, seed=13))
    policy = Policy(
        content=ContentConfig(
            balance="shadow_test",
            competencies={"c1": 0.4, "c2": 0.4, "c3": 0.2},
            areas={"analysis": 0.3},
        ),
        stopping=FixedLength(n=10),
    )
    session = Session(pool, policy)
    state = session.start(1)
    rng = np.random.default_rng(0)
    while not state.finished:
        state = session.next_item(state)
        assert state.pending is not None
        state = session.record(state, state.pending, int(rng.random() < 0.5))
    items = list(state.items)
    counts = Counter(int(pool.competency[i]) for i in items)
    assert counts == {0: 4, 1: 4, 2: 2}
    assert pool.areas[items, pool.area_ids.index("analysis")].sum() == 3


def test_polytomous_information_interpolation_is_accurate() -> None:
    """Selection tabulates polytomous information; interpolation error stays below 1e-6."""
    pool = mixed_pool()
    poly = np.concatenate((pool.graded_index, pool.partial_index))
    table = pool.information(_POLY_GRID)[poly]
    rng = np.random.default_rng(3)
    for _ in range(20):
        theta = rng.uniform(-7.9, 7.9, poly.size)
        exact = np.array(
            [pool.information(np.array([t]))[i, 0] for i, t in zip(poly, theta, strict=True)]
        )
        assert interpolated_information(table, theta) == pytest.approx(exact, abs=1e-6)
    clamped = interpolated_information(table, np.full(poly.size, 50.0))
    assert np.all(np.isfinite(clamped))
