"""Feedback explains this learner's mistake: per interaction, from the bank's own content."""

from __future__ import annotations

import html
import itertools
import re

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.feedback import (
    Feedback,
    Point,
    SecondTry,
    correct_answer_text,
    diagnose_number,
    feedback_for,
    literal,
)
from item_banks import read_bank, score_answer
from item_banks.model import (
    CommonWrongAnswer,
    Graded,
    Item,
    Match,
    MatchPair,
    Misconception,
    MultipleResponse,
    Numeric,
    NumericRange,
    Option,
    Order,
    PairCredit,
    PartialCredit,
    ShortText,
    SingleChoice,
    TextAnswer,
    TwoPL,
    WrongText,
)
from item_banks.scoring import RawAnswer
from tests.conftest import SAMPLE_BANK
from web.markdown import render

BANK = read_bank(SAMPLE_BANK)
MISCONCEPTIONS = {m.id: m for m in BANK.misconceptions}


def explain(item: Item, answer: RawAnswer) -> Feedback:
    return feedback_for(item, answer, score_answer(item, answer), MISCONCEPTIONS)


def items_of(kind: type) -> list[Item]:
    return [item for item in BANK.items if isinstance(item.interaction, kind)]


# --------------------------------------------------------------------------- sample bank


@pytest.mark.parametrize("item", items_of(SingleChoice), ids=lambda item: item.id)
def test_every_distractor_of_the_sample_bank_produces_its_own_rationale(item: Item) -> None:
    interaction = item.interaction
    assert isinstance(interaction, SingleChoice)
    key = next(o for o in interaction.options if o.id == interaction.key)
    distractors = [o for o in interaction.options if o.id != interaction.key]
    assert len({o.rationale for o in distractors}) == len(distractors)  # all different
    for option in distractors:
        feedback = explain(item, option.id)
        assert feedback.verdict == "wrong"
        assert feedback.points == (
            Point(
                kind="chosen",
                text=option.text,
                reason=option.rationale,
                misconception=option.misconception,
            ),
        )
        assert feedback.key_reasons == (key.rationale,)  # why the key is right
        assert feedback.correct_answer == key.text
        assert feedback.solution == item.solution
        if option.misconception:
            (note,) = feedback.misconceptions
            assert note.id == option.misconception
            assert note.explanation == MISCONCEPTIONS[option.misconception].explanation
        else:
            assert feedback.misconceptions == ()
    right = explain(item, key.id)
    assert right.verdict == "right"
    assert right.points == ()
    assert right.key_reasons == (key.rationale,)


@pytest.mark.parametrize("item", items_of(Numeric), ids=lambda item: item.id)
def test_every_numeric_common_wrong_answer_triggers_its_own_explanation(item: Item) -> None:
    interaction = item.interaction
    assert isinstance(interaction, Numeric)
    assert interaction.common_wrong_answers, "every numeric item has common wrong answers"
    for wrong in interaction.common_wrong_answers:
        typed: str
        if isinstance(wrong.value, str):
            typed = wrong.value
        elif wrong.value is not None:
            typed = repr(wrong.value)
        else:
            assert wrong.low is not None and wrong.high is not None
            typed = repr((wrong.low + wrong.high) / 2)
        if interaction.unit:
            typed = f"{typed} {interaction.unit}"
        feedback = explain(item, typed)
        assert feedback.category == 0, (item.id, typed)
        assert feedback.points == (
            Point(
                kind="common_wrong_answer",
                text=literal(typed),
                reason=wrong.explanation,
                misconception=wrong.misconception,
            ),
        ), (item.id, typed)
        assert feedback.message == ""  # authored explanations come before generic ones
        if wrong.misconception:
            assert [n.id for n in feedback.misconceptions] == [wrong.misconception]


@pytest.mark.parametrize("item", items_of(MultipleResponse), ids=lambda item: item.id)
def test_a_multiple_response_answer_lists_exactly_the_wrong_and_the_missed_choices(
    item: Item,
) -> None:
    interaction = item.interaction
    assert isinstance(interaction, MultipleResponse)
    ids = [o.id for o in interaction.options]
    text = {o.id: o.text for o in interaction.options}
    reason = {o.id: o.rationale for o in interaction.options}
    keys = set(interaction.key)
    for size in range(len(ids) + 1):
        for picked in itertools.combinations(ids, size):
            feedback = explain(item, list(picked))
            by_kind: dict[str, list[Point]] = {}
            for point in feedback.points:
                by_kind.setdefault(point.kind, []).append(point)
            wrong = set(picked) - keys
            missed = keys - set(picked)
            assert sorted(p.text for p in by_kind.get("wrong_choice", [])) == sorted(
                text[o] for o in wrong
            )
            assert sorted(p.text for p in by_kind.get("missed", [])) == sorted(
                text[o] for o in missed
            )
            assert all(
                p.reason == reason[o]
                for o in wrong | missed
                for p in feedback.points
                if p.text == text[o]
            )
            assert set(by_kind) <= {"wrong_choice", "missed", "right_choice"}
            assert feedback.correct == (not wrong and not missed)
            if interaction.scoring == "partial":
                assert str(feedback.category) in feedback.scoring_note


@pytest.mark.parametrize("item", items_of(ShortText), ids=lambda item: item.id)
def test_every_short_text_wrong_answer_triggers_its_explanation(item: Item) -> None:
    interaction = item.interaction
    assert isinstance(interaction, ShortText)
    for wrong in interaction.wrong_answers:
        for typed in (wrong.text, f"  {wrong.text.upper()} "):
            feedback = explain(item, typed)
            assert feedback.category == 0
            assert [p.reason for p in feedback.points] == [wrong.explanation], typed
    for accepted in interaction.key:
        assert explain(item, f" {accepted.upper()}  ").correct


def test_the_sample_bank_has_the_authoring_content_the_report_needs() -> None:
    for competency in BANK.competencies:
        assert len(competency.levels) >= 3, competency.id
        assert competency.levels[0].min_theta is None
        assert competency.resources, competency.id
    assert all(m.resources for m in BANK.misconceptions)


# --------------------------------------------------------------------------- per interaction

MISC = {
    "m1": Misconception(id="m1", name="Stop included", explanation="Slices exclude the stop."),
    "m2": Misconception(id="m2", name="Percent slip", explanation="A share is not a percent."),
}


def make(interaction: object, irt: object | None = None, **fields: object) -> Item:
    return Item(
        id="i1",
        competency="c1",
        stem="?",
        interaction=interaction,  # type: ignore[arg-type]
        irt=irt or TwoPL(a=1.0, b=0.0),  # type: ignore[arg-type]
        solution="Work it out.",
        **fields,  # type: ignore[arg-type]
    )


def run(item: Item, answer: RawAnswer) -> Feedback:
    return feedback_for(item, answer, score_answer(item, answer), MISC)


def opts(*specs: tuple[str, str, str | None]) -> tuple[Option, ...]:
    return tuple(Option(id=i, text=f"Text {i}", rationale=r, misconception=m) for i, r, m in specs)


def test_single_choice_weighted_option_gets_partial_credit_and_its_reason() -> None:
    options = (
        Option(id="a", text="A", rationale="Fully right.", credit=1.0),
        Option(id="b", text="B", rationale="Half right: misses the edge case.", credit=0.5),
        Option(id="c", text="C", rationale="Wrong.", misconception="m1"),
    )
    item = make(
        SingleChoice(options=options, key="a", scoring="weighted"),
        PartialCredit(a=1.0, thresholds=(0.0, 0.5)),
    )
    half = run(item, "b")
    assert half.verdict == "partial"
    assert half.points[0].reason == "Half right: misses the edge case."
    assert "50 % of the credit" in half.scoring_note
    wrong = run(item, "c")
    assert wrong.verdict == "wrong"
    assert [n.name for n in wrong.misconceptions] == ["Stop included"]


def test_multiple_response_partial_and_weighted_credit_are_explained() -> None:
    options = opts(("a", "Yes a.", None), ("b", "Yes b.", None), ("c", "No: m1.", "m1"))
    partial = make(
        MultipleResponse(options=options, key=("a", "b"), scoring="partial"),
        Graded(a=1.0, thresholds=(-0.5, 0.5)),
    )
    feedback = run(partial, ["a", "c"])
    assert feedback.category == 0
    assert [(p.kind, p.text) for p in feedback.points] == [
        ("wrong_choice", "Text c"),
        ("missed", "Text b"),
        ("right_choice", "Text a"),
    ]
    assert feedback.scoring_note == (
        "Partial credit: one point per right choice (1) minus one per wrong choice (1), "
        "never below 0: 0 of 2."
    )
    assert [n.id for n in feedback.misconceptions] == ["m1"]
    weighted = make(
        MultipleResponse(
            options=(
                Option(id="a", text="A", credit=0.5),
                Option(id="b", text="B", credit=0.5),
                Option(id="c", text="C", credit=-0.5, rationale="Never."),
            ),
            key=("a", "b"),
            scoring="weighted",
        ),
        PartialCredit(a=1.0, thresholds=(0.0, 0.5)),
    )
    assert "yours add up to 50 %" in run(weighted, ["a"]).scoring_note
    assert "yours add up to 0 %" in run(weighted, ["a", "c"]).scoring_note


def test_order_names_every_option_out_of_place() -> None:
    item = make(
        Order(
            options=opts(("r", "Read first.", None), ("g", "", None), ("m", "Last.", "m1")),
            key=("r", "g", "m"),
        )
    )
    assert run(item, ["r", "g", "m"]).correct
    feedback = run(item, ["m", "g", "r"])
    assert [(p.text, p.reason) for p in feedback.points] == [
        ("Text m", "You put it at position 1; it belongs at position 3. Last."),
        ("Text r", "You put it at position 3; it belongs at position 1. Read first."),
    ]
    assert feedback.given == "1. Text m\n2. Text g\n3. Text r"
    assert feedback.correct_answer == "1. Text r\n2. Text g\n3. Text m"


def test_match_lists_wrong_and_missing_pairs_with_reasons() -> None:
    sources = (
        Option(id="s1", text="`len`", rationale="len counts elements."),
        Option(id="s2", text="`type`", rationale="type names the class."),
    )
    targets = (
        Option(id="t1", text="2"),
        Option(id="t2", text="float"),
        Option(id="t3", text="None", rationale="Nothing returns None here.", misconception="m1"),
    )
    key = (MatchPair(source="s1", target="t1"), MatchPair(source="s2", target="t2"))
    item = make(Match(sources=sources, targets=targets, key=key))
    feedback = run(item, ["s1 t3", "s2 t2"])
    assert [(p.kind, p.text) for p in feedback.points] == [
        ("wrong_pair", "`len` → None"),
        ("missed_pair", "`len` → 2"),
        ("right_pair", "`type` → float"),
    ]
    assert feedback.points[0].reason == "Nothing returns None here. `len` goes with 2."
    assert feedback.points[1].reason == "len counts elements."
    assert [n.id for n in feedback.misconceptions] == ["m1"]
    weighted = make(
        Match(
            sources=sources,
            targets=targets,
            key=key,
            scoring="weighted",
            credits=(
                PairCredit(source="s1", target="t1", credit=0.5),
                PairCredit(source="s2", target="t2", credit=0.5),
            ),
        ),
        PartialCredit(a=1.0, thresholds=(0.0, 0.5)),
    )
    half = run(weighted, ["s2 t2"])
    assert half.verdict == "partial"
    assert "yours add up to 50 %: score 1 of 2" in half.scoring_note
    assert [p.kind for p in half.points] == ["missed_pair", "right_pair"]


@pytest.mark.parametrize(
    ("key", "tolerance", "typed", "expected"),
    [
        (0.625, 0.0, "-0.625", "right size but the wrong sign"),
        (0.625, 0.0, "62.5", "100 times the correct value: did you give a percentage"),
        (62.5, 0.0, "0.625", "a hundredth of the correct value: did you give a proportion"),
        # A factor of 100 where no proportion is involved is a misplaced decimal point.
        (22.5, 0.0, "2250", "Your answer is 100 times too large: the digits look right"),
        (22.5, 0.0, "0.225", "a hundredth of the correct value: did you give a proportion"),
        (225.0, 0.0, "2.25", "Your answer is 100 times too small: the digits look right"),
        (-4.0, 0.0, "-400", "100 times too large"),
        (1.0, 0.0, "100", "100 times the correct value: did you give a percentage"),
        (2.5, 0.0, "25", "10 times too large"),
        (2.5, 0.0, "0.0025", "1000 times too small"),
        (295.0, 0.0, "294", "off by one"),
        (0.364, 0.0005, "0.36", "Close, but outside the accepted range (the accepted tolerance"),
        (6.0, 0.0, "6.05", "Close, but outside the accepted range (the answer must be exact)"),
        (6.0, 0.0, "40", "too high"),
        (6.0, 0.0, "-40", "too low"),
        (6.0, 0.0, "nan", "`nan` (not a number) is not the result"),
        (6.0, 0.0, "-inf", "An infinite result"),
    ],
)
def test_numeric_generic_diagnoses(key: float, tolerance: float, typed: str, expected: str) -> None:
    item = make(Numeric(key=key, tolerance=tolerance))
    feedback = run(item, typed)
    assert feedback.category == 0
    assert expected in feedback.message, feedback.message
    assert feedback.points == ()


@given(
    key=st.floats(1.01, 1e6, allow_nan=False) | st.floats(-1e6, -1.01, allow_nan=False),
)
def test_percentage_slips_are_named_only_for_proportions(key: float) -> None:
    """100 times a key outside [-1, 1] is never called a percentage-for-proportion slip."""
    item = make(Numeric(key=key, tolerance=0.0))
    message = run(item, repr(key * 100)).message
    assert "percentage" not in message and "100 times too large" in message


def test_numeric_common_wrong_answers_come_first_in_the_order_written() -> None:
    item = make(
        Numeric(
            key=0.625,
            common_wrong_answers=(
                CommonWrongAnswer(value=62.5, explanation="A percentage.", misconception="m2"),
                CommonWrongAnswer(low=60, high=70, explanation="Somewhere near a percentage."),
                CommonWrongAnswer(value="nan", explanation="pandas skips NaN."),
            ),
        )
    )
    first = run(item, "62.5")
    assert [p.reason for p in first.points] == ["A percentage."]
    assert first.message == ""  # not the generic "100 times" message
    assert [n.name for n in first.misconceptions] == ["Percent slip"]
    assert [p.reason for p in run(item, "65").points] == ["Somewhere near a percentage."]
    assert [p.reason for p in run(item, "NaN").points] == ["pandas skips NaN."]
    assert run(item, "0.625").points == ()
    assert "100 times" not in run(item, "6.25").message


def test_numeric_value_matches_with_the_items_tolerance() -> None:
    relative = make(
        Numeric(
            key=100.0,
            tolerance=0.01,
            tolerance_mode="relative",
            common_wrong_answers=(CommonWrongAnswer(value=200.0, explanation="Doubled."),),
        )
    )
    assert [p.reason for p in run(relative, "201.9").points] == ["Doubled."]
    assert run(relative, "202.1").points == ()


def test_numeric_partial_credit_interval_is_explained() -> None:
    item = make(
        Numeric(key=9.1, alternatives=(NumericRange(low=9.0, high=9.2, credit=0.5),)),
        PartialCredit(a=1.0, thresholds=(0.0, 0.5)),
    )
    feedback = run(item, "9.05")
    assert feedback.verdict == "partial"
    assert "earns part of the credit: score 1 of 2" in feedback.scoring_note


def test_numeric_correct_answer_shows_unit_and_tolerance() -> None:
    assert correct_answer_text(make(Numeric(key=44, unit="days"))) == "44 days"
    assert correct_answer_text(make(Numeric(key=0.364, tolerance=0.0005))) == "0.364 (± 0.0005)"
    assert (
        correct_answer_text(make(Numeric(key=200, tolerance=0.01, tolerance_mode="relative")))
        == "200 (± 1 %)"
    )


def test_short_text_normalises_and_explains() -> None:
    item = make(
        ShortText(
            key=("value_counts", "value_counts()"),
            alternatives=(TextAnswer(text="groupby size", credit=0.5),),
            wrong_answers=(
                WrongText(text="nunique", explanation="Counts distinct.", misconception="m1"),
            ),
        ),
        PartialCredit(a=1.0, thresholds=(0.0, 0.5)),
    )
    assert run(item, "  VALUE_COUNTS() ").correct
    assert run(item, "\uff56\uff41\uff4c\uff55\uff45_counts").correct  # NFKC: full-width
    assert [p.reason for p in run(item, "NUNIQUE").points] == ["Counts distinct."]
    assert run(item, "groupby   size").verdict == "partial"
    assert run(item, "value_count").message == "Close to an accepted answer: check the spelling."
    assert run(item, "describe").message == "This is not one of the accepted answers."
    assert correct_answer_text(item) == "`value_counts` (also accepted: `value_counts()`)"
    sensitive = make(ShortText(key=("NaN",), case_sensitive=True))
    assert (
        run(sensitive, "nan").message == "Check the capital letters: this answer is case-sensitive."
    )


def test_typed_answers_are_shown_literally_never_as_markup() -> None:
    item = make(ShortText(key=("zip",)))
    feedback = run(item, "<script>alert(1)</script> **bold** [x](javascript:alert(1))")
    rendered = render(feedback.given)
    assert "<script" not in rendered
    assert "<strong>" not in rendered
    assert "href" not in rendered


@given(
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=60).filter(
        lambda s: s.strip()
    )
)
def test_literal_shows_the_text_exactly(text: str) -> None:
    """(Control characters aside: CommonMark replaces NUL, and typed answers hold none.)"""
    rendered = render(literal(text))
    code = re.search(r"<code>(.*)</code>", rendered, re.S)
    assert code is not None
    assert html.unescape(code.group(1)).strip() == " ".join(text.split()).strip()


def test_feedback_round_trips_and_old_records_still_decode() -> None:
    item = items_of(SingleChoice)[0]
    assert isinstance(item.interaction, SingleChoice)
    wrong = next(o.id for o in item.interaction.options if o.id != item.interaction.key)
    first = explain(item, wrong)
    second = explain(item, item.interaction.key)
    both = msgspec.structs.replace(first, second_try=SecondTry(answer="b", feedback=second))
    encoded = msgspec.json.encode(both)
    assert msgspec.json.decode(encoded, type=Feedback) == both
    assert b'"message"' not in encoded  # defaults are omitted: compact records
    old = b'{"correct":false,"category":0,"max_category":1,"correct_answer":"x"}'
    assert msgspec.json.decode(old, type=Feedback).verdict == "wrong"


def test_diagnose_number_is_total() -> None:
    """Every finite or special value gets a non-empty message, whatever the key."""
    for key in (0.0, 1.0, -3.5, 1e6):
        for value in (0.0, 1.0, -1.0, 1e12, float("nan"), float("inf")):
            assert diagnose_number(Numeric(key=key), value)
