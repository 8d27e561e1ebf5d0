"""The awarding lint: banks that hold keys, and the public sample bank."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from engine.synthetic import synthetic_bank
from item_banks import read_bank, write_bank
from item_banks.model import ExtendedText
from item_banks.secrecy import secrecy_warnings
from skillgauge.cli import main
from tests.conftest import SAMPLE_BANK


def test_no_warning_unless_the_assessment_awards() -> None:
    assert secrecy_warnings(synthetic_bank(5, "2pl", 1, seed=1), "b.yaml", awarding=False) == []


def test_a_bank_with_keys_used_to_award_is_named() -> None:
    bank = synthetic_bank(5, "2pl", 1, seed=1)
    essay = msgspec.structs.replace(bank.items[0], id="essay", interaction=ExtendedText())
    bank = msgspec.structs.replace(bank, items=(*bank.items, essay))
    (warning,) = secrecy_warnings(bank, "b.yaml", awarding=True)
    assert warning.source == "b.yaml" and warning.field == "items"
    assert "5 of 6 items hold their answer keys" in warning.message
    assert "Keeping operational banks private" in warning.message


def test_the_sample_bank_and_its_copies_are_called_public() -> None:
    sample = read_bank(SAMPLE_BANK)
    keys, public = secrecy_warnings(sample, "s.yaml", awarding=True)
    assert f"{len(sample.items)} of {len(sample.items)} items" in keys.message
    assert "this is the sample bank python-data-analysis.yaml" in public.message
    edited = msgspec.structs.replace(sample, title="My own bank")
    _, renamed = secrecy_warnings(edited, "s.yaml", awarding=True)
    assert "has the id of the sample bank" in renamed.message
    assert (
        len(secrecy_warnings(msgspec.structs.replace(edited, id="mine"), "s", awarding=True)) == 1
    )


def test_bank_validate_awarding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "b.yaml"
    write_bank(synthetic_bank(4, "2pl", 1, seed=1), path)
    assert main(["bank", "validate", str(path)]) == 0
    assert "warning" not in capsys.readouterr().out
    assert main(["bank", "validate", str(path), "--awarding"]) == 0
    out = capsys.readouterr().out
    assert f"warning: {path}: items: 4 of 4 items hold their answer keys" in out
    assert main(["bank", "validate", str(SAMPLE_BANK), "--warnings", "--awarding"]) == 0
    assert "published with Skillgauge: its keys are public" in capsys.readouterr().out
