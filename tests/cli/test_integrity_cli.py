"""``skillgauge dif``, ``drift`` and ``calibrate-times`` as a user runs them."""

from __future__ import annotations

import csv
from pathlib import Path

import msgspec
import numpy as np
import pytest

from engine.synthetic import synthetic_bank
from item_banks import read_bank, write_bank
from item_banks.model import Bank, TimeParameters
from skillgauge.cli import main

DATA = Path(__file__).parent.parent / "calibration" / "data"


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_dif_on_a_wide_file_writes_csv_and_html(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = DATA / "dif" / "responses.csv"
    status = main(
        [
            "dif",
            str(source),
            "--group",
            "group",
            "--focal",
            "F",
            "--format",
            "wide",
            "--out",
            str(tmp_path / "dif.csv"),
            "--report",
            str(tmp_path / "dif.html"),
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "DIF by group: reference 'R'" in out and "focal 'F'" in out
    table = {r["item_id"]: r for r in rows(tmp_path / "dif.csv")}
    assert set(table) == {f"i{k}" for k in range(1, 9)}
    assert table["i6"]["favours"] == "focal"
    assert float(table["i6"]["lr_p"]) < 0.05
    assert table["i6"]["b_focal"] and table["i6"]["b_reference"]
    html = (tmp_path / "dif.html").read_text(encoding="utf-8")
    assert "<section" in html and "Differential item functioning" in html


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--group", "gender"], 'line 1: no column "gender" in the data'),
        (["--group", "group", "--focal", "X"], '--focal "X" is not a value of column "group"'),
        (["--group", "group", "--min-group", "500"], "needs at least 500 in each group"),
    ],
)
def test_dif_refuses_bad_group_columns_with_located_lines(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = DATA / "dif" / "responses.csv"
    status = main(["dif", str(source), "--format", "wide", "--no-lr", *args])
    err = capsys.readouterr().err
    assert status == 1
    assert str(source) in err and message in err
    assert "Traceback" not in err


def test_dif_needs_the_bank_for_adaptive_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "long.csv"
    lines = ["person_id,item_id,response,group"]
    rng = np.random.default_rng(1)
    for p in range(120):
        for item in rng.choice(8, 5, replace=False):
            lines.append(f"p{p},s{item + 1},{int(rng.random() < 0.5)},{'a' if p % 2 else 'b'}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["dif", str(path), "--group", "group", "--no-lr"]) == 1
    assert "theta matching needs the bank's parameters (--bank)" in capsys.readouterr().err
    bank_path = tmp_path / "bank.yaml"
    write_bank(synthetic_bank(8, "2pl", 1, seed=1), bank_path)
    status = main(["dif", str(path), "--group", "group", "--bank", str(bank_path)])
    assert status == 0
    assert "matched on theta" in capsys.readouterr().out


def timed_workspace(tmp_path: Path) -> tuple[Path, Path, Bank]:
    """times.csv of the nlme golden with item ids that a synthetic bank has."""
    bank = synthetic_bank(12, "2pl", 1, seed=2)
    text = (DATA / "response_times" / "times.csv").read_text(encoding="utf-8")
    for k in range(12, 0, -1):
        text = text.replace(f",i{k:02d},", f",s{k:02d},")
    responses = tmp_path / "times.csv"
    responses.write_text(text, encoding="utf-8")
    bank_path = tmp_path / "bank.yaml"
    write_bank(bank, bank_path)
    return responses, bank_path, bank


def test_calibrate_times_writes_a_new_bank_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    responses, bank_path, bank = timed_workspace(tmp_path)
    before = bank_path.read_bytes()
    out = tmp_path / "new" / "bank.yaml"
    out.parent.mkdir()
    status = main(
        [
            "calibrate-times",
            str(responses),
            "--bank",
            str(bank_path),
            "--out",
            str(out),
            "--params",
            str(tmp_path / "times.params.csv"),
        ]
    )
    printed = capsys.readouterr().out
    assert status == 0
    assert "response-time parameters for 12 items from 300 learners" in printed
    new = read_bank(out)
    assert new.version != bank.version
    assert all(item.time is not None and item.time.se is not None for item in new.items)
    assert bank_path.read_bytes() == before  # the input bank is never changed
    params = rows(tmp_path / "times.params.csv")
    assert {r["item_id"] for r in params} == {f"s{k:02d}" for k in range(1, 13)}
    first = next(r for r in params if r["item_id"] == "s01")
    assert float(first["beta"]) == pytest.approx(3.0833, abs=1e-3)  # nlme golden for i01


def test_calibrate_times_refuses_unknown_items_and_unwritable_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    responses, bank_path, _ = timed_workspace(tmp_path)
    text = responses.read_text(encoding="utf-8").replace(",s05,", ",zz,", 1)
    responses.write_text(text, encoding="utf-8")
    assert (
        main(
            [
                "calibrate-times",
                str(responses),
                "--bank",
                str(bank_path),
                "--out",
                str(tmp_path / "o.yaml"),
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert f"{responses}: line" in err and 'column item_id: item "zz" is not in bank' in err
    clean = tmp_path / "clean"
    clean.mkdir()
    responses2, _, _ = timed_workspace(clean)
    status = main(
        [
            "calibrate-times",
            str(responses2),
            "--bank",
            str(bank_path),
            "--out",
            str(tmp_path / "missing-dir" / "b.yaml"),
        ]
    )
    assert status == 1
    err = capsys.readouterr().err
    assert "missing-dir/b.yaml: cannot write the bank" in err and "Traceback" not in err


def test_drift_reports_flags_and_writes_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bank = synthetic_bank(10, "2pl", 1, seed=5)
    bank = msgspec.structs.replace(
        bank,
        items=tuple(
            msgspec.structs.replace(i, time=TimeParameters(alpha=2.0, beta=3.0)) for i in bank.items
        ),
    )
    bank_path = tmp_path / "bank.yaml"
    write_bank(bank, bank_path)
    rng = np.random.default_rng(3)
    lines = ["person_id,item_id,response,answered_at,elapsed_ms"]
    for p in range(400):
        theta = rng.standard_normal()
        for k in rng.choice(10, 6, replace=False):
            item = bank.items[k]
            assert hasattr(item.irt, "b")
            b = item.irt.b - (1.5 if (k == 2 and p >= 200) else 0.0)
            right = rng.random() < 1 / (1 + np.exp(-item.irt.a * (theta - b)))
            ms = int(1000 * np.exp(3.0 + rng.standard_normal() / 2))
            lines.append(
                f"p{p},{item.id},{int(right)},2026-03-01T{p // 60:02d}:{p % 60:02d}:00Z,{ms}"
            )
    path = tmp_path / "export.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    status = main(
        [
            "drift",
            str(path),
            "--bank",
            str(bank_path),
            "--r-max",
            "0.5",
            "--replicates",
            "200",
            "--out",
            str(tmp_path / "drift.csv"),
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "2400 answers of 400 learners to 10 items" in out
    assert "s03" in out and "easier" in out
    table = {r["item_id"]: r for r in rows(tmp_path / "drift.csv")}
    assert "easier" in table["s03"]["flags"]
    assert set(table) == {i.id for i in bank.items}


def test_drift_without_scores_is_a_located_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bank_path = tmp_path / "bank.yaml"
    write_bank(synthetic_bank(3, "2pl", 1, seed=1), bank_path)
    path = tmp_path / "t.csv"
    path.write_text("person_id,item_id,seconds\np,s1,abc\n", encoding="utf-8")
    assert main(["drift", str(path), "--bank", str(bank_path)]) == 1
    assert f"{path}: line 2: column seconds: 'abc' is not a number" in capsys.readouterr().err
