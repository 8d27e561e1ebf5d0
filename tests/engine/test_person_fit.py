"""Person fit lz and lz*: by hand, by numeric derivatives, by simulation, properties, edges."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.estimation import Grid, GridTables, eap, map_estimate, mle, wle
from engine.person_fit import Estimator, learner_fit, pool_fit
from engine.pool import ItemPool, compile_pool
from engine.synthetic import synthetic_bank
from item_banks.model import Graded, PartialCredit, ThreePL, TwoPL
from tests.engine.helpers import make_bank, make_item

A = (1.2, 0.8, 1.5, 1.0)
B = (-1.0, 0.0, 0.5, 1.2)


def two_pl_pool() -> ItemPool:
    return compile_pool(
        make_bank(
            [make_item(f"i{k}", TwoPL(a=a, b=b)) for k, (a, b) in enumerate(zip(A, B, strict=True))]
        )
    )


def by_hand_2pl(x: list[int], theta: float, r0: float) -> tuple[float, float]:
    """Snijders (2001) for 2PL items written out item by item with the math module.

    For the 2PL, P' = a P Q, the weight is logit P = a (theta - b), and r_i = a_i.
    """
    num = var = 0.0
    cn_top = cn_bottom = 0.0
    ps = []
    for a, b in zip(A, B, strict=True):
        p = 1.0 / (1.0 + math.exp(-a * (theta - b)))
        ps.append(p)
        cn_top += a * p * (1 - p) * a * (theta - b)  # P' * logit P
        cn_bottom += a * p * (1 - p) * a  # P' * r
    c = cn_top / cn_bottom
    lz_num = lz_var = 0.0
    for xi, p, a, b in zip(x, ps, A, B, strict=True):
        logit = a * (theta - b)
        lz_num += (xi - p) * logit
        lz_var += p * (1 - p) * logit**2
        num += (xi - p) * logit
        var += p * (1 - p) * (logit - c * a) ** 2
    return lz_num / math.sqrt(lz_var), (num + c * r0) / math.sqrt(var)


@pytest.mark.parametrize(
    ("pattern", "theta"), [([1, 0, 1, 0], 0.3), ([0, 1, 1, 1], 0.9), ([1, 1, 0, 0], -0.4)]
)
def test_lz_and_lz_star_match_a_computation_by_hand(pattern: list[int], theta: float) -> None:
    pool = two_pl_pool()
    items = np.arange(4)
    cats = np.array(pattern)
    group = np.zeros(4, dtype=np.intp)
    for estimator, r0 in (("mle", 0.0), ("map", (0.0 - theta) / 1.0)):
        fit = pool_fit(pool, items, cats, group, np.array([theta]), estimator=estimator)  # type: ignore[arg-type]
        lz, lz_star = by_hand_2pl(pattern, theta, r0)
        assert fit.lz[0] == pytest.approx(lz, abs=1e-12)
        assert fit.lz_star[0] == pytest.approx(lz_star, abs=1e-12)


def test_a_worked_value() -> None:
    """Pattern 1010 at theta = 0.3 on the four 2PL items, ML weights, worked on paper.

    P = (.8264, .5597, .4256, .2891); logit P = a (theta - b) = (1.56, .24, -.30, -.90);
    l0 - E = sum (x - P) logit P = .22437; Var(l0) = sum P Q logit^2 = .55186, so
    lz = .30203; c_n = sum a P Q logit / sum a^2 P Q = .018733;
    Var* = sum P Q (logit - c_n a)^2 = .55146, so lz* = .30214.
    """
    fit = pool_fit(
        two_pl_pool(),
        np.arange(4),
        np.array([1, 0, 1, 0]),
        np.zeros(4, dtype=np.intp),
        np.array([0.3]),
        estimator="mle",
    )
    assert fit.lz[0] == pytest.approx(0.30203, abs=1e-5)
    assert fit.lz_star[0] == pytest.approx(0.30214, abs=1e-5)


def numeric_lz_star(pool: ItemPool, items: np.ndarray, cats: np.ndarray, theta: float) -> float:
    """lz* for an ML estimate from its definition, with derivatives by central differences.

    w_ik = log P_ik; r_ik = d log P_ik / d theta (numerically); c_n = sum P' w / sum P' r.
    """
    h = 1e-5

    def probs(t: float) -> np.ndarray:
        p = pool.probabilities(np.array([t]))[items, :, 0]
        return np.asarray(p)

    p = probs(theta)
    dp = (probs(theta + h) - probs(theta - h)) / (2 * h)
    num = var_star = top = bottom = 0.0
    rows = []
    for i in range(items.size):
        k_count = int(pool.n_categories[items[i]])
        pk, dk = p[i, :k_count], dp[i, :k_count]
        w = np.log(pk)
        r = dk / pk
        top += float(dk @ w)
        bottom += float(dk @ r)
        num += float(w[cats[i]] - pk @ w)
        rows.append((pk, w, r))
    c = top / bottom
    for pk, w, r in rows:
        wt = w - c * r
        var_star += float(pk @ wt**2 - (pk @ wt) ** 2)
    return num / math.sqrt(var_star)


@pytest.mark.parametrize("model", ["3pl", "grm", "gpcm"])
def test_lz_star_matches_its_formula_with_numeric_derivatives(model: str) -> None:
    pool = compile_pool(synthetic_bank(12, model, 1, seed=5))  # type: ignore[arg-type]
    rng = np.random.default_rng(2)
    items = np.arange(12)
    cats = np.array([rng.integers(pool.n_categories[i]) for i in items])
    theta = 0.37
    fit = pool_fit(
        pool, items, cats, np.zeros(12, dtype=np.intp), np.array([theta]), estimator="mle"
    )
    assert fit.lz_star[0] == pytest.approx(numeric_lz_star(pool, items, cats, theta), abs=1e-6)


def test_polytomous_form_with_two_categories_is_the_dichotomous_statistic() -> None:
    """A GPCM item with one step is a 2PL item: the category form must give the same lz*."""
    two = compile_pool(
        make_bank(
            [make_item(f"i{k}", TwoPL(a=a, b=b)) for k, (a, b) in enumerate(zip(A, B, strict=True))]
        )
    )
    gpcm = compile_pool(
        make_bank(
            [
                make_item(f"i{k}", PartialCredit(a=a, thresholds=(b,)))
                for k, (a, b) in enumerate(zip(A, B, strict=True))
            ]
        )
    )
    args = (np.arange(4), np.array([0, 1, 1, 0]), np.zeros(4, dtype=np.intp), np.array([0.2]))
    for est in ("mle", "wle", "map", "eap"):
        f2 = pool_fit(two, *args, estimator=est)
        fp = pool_fit(gpcm, *args, estimator=est)
        assert fp.lz_star[0] == pytest.approx(f2.lz_star[0], abs=1e-12)
        assert fp.lz[0] == pytest.approx(f2.lz[0], abs=1e-12)


def estimate(
    pool: ItemPool, tables: GridTables, est: str, items: np.ndarray, cats: np.ndarray
) -> float:
    if est == "eap":
        return eap(tables, items, cats).theta
    if est == "map":
        return map_estimate(pool, tables, items, cats).theta
    if est == "mle":
        return mle(pool, items, cats).theta
    return wle(pool, items, cats).theta


@pytest.mark.slow
@pytest.mark.parametrize("est", ["eap", "map", "mle", "wle"])
def test_lz_star_is_standard_normal_under_the_model_on_long_tests(est: str) -> None:
    """60 items, 2PL, true abilities N(0, 1): lz* has mean ~0 and SD ~1; plain lz is narrower."""
    pool = compile_pool(synthetic_bank(60, "2pl", 1, seed=3))
    tables = GridTables(pool, Grid.normal())
    rng = np.random.default_rng(11)
    n, reps = 60, 1200
    lz, lz_star = np.empty(reps), np.empty(reps)
    items = np.arange(n)
    group = np.zeros(n, dtype=np.intp)
    for r in range(reps):
        theta = rng.standard_normal()
        p = pool.probabilities(np.array([theta]))[items, 1, 0]
        cats = (rng.random(n) < p).astype(np.intp)
        hat = estimate(pool, tables, est, items, cats)
        fit = pool_fit(pool, items, cats, group, np.array([hat]), estimator=est)  # type: ignore[arg-type]
        lz[r], lz_star[r] = fit.lz[0], fit.lz_star[0]
    assert abs(lz_star.mean()) < 0.12
    assert 0.92 < lz_star.std() < 1.08
    assert lz.std() < lz_star.std()  # the uncorrected statistic is too narrow
    assert 0.03 < np.mean(lz_star < -1.645) < 0.075


def test_random_responding_has_low_lz_star() -> None:
    """Answers independent of ability (a coin per item) misfit: most lz* fall below -1.645."""
    pool = compile_pool(synthetic_bank(60, "2pl", 1, seed=3))
    tables = GridTables(pool, Grid.normal())
    rng = np.random.default_rng(5)
    items = np.arange(60)
    values = []
    for _ in range(200):
        cats = (rng.random(60) < 0.5).astype(np.intp)
        hat = eap(tables, items, cats).theta
        values.append(
            pool_fit(
                pool, items, cats, np.zeros(60, dtype=np.intp), np.array([hat]), estimator="eap"
            ).lz_star[0]
        )
    assert np.mean(np.array(values) < -1.645) > 0.5


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 30),
    theta=st.floats(-3, 3),
    est=st.sampled_from(["eap", "map", "mle", "wle"]),
    model=st.sampled_from(["2pl", "3pl", "grm", "gpcm"]),
)
def test_properties(seed: int, n: int, theta: float, est: Estimator, model: str) -> None:
    pool = compile_pool(synthetic_bank(30, model, 1, seed=seed % 7))  # type: ignore[arg-type]
    rng = np.random.default_rng(seed)
    items = rng.choice(30, n, replace=False)
    cats = np.array([rng.integers(pool.n_categories[i]) for i in items])
    group = np.zeros(n, dtype=np.intp)
    fit = pool_fit(pool, items, cats, group, np.array([theta]), estimator=est)
    # Var* = Var - (sum P' w)^2 / I <= Var: the correction never widens the statistic.
    assert fit.variance_star[0] <= fit.variance[0] + 1e-9
    # The order of the answers does not matter.
    order = rng.permutation(n)
    again = pool_fit(pool, items[order], cats[order], group, np.array([theta]), estimator=est)
    np.testing.assert_allclose(again.numerator_star, fit.numerator_star, atol=1e-9)
    np.testing.assert_allclose(again.variance_star, fit.variance_star, atol=1e-9)
    # Splitting the answers into two groups at the same theta and combining them gives the
    # same plain lz (its parts are sums over items).
    half = np.arange(n) % 2
    split = pool_fit(pool, items, cats, half, np.array([theta, theta]), estimator=est)
    whole = split.combine(np.zeros(2, dtype=np.intp), 1)
    np.testing.assert_allclose(whole.numerator, fit.numerator, atol=1e-9)
    np.testing.assert_allclose(whole.variance, fit.variance, atol=1e-9)


def test_at_an_interior_ml_estimate_the_numerator_is_the_centred_corrected_weight() -> None:
    """At an exact root of the likelihood equation, l0 - E + c_n r0 = sum (w~_x - E w~)."""
    pool = compile_pool(synthetic_bank(20, "gpcm", 1, seed=2))
    rng = np.random.default_rng(3)
    items = np.arange(20)
    cats = np.array([rng.integers(pool.n_categories[i]) for i in items])
    hat = mle(pool, items, cats).theta
    assert -3.9 < hat < 3.9
    fit = pool_fit(pool, items, cats, np.zeros(20, dtype=np.intp), np.array([hat]), estimator="mle")
    p, dp, _ = pool.derivatives(items, np.full((20, 1), hat))
    p, dp = p[..., 0], dp[..., 0]
    w = np.where(p > 0, np.log(np.where(p > 0, p, 1)), 0)
    r = np.where(p > 0, dp / np.where(p > 0, p, 1), 0)
    c = (dp * w).sum() / (dp * r).sum()
    wt = w - c * r
    centred = (wt[np.arange(20), cats] - (p * wt).sum(axis=1)).sum()
    assert fit.numerator_star[0] == pytest.approx(centred, abs=1e-6)


# --------------------------------------------------------------------------- edge cases


def test_no_answers_give_none() -> None:
    pool = two_pl_pool()
    fit = learner_fit(
        pool,
        np.zeros(0, dtype=np.intp),
        np.zeros(0, dtype=np.intp),
        np.array([0.0]),
        estimator="eap",
    )
    assert fit.items == 0 and fit.lz is None and fit.lz_star is None and fit.p_value is None


def test_one_item_gives_no_lz_star() -> None:
    """With one item the estimate uses up all the information: lz* is undefined."""
    pool = two_pl_pool()
    fit = learner_fit(pool, np.array([1]), np.array([1]), np.array([0.4]), estimator="mle")
    assert fit.items == 1
    assert fit.lz_star is None
    assert fit.lz is not None  # plain lz is defined at a given theta


@pytest.mark.parametrize("value", [0, 1])
@pytest.mark.parametrize("est", ["eap", "map", "mle", "wle"])
def test_all_correct_and_all_wrong_are_never_misfit(value: int, est: str) -> None:
    """A perfect (or null) pattern is the most Guttman-consistent pattern there is."""
    pool = compile_pool(synthetic_bank(25, "2pl", 1, seed=4))
    tables = GridTables(pool, Grid.normal())
    items = np.arange(25)
    cats = np.full(25, value)
    hat = estimate(pool, tables, est, items, cats)
    fit = learner_fit(pool, items, cats, np.array([hat]), estimator=est)  # type: ignore[arg-type]
    assert fit.lz_star is None or fit.lz_star > -1.0


def test_learner_fit_adds_competencies() -> None:
    bank = make_bank(
        [
            make_item("a1", TwoPL(a=1.0, b=-0.5), "c1"),
            make_item("a2", ThreePL(a=1.4, b=0.5, c=0.2), "c1"),
            make_item("a3", TwoPL(a=0.9, b=0.1), "c1"),
            make_item("b1", Graded(a=1.1, thresholds=(-1.0, 0.5)), "c2"),
            make_item("b2", TwoPL(a=1.3, b=0.3), "c2"),
            make_item("b3", TwoPL(a=0.7, b=-0.3), "c2"),
        ],
        competencies=("c1", "c2"),
    )
    pool = compile_pool(bank)
    items = np.arange(6)
    cats = np.array([1, 0, 1, 2, 0, 1])
    theta = np.array([0.2, -0.1])
    fit = learner_fit(pool, items, cats, theta, estimator="map")
    parts = pool_fit(pool, items, cats, pool.competency[items], theta, estimator="map")
    expected = parts.numerator_star.sum() / math.sqrt(parts.variance_star.sum())
    assert fit.lz_star == pytest.approx(expected)
    assert [c.items for c in fit.competencies] == [3, 3]
    assert fit.p_value == pytest.approx(0.5 * math.erfc(-expected / math.sqrt(2)))
