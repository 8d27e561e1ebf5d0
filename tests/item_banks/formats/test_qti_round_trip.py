"""import(export(bank)) == bank for what QTI carries; the exporter lists the rest."""

from __future__ import annotations

from pathlib import Path

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from item_banks.formats.qti3_export import export_bank
from item_banks.formats.qti_package import read_qti_package
from item_banks.formats.registry import read_any
from item_banks.model import Bank, Competency, Item, Option, SingleChoice, TwoPL
from item_banks.native import read_bank
from tests.conftest import SAMPLE_BANK

DATA = Path(__file__).parent / "data"


def round_trip(bank: Bank) -> Bank:
    data, _ = export_bank(bank, "b.zip")
    return read_qti_package(data, "b.zip").bank


def test_every_importable_test_item_round_trips() -> None:
    for path in sorted((DATA / "qti3").glob("*.xml")):
        try:
            bank = read_any(path).bank
        except Exception:
            continue
        bank = msgspec.structs.replace(bank, id="b", title="b")
        assert round_trip(bank) == bank, path.name


def test_exporter_lists_what_qti_cannot_carry() -> None:
    bank = read_bank(SAMPLE_BANK)
    _, notes = export_bank(bank, "out.zip")
    text = [str(n) for n in notes]
    assert any("misconceptions" in t for t in text)
    assert any("cut score" in t for t in text)
    assert any("status pretest" in t for t in text)
    again = round_trip(bank)
    assert [i.id for i in again.items] == [i.id for i in bank.items]
    assert [i.irt for i in again.items] == [i.irt for i in bank.items]
    assert [i.competency for i in again.items] == [i.competency for i in bank.items]


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
sentences = st.lists(words, min_size=1, max_size=6).map(" ".join)


@st.composite
def banks(draw: st.DrawFn) -> Bank:
    n = draw(st.integers(1, 5))
    items = []
    for i in range(n):
        k = draw(st.integers(2, 5))
        options = tuple(
            Option(id=f"o{j}", text=draw(sentences), rationale=draw(st.sampled_from(["", "why"])))
            for j in range(k)
        )
        items.append(
            Item(
                id=f"i{i}",
                competency="c",
                stem=draw(sentences),
                interaction=SingleChoice(
                    options=options,
                    key=f"o{draw(st.integers(0, k - 1))}",
                    shuffle=draw(st.booleans()),
                ),
                irt=TwoPL(
                    a=draw(st.floats(0.2, 3.0)),
                    b=draw(st.floats(-3.0, 3.0)),
                ),
                solution=draw(st.sampled_from(["", "Because."])),
                hints=tuple(draw(st.lists(sentences, max_size=2))),
            )
        )
    return Bank(
        id="gen",
        title=draw(sentences),
        version="1",
        competencies=(Competency(id="c", name=draw(sentences)),),
        items=tuple(items),
    )


@settings(max_examples=30, deadline=None)
@given(banks())
def test_generated_banks_round_trip(bank: Bank) -> None:
    assert round_trip(bank) == bank
