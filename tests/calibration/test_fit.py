"""Fit statistics find what they are meant to find, and stay quiet when the model holds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calibration.data import from_array
from calibration.em import calibrate
from calibration.fit import item_fit, model_fit, q3
from engine.irt.dichotomous import Dichotomous


def two_pl(n: int, j: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    theta = rng.standard_normal(n)
    a, b = rng.uniform(0.8, 2.0, j), rng.uniform(-1.5, 1.5, j)
    p = Dichotomous.from_arrays(a, b).correct(theta)
    return (rng.random(p.shape) < p).T.astype(np.int8), theta


def test_s_x2_flags_a_non_monotone_item_and_not_the_others() -> None:
    # mirt's itemfit example: one item answered by P = logistic(1.2 theta^2 - 1).
    x, theta = two_pl(3000, 20, seed=1)
    rng = np.random.default_rng(2)
    bad = (rng.random(theta.size) < 1 / (1 + np.exp(-(1.2 * theta**2 - 1)))).astype(np.int8)
    data = from_array(np.column_stack((x, bad)))
    fits, note = item_fit(calibrate(data, "2pl"))
    assert note == ""
    assert fits[-1].p_value < 1e-6
    assert sum(f.p_value < 0.01 for f in fits[:-1]) <= 1
    assert all(f.df > 0 for f in fits)


def test_infit_and_outfit_are_near_one_when_the_model_holds() -> None:
    # At EAP estimates (as mirt computes them) the mean squares sit a little below 1: the
    # estimates shrink toward the mean and absorb part of the residual.
    x, _ = two_pl(4000, 25, seed=3)
    fits, _ = item_fit(calibrate(from_array(x), "2pl"))
    infit = np.array([f.infit for f in fits])
    outfit = np.array([f.outfit for f in fits])
    assert 0.9 < infit.mean() < 1.02
    assert 0.85 < outfit.mean() < 1.05
    assert np.all((infit > 0.8) & (infit < 1.2))


def test_m2_accepts_the_true_model_and_rejects_a_wrong_one() -> None:
    rng = np.random.default_rng(4)
    theta = rng.standard_normal(3000)
    a, b = rng.uniform(0.5, 2.5, 12), rng.uniform(-1.5, 1.5, 12)
    p = Dichotomous.from_arrays(a, b).correct(theta)
    data = from_array((rng.random(p.shape) < p).T.astype(np.int8))
    right = model_fit(calibrate(data, "2pl"))
    wrong = model_fit(calibrate(data, "rasch"))
    assert right.m2 is not None and wrong.m2 is not None
    assert right.m2_df == 12 * 13 // 2 - 24
    assert right.m2_p is not None and right.m2_p > 0.01
    assert wrong.m2_p is not None and wrong.m2_p < 1e-6
    assert wrong.rmsea is not None and right.rmsea is not None and wrong.rmsea > right.rmsea
    assert right.g2 is not None  # 2^12 possible patterns
    assert right.aic < wrong.aic and right.bic < wrong.bic


def test_q3_finds_a_planted_dependent_pair() -> None:
    x, _ = two_pl(3000, 15, seed=5)
    rng = np.random.default_rng(6)
    copy = np.where(rng.random(len(x)) < 0.7, x[:, 13], x[:, 14])
    x[:, 14] = copy  # item 15 mostly repeats item 14
    dep = q3(calibrate(from_array(x), "2pl"))
    assert dep.flagged[0][:2] == ("item14", "item15")
    assert len(dep.flagged) == 1
    assert -0.2 < dep.mean < 0.0  # Q3's known negative bias, about -1/(J-1)


def test_statistics_that_need_complete_data_say_so() -> None:
    x, _ = two_pl(1500, 10, seed=7)
    x[np.random.default_rng(8).random(x.shape) < 0.2] = -1
    fit = calibrate(from_array(x), "2pl")
    fits, note = item_fit(fit)
    assert "S-X2 needs complete responses" in note
    share = f"{(x < 0).mean():.0%}"
    assert f"{share} of the person x item table is missing" in note  # and why it matters
    assert "summed scores are over different items" in note
    assert all(math.isnan(f.s_x2) for f in fits)
    assert all(math.isfinite(f.infit) for f in fits)
    overall = model_fit(fit)
    assert overall.m2 is None and overall.g2 is None
    (m2_note,) = [n for n in overall.notes if "need complete responses" in n]
    assert f"{share} of the person x item table is missing" in m2_note
    assert "chosen by their earlier answers" in m2_note
    assert "against its own predictions" in m2_note
    dependence = q3(fit)
    assert math.isfinite(dependence.mean)
    assert dependence.flagged == () and "incomplete data" in dependence.note


@pytest.mark.parametrize("mincell", [0.0, 1.0, 5.0])
def test_collapsing_score_groups_only_removes_degrees_of_freedom(mincell: float) -> None:
    x, _ = two_pl(400, 12, seed=9)
    fit = calibrate(from_array(x), "2pl")
    uncollapsed, _ = item_fit(fit, mincell=0.0)
    collapsed, _ = item_fit(fit, mincell=mincell)
    for u, c in zip(uncollapsed, collapsed, strict=True):
        assert c.df <= u.df
        assert c.df >= 1
