"""QTI items of several fields and the interactions only they hold, scored side by side.

Each fixture (``data/qti3_fields``) is written in the shape of the QTI examples players ship
(Richard III, Shakespearian Rivals, Writing a Postcard, Grand Prix of Bahrain) and of
composite items: a code cloze with a text entry, an inline choice and a number summed
into ``SCORE``; two numbers scored all or nothing; a choice and a text entry whose
``qti-map-response`` values are summed. Every test runs the item's own QTI response
processing (:mod:`item_banks.formats.qti_processing`) and Skillgauge's scoring of the
imported item on the same answers and requires the same score category.
"""

from __future__ import annotations

import io
import itertools
import json
import zipfile
from pathlib import Path

import msgspec
import pytest
from lxml import etree

from item_banks.credits import credit_category
from item_banks.errors import BankValidationError
from item_banks.formats import qti2_import
from item_banks.formats.qti3_export import export_bank, item_xml
from item_banks.formats.qti3_import import kid, read_item_file
from item_banks.formats.qti_expressions import parse_processing
from item_banks.formats.qti_package import read_qti_package
from item_banks.formats.qti_processing import (
    from_texts,
    read_declarations,
    read_outcomes,
    score,
)
from item_banks.formats.safe_xml import parse_xml
from item_banks.model import (
    Composite,
    FieldInteraction,
    GraphicGapMatch,
    Hotspot,
    Item,
    category_count,
)
from item_banks.native import decode_bank
from item_banks.scoring import RawAnswer, join_fields, score_answer
from tests.item_banks.formats.test_media import MANIFEST, PNG, package
from tests.item_banks.helpers import raw_bank

DATA = Path(__file__).parent / "data" / "qti3_fields"

#: Per fixture: answers to try for each response (the product of them is tried), and the
#: answer that earns full marks.
ANSWERS: dict[str, dict[str, list[RawAnswer | None]]] = {
    "inline_choice.xml": {"RESPONSE": ["G", "L", "Y"]},
    "gap_match.xml": {
        "RESPONSE": [
            ["W G1"],
            ["Su G2"],
            ["W G1", "Su G2"],
            ["W G1", "Sp G2"],
            ["Sp G1", "Su G2"],
            ["A G1", "Sp G2"],
            ["Su G1", "W G2"],
        ]
    },
    "hottext.xml": {"RESPONSE": ["_A1", "_A2", "_A3", "_A4"]},
    "associate.xml": {
        "RESPONSE": [
            ["A P"],
            ["P A", "C M"],
            ["A P", "C M", "D L"],
            ["C M", "L D"],
            ["A C", "D L"],
            ["A M"],
            ["A P", "C L", "D M"],
        ]
    },
    "cloze_sum.xml": {
        "RESPONSE1": ["range", "RANGE", "list", None],
        "RESPONSE2": ["plus", "eq", "minus", None],
        "RESPONSE3": ["3", "3.005", "2.98", "4", None],
    },
    "two_entries_all.xml": {
        "SLOPE": ["2", "2.0", "-2", None],
        "INTERCEPT": ["-1", "1", None],
    },
    "choice_and_map.xml": {
        "RESPONSE_A": [["C1"], ["C1", "C3"], ["C2"], ["C1", "C2", "C3"], ["C3", "C2"], None],
        "RESPONSE_B": ["mutable", "Mutable", "immutable", None],
    },
    "hotspot.xml": {"RESPONSE": ["A", "B", "C", "D"]},
    "graphic_gap_match.xml": {
        "RESPONSE": [
            ["GLA A"],
            ["GLA A", "EDI B"],
            ["GLA A", "EDI B", "MAN C"],
            ["GLA A", "EDI B", "MCH C"],
            ["EDI A", "GLA B", "MAN C"],
            ["CBG A"],
            ["MAN C", "EBG B"],
        ]
    },
    "hotspot_multiple.xml": {
        "RESPONSE": [
            ["_main"],
            ["_main", "_utils"],
            ["_main", "_readme"],
            ["_utils", "_readme", "_config"],
            ["_main", "_utils", "_readme"],
            ["_config"],
        ]
    },
    "order_underscore.xml": {
        "RESPONSE": [list(p) for p in itertools.permutations(["_DriverA", "_DriverB", "_DriverC"])]
    },
}


def imported(name: str, data: bytes | None = None) -> Item:
    result = read_item_file(data or (DATA / name).read_bytes(), name)
    assert not result.skipped, result.skipped
    (item,) = result.bank.items
    return item


def qti_category(data: bytes, item: Item, answer: dict[str, RawAnswer | None]) -> int:
    """The category the item's own QTI rules give ``answer`` (score over full marks)."""
    root = parse_xml(data, "item.xml")
    declarations = read_declarations(root)
    outcomes = read_outcomes(root)
    processing = kid(root, "qti-response-processing")
    assert processing is not None
    rules = parse_processing(processing, "RESPONSE")

    def values(given: dict[str, RawAnswer | None]) -> dict[str, object]:
        out: dict[str, object] = {}
        for response, raw in given.items():
            if raw is None:
                continue
            decl = declarations[response]
            texts = [raw] if isinstance(raw, str) else list(raw)
            out[response] = from_texts(texts, decl.cardinality, decl.base_type or "string", "x")
        return out

    best = max(
        score(rules, declarations, outcomes, values(dict(zip(ANSWERS_FOR, combo, strict=True))))  # type: ignore[arg-type]
        for combo in itertools.product(*ANSWERS_FOR.values())
    )
    got = score(rules, declarations, outcomes, values(answer))  # type: ignore[arg-type]
    top = category_count(item.irt) - 1
    return credit_category(got / best, top, item.credit_levels)


ANSWERS_FOR: dict[str, list[RawAnswer | None]] = {}


def ours(item: Item, answer: dict[str, RawAnswer | None]) -> int:
    given = {k: v for k, v in answer.items() if v is not None}
    if isinstance(item.interaction, Composite):
        return score_answer(item, join_fields(given)).category
    (raw,) = given.values()
    return score_answer(item, raw).category


def side_by_side(name: str, data: bytes, item: Item) -> int:
    """Check every combination of the fixture's answers; return how many were compared."""
    ANSWERS_FOR.clear()
    ANSWERS_FOR.update(ANSWERS[name])
    compared = 0
    for combo in itertools.product(*ANSWERS[name].values()):
        answer = dict(zip(ANSWERS[name], combo, strict=True))
        if all(v is None for v in answer.values()):
            continue
        assert ours(item, answer) == qti_category(data, item, answer), answer
        compared += 1
    return compared


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_imported_items_score_as_their_qti_rules(name: str) -> None:
    data = (DATA / name).read_bytes()
    item = imported(name)
    assert side_by_side(name, data, item) >= 3


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_exported_items_score_as_before_and_round_trip(name: str) -> None:
    item = imported(name)
    exported = item_xml(item)
    again = imported(name, exported)
    assert msgspec.json.encode(again.interaction) == msgspec.json.encode(item.interaction)
    assert again.stem == item.stem
    assert side_by_side(name, exported, again) >= 3


def test_cloze_fields_keep_their_places_weights_and_feedback() -> None:
    item = imported("cloze_sum.xml")
    assert isinstance(item.interaction, Composite)
    assert "for x in {{RESPONSE1}}(3):" in item.stem
    assert "total {{RESPONSE2}} x" in item.stem
    weights = [f.weight for f in item.interaction.fields]
    assert weights == [1.0, 1.0, 2.0]  # RESPONSE3 adds 2 to SCORE
    assert item.interaction.fields[0].rationale == "range(3) yields 0, 1 and 2."
    assert item.solution == "0 + 1 + 2 = 3."
    assert category_count(item.irt) == 5  # 4 points: credits 0, 1/4, 1/2, 3/4, 1
    assert item.credit_levels == ()


def test_all_or_nothing_rules_make_a_right_wrong_item() -> None:
    item = imported("two_entries_all.xml")
    assert category_count(item.irt) == 2
    assert ours(item, {"SLOPE": "2", "INTERCEPT": "-1"}) == 1
    assert ours(item, {"SLOPE": "2", "INTERCEPT": "1"}) == 0


def test_gap_match_keeps_its_text_and_wrong_pairs_subtract() -> None:
    item = imported("gap_match.xml")
    assert isinstance(item.interaction, Composite)
    field = item.interaction.fields[0]
    assert field.prompt.startswith("Identify the missing words")
    assert "Now is the {{G1}} of our discontent" in field.interaction.text  # type: ignore[union-attr]
    assert ours(item, {"RESPONSE": ["W G1", "Sp G2"]}) == 0


def test_order_identifiers_may_start_with_an_underscore() -> None:
    item = imported("order_underscore.xml")
    assert item.interaction.key == ("_DriverC", "_DriverA", "_DriverB")  # type: ignore[union-attr]


def test_rules_that_are_neither_a_sum_nor_all_or_nothing_are_skipped_with_the_reason() -> None:
    data = (
        (DATA / "two_entries_all.xml")
        .read_bytes()
        .replace(
            b'<qti-base-value base-type="float">0</qti-base-value>',
            b'<qti-base-value base-type="float">0.5</qti-base-value>',
        )
    )
    with pytest.raises(BankValidationError) as info:
        read_item_file(data, "odd.xml")
    skip = info.value.problems[0]
    assert "custom response processing" in skip.message, skip
    assert "cannot score this item" in skip.message and "line" in (skip.field or ""), skip


def qti2(data: bytes) -> bytes:
    """The QTI 3.0 fixture written in QTI 2.2 vocabulary (camelCase, v2p2 namespace)."""
    root = parse_xml(data, "x.xml")
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        name = element.tag.split("}")[1]
        if name.startswith("qti-"):
            words = name[4:].split("-")
            name = words[0] + "".join(w.title() for w in words[1:])
        element.tag = f"{{http://www.imsglobal.org/xsd/imsqti_v2p2}}{name}"
        for attr in list(element.attrib):
            if "-" in str(attr):
                words = str(attr).split("-")
                element.set(
                    words[0] + "".join(w.title() for w in words[1:]), element.attrib.pop(attr)
                )
    text = etree.tostring(root).decode()
    return text.replace("qti-", "").encode()


@pytest.mark.parametrize(
    "name",
    [
        "gap_match.xml",
        "hottext.xml",
        "cloze_sum.xml",
        "associate.xml",
        "hotspot.xml",
        "graphic_gap_match.xml",
    ],
)
def test_qti2_items_of_the_same_shape_import_alike(name: str) -> None:
    data = (DATA / name).read_bytes()
    result = qti2_import.read_item_file(qti2(data), name)
    assert not result.skipped, result.skipped
    (item,) = result.bank.items
    assert msgspec.json.encode(item.interaction) == msgspec.json.encode(imported(name).interaction)


def hotspot_package() -> bytes:
    """The UK airports hotspot in a package with its image (the real 1 x 1 PNG of the media
    tests, standing in for the map)."""
    item = (DATA / "hotspot.xml").read_bytes().replace(b"images/ukair.png", b"../images/ukair.png")
    return package(
        {
            "imsmanifest.xml": MANIFEST.replace("items/tri.xml", "items/hotspot.xml")
            .replace("images/triangle.png", "images/ukair.png")
            .encode(),
            "items/hotspot.xml": item,
            "images/ukair.png": PNG,
        }
    )


def test_a_hotspot_image_is_kept_as_bank_media_and_travels_back() -> None:
    first = read_qti_package(hotspot_package(), "air.zip")
    (file,) = first.bank.media
    (item,) = first.bank.items
    assert isinstance(item.interaction, Composite)
    spot = item.interaction.fields[0].interaction
    assert isinstance(spot, Hotspot)
    assert spot.image == f"![A map of the United Kingdom with four airports marked]({file.path})"
    assert (spot.width, spot.height, spot.max_choices) == (206, 280, 1)
    assert [o.text for o in spot.options][2:] == ["Dot in south-east England", "D"]
    assert not [w for w in first.warnings if "image" in w.message or "media" in w.message]
    data, _ = export_bank(first.bank, "out.zip", first.media)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        written = archive.read(f"items/{item.id}.xml").decode()
        assert f'src="../{file.path}"' in written
        assert 'hotspot-label="Dot in south-east England"' in written
    again = read_qti_package(data, "out.zip")
    assert again.bank.media == first.bank.media
    assert again.bank.items == first.bank.items


def with_hotspot(**changes: object) -> dict[str, object]:
    spot: dict[str, object] = {
        "type": "hotspot",
        "image": "![A map](media/0123456789abcdef.png)",
        "width": 200,
        "height": 100,
        "options": [{"id": "a", "text": "Left"}, {"id": "b", "text": "Right"}],
        "areas": [
            {"id": "a", "shape": "rect", "coords": [0, 0, 50, 50]},
            {"id": "b", "shape": "circle", "coords": [150, 50, 10]},
        ],
        "key": ["a"],
        "max_choices": 1,
    }
    spot.update(changes)
    return spot


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {
                "areas": [
                    {"id": "a", "shape": "rect", "coords": [0, 0, 50]},
                    {"id": "b", "shape": "circle", "coords": [150, 50, 10]},
                ]
            },
            "interaction.areas[0].coords",
            "a rect takes 4 coordinates (left, top, right, bottom), got 3",
        ),
        (
            {
                "areas": [
                    {"id": "a", "shape": "rect", "coords": [50, 0, 10, 50]},
                    {"id": "b", "shape": "circle", "coords": [150, 50, 10]},
                ]
            },
            "interaction.areas[0].coords",
            "a rect's left must be less than its right",
        ),
        (
            {
                "areas": [
                    {"id": "a", "shape": "poly", "coords": [0, 0, 10, 10, 20]},
                    {"id": "b", "shape": "circle", "coords": [150, 50, 10]},
                ]
            },
            "interaction.areas[0].coords",
            "a poly takes x, y pairs of three corners at least",
        ),
        (
            {
                "areas": [
                    {"id": "a", "shape": "rect", "coords": [0, 0, 50, 50]},
                    {"id": "b", "shape": "circle", "coords": [250, 50, 10]},
                ]
            },
            "interaction.areas[1].coords",
            "lies outside the 200 x 100 image",
        ),
        (
            {
                "areas": [
                    {"id": "a", "shape": "rect", "coords": [0, 0, 50, 50]},
                    {"id": "c", "shape": "circle", "coords": [150, 50, 10]},
                ]
            },
            "interaction.areas",
            'the option "b" must have exactly one area (found 0)',
        ),
        ({"image": "![](media/0123456789abcdef.png)"}, "interaction.image", "alt text"),
        (
            {
                "options": [{"id": "1a", "text": "Left"}, {"id": "b", "text": "Right"}],
                "areas": [
                    {"id": "1a", "shape": "rect", "coords": [0, 0, 50, 50]},
                    {"id": "b", "shape": "circle", "coords": [150, 50, 10]},
                ],
                "key": ["1a"],
            },
            "interaction.areas[0].id",
            "not an XML NCName",
        ),
    ],
)
def test_hotspot_areas_and_image_are_checked_with_located_errors(
    changes: dict[str, object], field: str, message: str
) -> None:
    raw = {
        "id": "spot",
        "competency": "c1",
        "stem": "Where?\n\n{{RESPONSE}}",
        "interaction": {
            "type": "composite",
            "fields": [{"id": "RESPONSE", "interaction": with_hotspot(**changes)}],
        },
        "irt": {"model": "2pl", "a": 1.0, "b": 0.0},
    }
    bank = raw_bank(0)
    bank["items"] = [raw]
    with pytest.raises(BankValidationError) as info:
        decode_bank(json.dumps(bank).encode(), source="b.json", fmt="json")
    found = [(p.field or "", p.message) for p in info.value.problems]
    assert any(f.endswith("fields[0]." + field) and message in m for f, m in found), found


@pytest.mark.parametrize("area_id", ["a b", ""])
def test_hotspot_area_ids_must_be_identifiers(area_id: str) -> None:
    raw = with_hotspot(options=[{"id": area_id, "text": "Left"}, {"id": "b", "text": "Right"}])
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(raw, FieldInteraction)


def test_graphic_gap_match_areas_are_checked_against_its_targets() -> None:
    raw = {
        "id": "tags",
        "competency": "c1",
        "stem": "Label it.\n\n{{RESPONSE}}",
        "interaction": {
            "type": "composite",
            "fields": [
                {
                    "id": "RESPONSE",
                    "interaction": {
                        "type": "graphic_gap_match",
                        "image": "![A map](media/0123456789abcdef.png)",
                        "width": 200,
                        "height": 100,
                        "sources": [{"id": "x", "text": "GLA"}, {"id": "y", "text": "EDI"}],
                        "targets": [{"id": "A", "text": "West"}, {"id": "B", "text": "East"}],
                        "areas": [{"id": "A", "shape": "ellipse", "coords": [50, 50, 0, 10]}],
                        "key": [{"source": "x", "target": "A"}],
                    },
                }
            ],
        },
        "irt": {"model": "2pl", "a": 1.0, "b": 0.0},
    }
    bank = raw_bank(0)
    bank["items"] = [raw]
    with pytest.raises(BankValidationError) as info:
        decode_bank(json.dumps(bank).encode(), source="b.json", fmt="json")
    found = {(p.field or "").split("fields[0].")[-1]: p.message for p in info.value.problems}
    assert found == {
        "interaction.areas": 'the target "B" must have exactly one area (found 0)',
        "interaction.areas[0].coords": "the ellipse's radius must be positive",
    }, found


def test_graphic_gap_images_become_their_alt_text_and_hotspots_their_labels() -> None:
    item = imported("graphic_gap_match.xml")
    assert isinstance(item.interaction, Composite)
    tags = item.interaction.fields[0].interaction
    assert isinstance(tags, GraphicGapMatch)
    assert [s.text for s in tags.sources] == ["CBG", "EBG", "EDI", "GLA", "MAN", "MCH"]
    assert [t.text for t in tags.targets] == [
        "Label by the western dot in Scotland",
        "Label by the eastern dot in Scotland",
        "C",
    ]
    # wrong labels subtract (the mapping's default is -1), floored at 0 by the lower bound
    assert ours(item, {"RESPONSE": ["GLA A", "EDI B", "MCH C"]}) == 1
    assert ours(item, {"RESPONSE": ["GLA A", "EDI B", "MAN C"]}) == 3


def test_gap_images_are_warned_as_kept_by_their_alt_text_only() -> None:
    result = read_item_file((DATA / "graphic_gap_match.xml").read_bytes(), "tags.xml")
    gaps = [w for w in result.warnings if "gap image" in w.message]
    assert len(gaps) == 6
    assert gaps[3].field == "line 25 <qti-gap-img>"
    assert "'GLA' is kept as its alt text 'GLA'" in gaps[3].message
