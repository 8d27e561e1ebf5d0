"""Order, match, extended text, weighted options and alternatives: validation and scoring."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import PoolError
from engine.learner import raw_answer
from engine.pool import compile_pool
from item_banks import (
    AnswerError,
    BankValidationError,
    NotAutoScoredError,
    decode_bank,
    score_answer,
)
from item_banks.model import Bank, Item, category_count
from item_banks.scoring import credit_category
from item_banks.validation import bank_warnings
from tests.item_banks.helpers import choice_item, raw_bank


def bank_with(interaction: dict[str, Any], irt: dict[str, Any] | None = None) -> Bank:
    raw = raw_bank(2)
    raw["items"][1]["interaction"] = interaction
    if irt is not None:
        raw["items"][1]["irt"] = irt
    return decode_bank(json.dumps(raw).encode(), source="b.json", fmt="json")


def problems(interaction: dict[str, Any], irt: dict[str, Any] | None = None) -> list[str]:
    with pytest.raises(BankValidationError) as info:
        bank_with(interaction, irt)
    return [str(p) for p in info.value.problems]


def opts(*ids: str, **credits: float) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in ids:
        option: dict[str, Any] = {"id": i, "text": i.upper()}
        if i in credits:
            option["credit"] = credits[i]
        out.append(option)
    return out


GRM2 = {"model": "grm", "a": 1.0, "thresholds": [-0.5, 0.5]}


def item_of(bank: Bank) -> Item:
    return bank.items[1]


# --------------------------------------------------------------------------- credit_category


def test_credit_category_floors_per_step() -> None:
    assert credit_category(1.0, 1) == 1
    assert credit_category(0.99, 1) == 0
    assert credit_category(0.5, 2) == 1
    assert credit_category(1 / 3 + 1 / 3 + 1 / 3, 1) == 1
    assert credit_category(-0.4, 3) == 0
    assert credit_category(1.7, 3) == 3


@given(st.floats(-2, 2), st.integers(1, 20))
def test_credit_category_is_in_range_and_monotone(credit: float, top: int) -> None:
    k = credit_category(credit, top)
    assert 0 <= k <= top
    assert credit_category(credit + 0.1, top) >= k


# --------------------------------------------------------------------------- order


def test_order_scores_only_the_exact_order() -> None:
    item = item_of(
        bank_with({"type": "order", "options": opts("a", "b", "c"), "key": ["c", "a", "b"]})
    )
    assert score_answer(item, ["c", "a", "b"]).category == 1
    assert score_answer(item, ["a", "b", "c"]).category == 0
    with pytest.raises(AnswerError, match="chosen twice"):
        score_answer(item, ["c", "c", "b"])
    with pytest.raises(AnswerError, match="as a list"):
        score_answer(item, "c")
    with pytest.raises(AnswerError, match='"z" is not an option'):
        score_answer(item, ["z"])


def test_order_key_must_be_a_permutation() -> None:
    found = problems({"type": "order", "options": opts("a", "b", "c"), "key": ["a", "b"]})
    assert any("interaction.key: must list every option exactly once" in p for p in found)


# --------------------------------------------------------------------------- match


MATCH = {
    "type": "match",
    "sources": opts("s1", "s2", "s3"),
    "targets": opts("t1", "t2"),
    "key": [
        {"source": "s1", "target": "t1"},
        {"source": "s2", "target": "t2"},
    ],
}


def test_match_all_or_nothing() -> None:
    item = item_of(bank_with(MATCH))
    assert score_answer(item, ["s2 t2", "s1 t1"]).category == 1
    assert score_answer(item, ["s1 t1"]).category == 0
    assert score_answer(item, ["s1 t1", "s2 t2", "s3 t1"]).category == 0
    with pytest.raises(AnswerError, match="not a pair"):
        score_answer(item, ["s1"])
    with pytest.raises(AnswerError, match='"t9" is not a target'):
        score_answer(item, ["s1 t9"])
    with pytest.raises(AnswerError, match="given twice"):
        score_answer(item, ["s1 t1", "s1 t1"])


def test_match_weighted_with_a_polytomous_model() -> None:
    weighted = {
        **MATCH,
        "scoring": "weighted",
        "credits": [
            {"source": "s1", "target": "t1", "credit": 0.5},
            {"source": "s2", "target": "t2", "credit": 0.5},
            {"source": "s3", "target": "t1", "credit": -0.5},
        ],
    }
    item = item_of(bank_with(weighted, GRM2))
    assert score_answer(item, ["s1 t1", "s2 t2"]).category == 2
    assert score_answer(item, ["s1 t1"]).category == 1
    assert score_answer(item, ["s1 t1", "s3 t1"]).category == 0
    assert score_answer(item, ["s3 t2"]).category == 0


def test_match_references_are_checked() -> None:
    bad = {**MATCH, "key": [{"source": "s9", "target": "t1"}, {"source": "s1", "target": "s2"}]}
    found = problems(bad)
    assert any('interaction.key[0].source: "s9" is not a source' in p for p in found)
    assert any('interaction.key[1].target: "s2" is not a target' in p for p in found)
    low = {
        **MATCH,
        "scoring": "weighted",
        "credits": [{"source": "s1", "target": "t1", "credit": 0.5}],
    }
    found = problems(low)
    assert any("interaction.key[1]: a key pair must earn credit > 0" in p for p in found)
    assert any("the key pairs earn 0.5 in all; they must reach 1" in p for p in found)
    assert any(
        "interaction.credits: are only used with scoring: weighted" in p
        for p in problems({**MATCH, "credits": low["credits"]})
    )


# --------------------------------------------------------------------------- weighted choice


def test_weighted_single_choice_gives_partial_categories() -> None:
    interaction = {
        "type": "single_choice",
        "scoring": "weighted",
        "options": opts("a", "b", "c", a=1.0, b=0.5),
        "key": "a",
    }
    item = item_of(bank_with(interaction, GRM2))
    assert [score_answer(item, x).category for x in "abc"] == [2, 1, 0]
    dichotomous = item_of(bank_with(interaction))
    assert [score_answer(dichotomous, x).category for x in "abc"] == [1, 0, 0]


def test_weighted_choice_validation() -> None:
    found = problems(
        {
            "type": "single_choice",
            "scoring": "weighted",
            "options": opts("a", "b", a=0.5),
            "key": "a",
        }
    )
    assert any("the key must earn full credit 1, got 0.5" in p for p in found)
    found = problems({"type": "single_choice", "options": opts("a", "b", b=0.5), "key": "a"})
    assert any("options[1].credit: is only used with scoring: weighted" in p for p in found)
    found = problems(
        {
            "type": "multiple_response",
            "scoring": "weighted",
            "options": opts("a", "b", "c", a=0.5, b=0.25, c=0.25),
            "key": ["a", "b"],
        }
    )
    assert any("the key options earn 0.75 in all" in p for p in found)
    assert any('option "c" earns credit but is not in the key' in p for p in found)


def test_weighted_multiple_response_sums_and_clips() -> None:
    interaction = {
        "type": "multiple_response",
        "scoring": "weighted",
        "options": opts("a", "b", "c", "d", a=0.5, b=0.5, c=-1.0),
        "key": ["a", "b"],
    }
    item = item_of(bank_with(interaction, GRM2))
    assert score_answer(item, ["a", "b"]).category == 2
    assert score_answer(item, ["a"]).category == 1
    assert score_answer(item, ["a", "d"]).category == 1
    assert score_answer(item, ["a", "b", "c"]).category == 0
    assert score_answer(item, []).category == 0


# --------------------------------------------------------------------------- alternatives


def test_numeric_alternatives_give_the_best_interval_credit() -> None:
    interaction = {
        "type": "numeric",
        "key": 3.14,
        "tolerance": 0.005,
        "alternatives": [{"low": 3.0, "high": 3.3, "credit": 0.5}, {"low": 22 / 7, "high": 22 / 7}],
    }
    item = item_of(bank_with(interaction, GRM2))
    assert score_answer(item, "3.141").category == 2
    assert score_answer(item, "3.2").category == 1
    assert score_answer(item, repr(22 / 7)).category == 2
    assert score_answer(item, "4").category == 0
    found = problems({"type": "numeric", "key": 1.0, "alternatives": [{"low": 2.0, "high": 1.0}]})
    assert any("interaction.alternatives[0]: low 2 is above high 1" in p for p in found)


def test_short_text_alternatives() -> None:
    interaction = {
        "type": "short_text",
        "key": ["Paris"],
        "alternatives": [{"text": "paris, france", "credit": 0.5}],
    }
    item = item_of(bank_with(interaction, GRM2))
    assert score_answer(item, " PARIS ").category == 2
    assert score_answer(item, "Paris,  France").category == 1
    assert score_answer(item, "Lyon").category == 0
    found = problems(
        {"type": "short_text", "key": ["Paris"], "alternatives": [{"text": "PARIS", "credit": 0.5}]}
    )
    assert any(
        "alternatives[0].text: 'PARIS' repeats an earlier accepted answer" in p for p in found
    )


def test_polytomous_model_needs_possible_partial_credit() -> None:
    found = problems({"type": "order", "options": opts("a", "b"), "key": ["b", "a"]}, GRM2)
    assert any("grm needs an interaction that can earn partial credit" in p for p in found)


# --------------------------------------------------------------------------- extended text


def test_extended_text_is_stored_never_scored_never_selected() -> None:
    raw = raw_bank(2)
    raw["items"][1]["interaction"] = {"type": "extended_text", "expected_lines": 5}
    bank = decode_bank(json.dumps(raw).encode(), source="b.json", fmt="json")
    with pytest.raises(NotAutoScoredError, match='item "q2"'):
        score_answer(bank.items[1], "An essay.")
    pool = compile_pool(bank)
    assert pool.item_ids == ("q1",)


def test_a_competency_measured_only_by_essays_is_stored_but_cannot_run() -> None:
    """Essays alone are stored (with a located warning); an assessment on them is refused."""
    raw = raw_bank(1)
    raw["competencies"].append({"id": "c2", "name": "Writing"})
    essay = choice_item("e1", competency="c2")
    essay["interaction"] = {"type": "extended_text"}
    raw["items"].append(essay)
    bank = decode_bank(json.dumps(raw).encode(), source="b.json", fmt="json")
    assert [str(w) for w in bank_warnings(bank, "b.json")] == [
        'b.json: competencies["c2"]: this competency has only human-scored items: it cannot be '
        "measured adaptively (the items are stored, never scored; an assessment on this bank "
        "version is refused)"
    ]
    with pytest.raises(PoolError, match='competency "c2" has only human-scored items'):
        compile_pool(bank)
    # A competency with no item at all, or only pretest items, is still refused.
    raw["items"][1]["status"] = "pretest"
    with pytest.raises(BankValidationError) as info:
        decode_bank(json.dumps(raw).encode(), source="b.json", fmt="json")
    assert 'competencies["c2"]: no operational item measures this competency' in str(info.value)


def test_a_bank_of_only_essays_is_stored_but_cannot_run() -> None:
    raw = raw_bank(2)
    for item in raw["items"]:
        item["interaction"] = {"type": "extended_text"}
    bank = decode_bank(json.dumps(raw).encode(), source="b.json", fmt="json")
    assert len(bank_warnings(bank, "b.json")) == 1
    with pytest.raises(PoolError, match="has only human-scored items"):
        compile_pool(bank)


def test_essays_beside_scored_items_of_their_competency_warn_nothing() -> None:
    raw = raw_bank(2)
    raw["items"][1]["interaction"] = {"type": "extended_text"}
    bank = decode_bank(json.dumps(raw).encode(), source="b.json", fmt="json")
    assert bank_warnings(bank, "b.json") == []


# --------------------------------------------------------------------------- the learner


@pytest.mark.parametrize(
    ("interaction", "irt"),
    [
        ({"type": "order", "options": opts("a", "b", "c"), "key": ["b", "c", "a"]}, None),
        (MATCH, None),
        (
            {
                "type": "multiple_response",
                "scoring": "weighted",
                "options": opts("a", "b", "c", a=0.5, b=0.5, c=-0.5),
                "key": ["a", "b"],
            },
            GRM2,
        ),
        (
            {
                "type": "numeric",
                "key": 10.0,
                "alternatives": [{"low": 9.0, "high": 11.0, "credit": 0.5}],
            },
            GRM2,
        ),
        (
            {
                "type": "short_text",
                "key": ["x"],
                "alternatives": [{"text": "y", "credit": 0.5}],
            },
            GRM2,
        ),
    ],
)
def test_learner_answers_score_the_intended_category(
    interaction: dict[str, Any], irt: dict[str, Any] | None
) -> None:
    item = item_of(bank_with(interaction, irt))
    rng = random.Random(3)
    for category in range(category_count(item.irt)):
        assert score_answer(item, raw_answer(item, category, rng)).category == category
