"""IRT <-> mirt slope-intercept conversions (d = -a b)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from item_banks.model import FourPL, Graded, OnePL, PartialCredit, ThreePL, TwoPL
from item_banks.parameterization import SlopeIntercept, from_slope_intercept, to_slope_intercept

# R mirt's published 2PL estimates for LSAT7 (slope-intercept): a1 and d per item.
LSAT7_MIRT = [
    (0.988, 1.8561),
    (1.081, 0.808),
    (1.706, 1.8043),
    (0.7651, 0.486),
    (0.7358, 1.8545),
]


@pytest.mark.parametrize(("a1", "d"), LSAT7_MIRT)
def test_lsat7_mirt_values_convert_to_difficulties(a1: float, d: float) -> None:
    params = from_slope_intercept(SlopeIntercept(model="2pl", a1=a1, d=(d,)))
    assert isinstance(params, TwoPL)
    assert params.a == a1
    assert params.b == pytest.approx(-d / a1)
    back = to_slope_intercept(params)
    assert back.d[0] == pytest.approx(d)


def test_lsat7_item1_difficulty_golden() -> None:
    # -1.8561 / 0.988 = -1.87864...: item 1 is easy.
    params = from_slope_intercept(SlopeIntercept(model="2pl", a1=0.988, d=(1.8561,)))
    assert isinstance(params, TwoPL)
    assert params.b == pytest.approx(-1.878643, abs=1e-6)


def test_asymptotes_carry_over() -> None:
    si = to_slope_intercept(FourPL(a=1.5, b=0.4, c=0.2, d=0.95))
    assert (si.model, si.a1, si.g, si.u) == ("4pl", 1.5, 0.2, 0.95)
    assert si.d[0] == pytest.approx(-0.6)
    back = from_slope_intercept(si)
    assert isinstance(back, FourPL)
    assert (back.a, back.c, back.d) == (1.5, 0.2, 0.95)
    assert back.b == pytest.approx(0.4)
    three = to_slope_intercept(ThreePL(a=1.0, b=-1.0, c=0.25))
    assert (three.g, three.u) == (0.25, 1.0)
    assert to_slope_intercept(OnePL(b=0.5)).a1 == 1.0


def test_graded_intercepts() -> None:
    si = to_slope_intercept(Graded(a=2.0, thresholds=(-1.0, 0.5)))
    assert si.d == (2.0, -1.0)
    assert from_slope_intercept(si) == Graded(a=2.0, thresholds=(-1.0, 0.5))


def test_gpcm_cumulative_intercepts() -> None:
    # mirt: P(k) ∝ exp(k a theta + d_k), d_k = -a (b_1 + ... + b_k).
    si = to_slope_intercept(PartialCredit(a=1.5, thresholds=(-1.0, 0.2, 1.0)))
    assert si.d == pytest.approx((1.5, 1.2, -0.3))
    back = from_slope_intercept(si)
    assert isinstance(back, PartialCredit)
    assert back.thresholds == pytest.approx((-1.0, 0.2, 1.0))


def test_refusals() -> None:
    with pytest.raises(ValueError, match="a1 must be > 0"):
        from_slope_intercept(SlopeIntercept(model="2pl", a1=-1.0, d=(0.0,)))
    with pytest.raises(ValueError, match="exactly one intercept"):
        from_slope_intercept(SlopeIntercept(model="2pl", a1=1.0, d=(0.0, 1.0)))
    with pytest.raises(ValueError, match="at least one"):
        from_slope_intercept(SlopeIntercept(model="grm", a1=1.0, d=()))


@given(
    st.floats(0.1, 5.0),
    st.lists(st.floats(-4.0, 4.0), min_size=1, max_size=6),
)
def test_gpcm_round_trip(a: float, steps: list[float]) -> None:
    params = PartialCredit(a=a, thresholds=tuple(steps))
    back = from_slope_intercept(to_slope_intercept(params))
    assert isinstance(back, PartialCredit)
    assert all(
        math.isclose(x, y, abs_tol=1e-9) for x, y in zip(back.thresholds, steps, strict=True)
    )


@given(st.floats(0.1, 5.0), st.floats(-5.0, 5.0))
def test_two_pl_round_trip(a: float, b: float) -> None:
    back = from_slope_intercept(to_slope_intercept(TwoPL(a=a, b=b)))
    assert isinstance(back, TwoPL)
    assert back.b == pytest.approx(b, abs=1e-9)
