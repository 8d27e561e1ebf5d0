"""Embedded answers: GIFT questions of several answer blocks and Moodle cloze questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from item_banks.errors import BankValidationError
from item_banks.formats.gift import read_gift
from item_banks.formats.moodle import read_moodle
from item_banks.formats.registry import read_any
from item_banks.model import Composite, InlineChoice, MultipleResponse, Numeric, ShortText
from item_banks.scoring import score_answer

DATA = Path(__file__).parent / "data" / "cloze"


def test_gift_answer_blocks_become_fields_where_they_stood() -> None:
    (item,) = read_any(DATA / "embedded.gift").bank.items
    assert item.stem.startswith("Complete the loop: for x in {{b1}}(3), then total {{b2}} x.")
    assert isinstance(item.interaction, Composite)
    kinds = [type(f.interaction) for f in item.interaction.fields]
    assert kinds == [InlineChoice, InlineChoice, Numeric, ShortText]
    assert item.solution == "0 + 1 + 2 = 3."
    assert item.interaction.fields[1].interaction.options[1].rationale == (  # type: ignore[union-attr]
        "This keeps only the last value"
    )
    # 4 equal blanks, one of them with a half-credit answer: credits in steps of 1/8
    assert len(item.irt.thresholds) == 8  # type: ignore[union-attr]
    right = ["b1=a", "b2=a", "b3=3", "b4=range"]
    assert score_answer(item, right).correct
    assert score_answer(item, ["b1=a", "b4=rng"]).category == 3  # (1 + 0.5) / 4 = 3/8


def test_moodle_cloze_subquestions_keep_weights_tolerances_and_feedback() -> None:
    result = read_any(DATA / "multianswer.xml")
    (item,) = result.bank.items
    assert item.competency == "Statistics"
    assert isinstance(item.interaction, Composite)
    mean, sd, pulled, name, spread = item.interaction.fields
    assert isinstance(mean.interaction, Numeric) and mean.interaction.tolerance == 0.001
    assert mean.interaction.common_wrong_answers[0].explanation == "That is the median"
    assert sd.weight == 2.0 and isinstance(sd.interaction, Numeric)
    assert sd.interaction.alternatives[0].credit == 0.5
    assert isinstance(pulled.interaction, InlineChoice)
    assert isinstance(name.interaction, ShortText) and name.interaction.case_sensitive
    assert isinstance(spread.interaction, MultipleResponse)
    assert spread.interaction.scoring == "weighted"
    assert "{{b3}}" in item.stem and "{{b5}}" in item.stem
    # sd's 2 points: 2.138 earns half of them; 6 points in all
    scored = score_answer(item, ["b1=5", "b2=2.138", "b3=a1"])
    assert scored.category == round((1 + 1 + 1) / 6 * scored.max_category)


def test_an_unknown_embedded_type_is_refused_with_its_location() -> None:
    data = (DATA / "multianswer.xml").read_bytes().replace(b"{1:MULTICHOICE:", b"{1:DRAGDROP:")
    with pytest.raises(BankValidationError) as info:
        read_moodle(data, "quiz.xml")
    problem = info.value.problems[0]
    assert "'DRAGDROP' is not supported" in problem.message
    assert problem.field == "line 4 <question>"


def test_a_gift_essay_block_cannot_be_a_blank() -> None:
    with pytest.raises(BankValidationError) as info:
        read_gift(b"Write {} and {=a ~b}.", "q.gift")
    assert "cannot be a blank" in info.value.problems[0].message
