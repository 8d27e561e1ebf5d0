"""The hand-written sample bank is complete, consistent and runs in the engine."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from engine.learner import raw_answer
from engine.policy import Policy
from engine.pool import compile_pool
from engine.session import Session
from item_banks import read_bank, score_answer
from item_banks.credits import reachable_credits
from item_banks.model import (
    Associate,
    Composite,
    Item,
    Match,
    MultipleResponse,
    Numeric,
    ShortText,
    SingleChoice,
    category_count,
)
from item_banks.validation import lint_bank
from tests.conftest import SAMPLE_BANK

BANK = read_bank(SAMPLE_BANK)


def test_size_and_coverage() -> None:
    assert len(BANK.items) >= 60
    per_competency = Counter(item.competency for item in BANK.items)
    assert len(BANK.competencies) >= 3
    assert all(per_competency[c.id] >= 15 for c in BANK.competencies)
    assert all(c.cut_score is not None for c in BANK.competencies)
    kinds = Counter(type(item.interaction).__name__ for item in BANK.items)
    assert set(kinds) == {"SingleChoice", "MultipleResponse", "Numeric", "ShortText", "Composite"}
    assert any(item.status == "pretest" for item in BANK.items)


def test_multi_field_items_cover_every_field_kind_with_explanations() -> None:
    composite = [i for i in BANK.items if isinstance(i.interaction, Composite)]
    assert len(composite) >= 6
    fields = [f for item in composite for f in item.interaction.fields]  # type: ignore[union-attr]
    kinds = {type(f.interaction).__name__ for f in fields}
    assert {"InlineChoice", "Numeric", "ShortText", "GapMatch", "Associate", "HotText"} <= kinds
    for item in composite:
        assert item.status == "operational" and len(item.solution) > 40, item.id
        assert category_count(item.irt) - 1 == len(
            [c for c in reachable_credits(item.interaction) if c > 0]
        ), item.id  # one category per distinct credit level
        for field in item.interaction.fields:  # type: ignore[union-attr]
            assert "{{" + field.id + "}}" in item.stem, (item.id, field.id)
    # every numeric blank explains its typical wrong numbers
    assert all(
        f.interaction.common_wrong_answers for f in fields if isinstance(f.interaction, Numeric)
    )


def test_parameters_are_declared_provisional() -> None:
    assert "provisional" in BANK.notes.lower()
    assert "expert" in BANK.notes.lower()


def test_every_distractor_explains_the_mistake_and_every_item_has_a_solution() -> None:
    assert lint_bank(BANK, "sample") == []
    for item in BANK.items:
        assert len(item.solution) > 40, item.id
        interaction = item.interaction
        if isinstance(interaction, SingleChoice | MultipleResponse):
            keys = (
                {interaction.key} if isinstance(interaction, SingleChoice) else set(interaction.key)
            )
            for option in interaction.options:
                if option.id not in keys:
                    assert len(option.rationale) > 30, (item.id, option.id)


def test_every_misconception_is_used() -> None:
    """By a distractor, or by a numeric or short-text wrong answer."""
    used = {
        option.misconception
        for item in BANK.items
        if isinstance(item.interaction, SingleChoice | MultipleResponse)
        for option in item.interaction.options
        if option.misconception
    }
    inner = [
        f.interaction
        for item in BANK.items
        if isinstance(item.interaction, Composite)
        for f in item.interaction.fields
    ]
    used |= {
        o.misconception
        for i in inner
        if isinstance(i, SingleChoice | MultipleResponse | Match | Associate)
        for o in (i.options if not isinstance(i, Match) else (*i.sources, *i.targets))
        if o.misconception
    }
    for interaction in [item.interaction for item in BANK.items] + inner:
        if isinstance(interaction, Numeric):
            used |= {w.misconception for w in interaction.common_wrong_answers if w.misconception}
        if isinstance(interaction, ShortText):
            used |= {w.misconception for w in interaction.wrong_answers if w.misconception}
    assert used - {None} <= {m.id for m in BANK.misconceptions}
    assert used == {m.id for m in BANK.misconceptions}


@pytest.mark.parametrize("item", BANK.items, ids=lambda item: item.id)
def test_every_score_category_is_reachable(item: Item) -> None:
    rng = random.Random(0)
    for category in range(category_count(item.irt)):
        answer = raw_answer(item, category, rng)
        assert score_answer(item, answer).category == category


def test_runs_in_the_engine_with_the_default_policy() -> None:
    pool = compile_pool(BANK)
    session = Session(pool, Policy())
    state = session.start(1)
    while not state.finished:
        state = session.next_item(state)
        if state.pending is None:
            break
        state = session.record(state, state.pending, 1)
    result = session.result(state)
    assert result.finished
    assert {c.classification for c in result.competencies} == {"pass"}
