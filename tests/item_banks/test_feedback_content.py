"""Authored feedback content: common wrong answers, wrong texts, levels, resources.

The validator checks every reference and refuses contradictions (a "wrong" answer that would
earn credit), each problem located by item and field; numbers with formatting slips or
units are refused with a message that says what to change.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from item_banks import AnswerError, BankValidationError, decode_bank, score_answer
from item_banks.model import Item, Numeric, TwoPL
from item_banks.scoring import parse_number
from item_banks.validation import lint_bank
from tests.item_banks.helpers import choice_item, raw_bank


def problems_of(raw: Any) -> list[str]:
    with pytest.raises(BankValidationError) as info:
        decode_bank(json.dumps(raw).encode(), source="bank.json", fmt="json")
    return [str(p) for p in info.value.problems]


def numeric_item(**interaction: Any) -> dict[str, Any]:
    item = choice_item("n1")
    item["interaction"] = {"type": "numeric", "key": 0.625, **interaction}
    return item


def text_item(**interaction: Any) -> dict[str, Any]:
    item = choice_item("t1")
    item["interaction"] = {"type": "short_text", "key": ["zip"], **interaction}
    return item


MISCONCEPTIONS = [{"id": "pct", "name": "Percent slip", "explanation": "x100."}]


def test_full_authoring_content_is_valid() -> None:
    raw = raw_bank(
        misconceptions=[
            {
                **MISCONCEPTIONS[0],
                "resources": [{"title": "Proportions", "url": "https://example.org/p"}],
            }
        ],
        competencies=[
            {
                "id": "c1",
                "name": "One",
                "cut_score": 0.0,
                "levels": [
                    {"label": "Beginning", "descriptor": "Starts."},
                    {"label": "Proficient", "descriptor": "Does it.", "min_theta": 0.0},
                    {"label": "Advanced", "descriptor": "Teaches it.", "min_theta": 1.3},
                ],
                "resources": [
                    {"title": "Guide", "url": "https://docs.python.org/3/tutorial/"},
                    {"title": "Book", "reference": "McKinney, *Python for Data Analysis*, ch. 5"},
                ],
            }
        ],
    )
    raw["items"].append(
        numeric_item(
            common_wrong_answers=[
                {"value": 62.5, "explanation": "A percentage.", "misconception": "pct"},
                {"low": 4.9, "high": 5.1, "explanation": "The count."},
                {"value": "nan", "explanation": "pandas skips NaN."},
            ]
        )
    )
    raw["items"].append(
        text_item(wrong_answers=[{"text": "map", "explanation": "map applies a function."}])
    )
    bank = decode_bank(json.dumps(raw).encode(), source="bank.json", fmt="json")
    assert [level.label for level in bank.competencies[0].levels] == [
        "Beginning",
        "Proficient",
        "Advanced",
    ]
    numeric = bank.items[-2].interaction
    assert isinstance(numeric, Numeric)
    assert [w.value for w in numeric.common_wrong_answers] == [62.5, None, "nan"]


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            numeric_item(
                common_wrong_answers=[{"value": 62.5, "explanation": "x", "misconception": "m9"}]
            ),
            'item "n1": interaction.common_wrong_answers[0].misconception: "m9" is not a '
            "misconception of this bank",
        ),
        (
            numeric_item(common_wrong_answers=[{"value": 0.625, "explanation": "x"}]),
            'item "n1": interaction.common_wrong_answers[0]: overlaps the accepted answers '
            "[0.625, 0.625]: a wrong answer must score 0",
        ),
        (
            numeric_item(
                tolerance=0.01,
                common_wrong_answers=[{"low": 0.5, "high": 0.62, "explanation": "x"}],
            ),
            "interaction.common_wrong_answers[0]: overlaps the accepted answers [0.615, 0.635]",
        ),
        (
            numeric_item(
                alternatives=[{"low": 6, "high": 7, "credit": 0.5}],
                common_wrong_answers=[{"value": 6.5, "explanation": "x"}],
            ),
            "interaction.common_wrong_answers[0]: overlaps the accepted answers [6, 7]",
        ),
        (
            numeric_item(common_wrong_answers=[{"explanation": "x"}]),
            "interaction.common_wrong_answers[0]: needs a value, or low and high",
        ),
        (
            numeric_item(
                common_wrong_answers=[{"value": 1, "low": 0, "high": 2, "explanation": "x"}]
            ),
            "interaction.common_wrong_answers[0]: give either value or low and high, not both",
        ),
        (
            numeric_item(common_wrong_answers=[{"low": 3, "high": 2, "explanation": "x"}]),
            "interaction.common_wrong_answers[0]: low 3 is above high 2",
        ),
        (
            numeric_item(common_wrong_answers=[{"low": 3, "explanation": "x"}]),
            "interaction.common_wrong_answers[0]: a range needs both low and high",
        ),
        (
            numeric_item(common_wrong_answers=[{"value": 3, "explanation": ""}]),
            "interaction.common_wrong_answers[0].explanation: must not be empty",
        ),
        (
            text_item(wrong_answers=[{"text": " ZIP ", "explanation": "x"}]),
            "interaction.wrong_answers[0].text: ' ZIP ' is also an accepted answer",
        ),
        (
            text_item(
                wrong_answers=[
                    {"text": "map", "explanation": "x"},
                    {"text": "MAP", "explanation": "y"},
                ]
            ),
            "interaction.wrong_answers[1].text: 'MAP' repeats an earlier wrong answer",
        ),
        (
            text_item(wrong_answers=[{"text": "map", "explanation": "x", "misconception": "m9"}]),
            'interaction.wrong_answers[0].misconception: "m9" is not a misconception',
        ),
    ],
)
def test_item_content_problems_are_located(item: dict[str, Any], expected: str) -> None:
    raw = raw_bank(misconceptions=MISCONCEPTIONS)
    raw["items"].append(item)
    lines = problems_of(raw)
    assert any(expected in line for line in lines), lines


@pytest.mark.parametrize(
    ("competency", "expected"),
    [
        (
            {"levels": [{"label": "A", "descriptor": "a", "min_theta": -1}]},
            'competencies["c1"].levels[0].min_theta: the first (lowest) level starts at minus '
            "infinity: leave min_theta out",
        ),
        (
            {"levels": [{"label": "A", "descriptor": "a"}, {"label": "B", "descriptor": "b"}]},
            'competencies["c1"].levels[1].min_theta: every level after the first needs one',
        ),
        (
            {
                "levels": [
                    {"label": "A", "descriptor": "a"},
                    {"label": "B", "descriptor": "b", "min_theta": 1},
                    {"label": "C", "descriptor": "c", "min_theta": 1},
                ]
            },
            "levels[2].min_theta: must be above the previous level's (1), got 1",
        ),
        (
            {
                "levels": [
                    {"label": "A", "descriptor": "a"},
                    {"label": "A", "descriptor": "b", "min_theta": 1},
                ]
            },
            'competencies["c1"].levels: label "A" is used more than once',
        ),
        (
            {"levels": [{"label": "A", "descriptor": ""}]},
            'competencies["c1"].levels[0].descriptor: must not be empty',
        ),
        (
            {"resources": [{"title": "Nothing to follow"}]},
            'competencies["c1"].resources[0]: needs a url or a reference',
        ),
        (
            {"resources": [{"title": "Bad", "url": "javascript:alert(1)"}]},
            'competencies["c1"].resources[0].url:',
        ),
    ],
)
def test_competency_content_problems_are_located(competency: dict[str, Any], expected: str) -> None:
    raw = raw_bank(competencies=[{"id": "c1", "name": "One", **competency}])
    lines = problems_of(raw)
    assert any(expected in line for line in lines), lines


def test_misconception_resources_are_checked() -> None:
    raw = raw_bank(
        misconceptions=[{**MISCONCEPTIONS[0], "resources": [{"title": "x", "reference": " "}]}]
    )
    assert problems_of(raw) == [
        'bank.json: misconceptions["pct"].resources[0]: needs a url or a reference'
    ]


def test_an_option_pointing_at_an_undefined_misconception_is_an_error() -> None:
    raw = raw_bank()
    raw["items"][0]["interaction"]["options"][1]["misconception"] = "ghost"
    assert problems_of(raw) == [
        'bank.json: item "q1": interaction.options[1].misconception: "ghost" is not a '
        "misconception of this bank"
    ]


def number_item(**interaction: Any) -> Item:
    return Item(
        id="n1",
        competency="c1",
        stem="?",
        interaction=Numeric(**interaction),
        irt=TwoPL(a=1.0, b=0.0),
    )


@pytest.mark.parametrize(
    ("typed", "unit", "message"),
    [
        ("0,625", None, "'0,625': write the decimal separator as a point (0.625)"),
        ("-1,5", None, "'-1,5': write the decimal separator as a point (-1.5)"),
        ("62.5%", None, "'62.5%': give a plain number without the percent sign (62.5% is 0.625)"),
        ("44 hours", "days", "'44 hours': give the answer in days ('hours' is not days)"),
        ("5 apples", None, "'5 apples': give just the number, without 'apples'"),
        ("twelve", None, "'twelve' is not a number"),
        ("1.2.3", None, "'1.2.3' is not a number"),
        ("1e999", None, "'1e999' is not a finite number"),
        ("", None, "the answer is empty"),
    ],
)
def test_formatting_slips_and_unit_problems_are_refused_with_what_to_change(
    typed: str, unit: str | None, message: str
) -> None:
    with pytest.raises(ValueError) as info:
        parse_number(typed, unit=unit)
    assert str(info.value) == message
    with pytest.raises(AnswerError) as refused:
        score_answer(number_item(key=0.625, unit=unit), typed)
    assert refused.value.message == message


@pytest.mark.parametrize(
    ("typed", "unit", "value"),
    [
        ("44 days", "days", 44.0),
        ("44 Day", "days", 44.0),
        ("44days", "days", 44.0),
        ("62.5 %", "%", 62.5),
        ("62.5 percent", "%", 62.5),
        ("1,500", None, 1500.0),
        ("12 345.5", None, 12345.5),
        ("\u22123", None, -3.0),
    ],
)
def test_the_items_unit_and_grouping_are_accepted(
    typed: str, unit: str | None, value: float
) -> None:
    assert parse_number(typed, unit=unit) == value


def test_values_code_prints_are_scored_not_refused() -> None:
    """``nan`` is a real (wrong) answer to "what does this print?"; it is never right."""
    assert math.isnan(parse_number("nan"))
    assert math.isnan(parse_number("NaN"))
    assert parse_number("-inf") == -math.inf
    assert parse_number("Infinity") == math.inf
    it = number_item(key=5.0, tolerance=1e9)
    assert score_answer(it, "nan").category == 0
    assert score_answer(it, "inf").category == 0


@given(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9),
    st.sampled_from([1, 2, 4]),
)
def test_decimal_commas_are_never_read_as_something_else(value: float, decimals: int) -> None:
    """A comma followed by other than three digits can only be a decimal comma.

    (``1,500`` is read as fifteen hundred: a comma before exactly three digits is a
    thousands separator in the English notation the questions use.)
    """
    text = f"{value:.{decimals}f}".replace(".", ",")
    with pytest.raises(ValueError, match="decimal separator"):
        parse_number(text)


def test_lint_warns_about_thin_feedback_content() -> None:
    raw = raw_bank(1)
    raw["items"].append(numeric_item())
    bank = decode_bank(json.dumps(raw).encode(), source="bank.json", fmt="json")
    lines = [str(w) for w in lint_bank(bank, "bank.json")]
    assert (
        'bank.json: item "n1": interaction.common_wrong_answers: no common wrong answers: '
        "a wrong number gets only a generic message"
    ) in lines
    assert 'bank.json: competencies["c1"].levels: no levels: the report shows only a score' in lines
    assert any('competencies["c1"].resources: no study resources' in line for line in lines)
