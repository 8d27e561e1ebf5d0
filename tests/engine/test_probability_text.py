"""Probabilities people read never claim more certainty than they have ("never 100%")."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.standing import probability_text, score_se_text, score_text


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.8, "80%"),
        (0.5, "50%"),
        (0.994, "99%"),
        (0.995, "99.5%"),  # would round to 100%: one decimal more
        (0.998, "99.8%"),  # the 0.998 shown as "100%"
        (0.9994, "99.9%"),
        (0.9996, ">99.9%"),
        (1.0, ">99.9%"),  # a posterior mass of exactly 1 is arithmetic, not certainty
        (0.006, "1%"),
        (0.004, "0.4%"),
        (0.0004, "<0.1%"),
        (0.0, "<0.1%"),
        (1.5, ">99.9%"),  # clipped
        (-0.2, "<0.1%"),
    ],
)
def test_golden_values(p: float, text: str) -> None:
    assert probability_text(p) == text


@given(st.floats(0.0, 1.0))
def test_never_100_or_0_and_always_a_percentage(p: float) -> None:
    text = probability_text(p)
    assert text not in ("100%", "0%", "100.0%", "0.0%")
    assert re.fullmatch(r"(>99\.9|<0\.1|\d{1,2}|\d{1,2}\.\d)%", text)


@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_order_is_kept(a: float, b: float) -> None:
    """A larger probability never reads as a smaller one."""

    def value(text: str) -> float:
        number = float(text.strip("%<>"))
        return (
            number + (0.05 if text.startswith(">") else 0) - (0.05 if text.startswith("<") else 0)
        )

    low, high = sorted((a, b))
    assert value(probability_text(low)) <= value(probability_text(high))


def test_scores_and_standard_errors_in_points() -> None:
    assert score_text(1.89) == "689"
    assert score_text(-0.3) == "470"
    assert score_se_text(0.62) == "62"
    assert score_se_text(0.654) == "65"
