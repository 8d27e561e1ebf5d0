"""QTI feedback shown through an outcome (``FEEDBACK``) beyond single choice.

Each fixture under ``data/qti-feedback`` has modal feedback or feedback blocks that the
item's own rules show by setting an outcome. The tests run those rules directly on answers
(:class:`Rules`) and check that the learner sees, after the imported item is scored, what
QTI shows for the same answer; feedback no bank place can hold is warned about, located.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from engine.feedback import feedback_for
from item_banks import score_answer
from item_banks.formats.qti3_export import export_bank
from item_banks.formats.qti_package import read_qti_package
from item_banks.formats.registry import read_any
from item_banks.model import Item, Match, MultipleResponse, Numeric, Order, ShortText
from item_banks.scoring import RawAnswer
from tests.item_banks.formats.test_qti_processing import Rules, qti_value

DATA = Path(__file__).parent / "data" / "qti-feedback"


def _import(name: str) -> tuple[Item, list[str]]:
    result = read_any(DATA / name)
    return result.bank.items[0], [str(w) for w in result.warnings if "no place" in w.message]


def _seen(item: Item, answer: RawAnswer) -> str:
    """The feedback text the learner is shown for ``answer`` (author note + explanations)."""
    feedback = feedback_for(item, answer, score_answer(item, answer))
    parts = [feedback.author_note, feedback.solution, *(p.reason for p in feedback.points)]
    return "\n".join(p for p in parts if p)


def _note(item: Item, answer: RawAnswer) -> str:
    """The author's correct / incorrect feedback the learner is shown for ``answer``."""
    return feedback_for(item, answer, score_answer(item, answer)).author_note


def test_multiple_response_correct_and_incorrect_feedback_follow_the_rules() -> None:
    item, warned = _import("multiple-correct-incorrect.xml")
    assert isinstance(item.interaction, MultipleResponse)
    assert item.correct_feedback == "Yes: 2 and 13 are prime."
    assert item.incorrect_feedback == "A prime has exactly two divisors; 9 = 3 \u00d7 3."
    rules = Rules(DATA / "multiple-correct-incorrect.xml")
    for answer in (["A", "C"], ["A"], ["A", "B", "C"], ["B"]):
        shown = rules.outcome(qti_value(item, answer), "FEEDBACK")
        expected = item.correct_feedback if shown == "correct" else item.incorrect_feedback
        assert _note(item, answer) == expected, answer
    assert warned == [
        f'{DATA / "multiple-correct-incorrect.xml"}: item "mr-feedback": line 30 '
        '<qti-modal-feedback>: feedback "never" has no place in a bank (not a rationale, hint '
        "or solution; feedback shown through an outcome is kept when the rules show it for "
        "whole options of a single choice, for the correct or the other answers, or for wrong "
        "typed answers); not kept"
    ]


def test_a_wrong_typed_answer_with_its_own_feedback_becomes_its_explanation() -> None:
    """QTI's "correct / Sydney / anything else": the learner sees what QTI shows."""
    item, warned = _import("text-wrong-answer.xml")
    assert isinstance(item.interaction, ShortText)
    assert item.correct_feedback == "Right: Canberra was built as a compromise."
    assert item.incorrect_feedback == "Not this one."
    assert [(w.text, w.explanation) for w in item.interaction.wrong_answers] == [
        ("Sydney", "Sydney is the largest city, not the capital.")
    ]
    rules = Rules(DATA / "text-wrong-answer.xml")
    texts = {
        "correct": item.correct_feedback,
        "sydney": item.interaction.wrong_answers[0].explanation,
        "incorrect": item.incorrect_feedback,
    }
    for answer in ("Canberra", "CANBERRA", "sydney", "SYDNEY", "Perth", "Melbourne"):
        shown = rules.outcome(answer, "FEEDBACK")
        assert isinstance(shown, str)
        assert _seen(item, answer) == texts[shown], answer
    assert warned == []


def test_wrong_numbers_with_feedback_become_common_wrong_answers() -> None:
    item, warned = _import("numeric-wrong-value.xml")
    assert isinstance(item.interaction, Numeric)
    wrong = item.interaction.common_wrong_answers
    assert [(w.value, w.low, w.high) for w in wrong] == [(14.0, None, None), (None, 6.9, 7.1)]
    rules = Rules(DATA / "numeric-wrong-value.xml")
    for answer, outcome in (("14", "perimeter"), ("7", "added"), ("6.9", "added"), ("13", None)):
        assert rules.outcome(float(answer), "FEEDBACK") == outcome
        seen = _seen(item, answer)
        if outcome == "perimeter":
            assert seen == wrong[0].explanation
        elif outcome == "added":
            assert seen == wrong[1].explanation
        else:
            assert seen == ""
    # "more than 100" is an unbounded range: a common wrong answer holds a value or a range.
    assert len(warned) == 1 and 'line 38 <qti-modal-feedback>: feedback "huge"' in warned[0]


def test_order_feedback_for_correct_and_hide_when_correct() -> None:
    item, warned = _import("order-correct.xml")
    assert isinstance(item.interaction, Order)
    assert item.correct_feedback == "Right: Mercury, Venus, Earth."
    assert item.incorrect_feedback == "Mercury is closest to the Sun."
    rules = Rules(DATA / "order-correct.xml")
    for answer in (["M", "V", "E"], ["V", "M", "E"]):
        shown = rules.outcome(qti_value(item, answer), "FEEDBACK")
        expected = item.correct_feedback if shown == "correct" else item.incorrect_feedback
        assert _note(item, answer) == expected, answer
    # Feedback for one particular wrong order has no place in an order item.
    assert len(warned) == 1 and 'feedback "reversed" has no place' in warned[0]


def test_correct_and_incorrect_feedback_survive_a_package_round_trip() -> None:
    names = ("multiple-correct-incorrect.xml", "order-correct.xml", "text-wrong-answer.xml")
    for name in (*names, "match-partial.xml", "numeric-wrong-value.xml"):
        bank = read_any(DATA / name).bank
        bank = msgspec.structs.replace(bank, id="b", title="b")
        data, _ = export_bank(bank, "b.zip")
        again = read_qti_package(data, "b.zip").bank.items[0]
        item = bank.items[0]
        assert (again.correct_feedback, again.incorrect_feedback) == (
            item.correct_feedback,
            item.incorrect_feedback,
        ), name
        assert again.interaction == msgspec.structs.replace(
            item.interaction,
            **_not_carried(item),
        ), name


def _not_carried(item: Item) -> dict[str, tuple[()]]:
    """The wrong answers, which QTI export lists as not carried."""
    if isinstance(item.interaction, ShortText):
        return {"wrong_answers": ()}
    if isinstance(item.interaction, Numeric):
        return {"common_wrong_answers": ()}
    return {}


def test_a_single_choice_keeps_its_correct_and_incorrect_feedback_through_a_package() -> None:
    """The export shows them on ANSWER_FEEDBACK, which the import does not spread over the
    options' rationales (as it does for a single choice's other outcome feedback)."""
    bank = read_any(DATA.parent / "qti-rp" / "choice-fixed-rubric-title.xml").bank
    item = msgspec.structs.replace(
        bank.items[0], correct_feedback="Well done.", incorrect_feedback="Look at a map."
    )
    bank = msgspec.structs.replace(bank, id="b", title="b", items=(item,))
    data, notes = export_bank(bank, "b.zip")
    assert not [n for n in notes if "feedback" in n.message]
    again = read_qti_package(data, "b.zip").bank.items[0]
    assert again.correct_feedback == "Well done."
    assert again.incorrect_feedback == "Look at a map."
    assert again.interaction == item.interaction


def test_match_feedback_for_full_credit_is_kept_and_for_part_credit_warned() -> None:
    item, warned = _import("match-partial.xml")
    assert isinstance(item.interaction, Match)
    assert item.correct_feedback == "All matched."
    assert item.incorrect_feedback == ""
    rules = Rules(DATA / "match-partial.xml")
    for answer in (["FR PAR", "DE BER"], ["FR PAR"], ["FR BER"]):
        shown = rules.outcome(qti_value(item, answer), "FEEDBACK")
        assert _note(item, answer) == (item.correct_feedback if shown == "correct" else "")
    # Shown for answers with some credit but not all: a bank has no place for that.
    assert len(warned) == 1 and 'feedback "partial" has no place' in warned[0]


def test_a_weighted_multiple_response_keeps_its_feedback_through_a_package() -> None:
    """Full credit from fractional weights (0.7 + 0.2 + 0.1) shows the correct feedback."""
    bank = read_any(DATA.parent / "qti-rp" / "multiple-fractional.xml").bank
    interaction = bank.items[0].interaction
    assert isinstance(interaction, MultipleResponse)
    options = tuple(
        msgspec.structs.replace(o, credit=c)
        for o, c in zip(interaction.options, (0.7, 0.2, 0.1, None), strict=False)
    )
    weighted = msgspec.structs.replace(
        interaction, options=options, key=tuple(o.id for o in options[:3]), scoring="weighted"
    )
    item = msgspec.structs.replace(
        bank.items[0], interaction=weighted, correct_feedback="All three.", incorrect_feedback="No."
    )
    bank = msgspec.structs.replace(bank, id="b", title="b", items=(item,))
    data, _ = export_bank(bank, "b.zip")
    again = read_qti_package(data, "b.zip").bank.items[0]
    assert (again.correct_feedback, again.incorrect_feedback) == ("All three.", "No.")
    assert _note(again, list(weighted.key)) == "All three."
    assert _note(again, list(weighted.key[:2])) == "No."
