"""Every format imports its test files into runnable banks; malicious input is refused."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import msgspec
import pytest

from engine.errors import PoolError
from engine.policy import decode_policy
from engine.pool import compile_pool
from engine.session import Session
from item_banks import BankValidationError, score_answer
from item_banks.formats.common import ImportResult
from item_banks.formats.csv_params import merge_parameters
from item_banks.formats.gift import read_gift
from item_banks.formats.moodle import read_moodle
from item_banks.formats.qti_package import read_qti_package
from item_banks.formats.registry import read_any
from item_banks.model import ExtendedText, Numeric, NumericRange, PartialCredit, ThreePL
from item_banks.native import Limits, decode_bank
from tests.item_banks.helpers import raw_bank

DATA = Path(__file__).parent / "data"
QTI3 = sorted((DATA / "qti3").glob("*.xml"))
SKIPPED = {
    "choice-map-response-point-template": "map_response_point",
    "composite-two-interactions": "share one response",
    "custom-response-processing": "custom response processing",
    "custom-template": "custom response processing template",
    "hotspot-map-response-point": "qti-select-point-interaction",
    "slider-unsupported": "qti-slider-interaction",
}


def package_bytes(root: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
    return buffer.getvalue()


def runs(result: ImportResult) -> None:
    """The engine compiles the bank and a session picks a first item."""
    policy = decode_policy({"stopping": {"rule": "fixed_length", "n": 1}})
    session = Session(compile_pool(result.bank), policy)
    state = session.next_item(session.start(1))
    assert state.pending is not None


def test_at_least_twenty_qti3_items() -> None:
    assert len(QTI3) >= 20


@pytest.mark.parametrize("path", QTI3, ids=lambda p: p.stem)
def test_each_qti3_item(path: Path) -> None:
    if path.stem in SKIPPED:
        with pytest.raises(BankValidationError) as info:
            read_any(path)
        lines = [str(p) for p in info.value.problems]
        assert any("skipped:" in line and SKIPPED[path.stem] in line for line in lines), lines
        assert lines[-1].endswith("nothing could be imported")
        return
    if path.stem == "extended-text":
        # An essay on its own is stored (never scored) with a located warning.
        essay = read_any(path)
        assert [type(i.interaction) for i in essay.bank.items] == [ExtendedText]
        assert any(
            str(w).startswith(f"{path}: competencies[")
            and "only human-scored items: it cannot be measured adaptively" in str(w)
            for w in essay.warnings
        ), essay.warnings
        return
    result = read_any(path)
    assert len(result.bank.items) == 1
    runs(result)


def test_qti3_details() -> None:
    inline = read_any(DATA / "qti3" / "choice-inline-feedback.xml").bank.items[0]
    assert inline.interaction.options[0].rationale == "Right: `def` starts a definition."  # type: ignore[union-attr]
    modal = read_any(DATA / "qti3" / "choice-modal-feedback.xml").bank.items[0]
    assert modal.solution == "Count: 1, 2, 3, 4."
    assert modal.hints == ("Use your fingers.",)
    assert modal.interaction.options[1].rationale == "Three is one short."  # type: ignore[union-attr]
    asym = read_any(DATA / "qti3" / "numeric-equal-asymmetric.xml").bank.items[0]
    assert isinstance(asym.interaction, Numeric)
    # qti-equal(RESPONSE, correct) with tolerance "1 3": QTI builds the range around its first
    # operand, so the key 100 must lie in [r - 1, r + 3]: r in [97, 101].
    answers = ("100", "99", "103", "98.9", "97", "96.9", "101", "101.1")
    assert [score_answer(asym, x).category for x in answers] == [1, 1, 0, 1, 1, 0, 1, 0]
    relative = read_any(DATA / "qti3" / "numeric-equal-relative.xml").bank.items[0]
    # Response first, 2 %: the key 9.81 within [r * 0.98, r * 1.02], r in [9.81/1.02, 9.81/0.98].
    assert relative.interaction == Numeric(
        key=9.81, alternatives=(NumericRange(low=9.81 / 1.02, high=9.81 / 0.98),)
    )
    partial = read_any(DATA / "qti3" / "choice-multiple-map-response.xml")
    item = partial.bank.items[0]
    assert item.interaction.scoring == "partial"  # type: ignore[union-attr]
    assert score_answer(item, ["A"]).category == 1
    warned = read_any(DATA / "qti3" / "choice-correct-feedback-warning.xml")
    assert any('feedback "correct" has no place' in str(w) for w in warned.warnings)
    assert any("provisional 2PL" in str(w) for w in warned.warnings)


def test_qti_exclusive_tolerance_bounds_are_kept_exactly(tmp_path: Path) -> None:
    """``include-lower-bound="false"`` and ``qti-gt`` make open interval ends, not closed."""
    path = DATA / "qti3" / "numeric-equal-exclusive.xml"
    item = read_any(path).bank.items[0]
    assert item.interaction == Numeric(
        key=10.0,
        alternatives=(
            NumericRange(low=9.5, high=10.5, include_low=False, include_high=False),
            NumericRange(low=20.0, high=25.0, credit=0.5, include_low=False),
        ),
    )
    item = msgspec.structs.replace(item, irt=PartialCredit(a=1.0, thresholds=(0.0, 0.0)))
    answers = ["9.5", "9.51", "10", "10.49", "10.5", "20", "20.01", "25", "25.01"]
    assert [score_answer(item, x).category for x in answers] == [0, 2, 2, 2, 0, 0, 1, 1, 0]
    # No tolerance and an excluded bound: QTI accepts no answer at all; the item is skipped.
    empty = tmp_path / "empty.xml"
    empty.write_text(path.read_text().replace('tolerance="0.5"', 'tolerance="0"'))
    with pytest.raises(BankValidationError) as info:
        read_any(empty)
    assert str(info.value.problems[0]) == (
        f'{empty}: item "numeric-exclusive": line 8 <qti-text-entry-interaction>: skipped: '
        "an equality with no tolerance that excludes its bounds accepts no answer"
    )


def test_an_interval_without_numbers_is_refused() -> None:
    raw = {**raw_numeric(), "alternatives": [{"low": 3, "high": 3, "include_low": False}]}
    bank = raw_bank(1)
    bank["items"][0]["interaction"] = raw
    with pytest.raises(BankValidationError) as info:
        decode_bank(json.dumps(bank).encode(), source="b.json", fmt="json")
    assert [str(p) for p in info.value.problems] == [
        'b.json: item "q1": interaction.alternatives[0]: the interval at 3 excludes an end, '
        "so it holds no number"
    ]


def raw_numeric() -> dict[str, object]:
    return {"type": "numeric", "key": 3.0}


def test_qti_package_with_manifest_skills_and_usage_data() -> None:
    result = read_qti_package(package_bytes(DATA / "package"), "demo.zip")
    bank = result.bank
    assert (bank.id, bank.title, bank.version) == ("demo-package", "Demo package", "2.0")
    assert [c.id for c in bank.competencies] == ["arith", "python"]
    assert len(bank.items) == 6
    assert [p.item for p in result.skipped] == ["slider"]
    first = bank.items[0]
    assert first.irt == ThreePL(a=1.4, b=-0.5, c=0.2, se=first.irt.se)
    assert first.irt.se is not None and first.irt.se.a == 0.1
    runs(result)
    pool = compile_pool(bank)
    assert "essay" not in pool.item_ids and any(i.id == "essay" for i in bank.items)


@pytest.mark.parametrize("path", sorted((DATA / "qti2").glob("*.xml")), ids=lambda p: p.stem)
def test_qti2_items(path: Path) -> None:
    result = read_any(path)
    assert len(result.bank.items) == 1
    runs(result)


def test_qti21_feedback_and_mapping() -> None:
    choice = read_any(DATA / "qti2" / "choice-21.xml").bank.items[0]
    assert choice.solution == "Jupiter is 11 Earth diameters across."
    assert choice.interaction.options[0].rationale == "Yes, by far."  # type: ignore[union-attr]
    text = read_any(DATA / "qti2" / "text-entry-21.xml").bank.items[0]
    assert text.stem == "Identify the missing word: New _____ is a city."


GIFT = (DATA / "gift" / "quiz.gift").read_text()


def test_gift() -> None:
    result = read_gift(GIFT.encode(), "quiz.gift")
    items = {i.id: i for i in result.bank.items}
    assert len(items) == 9
    assert items["cap"].interaction.options[2].credit == 0.5  # type: ignore[union-attr]
    assert items["tf"].interaction.key == "true"  # type: ignore[union-attr]
    assert items["range"].interaction == Numeric(key=3.0, tolerance=2.0)
    assert items["mw"].stem == "The cat _____ on the mat."
    assert items["gen"].solution == "General worked solution"
    assert result.bank.competencies[0].name == "Capitals"
    runs(result)


def test_gift_malformed_question_is_located() -> None:
    with pytest.raises(BankValidationError, match=r"line 2: the answer block is not closed"):
        read_gift(b"::a:: ok {=x ~y}\n::b:: broken {=x ~y\n", "bad.gift")


MOODLE = (DATA / "moodle" / "quiz.xml").read_bytes()


def test_moodle() -> None:
    result = read_moodle(MOODLE, "quiz.xml")
    items = {i.id: i for i in result.bank.items}
    assert set(items) == {"mc1", "tf1", "num1", "sa1"}
    assert items["mc1"].stem == "What is **2 + 2**?"
    assert items["mc1"].solution == "Add them."
    assert items["mc1"].interaction.options[1].rationale == "Off by one."  # type: ignore[union-attr]
    assert items["num1"].interaction == Numeric(
        key=12.5, tolerance=0.1, unit="kg", alternatives=(msgspec_range(11.5, 12.5, 0.5),)
    )
    assert [p.item for p in result.skipped] == ["calc"]
    assert any("typed number" in str(w) for w in result.warnings)
    runs(result)


def msgspec_range(low: float, high: float, credit: float) -> NumericRange:
    return NumericRange(low=low, high=high, credit=credit)


def test_csv_items_and_parameters(tmp_path: Path) -> None:
    items = tmp_path / "mc.csv"
    items.write_text(
        "id,stem,key,option_a,rationale_a,option_b,rationale_b,competency\n"
        "q1,2+2?,a,4,Right,5,Off by one,Arithmetic\n"
        "q2,3+3?,b,5,Too small,6,Right,Arithmetic\n"
    )
    result = read_any(items)
    assert result.bank.items[1].interaction.options[0].rationale == "Too small"  # type: ignore[union-attr]
    runs(result)
    params = b"item_id,model,a,b,c,se_a\nq1,3pl,1.2,0.3,0.2,0.05\nq2,2pl,0.9,-1,,\n"
    merged = merge_parameters(result.bank, params, "p.csv")
    assert merged.version == "1+params"
    assert merged.items[0].irt == ThreePL(a=1.2, b=0.3, c=0.2, se=merged.items[0].irt.se)
    with pytest.raises(BankValidationError) as info:
        merge_parameters(result.bank, b"item_id,model,a,b\nq9,2pl,1,0\nq1,2pl,-1,0\n", "p.csv")
    lines = [str(p) for p in info.value.problems]
    assert lines == [
        'p.csv: item "q9": line 2, column 1 (item_id): no such item in the bank',
        'p.csv: item "q1": line 3, column 3 (a): must be > 0, got -1.0',
    ]


# --------------------------------------------------------------------------- safety


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("billion-laughs.xml", "line 2: the DOCTYPE declares 5 entities"),
        (
            "xxe-file.xml",
            'line 2: the DOCTYPE declares the external entity "xxe" (file:///etc/passwd)',
        ),
        ("xxe-http.xml", 'external entity "xxe" (http://127.0.0.1:9/evil.dtd)'),
        ("external-dtd.xml", "line 2: a DOCTYPE declaration is refused"),
    ],
)
def test_malicious_xml_is_refused_with_a_located_message(name: str, expected: str) -> None:
    path = DATA / "malicious" / name
    with pytest.raises(BankValidationError) as info:
        read_any(path)
    assert str(info.value.problems[0]).startswith(str(path))
    assert expected in str(info.value)


def zip_of(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("members", "limits", "expected"),
    [
        ({"../evil.xml": b"x"}, Limits(), "p.zip!../evil.xml: path escapes the package"),
        ({"/etc/evil.xml": b"x"}, Limits(), "p.zip!/etc/evil.xml: path is an absolute path"),
        ({"bomb.xml": b"\0" * 5_000_000}, Limits(), "compression ratio"),
        (
            {f"f{i}.xml": b"x" for i in range(30)},
            Limits(max_items=5),
            "30 files; the limit is 20",
        ),
        ({"big.xml": b"x" * 2000}, Limits(max_bytes=1000), "big.xml: file is 2,000 bytes"),
    ],
)
def test_malicious_packages_are_refused(
    members: dict[str, bytes], limits: Limits, expected: str
) -> None:
    with pytest.raises(BankValidationError) as info:
        read_qti_package(zip_of(members), "p.zip", limits=limits)
    assert expected in str(info.value)


def test_too_many_items_is_refused() -> None:
    data = package_bytes(DATA / "package")
    with pytest.raises(BankValidationError, match="6 items; the limit is 3"):
        read_qti_package(data, "demo.zip", limits=Limits(max_items=3))


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.gift"
    big.write_bytes(b"::a:: q {=x ~y}\n" * 100)
    with pytest.raises(
        BankValidationError, match=r"big\.gift: file is 1,600 bytes; the limit is 1,000"
    ):
        read_any(big, limits=Limits(max_bytes=1000))


ESSAY_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest xmlns="http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1" identifier="m">
  <organizations/>
  <resources>
    <resource identifier="R1" type="imsqti_item_xmlv3p0" href="a.xml">
      <file href="a.xml"/></resource>
    <resource identifier="R2" type="imsqti_item_xmlv3p0" href="b.xml">
      <file href="b.xml"/></resource>
  </resources>
</manifest>
"""


def essay_package(second: Path) -> bytes:
    essay = (DATA / "qti3" / "extended-text.xml").read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("imsmanifest.xml", ESSAY_MANIFEST)
        archive.writestr("a.xml", essay.replace(b'identifier="essay"', b'identifier="essay-2"'))
        archive.writestr("b.xml", second.read_bytes())
    return buffer.getvalue()


def test_packages_of_essays_import() -> None:
    """Only essays: stored with a warning; essays beside scored items: stored and runnable."""
    only = read_qti_package(essay_package(DATA / "qti3" / "extended-text.xml"), "essays.zip")
    assert len(only.bank.items) == 2
    assert [str(w) for w in only.warnings if "human-scored" in str(w)] != []
    with pytest.raises(PoolError, match="only human-scored items"):
        compile_pool(only.bank)
    mixed = read_qti_package(
        essay_package(DATA / "qti3" / "choice-single-match-correct.xml"), "mixed.zip"
    )
    assert sorted(type(i.interaction).__name__ for i in mixed.bank.items) == [
        "ExtendedText",
        "SingleChoice",
    ]
    assert not [w for w in mixed.warnings if "human-scored" in str(w)]
    runs(mixed)
