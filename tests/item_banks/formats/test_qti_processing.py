"""QTI response processing: the evaluator, and imported items scored as their rules say.

Every fixture under ``data/qti-rp`` is run two ways side by side: the QTI rules evaluated
directly on the XML (:mod:`item_banks.formats.qti_processing`) and Skillgauge's scoring of
the imported item (:func:`item_banks.score_answer`); both must give every answer the same
score category.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from engine.policy import decode_policy
from engine.pool import compile_pool
from engine.session import Session
from item_banks import BankValidationError, NotAutoScoredError, score_answer
from item_banks.formats.csv_items import read_csv_items
from item_banks.formats.csv_params import merge_parameters
from item_banks.formats.gift import read_gift
from item_banks.formats.moodle import read_moodle
from item_banks.formats.qti2_import import is_qti2, to_qti3
from item_banks.formats.qti3_import import read_item_file
from item_banks.formats.qti_expressions import parse_processing
from item_banks.formats.qti_package import read_qti_package
from item_banks.formats.qti_processing import (
    Container,
    Value,
    read_declarations,
    read_outcomes,
    run,
    score,
)
from item_banks.formats.registry import read_any
from item_banks.formats.safe_xml import local, parse_xml
from item_banks.formats.safe_zip import read_package
from item_banks.model import Item, PartialCredit, auto_scored
from item_banks.native import decode_bank
from item_banks.scoring import RawAnswer, credit_category
from tests.item_banks.helpers import raw_bank

DATA = Path(__file__).parent / "data" / "qti-rp"
NS = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"


# --------------------------------------------------------------------------- direct evaluation


class Rules:
    """A QTI item's declarations and response processing, evaluated directly."""

    def __init__(self, path: Path) -> None:
        root = parse_xml(path.read_bytes(), str(path))
        if is_qti2(root):
            root = to_qti3(root)
        self.root = root
        processing = next(e for e in root if local(e) == "qti-response-processing")
        self.rules = parse_processing(processing, "RESPONSE")
        self.declarations = read_declarations(root)
        self.outcomes = read_outcomes(root)

    def score(self, value: Value) -> float:
        return score(self.rules, self.declarations, self.outcomes, {"RESPONSE": value})

    def outcome(self, value: Value, name: str) -> Value:
        return run(self.rules, self.declarations, self.outcomes, {"RESPONSE": value})[name]


def qti_value(item: Item, answer: RawAnswer) -> Value:
    """The QTI response for a Skillgauge raw answer."""
    kind = type(item.interaction).__name__
    if kind == "MultipleResponse":
        return Container(tuple(answer))
    if kind == "Order":
        return Container(tuple(answer), ordered=True)
    if kind == "Match":
        return Container(tuple(tuple(pair.split()) for pair in answer))
    if kind == "Numeric":
        assert isinstance(answer, str)
        return float(answer)
    return answer if isinstance(answer, str) else Container(tuple(answer))


def side_by_side(path: Path, answers: list[RawAnswer], top: float) -> list[int]:
    """Each answer's category by Skillgauge, checked equal to the QTI rules' category."""
    item = read_any(path).bank.items[0]
    rules = Rules(path)
    ours = [score_answer(item, a).category for a in answers]
    k = score_answer(item, answers[0]).max_category
    theirs = [
        credit_category(rules.score(qti_value(item, a)) / top, k, item.credit_levels)
        for a in answers
    ]
    assert ours == theirs, list(zip(answers, ours, theirs, strict=True))
    return ours


def runs(path: Path) -> None:
    """The engine compiles the imported bank and a session picks a first item."""
    bank = read_any(path).bank
    policy = decode_policy({"stopping": {"rule": "fixed_length", "n": 1}})
    session = Session(compile_pool(bank), policy)
    assert session.next_item(session.start(1)).pending is not None


# --------------------------------------------------------------------------- the fixtures


def test_reference_first_and_not_null_condition_with_partial_interval() -> None:
    path = DATA / "numeric-reference-first.xml"
    answers: list[RawAnswer] = ["100", "99", "103", "103.01", "98.99", "90", "89.9", "96", "5"]
    # equal(correct, RESPONSE) "1 3": r in [99, 103] earns 2 of 2; [90, 99) earns 1 of 2.
    assert side_by_side(path, answers, 2.0) == [2, 2, 2, 0, 1, 1, 0, 1, 0]
    item = read_any(path).bank.items[0]
    assert item.irt == PartialCredit(a=1.0, thresholds=(-1.0, 1.0))
    runs(path)


def test_a_rule_that_only_sets_feedback_costs_nothing() -> None:
    path = DATA / "choice-feedback-rules.xml"
    result = read_any(path)
    assert not result.skipped
    assert side_by_side(path, ["A", "B", "C"], 1.0) == [0, 1, 0]
    rules = Rules(path)
    assert rules.outcome("A", "FEEDBACK") == Container(("rocky",))
    assert rules.outcome("C", "FEEDBACK") == Container(("hot",))
    assert rules.outcome("B", "FEEDBACK") is None


def test_case_variant_worth_half_is_the_middle_category() -> None:
    path = DATA / "text-case-variant-half.xml"
    answers: list[RawAnswer] = ["Paris", "paris", "PARIS", "pArIs", "Lyon"]
    assert side_by_side(path, answers, 1.0) == [2, 1, 1, 1, 0]
    result = read_any(path)
    assert result.bank.items[0].irt == PartialCredit(a=1.0, thresholds=(-1.0, 1.0))
    (warning,) = result.warnings
    assert "a provisional GPCM a=1 with one category per credit level" in str(warning)
    assert "2PL" not in str(warning)
    runs(path)


def test_multiple_response_fractional_weights_count() -> None:
    path = DATA / "multiple-fractional.xml"
    answers: list[RawAnswer] = [
        ["P2", "P3", "P5"],
        ["P2"],
        ["P3"],
        ["P2", "P3"],
        ["P2", "N4"],
        ["N4"],
        ["P2", "P3", "P5", "N4"],
    ]
    ours = side_by_side(path, answers, 3.0)
    item = read_any(path).bank.items[0]
    # credits 1, 0.5, 0.25, 0.75, 1/6, 0, 2/3: one category per distinct level
    assert item.credit_levels == (0.166666667, 0.25, 0.416666667, 0.5, 0.666666667, 0.75, 1.0)
    assert ours == [7, 4, 2, 6, 1, 0, 5]


def test_lookup_table_with_unequal_levels() -> None:
    path = DATA / "choice-lookup-quarter.xml"
    assert side_by_side(path, ["H", "Q", "T"], 1.0) == [2, 1, 0]
    item = read_any(path).bank.items[0]
    assert item.credit_levels == (0.25, 1.0)


def test_qti21_string_match_and_feedback_only_rules() -> None:
    path = DATA / "text-string-match-21.xml"
    assert side_by_side(path, ["Na", "na", "NA", "N a", "K"], 1.0) == [2, 1, 1, 0, 0]
    assert Rules(path).outcome("K", "FEEDBACK") == "wrong"


def test_qti21_and_not_null_equal_response_first() -> None:
    path = DATA / "numeric-and-not-null-21.xml"
    # equal(RESPONSE, correct) 0.005: 3.14 within r +- 0.005; equal(3.1, RESPONSE) 0.05.
    # (Exact ends such as 3.135 are left out: in binary 3.135 + 0.005 < 3.14, see below.)
    answers: list[RawAnswer] = ["3.14", "3.1351", "3.1449", "3.1451", "3.0501", "3.15", "3.16", "3"]
    assert side_by_side(path, answers, 1.0) == [2, 2, 2, 1, 1, 1, 0, 0]


def test_partial_credit_an_order_cannot_hold_is_refused_with_the_answer() -> None:
    path = DATA / "order-partial-21.xml"
    with pytest.raises(BankValidationError) as info:
        read_any(path)
    first = str(info.value.problems[0])
    assert first.startswith(
        f'{path}: item "order-contains-21": line 6 <qti-response-processing>: skipped: '
        "custom response processing: Skillgauge cannot score this item as its rules do"
    )
    assert "earns 0.5 of full credit by the QTI rules but 0" in first


def test_unknown_operator_is_refused_where_it_is() -> None:
    path = DATA.parent / "qti3" / "custom-response-processing.xml"
    with pytest.raises(BankValidationError) as info:
        read_any(path)
    assert str(info.value.problems[0]) == (
        f'{path}: item "custom-rp": line 11 <qti-custom-operator>: skipped: custom response '
        "processing: the operator <qti-custom-operator> is not one Skillgauge evaluates"
    )


# --------------------------------------------------------------------------- the evaluator


def evaluate(body: str, response: Value, decl: str = "", outcomes: str = "") -> Value:
    xml = f"""<qti-assessment-item xmlns="{NS}" identifier="x">
      <qti-response-declaration identifier="RESPONSE" cardinality="single" base-type="float">
        {decl}</qti-response-declaration>
      <qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float"/>
      {outcomes}
      <qti-response-processing>{body}</qti-response-processing></qti-assessment-item>"""
    root = etree.fromstring(xml.encode())
    rules = parse_processing(root[-1], "RESPONSE")
    values = run(rules, read_declarations(root), read_outcomes(root), {"RESPONSE": response})
    return values["SCORE"]


def set_score(expression: str) -> str:
    return f'<qti-set-outcome-value identifier="SCORE">{expression}</qti-set-outcome-value>'


def var() -> str:
    return '<qti-variable identifier="RESPONSE"/>'


def num(x: float) -> str:
    return f'<qti-base-value base-type="float">{x}</qti-base-value>'


def boolean_score(test: str) -> str:
    return (
        f"<qti-response-condition><qti-response-if>{test}{set_score(num(1))}</qti-response-if>"
        f"<qti-response-else>{set_score(num(0))}</qti-response-else></qti-response-condition>"
    )


@pytest.mark.parametrize(
    ("first_is_response", "answer", "expected"),
    [(False, 99.0, 1), (False, 103.0, 1), (False, 98.9, 0), (True, 97.0, 1), (True, 103.0, 0)],
)
def test_equal_builds_its_range_around_the_first_operand(
    first_is_response: bool, answer: float, expected: float
) -> None:
    pair = (var(), num(100)) if first_is_response else (num(100), var())
    test = f'<qti-equal tolerance-mode="absolute" tolerance="1 3">{pair[0]}{pair[1]}</qti-equal>'
    assert evaluate(boolean_score(test), answer) == expected


def test_relative_tolerance_and_open_bounds() -> None:
    test = (
        '<qti-equal tolerance-mode="relative" tolerance="50" include-upper-bound="false">'
        f"{num(50)}{var()}</qti-equal>"
    )
    assert [evaluate(boolean_score(test), x) for x in (25.0, 74.9, 75.0, 24.9)] == [1, 1, 0, 0]


def test_null_makes_and_null_unless_an_operand_is_false() -> None:
    null_test = f"<qti-gt>{var()}{num(1)}</qti-gt>"
    false_test = f"<qti-lt>{num(2)}{num(1)}</qti-lt>"
    both = (
        f"<qti-or><qti-not><qti-and>{null_test}{false_test}</qti-and></qti-not>{null_test}</qti-or>"
    )
    # and(NULL, false) = false; not(false) = true; or(true, NULL) = true
    assert evaluate(boolean_score(both), None) == 1
    assert (
        evaluate(
            boolean_score(f"<qti-and>{null_test}<qti-gte>{num(2)}{num(1)}</qti-gte></qti-and>"),
            None,
        )
        == 0
    )


def test_sum_lookup_and_exit_response() -> None:
    table = (
        '<qti-outcome-declaration identifier="LEVEL" cardinality="single" base-type="float">'
        '<qti-interpolation-table default-value="0">'
        '<qti-interpolation-table-entry source-value="10" target-value="1"/>'
        '<qti-interpolation-table-entry source-value="5" include-boundary="false" '
        'target-value="0.5"/>'
        "</qti-interpolation-table></qti-outcome-declaration>"
    )
    body = (
        f'<qti-lookup-outcome-value identifier="LEVEL"><qti-sum>{var()}{num(1)}</qti-sum>'
        "</qti-lookup-outcome-value>"
        + set_score('<qti-variable identifier="LEVEL"/>')
        + "<qti-exit-response/>"
        + set_score(num(7))
    )
    assert [evaluate(body, x, outcomes=table) for x in (9.0, 5.0, 4.0, 3.0)] == [1, 0.5, 0, 0]


def test_map_response_bounds_and_case() -> None:
    decl = (
        '<qti-mapping default-value="-1" lower-bound="0" upper-bound="2">'
        '<qti-map-entry map-key="1" mapped-value="3"/><qti-map-entry map-key="2" mapped-value="1"/>'
        "</qti-mapping>"
    )
    body = set_score('<qti-map-response identifier="RESPONSE"/>')
    assert [evaluate(body, x, decl) for x in (1.0, 2.0, 3.0)] == [2, 1, 0]


def test_member_and_contains() -> None:
    def ids(*xs: str) -> str:
        return "".join(f'<qti-base-value base-type="identifier">{x}</qti-base-value>' for x in xs)

    member = f"<qti-member>{ids('B')}<qti-multiple>{ids('A', 'B')}</qti-multiple></qti-member>"
    ordered = (
        f"<qti-contains><qti-ordered>{ids('A', 'B', 'C')}</qti-ordered>"
        f"<qti-ordered>{ids('A', 'C')}</qti-ordered></qti-contains>"
    )
    multiple = (
        f"<qti-contains><qti-multiple>{ids('A', 'B', 'C')}</qti-multiple>"
        f"<qti-multiple>{ids('C', 'A')}</qti-multiple></qti-contains>"
    )
    assert evaluate(boolean_score(member), None) == 1
    assert evaluate(boolean_score(ordered), None) == 0  # not a contiguous run
    assert evaluate(boolean_score(multiple), None) == 1


# --------------------------------------------------------------------------- property


def _answers(item: Item) -> st.SearchStrategy[Any]:
    interaction: Any = item.interaction
    kind = type(interaction).__name__
    if kind == "SingleChoice":
        return st.sampled_from([o.id for o in interaction.options])
    if kind == "MultipleResponse":
        ids = [o.id for o in interaction.options]
        return st.lists(st.sampled_from(ids), min_size=1, unique=True)
    if kind == "Numeric":
        near = st.sampled_from([1.0, 3.0, 3.05, 3.1, 3.14, 90.0, 99.0, 100.0, 103.0])
        wobble = st.floats(-0.02, 0.02)
        return st.one_of(
            st.floats(-200, 200).map(repr), st.builds(lambda a, b: repr(a + b), near, wobble)
        )
    words = ["Paris", "Na", "Lyon", "K", "paris", "na"]
    cased = st.builds(
        lambda w, flips: "".join(
            c.upper() if f else c.lower() for c, f in zip(w, flips, strict=False)
        ),
        st.sampled_from(words),
        st.lists(st.booleans(), min_size=5, max_size=5),
    )
    return st.one_of(cased, st.text("abcPNKLrs", min_size=1, max_size=6))


IMPORTABLE = sorted(p for p in DATA.glob("*.xml") if p.stem != "order-partial-21")


@pytest.mark.parametrize("path", IMPORTABLE, ids=lambda p: p.stem)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_derived_scoring_equals_the_rules_for_random_answers(path: Path, data: Any) -> None:
    item = read_any(path).bank.items[0]
    rules = Rules(path)
    answer = data.draw(_answers(item))
    top = max(rules.score(qti_value(item, a)) for a in _best_answers(item))
    k = score_answer(item, answer).max_category

    def theirs(value: Value) -> int:
        return credit_category(rules.score(value) / top, k, item.credit_levels)

    value = qti_value(item, answer)
    accepted = {theirs(value)}
    if isinstance(value, float):
        # Within binary rounding of an interval's end (2e-9 relative) both readings are
        # right: QTI engines differ there, and Skillgauge absorbs it (numeric_matches).
        delta = 2e-9 * max(1.0, abs(value))
        accepted |= {theirs(value - delta), theirs(value + delta)}
    assert score_answer(item, answer).category in accepted


def _best_answers(item: Item) -> list[RawAnswer]:
    interaction: Any = item.interaction
    kind = type(interaction).__name__
    if kind == "SingleChoice":
        return [interaction.key]
    if kind == "MultipleResponse":
        return [list(interaction.key)]
    if kind == "Numeric":
        return [repr(interaction.key)]
    return [interaction.key[0]]


# --------------------------------------------------------------------------- hostile input


def test_a_huge_processing_tree_is_refused_before_it_is_run(tmp_path: Path) -> None:
    source = (DATA / "choice-feedback-rules.xml").read_text()
    blocks = "".join(
        "<qti-response-condition><qti-response-if>"
        '<qti-match><qti-variable identifier="RESPONSE"/><qti-base-value base-type="identifier">A'
        "</qti-base-value></qti-match>"
        '<qti-set-outcome-value identifier="FEEDBACK"><qti-null/></qti-set-outcome-value>'
        "</qti-response-if></qti-response-condition>"
        for _ in range(1500)
    )
    path = tmp_path / "huge.xml"
    path.write_text(
        source.replace("</qti-response-processing>", blocks + "</qti-response-processing>")
    )
    with pytest.raises(BankValidationError) as info:
        read_any(path)
    assert re.search(
        r"line 10 <qti-response-processing>: skipped: response processing of [\d,]+ rules and "
        r"operators; the limit is 5,000$",
        str(info.value.problems[0]),
    )


def test_deeply_nested_operators_are_refused_by_the_parser(tmp_path: Path) -> None:
    source = (DATA / "choice-feedback-rules.xml").read_text()
    deep = "<qti-not>" * 400 + "<qti-null/>" + "</qti-not>" * 400
    path = tmp_path / "deep.xml"
    path.write_text(
        source.replace(
            "</qti-response-processing>",
            f"<qti-response-condition><qti-response-if>{deep}</qti-response-if>"
            "</qti-response-condition></qti-response-processing>",
        )
    )
    with pytest.raises(BankValidationError) as info:
        read_any(path)
    assert str(info.value.problems[0]).startswith(f"{path}: line ")


# --------------------------------------------------------------------------- kept or warned


def test_title_and_rubric_kept_and_fixed_choice_warned() -> None:
    path = DATA / "choice-fixed-rubric-title.xml"
    result = read_any(path)
    item = result.bank.items[0]
    assert item.title == "Largest ocean"
    assert item.notes == "Accept only Pacific."  # the scorer's rubric: an author-only note
    assert "Accept only" not in item.stem
    assert [str(w) for w in result.warnings][:1] == [
        f'{path}: item "choice-fixed": line 8 <qti-simple-choice>: choice "N" is fixed in '
        "place; Skillgauge shuffles all options or none, so its position is not kept",
    ]
    assert not [w for w in result.warnings if "rubric" in w.message]
    assert side_by_side(path, ["P", "A", "N"], 1.0) == [1, 0, 0]


def test_feedback_shown_through_an_outcome_becomes_rationales_or_the_solution() -> None:
    """The rules run per option: "correct" feedback becomes the key's rationale, "incorrect"
    (and hide-when-correct) the other options', always-shown the solution; never-shown is
    warned."""
    path = DATA / "choice-feedback-outcome.xml"
    result = read_any(path)
    item = result.bank.items[0]
    rationales = {o.id: o.rationale for o in item.interaction.options}  # type: ignore[union-attr]
    wrong = "Not quite: Mercury orbits closest.\n\nThink about orbits."
    assert rationales == {"A": wrong, "B": wrong, "C": "Right: Mercury orbits closest."}
    assert item.solution == "The order is Mercury, Venus, Earth, Mars."
    rules = Rules(path)
    for option, rationale in rationales.items():  # what QTI shows for each option
        shown = rules.outcome(option, "FEEDBACK")
        assert shown == ("correct" if option == "C" else "incorrect")
        assert rationale.startswith("Right") == (shown == "correct")
    assert [str(w) for w in result.warnings if "no place" in w.message] == [
        f'{path}: item "choice-feedback-outcome": line 35 <qti-modal-feedback>: feedback '
        '"never" has no place in a bank (not a rationale, hint or solution; feedback shown '
        "through an outcome is kept when the rules show it for whole options of a single "
        "choice, for the correct or the other answers, or for wrong typed answers); not kept"
    ]
    assert side_by_side(path, ["A", "B", "C"], 1.0) == [0, 0, 1]


def test_a_candidate_rubric_is_kept_as_a_note_with_a_warning() -> None:
    data = (DATA / "choice-fixed-rubric-title.xml").read_bytes()
    data = data.replace(b'view="scorer"', b'view="candidate"')
    result = read_item_file(data, "c.xml")
    assert result.bank.items[0].notes == "Accept only Pacific."
    assert (
        'c.xml: item "choice-fixed": line 6 <qti-rubric-block>: a rubric block for candidates '
        "is kept as an author note (notes); learners do not see it"
    ) in [str(w) for w in result.warnings]


def test_moodle_idnumber_is_the_item_id_and_graderinfo_is_a_note() -> None:
    quiz = b"""<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="essay">
    <name><text>Explain recursion</text></name>
    <idnumber>ESSAY-7</idnumber>
    <questiontext format="html"><text>Explain recursion.</text></questiontext>
    <graderinfo format="html"><text>Look for a base case.</text></graderinfo>
  </question>
  <question type="truefalse">
    <name><text>Sky</text></name>
    <idnumber>TF-1</idnumber>
    <questiontext format="html"><text>The sky is blue.</text></questiontext>
    <answer fraction="100"><text>true</text></answer>
    <answer fraction="0"><text>false</text></answer>
  </question>
</quiz>"""
    result = read_moodle(quiz, "q.xml")
    items = {i.id: i for i in result.bank.items}
    assert items["ESSAY-7"].title == "Explain recursion"
    assert items["TF-1"].title == "Sky"
    assert items["ESSAY-7"].notes == "Look for a base case."
    assert not [w for w in result.warnings if "grader" in str(w)]


def test_a_windows_1252_gift_file_is_read_with_a_warning_naming_the_encoding() -> None:
    data = "// quiz\n::cafe:: Where do you drink coffee? {=Caf\u00e9 ~Bar}\n".encode("cp1252")
    result = read_gift(data, "quiz.gift")
    assert result.bank.items[0].interaction.options[0].text == "Caf\u00e9"  # type: ignore[union-attr]
    assert (
        "quiz.gift: line 2: not UTF-8 text: read as Windows-1252 (cp1252), where byte 0xE9 at "
        "column 42 is 'é'; check the accented characters, or save the file as UTF-8"
    ) in [str(w) for w in result.warnings]


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("\u041a\u0430\u043a\u0430\u044f \u0441\u0442\u043e\u043b\u0438\u0446\u0430?", "cp1251"),
        ("Stolica Polski to Warszawa, \u0142\u0105ka", "cp1250"),
        ("Miasto \u0141\u00f3d\u017a", "cp1250"),
    ],
    ids=["cyrillic", "polish", "polish-capital-l-stroke"],
)
def test_a_non_utf8_file_not_certainly_cp1252_is_refused_with_its_line(
    text: str, encoding: str
) -> None:
    data = f"// quiz\n::q:: {text} {{=Yes ~No}}\n".encode(encoding)
    with pytest.raises(BankValidationError) as info:
        read_gift(data, "quiz.gift")
    (problem,) = info.value.problems
    assert str(problem).startswith("quiz.gift: line 2: not UTF-8 text: byte 0x")
    assert str(problem).endswith("save it as UTF-8") or str(problem).endswith(
        "save the file as UTF-8"
    )


def test_a_file_mixing_utf8_and_cp1252_is_refused() -> None:
    data = "// caf\u00e9\n".encode() + "::q:: Caf\u00e9? {=Oui ~Non}\n".encode("cp1252")
    with pytest.raises(BankValidationError, match="line 2: not UTF-8 text: byte 0xE9 at column 10"):
        read_gift(data, "quiz.gift")


def test_a_windows_1252_csv_is_read_with_a_warning_and_a_parameters_csv_is_refused() -> None:
    rows = "id,stem,key,option_a,option_b\nq1,O\u00f9 est le caf\u00e9 ?,a,L\u00e0,Ici\n"
    result = read_csv_items(rows.encode("cp1252"), "items.csv")
    assert result.bank.items[0].stem == "O\u00f9 est le caf\u00e9 ?"
    assert [str(w) for w in result.warnings if "Windows-1252" in str(w)] == [
        "items.csv: line 2: not UTF-8 text: read as Windows-1252 (cp1252), where byte 0xF9 at "
        "column 5 is 'ù'; check the accented characters, or save the file as UTF-8"
    ]
    params = "item_id,model,a,b\nq1,2pl,1.0,0.5\n# caf\u00e9\n".encode("cp1252")
    with pytest.raises(
        BankValidationError, match=re.escape("p.csv: line 3: not UTF-8 text: byte 0xE9")
    ):
        merge_parameters(result.bank, params, "p.csv")


def test_package_members_the_manifest_does_not_name_are_never_read() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((DATA.parent / "package").rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(DATA.parent / "package").as_posix())
        archive.writestr(zipfile.ZipInfo("junk/unread.bin"), b"SENTINEL" * 100)
    data = bytearray(buffer.getvalue())
    spot = data.index(b"SENTINEL")
    data[spot] ^= 0xFF  # a corrupt member: its checksum fails when it is read
    result = read_qti_package(bytes(data), "demo.zip")
    assert len(result.bank.items) == 6
    package = read_package(bytes(data), "demo.zip")
    with pytest.raises(BankValidationError, match=r"demo.zip!junk/unread.bin: cannot read"):
        package["junk/unread.bin"]


def test_media_not_kept_is_warned_where_it_is() -> None:
    path = DATA / "choice-image.xml"
    result = read_any(path)
    lines = [str(w) for w in result.warnings if "media" in w.message or "alt" in w.message]
    prefix = f'{path}: item "choice-image": '
    not_kept = (
        " (Skillgauge keeps a package's PNG, JPEG, GIF and WebP images, MP3, Ogg, M4A and WAV "
        "audio and MP4 and WebM video only); the text keeps only its reference"
    )
    assert lines == [
        f"{prefix}line 6 <img>: the media file 'media/triangle.png' is not kept{not_kept}",
        f"{prefix}line 6 <img>: the image 'media/triangle.png' has no alt text",
        f"{prefix}line 7 <audio>: the media file 'media/prompt.mp3' is not kept{not_kept}",
        f"{prefix}line 9 <img>: the media file 'media/square.png' is not kept{not_kept}",
    ]


def test_a_sampled_multiple_response_keeps_every_credit_level() -> None:
    """26 options are too many to enumerate; the additive form's levels are all kept."""
    ids = [f"O{i}" for i in range(26)]
    choices = "".join(f'<qti-simple-choice identifier="{i}">{i}</qti-simple-choice>' for i in ids)
    entries = "".join(
        f'<qti-map-entry map-key="{i}" mapped-value="{0.1 if n < 10 else -0.1}"/>'
        for n, i in enumerate(ids)
    )
    correct = "".join(f"<qti-value>{i}</qti-value>" for i in ids[:10])
    xml = f"""<qti-assessment-item xmlns="{NS}" identifier="many" title="many">
      <qti-response-declaration identifier="RESPONSE" cardinality="multiple"
        base-type="identifier"><qti-correct-response>{correct}</qti-correct-response>
        <qti-mapping lower-bound="0" upper-bound="1">{entries}</qti-mapping>
      </qti-response-declaration>
      <qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float"/>
      <qti-item-body><qti-choice-interaction response-identifier="RESPONSE" max-choices="0">
        {choices}</qti-choice-interaction></qti-item-body>
      <qti-response-processing template="map_response"/></qti-assessment-item>"""
    item = read_item_file(xml.encode(), "many.xml").bank.items[0]
    assert isinstance(item.irt, PartialCredit) and len(item.irt.thresholds) == 10
    assert item.credit_levels == ()  # 0.1, 0.2, ... 1: equal steps
    assert score_answer(item, ids[:7]).category == 7
    assert score_answer(item, [*ids[:7], "O20", "O21"]).category == 5
    assert score_answer(item, ids[10:]).category == 0


def test_overflow_and_division_by_zero_are_null_not_a_crash() -> None:
    huge = num(1e308)
    overflow = f"<qti-gt><qti-sum>{huge}{huge}</qti-sum>{num(0)}</qti-gt>"
    by_zero = f"<qti-lt><qti-divide>{num(1)}{num(0)}</qti-divide>{num(5)}</qti-lt>"
    assert evaluate(boolean_score(overflow), None) == 0  # NULL: the condition is not taken
    assert evaluate(boolean_score(by_zero), None) == 0
    assert evaluate(set_score(f"<qti-product>{huge}{huge}</qti-product>"), None) is None


def test_a_score_that_is_not_a_number_is_refused_where_the_rules_are(tmp_path: Path) -> None:
    source = (DATA / "choice-lookup-quarter.xml").read_text()
    path = tmp_path / "text-score.xml"
    path.write_text(
        source.replace(
            '<qti-lookup-outcome-value identifier="SCORE"><qti-variable identifier="RAW"/>'
            "</qti-lookup-outcome-value>",
            '<qti-set-outcome-value identifier="SCORE"><qti-base-value base-type="string">'
            "high</qti-base-value></qti-set-outcome-value>",
        )
    )
    with pytest.raises(BankValidationError) as info:
        read_any(path)
    assert [str(p) for p in info.value.problems] == [
        f'{path}: item "choice-lookup": line 15 <qti-base-value>: score must be a number, '
        "got 'high'"
    ]


# --------------------------------------------------------------------------- every fixture

FIXTURES = sorted(
    [
        *DATA.glob("*.xml"),
        *(DATA.parent / "qti3").glob("*.xml"),
        *(DATA.parent / "qti2").glob("*.xml"),
    ]
)


def _all_answers(item: Item) -> list[RawAnswer]:
    """Every answer worth trying: all options, subsets, orders, pairs; numbers at the ends."""
    interaction: Any = item.interaction
    kind = type(interaction).__name__
    if kind == "SingleChoice":
        return [o.id for o in interaction.options]
    if kind == "MultipleResponse":
        ids = [o.id for o in interaction.options]
        return [list(c) for k in range(1, len(ids) + 1) for c in itertools.combinations(ids, k)]
    if kind == "Order":
        return [list(p) for p in itertools.permutations(o.id for o in interaction.options)]
    if kind == "Match":
        pairs = [f"{s.id} {t.id}" for s in interaction.sources for t in interaction.targets]
        key = [f"{p.source} {p.target}" for p in interaction.key]
        sets: list[RawAnswer] = [[p] for p in pairs]
        return [*sets, key, *(key[:i] + key[i + 1 :] for i in range(len(key)))]
    if kind == "Numeric":
        width = interaction.tolerance * (
            abs(interaction.key) if interaction.tolerance_mode == "relative" else 1
        )
        points = {interaction.key, interaction.key - width, interaction.key + width}
        for alt in interaction.alternatives:
            points |= {alt.low, alt.high, (alt.low + alt.high) / 2}
        ordered = sorted(points)
        mids = [(a + b) / 2 for a, b in itertools.pairwise(ordered)]
        return [repr(x) for x in [*ordered, *mids, ordered[0] - 1, ordered[-1] + 1]]
    texts = [*interaction.key, *(a.text for a in interaction.alternatives), "nothing like it"]
    return [v for t in texts for v in {t, t.lower(), t.upper(), t.swapcase()}]


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_score_category_of_every_fixture_matches_the_qti_rules(path: Path) -> None:
    try:
        result = read_any(path)
    except BankValidationError as exc:
        assert any("skipped:" in str(p) or "no operational" in str(p) for p in exc.problems)
        return
    item = result.bank.items[0]
    if not auto_scored(item):  # an essay: stored, never scored, so there is nothing to compare
        with pytest.raises(NotAutoScoredError):
            score_answer(item, "An essay.")
        return
    rules = Rules(path)
    answers = _all_answers(item)
    top = max(rules.score(qti_value(item, a)) for a in answers)
    k = score_answer(item, answers[0]).max_category
    seen = set()
    for answer in answers:
        value = qti_value(item, answer)
        accepted = {credit_category(rules.score(value) / top, k, item.credit_levels)}
        if isinstance(value, float):
            delta = 2e-9 * max(1.0, abs(value))
            for v in (value - delta, value + delta):
                accepted.add(credit_category(rules.score(v) / top, k, item.credit_levels))
        ours = score_answer(item, answer).category
        assert ours in accepted, (answer, ours, accepted)
        seen.add(ours)
    assert seen == set(range(k + 1)), "every category is reached by some answer"


# --------------------------------------------------------------------------- credit levels


def _weighted_bank(levels: list[float], thresholds: list[float]) -> dict[str, Any]:
    bank = raw_bank(1)
    item = bank["items"][0]
    item["interaction"]["options"].append({"id": "c", "text": "Half right"})
    item["interaction"]["options"][0]["credit"] = 1.0
    item["interaction"]["options"][1]["credit"] = 0.25
    item["interaction"]["scoring"] = "weighted"
    item["irt"] = {"model": "gpcm", "a": 1.0, "thresholds": thresholds}
    item["credit_levels"] = levels
    return bank


def test_credit_levels_make_one_category_per_level() -> None:
    bank = decode_bank(
        json.dumps(_weighted_bank([0.25, 1.0], [0.0, 0.5])).encode(), source="b.json", fmt="json"
    )
    item = bank.items[0]
    assert [score_answer(item, x).category for x in ("a", "b", "c")] == [2, 1, 0]
    assert credit_category(0.3, 2, (0.25, 1.0)) == 1
    assert credit_category(0.999999, 2, (0.25, 1.0)) == 1
    assert credit_category(1.0, 2, (0.25, 1.0)) == 2


@pytest.mark.parametrize(
    ("levels", "thresholds", "message"),
    [
        (
            [0.5, 0.25, 1.0],
            [0.0, 0.5, 1.0],
            "must increase strictly and end at 1, got [0.5, 0.25, 1.0]",
        ),
        ([0.25, 0.5], [0.0, 0.5], "must increase strictly and end at 1, got [0.25, 0.5]"),
        ([0.25, 1.0], [0.0], "needs one level per category above 0 (1), got 2"),
    ],
)
def test_bad_credit_levels_are_refused_where_they_are(
    levels: list[float], thresholds: list[float], message: str
) -> None:
    with pytest.raises(BankValidationError) as info:
        decode_bank(
            json.dumps(_weighted_bank(levels, thresholds)).encode(), source="b.json", fmt="json"
        )
    assert [str(p) for p in info.value.problems] == [f'b.json: item "q1": credit_levels: {message}']


@given(
    st.lists(st.floats(0.01, 0.99), min_size=1, max_size=6, unique=True),
    st.floats(-0.5, 1.5),
)
def test_credit_levels_categories_are_monotone(inner: list[float], credit: float) -> None:
    levels = (*sorted(inner), 1.0)
    top = len(levels)
    k = credit_category(credit, top, levels)
    assert 0 <= k <= top
    assert credit_category(credit + 0.05, top, levels) >= k
    assert (k == top) == (credit >= 1.0 - 1e-9)
