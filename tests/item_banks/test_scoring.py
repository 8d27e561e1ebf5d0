"""Scoring raw answers into categories; malformed answers are refused, not marked wrong."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from item_banks import AnswerError, score_answer
from item_banks.model import (
    Graded,
    Item,
    MultipleResponse,
    Numeric,
    Option,
    ShortText,
    SingleChoice,
    TwoPL,
)
from item_banks.scoring import parse_number


def item(interaction: object, irt: object | None = None) -> Item:
    return Item(
        id="i1",
        competency="c1",
        stem="?",
        interaction=interaction,  # type: ignore[arg-type]
        irt=irt or TwoPL(a=1.0, b=0.0),  # type: ignore[arg-type]
    )


OPTIONS = tuple(Option(id=x, text=x.upper()) for x in "abcd")


def test_single_choice() -> None:
    it = item(SingleChoice(options=OPTIONS, key="c"))
    assert score_answer(it, "c").category == 1
    assert score_answer(it, "c").correct
    assert score_answer(it, "a").category == 0
    with pytest.raises(AnswerError, match='"z" is not an option'):
        score_answer(it, "z")
    with pytest.raises(AnswerError, match="exactly one"):
        score_answer(it, ["a", "b"])


def test_multiple_response_all_or_nothing() -> None:
    it = item(MultipleResponse(options=OPTIONS, key=("a", "c")))
    assert score_answer(it, ["c", "a"]).category == 1
    assert score_answer(it, ["a"]).category == 0
    assert score_answer(it, ["a", "c", "d"]).category == 0
    assert score_answer(it, []).category == 0
    with pytest.raises(AnswerError, match="chosen twice"):
        score_answer(it, ["a", "a"])


def test_multiple_response_partial_credit_is_right_minus_wrong() -> None:
    it = item(
        MultipleResponse(options=OPTIONS, key=("a", "b", "c"), scoring="partial"),
        Graded(a=1.0, thresholds=(-1.0, 0.0, 1.0)),
    )
    assert score_answer(it, ["a", "b", "c"]).category == 3
    assert score_answer(it, ["a", "b", "c"]).max_category == 3
    assert score_answer(it, ["a", "b"]).category == 2
    assert score_answer(it, ["a", "b", "d"]).category == 1
    assert score_answer(it, ["a", "d"]).category == 0
    assert score_answer(it, ["d"]).category == 0  # floored at 0


def test_numeric_tolerances() -> None:
    absolute = item(Numeric(key=2.5, tolerance=0.05))
    assert score_answer(absolute, "2.54").category == 1
    assert score_answer(absolute, " 2.45 ").category == 1
    assert score_answer(absolute, "2.56").category == 0
    relative = item(Numeric(key=200.0, tolerance=0.01, tolerance_mode="relative"))
    assert score_answer(relative, "201.9").category == 1
    assert score_answer(relative, "202.1").category == 0
    exact = item(Numeric(key=0.3))
    assert score_answer(exact, "0.30000000000000004").category == 1
    with pytest.raises(AnswerError, match="is not a number"):
        score_answer(exact, "zero point three")
    with pytest.raises(AnswerError, match="decimal separator"):
        score_answer(exact, "0,3")


def test_numeric_units_and_formats() -> None:
    it = item(Numeric(key=12345.5, tolerance=0.1, unit="kg"))
    for text in ("12345.5", "12,345.5", "12345.5 kg", "1.23455e4", "12 345.5"):
        assert score_answer(it, text).category == 1, text
    negative = item(Numeric(key=-3.0))
    assert score_answer(negative, "\u22123").category == 1  # Unicode minus sign


def test_short_text_normalisation() -> None:
    it = item(ShortText(key=("groupby", "DataFrame.groupby")))
    assert score_answer(it, "  GroupBy ").category == 1
    assert score_answer(it, "dataframe.groupby").category == 1
    assert score_answer(it, "group by").category == 0
    assert score_answer(item(ShortText(key=("ﬁle",))), "file").category == 1  # NFKC ligature
    sensitive = item(ShortText(key=("NaN",), case_sensitive=True))
    assert score_answer(sensitive, "NaN").category == 1
    assert score_answer(sensitive, "nan").category == 0
    with pytest.raises(AnswerError, match="empty"):
        score_answer(it, "   ")


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_parse_number_round_trips_python_reprs(value: float) -> None:
    assert parse_number(repr(value)) == value


@given(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.floats(0, 100, allow_nan=False),
    st.floats(-1e6, 1e6, allow_nan=False),
)
def test_numeric_score_agrees_with_the_tolerance(key: float, tol: float, answer: float) -> None:
    it = item(Numeric(key=key, tolerance=tol))
    inside = abs(answer - key) <= tol
    scored = score_answer(it, repr(answer)).category
    if abs(abs(answer - key) - tol) > 1e-6 * max(1.0, abs(key)):  # away from the boundary
        assert scored == int(inside)
