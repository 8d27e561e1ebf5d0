"""``skillgauge calibrate`` and ``skillgauge score`` end to end, as a user runs them."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from calibration.data import from_array, write_long
from calibration.simulate import simulate_responses
from engine.pool import compile_pool
from engine.synthetic import synthetic_bank
from item_banks import content_hash, read_bank, write_bank
from item_banks.model import Bank, TwoPL
from skillgauge.cli import main


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skillgauge", *args], capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Bank]:
    """A 2-competency 2PL bank (the truth) and 2500 persons' long-format responses."""
    root = tmp_path_factory.mktemp("calibrate")
    bank = synthetic_bank(24, "2pl", 2, seed=5)
    pool = compile_pool(bank)
    rng = np.random.default_rng(5)
    matrix = simulate_responses(pool, rng.standard_normal(2500), rng)
    matrix[rng.random(matrix.shape) < 0.25] = -1
    write_long(
        from_array(matrix, item_ids=pool.item_ids, person_ids=[f"u{k}" for k in range(2500)]),
        root / "responses.csv",
    )
    write_bank(bank, root / "bank.yaml")
    return root, bank


def test_calibrate_writes_a_new_version_csv_and_report(
    workspace: tuple[Path, Bank], capsys: pytest.CaptureFixture[str]
) -> None:
    root, truth = workspace
    before = (root / "bank.yaml").read_bytes()
    status = main(
        [
            "calibrate",
            str(root / "responses.csv"),
            "--bank",
            str(root / "bank.yaml"),
            "--model",
            "2pl",
            "--out",
            str(root / "bank.v2.yaml"),
            "--report",
            str(root / "report.html"),
        ]
    )
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert (root / "bank.yaml").read_bytes() == before  # the input bank is untouched
    new = read_bank(root / "bank.v2.yaml")
    assert new.version == "seed-6"
    assert content_hash(new) != content_hash(truth)
    assert "Calibrated with skillgauge calibrate from" in new.notes
    for old_item, item in zip(truth.items, new.items, strict=True):
        assert isinstance(item.irt, TwoPL) and isinstance(old_item.irt, TwoPL)
        assert item.irt.se is not None and item.irt.se.a is not None and item.irt.se.b is not None
        assert abs(item.irt.b - old_item.irt.b) < 5 * item.irt.se.b + 0.05
    out = captured.out
    assert "competency" in out and "logLik" in out and "c1" in out and "c2" in out
    assert "seed-5 -> seed-6" in out
    assert captured.err == ""  # no progress bar when stderr is not a terminal
    with (root / "bank.v2.params.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 24
    assert {r["status"] for r in rows} == {"estimated"}
    assert all(r["se_a"] and r["se_b"] and r["a1"] and r["d"] for r in rows)
    assert "nan" not in (root / "bank.v2.params.csv").read_text().lower()
    html = (root / "report.html").read_text()
    assert html.startswith("<!doctype html>")
    assert "<svg" in html and "Test information" in html and "Item characteristic curves" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_fixed_parameter_calibration_holds_the_anchors(
    workspace: tuple[Path, Bank], tmp_path: Path
) -> None:
    root, truth = workspace
    anchors = [item.id for item in truth.items[:16]]
    anchor_file = tmp_path / "anchors.txt"
    anchor_file.write_text("# anchors\n" + "\n".join(anchors) + "\n")
    result = run(
        "calibrate",
        str(root / "responses.csv"),
        "--bank",
        str(root / "bank.yaml"),
        "--out",
        str(tmp_path / "fixed.yaml"),
        "--fixed",
        "--anchor",
        f"@{anchor_file}",
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    assert "population: mean" in result.stdout
    new = read_bank(tmp_path / "fixed.yaml")
    for old_item, item in zip(truth.items, new.items, strict=True):
        if item.id in anchors:
            assert item.irt == old_item.irt
        else:
            assert item.irt != old_item.irt


def test_linking_with_stocking_lord(workspace: tuple[Path, Bank], tmp_path: Path) -> None:
    root, truth = workspace
    anchors = ",".join(item.id for item in truth.items[:16])
    result = run(
        "calibrate",
        str(root / "responses.csv"),
        "--bank",
        str(root / "bank.yaml"),
        "--out",
        str(tmp_path / "linked.json"),
        "--anchor",
        anchors,
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    assert "linked (stocking-lord): theta_bank =" in result.stdout
    assert read_bank(tmp_path / "linked.json").items[0].irt == truth.items[0].irt


def test_score_every_method(workspace: tuple[Path, Bank], tmp_path: Path) -> None:
    root, _ = workspace
    for method in ("eap", "map", "ml", "wle"):
        out = tmp_path / f"{method}.csv"
        result = run(
            "score",
            str(root / "responses.csv"),
            "--bank",
            str(root / "bank.yaml"),
            "--method",
            method,
            "--out",
            str(out),
        )
        assert result.returncode == 0, result.stderr
        with out.open() as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == 2 * 2500
        assert {r["competency"] for r in rows} == {"c1", "c2"}
        theta = np.array([float(r["theta"]) for r in rows])
        assert np.isfinite(theta).all() and theta.std() > 0.5


def test_bad_input_is_refused_with_located_lines_and_no_traceback(
    workspace: tuple[Path, Bank], tmp_path: Path
) -> None:
    root, _ = workspace
    bad = tmp_path / "bad.csv"
    bad.write_text("person_id,item_id,response\nu1,s01,1\nu1,nope,0\nu2,s02,3\n")
    result = run("calibrate", str(bad), "--bank", str(root / "bank.yaml"), "--out", "x.yaml")
    assert result.returncode == 1
    assert f'{bad}: line 3: column item_id: item "nope" is not in bank' in result.stderr
    assert "Traceback" not in result.stderr
    bad.write_text("person_id,item_id,response\nu1,s01,1\nu2,s01,0\nu2,s02,3\n")
    result = run("calibrate", str(bad), "--bank", str(root / "bank.yaml"), "--out", "x.yaml")
    assert result.returncode == 1
    assert f'{bad}: line 4: column response: item "s02": code 3 is not a category' in (
        result.stderr
    )
    result = run(
        "calibrate",
        str(root / "responses.csv"),
        "--bank",
        str(root / "bank.yaml"),
        "--out",
        str(root / "bank.yaml"),
    )
    assert result.returncode == 1
    assert "is the input bank" in result.stderr
    assert "Traceback" not in result.stderr


def test_simulate_responses_in_lockstep(tmp_path: Path) -> None:
    write_bank(synthetic_bank(40, "2pl", 1, seed=3), tmp_path / "bank.yaml")
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[exposure]\nmethod = "eligibility"\nr_max = 0.25\n\n[content]\nbalance = "none"\n\n'
        '[stopping]\nrule = "fixed_length"\nn = 10\n'
    )
    out = tmp_path / "cat.csv"
    common = ("--bank", str(tmp_path / "bank.yaml"), "--persons", "300", "--out", str(out))
    result = run("simulate-responses", *common, "--adaptive", "--lockstep", "--policy", str(policy))
    assert result.returncode == 0, result.stderr
    assert "Wrote 3000 responses of 300 simulated persons" in result.stdout
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    per_person = np.unique([r["person_id"] for r in rows], return_counts=True)[1]
    assert per_person.size == 300
    assert (per_person == 10).all()
    policy.write_text('[estimator]\nmethod = "wle"\n')
    result = run("simulate-responses", *common, "--adaptive", "--lockstep", "--policy", str(policy))
    assert result.returncode == 1
    assert "batch simulation: estimator.method" in result.stderr
    assert "Traceback" not in result.stderr
    result = run("simulate-responses", *common, "--lockstep")
    assert result.returncode == 1
    assert "--lockstep needs --adaptive" in result.stderr
