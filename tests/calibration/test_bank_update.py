"""New bank versions, the parameter CSV, atomic writes and the progress bar."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from calibration.bank_update import (
    bump_version,
    updated_bank,
    within_bank_limits,
    write_atomically,
    write_parameter_csv,
)
from calibration.errors import CalibrationError
from calibration.progress import ProgressBar
from engine.synthetic import synthetic_bank
from item_banks.model import Graded, ThreePL, TwoPL


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("1", "2"),
        ("1.0", "1.1"),
        ("2026.09", "2026.10"),
        ("v9", "v10"),
        ("seed-4", "seed-5"),
        ("beta", "beta.1"),
        ("1.09-rc", "1.10-rc"),
    ],
)
def test_version_labels_are_bumped(old: str, new: str) -> None:
    assert bump_version(old) == new


def test_bank_limits_are_checked_before_writing() -> None:
    assert within_bank_limits(TwoPL(a=1.0, b=0.0)) is None
    assert "outside the bank's range (0, 10]" in (within_bank_limits(TwoPL(a=12.0, b=0.0)) or "")
    assert "difficulty" in (within_bank_limits(ThreePL(a=1.0, b=-11.0, c=0.2)) or "")
    assert "threshold" in (within_bank_limits(Graded(a=1.0, thresholds=(-12.0, 0.0))) or "")


def test_updated_bank_replaces_only_the_given_items_and_validates() -> None:
    bank = synthetic_bank(5, "2pl", 1, seed=1)
    new = updated_bank(bank, {"s2": TwoPL(a=2.0, b=0.5)}, note="recalibrated")
    assert new.version == "seed-2"
    assert new.items[1].irt == TwoPL(a=2.0, b=0.5)
    assert new.items[0] == bank.items[0]
    assert new.notes.endswith("recalibrated")
    assert bank.items[1].irt != new.items[1].irt  # the input is not modified
    with pytest.raises(CalibrationError, match="does not fit the bank schema"):
        updated_bank(bank, {"s2": TwoPL(a=-1.0, b=0.5)}, note="x")


def test_atomic_write_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old")
    write_atomically(b"new", target)
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    mode = target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
    with pytest.raises(OSError):
        write_atomically(b"x", tmp_path / "missing-dir" / "f.csv")


def test_parameter_csv_leaves_non_finite_cells_empty(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    write_parameter_csv(
        [{"item_id": "q1", "a": 1.23456789, "s_x2": float("nan"), "thresholds": (1.0, 2.5)}], path
    )
    lines = path.read_text().splitlines()
    assert lines[0].startswith("competency,item_id,model,status,n,a,b")
    assert lines[1].split(",")[1] == "q1"
    assert ",1.23457," in lines[1]
    assert "nan" not in lines[1].lower()
    assert ",1;2.5," in lines[1]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_on_a_terminal_and_is_silent_otherwise() -> None:
    screen = _Terminal()
    bar = ProgressBar(tol=1e-4, stream=screen)
    bar.update("c1", 1, 1.0, -100.0)
    bar.update("c1", 4, 1e-2, -90.0)
    bar.update("c2", 1, 1.0, -80.0)
    bar.finish()
    text = screen.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n")
    assert "EM step    4" in text and "[" + "#" * 14 + "." * 14 + "]" in text
    assert bar.fraction("c3", 1e-5) == 1.0
    quiet = _Terminal()
    ProgressBar(tol=1e-4, stream=quiet, enabled=False).update("c1", 1, 1.0, -1.0)
    assert quiet.getvalue() == ""
    pipe = io.StringIO()  # not a terminal
    ProgressBar(tol=1e-4, stream=pipe).update("c1", 1, 1.0, -1.0)
    assert pipe.getvalue() == ""
