"""Reading, validating and writing native banks: every problem located, nothing silently lost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from item_banks import BankValidationError, Limits, content_hash, decode_bank, read_bank
from item_banks.model import Numeric, SingleChoice
from item_banks.native import _canonical, encode_bank, write_bank
from item_banks.sample import sample_bank_path
from tests.item_banks.helpers import choice_item, raw_bank


def problems_of(raw: Any, fmt: str = "json", **kwargs: Any) -> list[str]:
    data = json.dumps(raw).encode() if fmt == "json" else yaml.safe_dump(raw).encode()
    with pytest.raises(BankValidationError) as info:
        decode_bank(data, source=f"bank.{fmt}", fmt=fmt, **kwargs)  # type: ignore[arg-type]
    return [str(p) for p in info.value.problems]


def test_valid_bank_decodes_in_both_formats() -> None:
    raw = raw_bank()
    from_json = decode_bank(json.dumps(raw).encode(), source="b.json", fmt="json")
    from_yaml = decode_bank(yaml.safe_dump(raw).encode(), source="b.yaml", fmt="yaml")
    assert from_json == from_yaml
    assert len(from_json.items) == 3
    assert isinstance(from_json.items[0].interaction, SingleChoice)


def test_the_issue_example_message() -> None:
    raw = raw_bank()
    raw["items"][1]["id"] = "py-023"
    raw["items"][1]["irt"]["a"] = -0.4
    assert problems_of(raw, "yaml") == ['bank.yaml: item "py-023": irt.a: must be > 0, got -0.4']


def test_every_problem_is_reported_with_item_and_field() -> None:
    raw = raw_bank(4)
    raw["items"][0]["irt"] = {"model": "5pl", "a": 1, "b": 0}
    raw["items"][1]["competency"] = "nope"
    raw["items"][2]["interaction"]["key"] = "z"
    raw["items"][3]["stem"] = ""
    lines = problems_of(raw)
    assert lines == [
        'bank.json: item "q1": irt.model: must be one of 1pl, 2pl, 3pl, 4pl, grm, gpcm, '
        "got '5pl'",
        'bank.json: item "q2": competency: "nope" is not a competency of this bank',
        'bank.json: item "q3": interaction.key: "z" is not one of the options (a, b)',
        'bank.json: item "q4": stem: must not be empty',
    ]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r: r["items"][0]["irt"].update(model="3pl", c=1.2), "irt.c: must be < 1, got 1.2"),
        (lambda r: r["items"][0].update(colour="red"), "colour: is not a known field"),
        (lambda r: r["items"][0].pop("stem"), "stem: is required"),
        (lambda r: r["items"][0]["irt"].update(a="high"), "irt.a: must be a number, got 'high'"),
        (lambda r: r["items"][0].update(id="has space"), "id: must be an identifier"),
        (lambda r: r["items"][0]["irt"].pop("model"), "irt.model: is required (one of 1pl"),
        (
            lambda r: r["items"][0]["interaction"].update(type="essay"),
            "interaction.type: must be one of single_choice",
        ),
        (
            lambda r: r["items"][0].update(
                irt={"model": "grm", "a": 1.0, "thresholds": [0.5, -0.5]}
            ),
            "irt.thresholds: must be strictly increasing",
        ),
        (
            lambda r: r["items"][0].update(
                irt={"model": "4pl", "a": 1, "b": 0, "c": 0.5, "d": 0.4}
            ),
            "lower asymptote c must be below upper asymptote d",
        ),
        (
            lambda r: r["items"][0]["interaction"]["options"][1].update(misconception="m9"),
            'interaction.options[1].misconception: "m9" is not a misconception of this bank',
        ),
        (
            lambda r: r["items"][0]["interaction"]["options"][1].update(id="a"),
            'option id "a" is used more than once',
        ),
    ],
)
def test_item_problems(mutate: Any, expected: str) -> None:
    raw = raw_bank()
    mutate(raw)
    lines = problems_of(raw)
    assert any(expected in line for line in lines), lines
    assert all(line.startswith('bank.json: item "') for line in lines), lines


def test_bank_level_problems_name_the_entry() -> None:
    raw = raw_bank(competencies=[{"id": "c1", "name": "One", "cut_score": 9.0}])
    assert problems_of(raw) == ['bank.json: competencies["c1"].cut_score: must be <= 6, got 9.0']


def test_duplicate_item_ids() -> None:
    raw = raw_bank(2)
    raw["items"][1]["id"] = "q1"
    assert 'bank.json: item "q1": id: item id is used more than once' in problems_of(raw)


def test_empty_bank_is_refused() -> None:
    assert problems_of(raw_bank(0)) == ["bank.json: items: the bank has no items"]


def test_competency_without_items_is_refused() -> None:
    raw = raw_bank(competencies=[{"id": "c1", "name": "One"}, {"id": "c2", "name": "Two"}])
    assert problems_of(raw) == [
        'bank.json: competencies["c2"]: no operational item measures this competency'
    ]


def test_polytomous_model_must_fit_the_interaction() -> None:
    raw = raw_bank(1)
    raw["items"][0]["irt"] = {"model": "gpcm", "a": 1.0, "thresholds": [0.0]}
    assert any(
        "gpcm needs an interaction that can earn partial credit" in p for p in problems_of(raw)
    )
    partial = raw_bank(1)
    partial["items"][0]["interaction"] = {
        "type": "multiple_response",
        "scoring": "partial",
        "options": [{"id": x, "text": x} for x in "abcd"],
        "key": ["a", "b"],
    }
    assert any("partial scoring needs grm or gpcm" in p for p in problems_of(partial))
    partial["items"][0]["irt"] = {"model": "grm", "a": 1.0, "thresholds": [0.0]}
    assert any("needs 2 thresholds, got 1" in p for p in problems_of(partial))
    partial["items"][0]["irt"] = {"model": "grm", "a": 1.0, "thresholds": [-0.5, 0.5]}
    bank = decode_bank(json.dumps(partial).encode(), source="b.json", fmt="json")
    assert bank.items[0].irt.a == 1.0


def test_relative_tolerance_around_zero_is_refused() -> None:
    raw = raw_bank(1)
    raw["items"][0]["interaction"] = {
        "type": "numeric",
        "key": 0,
        "tolerance": 0.1,
        "tolerance_mode": "relative",
    }
    assert any("relative tolerance around a key of 0" in p for p in problems_of(raw))


def test_syntax_errors_are_located() -> None:
    with pytest.raises(BankValidationError) as info:
        decode_bank(b"id: x\n  title: [", source="b.yaml", fmt="yaml")
    (problem,) = info.value.problems
    assert str(problem).startswith("b.yaml: line ")
    assert "not valid YAML" in str(problem)
    with pytest.raises(BankValidationError) as info:
        decode_bank(b'{"id": ', source="b.json", fmt="json")
    assert "not valid JSON" in str(info.value)


def test_yaml_duplicate_keys_are_refused() -> None:
    text = yaml.safe_dump(raw_bank(1)) + "title: Again\n"
    with pytest.raises(BankValidationError) as info:
        decode_bank(text.encode(), source="b.yaml", fmt="yaml")
    assert "found the key 'title' twice" in str(info.value)


def test_yaml_12_booleans_and_no_dates() -> None:
    raw = raw_bank(1)
    text = yaml.safe_dump(raw).replace("id: a\n", "id: no\n").replace("key: a\n", "key: no\n")
    text = text.replace("version: '1'", "version: 2026-01-01")
    bank = decode_bank(text.encode(), source="b.yaml", fmt="yaml")
    interaction = bank.items[0].interaction
    assert isinstance(interaction, SingleChoice)
    assert interaction.key == "no"
    assert bank.version == "2026-01-01"


def test_size_limits() -> None:
    data = json.dumps(raw_bank(5)).encode()
    with pytest.raises(BankValidationError, match="the limit is 100"):
        decode_bank(data, source="b.json", fmt="json", limits=Limits(max_bytes=100))
    with pytest.raises(BankValidationError, match="5 items; the limit is 4"):
        decode_bank(data, source="b.json", fmt="json", limits=Limits(max_items=4))


def test_not_a_mapping() -> None:
    with pytest.raises(BankValidationError, match="a bank must be a mapping"):
        decode_bank(b"[1, 2]", source="b.json", fmt="json")


def test_round_trip_and_content_hash(tmp_path: Path) -> None:
    raw = raw_bank(2)
    raw["items"][1]["interaction"] = {"type": "numeric", "key": 2.5, "tolerance": 0.01}
    raw["items"][1]["stem"] = "Line one\n\n```python\nprint(1)\n```\n"
    bank = decode_bank(json.dumps(raw).encode(), source="b.json", fmt="json")
    for name in ("out.yaml", "out.json"):
        write_bank(bank, tmp_path / name)
        again = read_bank(tmp_path / name)
        assert again == bank
        assert content_hash(again) == content_hash(bank)
    assert "|" in (tmp_path / "out.yaml").read_text()  # Markdown kept as a block
    assert isinstance(bank.items[1].interaction, Numeric)
    # Writing defaults explicitly does not change the version's identity.
    explicit = raw_bank(2)
    explicit["items"][1] = raw["items"][1]
    explicit["items"][0]["status"] = "operational"
    explicit["items"][0]["interaction"]["shuffle"] = True
    same = decode_bank(json.dumps(explicit).encode(), source="b.json", fmt="json")
    assert content_hash(same) == content_hash(bank)
    changed = msgspec.structs.replace(bank, title="Other")
    assert content_hash(changed) != content_hash(bank)


def test_unknown_extension_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BankValidationError, match=r"unknown bank format '\.txt'"):
        read_bank(tmp_path / "bank.txt")
    with pytest.raises(BankValidationError, match="cannot read the file"):
        read_bank(tmp_path / "missing.yaml")


def test_encode_is_stable() -> None:
    bank = decode_bank(json.dumps(raw_bank(1)).encode(), source="b.json", fmt="json")
    assert encode_bank(bank, "json") == encode_bank(bank, "json")
    assert b'"shuffle"' not in encode_bank(bank, "json")  # defaults omitted


def test_problem_for_item_without_id() -> None:
    raw = raw_bank(1)
    raw["items"].append({"competency": "c1"})
    lines = problems_of(raw)
    assert lines[0].startswith('bank.json: item "#2": ')


def test_choice_item_helper_is_valid() -> None:
    item = choice_item("x")
    bank = decode_bank(
        json.dumps(raw_bank(0) | {"items": [item]}).encode(), source="b.json", fmt="json"
    )
    assert bank.items[0].id == "x"


def test_content_hash_ignores_explicitly_written_defaults() -> None:
    """``tolerance: 0`` written out and left out are the same bank and the same version."""
    explicit = raw_bank(1)
    explicit["items"][0]["interaction"] = {"type": "numeric", "key": 3, "tolerance": 0}
    implicit = raw_bank(1)
    implicit["items"][0]["interaction"] = {"type": "numeric", "key": 3}
    a = decode_bank(json.dumps(explicit).encode(), source="a.json", fmt="json")
    b = decode_bank(json.dumps(implicit).encode(), source="b.json", fmt="json")
    assert a == b
    assert content_hash(a) == content_hash(b)
    different = raw_bank(1)
    different["items"][0]["interaction"] = {"type": "numeric", "key": 3, "tolerance": 0.5}
    c = decode_bank(json.dumps(different).encode(), source="c.json", fmt="json")
    assert content_hash(c) != content_hash(a)


def test_a_field_added_with_a_default_leaves_every_hash_unchanged() -> None:
    """The identity of a bank never encodes a default: a later model field with a default
    (``Item.title``, ``Item.notes``, ...) cannot move an earlier bank to a new version."""
    bank = read_bank(sample_bank_path())

    def defaults_in(value: Any, struct: Any) -> list[str]:
        found = []
        for info in msgspec.structs.fields(struct):
            default = (
                info.default
                if info.default is not msgspec.NODEFAULT
                else info.default_factory()
                if info.default_factory is not msgspec.NODEFAULT
                else msgspec.NODEFAULT
            )
            at_default = default is not msgspec.NODEFAULT and getattr(struct, info.name) == default
            if at_default and info.name in value:
                found.append(info.name)
        return found

    canonical = _canonical(bank)
    assert defaults_in(canonical, bank) == []
    for item, encoded in zip(bank.items, canonical["items"], strict=True):
        assert defaults_in(encoded, item) == [], item.id
    # a field set away from its default does enter the hash
    titled = msgspec.structs.replace(
        bank, items=(msgspec.structs.replace(bank.items[0], title="A title"), *bank.items[1:])
    )
    assert content_hash(titled) != content_hash(bank)
    assert "title" in _canonical(titled)["items"][0]
