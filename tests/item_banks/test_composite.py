"""Composite (multi-field) items: validation with located errors, scoring to one category."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from engine.feedback import feedback_for
from engine.learner import raw_answer
from item_banks import AnswerError, BankValidationError, decode_bank, score_answer
from item_banks.model import Bank, Composite, Item, category_count
from item_banks.native import content_hash
from item_banks.scoring import (
    RawAnswer,
    field_credits,
    join_fields,
    reachable_credits,
    split_fields,
)
from tests.item_banks.helpers import raw_bank


def opts(*ids: str) -> list[dict[str, Any]]:
    return [{"id": i, "text": f"Option {i}"} for i in ids]


def cloze(**over: Any) -> dict[str, Any]:
    """A code line with three blanks: a text entry, an inline choice and a number."""
    item: dict[str, Any] = {
        "id": "cloze",
        "competency": "c1",
        "stem": "```python\nfor x in {{loop}}(3):\n    total {{op}} x\n```\n\n"
        "After the loop total is {{total}}.",
        "interaction": {
            "type": "composite",
            "fields": [
                {
                    "id": "loop",
                    "interaction": {"type": "short_text", "key": ["range"]},
                    "rationale": "range(3) yields 0, 1, 2.",
                },
                {
                    "id": "op",
                    "interaction": {
                        "type": "inline_choice",
                        "options": opts("plus", "eq"),
                        "key": "plus",
                    },
                },
                {"id": "total", "interaction": {"type": "numeric", "key": 3}},
            ],
        },
        "irt": {"model": "gpcm", "a": 1.0, "thresholds": [-1.0, 0.0, 1.0]},
    }
    item.update(over)
    return item


def bank_of(*items: dict[str, Any]) -> Bank:
    raw = raw_bank(1)
    raw["items"] += list(items)
    return decode_bank(json.dumps(raw).encode(), source="b.json", fmt="json")


def problems(*items: dict[str, Any]) -> list[str]:
    with pytest.raises(BankValidationError) as info:
        bank_of(*items)
    return [str(p) for p in info.value.problems]


def the_item(bank: Bank, item_id: str = "cloze") -> Item:
    return next(i for i in bank.items if i.id == item_id)


def test_three_blanks_score_one_category_per_blank_right() -> None:
    item = the_item(bank_of(cloze()))
    assert category_count(item.irt) == 4
    assert score_answer(item, ["loop=range", "op=plus", "total=3"]).category == 3
    assert score_answer(item, ["loop=Range", "op=eq", "total=3.0"]).category == 2
    assert score_answer(item, ["loop=list", "op=plus"]).category == 1
    assert score_answer(item, ["loop=list", "op=eq", "total=4"]).category == 0


def test_weights_and_credit_levels_give_unequal_categories() -> None:
    item = cloze()
    item["interaction"]["fields"][0]["weight"] = 2.0  # 2 of 4 points
    item["irt"] = {"model": "grm", "a": 1.0, "thresholds": [-1.0, -0.5, 0.0, 1.0]}
    item["credit_levels"] = [0.25, 0.5, 0.75, 1.0]
    scored = the_item(bank_of(item))
    assert score_answer(scored, ["loop=range"]).category == 2
    assert score_answer(scored, ["op=plus"]).category == 1
    assert score_answer(scored, ["loop=range", "op=plus"]).category == 3
    assert reachable_credits(scored.interaction) == {0.0, 0.25, 0.5, 0.75, 1.0}


def test_dichotomous_composite_needs_every_field() -> None:
    item = cloze(irt={"model": "2pl", "a": 1.0, "b": 0.0})
    scored = the_item(bank_of(item))
    assert score_answer(scored, ["loop=range", "op=plus", "total=3"]).category == 1
    assert score_answer(scored, ["loop=range", "op=plus", "total=2"]).category == 0


def test_unreachable_categories_are_refused_with_their_location() -> None:
    item = cloze(irt={"model": "gpcm", "a": 1.0, "thresholds": [-1.0, 0.0, 0.5, 1.0]})
    found = problems(item)
    assert any('item "cloze": irt.thresholds' in p and "3 levels above 0" in p for p in found), (
        found
    )


def test_malformed_field_answers_are_refused_naming_the_blank() -> None:
    item = the_item(bank_of(cloze()))
    with pytest.raises(AnswerError, match="Blank 3 of 3: 'three' is not a number"):
        score_answer(item, ["loop=range", "total=three"])
    with pytest.raises(AnswerError, match='"nope" is not a field'):
        score_answer(item, ["nope=1"])
    with pytest.raises(AnswerError, match="Blank 2 of 3"):
        score_answer(item, ["op=other"])
    with pytest.raises(AnswerError, match="at least one blank"):
        score_answer(item, ["loop= ", "total="])
    with pytest.raises(AnswerError, match="FIELD=VALUE"):
        score_answer(item, ["range"])


def test_split_and_join_are_inverse() -> None:
    composite = the_item(bank_of(cloze())).interaction
    assert isinstance(composite, Composite)
    given: dict[str, RawAnswer] = {"loop": "range", "total": "3"}
    assert split_fields("x", composite, join_fields(given)) == given
    assert field_credits("x", composite, join_fields(given)) == {
        "loop": 1.0,
        "op": 0.0,
        "total": 1.0,
    }


def gap_match_field() -> dict[str, Any]:
    return {
        "id": "gaps",
        "prompt": "Complete the sentence.",
        "interaction": {
            "type": "gap_match",
            "text": "A {{G1}} holds keys; a {{G2}} holds items in order.",
            "sources": opts("dict", "list", "set"),
            "targets": [{"id": "G1", "text": "gap 1"}, {"id": "G2", "text": "gap 2"}],
            "key": [{"source": "dict", "target": "G1"}, {"source": "list", "target": "G2"}],
            "scoring": "weighted",
            "credits": [
                {"source": "dict", "target": "G1", "credit": 0.5},
                {"source": "list", "target": "G2", "credit": 0.5},
            ],
        },
    }


def block_item() -> dict[str, Any]:
    return {
        "id": "blocks",
        "competency": "c1",
        "stem": "Data structures.\n\n{{gaps}}\n\n{{pairs}}\n\n{{hot}}",
        "interaction": {
            "type": "composite",
            "fields": [
                gap_match_field(),
                {
                    "id": "pairs",
                    "interaction": {
                        "type": "associate",
                        "options": opts("_a", "b", "c", "d"),
                        "key": [
                            {"source": "_a", "target": "b"},
                            {"source": "c", "target": "d"},
                        ],
                    },
                },
                {
                    "id": "hot",
                    "interaction": {
                        "type": "hot_text",
                        "text": "x = {{h1}} + {{h2}}",
                        "options": opts("h1", "h2"),
                        "key": ["h2"],
                        "max_choices": 1,
                    },
                },
            ],
        },
        "irt": {"model": "gpcm", "a": 1.0, "thresholds": [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5]},
        "credit_levels": [1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1.0],
    }


def test_gap_match_associate_and_hot_text_score_per_field() -> None:
    item = the_item(bank_of(block_item()), "blocks")
    assert score_answer(item, ["gaps=dict G1"]).category == 1
    assert score_answer(item, ["pairs=b _a", "pairs=d c"]).category == 2
    assert score_answer(item, ["hot=h2", "gaps=dict G1", "gaps=list G2"]).category == 4
    with pytest.raises(AnswerError, match="at most 1"):
        score_answer(item, ["hot=h1", "hot=h2"])
    with pytest.raises(AnswerError, match="paired with itself"):
        score_answer(item, ["pairs=b b"])


def test_gaps_and_hot_texts_must_be_marked_once() -> None:
    item = block_item()
    item["interaction"]["fields"][0]["interaction"]["text"] = "A {{G1}} holds keys."
    item["interaction"]["fields"][2]["interaction"]["text"] = "x = {{h1}} + {{h1}} {{h2}}"
    found = problems(item)
    assert any(
        'item "blocks": interaction.fields[0].interaction.text' in p and '"G2"' in p for p in found
    ), found
    assert any("fields[2].interaction.text" in p and '"h1"' in p for p in found), found


def test_field_errors_are_located_inside_the_field() -> None:
    item = cloze()
    item["interaction"]["fields"][1]["interaction"]["key"] = "minus"
    item["interaction"]["fields"].append(dict(item["interaction"]["fields"][2]))
    item["interaction"]["fields"][2]["misconception"] = "unknown"
    found = problems(item)
    assert any("interaction.fields[1].interaction.key" in p and '"minus"' in p for p in found)
    assert any('field id "total" is used more than once' in p for p in found), found
    assert any("fields[2].misconception" in p for p in found), found


def test_identifiers_may_start_with_an_underscore() -> None:
    bank = bank_of(block_item())
    assert the_item(bank, "blocks").interaction.fields[1].interaction.options[0].id == "_a"  # type: ignore[union-attr]


def test_simulated_answers_score_the_category_asked_for() -> None:
    rng = random.Random(3)
    for item in bank_of(cloze(), block_item()).items[1:]:
        for category in range(category_count(item.irt)):
            answer = raw_answer(item, category, rng)
            assert score_answer(item, answer).category == category, (item.id, answer)


def test_existing_banks_keep_their_content_hash() -> None:
    raw = raw_bank(2)
    bank = decode_bank(json.dumps(raw).encode(), source="b.json", fmt="json")
    again = decode_bank(json.dumps(raw).encode(), source="b.json", fmt="json")
    assert content_hash(bank) == content_hash(again)
    assert "fields" not in json.dumps(raw)


def test_feedback_goes_field_by_field_with_rationales_and_misconceptions() -> None:
    item_raw = cloze(solution="range(3) is 0, 1, 2 and `+=` adds each.")
    item_raw["interaction"]["fields"][1]["misconception"] = "assign-vs-add"
    item_raw["interaction"]["fields"][1]["rationale"] = "`=` replaces the total each time."
    raw = raw_bank(1)
    raw["misconceptions"] = [
        {"id": "assign-vs-add", "name": "Assigning instead of adding", "explanation": "x."}
    ]
    raw["items"].append(item_raw)
    bank = decode_bank(json.dumps(raw).encode(), source="b.json", fmt="json")
    item = the_item(bank)
    answer = ["loop=range", "op=eq"]
    scored = score_answer(item, answer)
    feedback = feedback_for(item, answer, scored, {m.id: m for m in bank.misconceptions})
    kinds = [(p.kind, p.text) for p in feedback.points]
    assert kinds == [
        ("right_choice", "Blank 1 of 3: `range`"),
        ("wrong_answer", "Blank 2 of 3: Option eq"),
        ("wrong_answer", "Blank 3 of 3: (left blank)"),
    ]
    assert feedback.points[1].reason == "`=` replaces the total each time."
    assert [m.id for m in feedback.misconceptions] == ["assign-vs-add"]
    assert feedback.key_reasons == ("**Blank 1 of 3**: range(3) yields 0, 1, 2.",)
    assert "**Blank 2 of 3**: Option plus" in feedback.correct_answer
    assert feedback.solution.startswith("range(3)")
    assert feedback.scoring_note == "1 of 3 parts right: score 1 of 3."
    assert feedback.verdict == "partial"
