"""The skillgauge command line: exit codes, located messages, no tracebacks for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from item_banks import read_bank
from skillgauge.cli import main
from tests.conftest import SAMPLE_BANK
from tests.item_banks.helpers import raw_bank


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed entry point as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "skillgauge", *args], capture_output=True, text=True, check=False
    )


def test_validate_valid_bank_prints_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bank", "validate", str(SAMPLE_BANK)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    assert out[0].startswith(f'{SAMPLE_BANK}: ok: "Python for data analysis"')
    assert "4 competencies" in out[0]


def test_validate_invalid_bank_prints_located_lines(tmp_path: Path) -> None:
    raw = raw_bank(3)
    raw["items"][1]["id"] = "py-023"
    raw["items"][1]["irt"]["a"] = -0.4
    raw["items"][2]["competency"] = "ghost"
    bad = tmp_path / "bank.yaml"
    bad.write_text(yaml.safe_dump(raw))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(raw_bank(2)))
    done = run("bank", "validate", str(good), str(bad))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{good}: ok:")
    assert lines[1:] == [
        f'{bad}: item "py-023": irt.a: must be > 0, got -0.4',
        f'{bad}: item "q3": competency: "ghost" is not a competency of this bank',
    ]
    assert "Traceback" not in done.stderr


def test_validate_warnings_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = raw_bank(1)
    raw["items"][0]["solution"] = ""
    path = tmp_path / "b.json"
    path.write_text(json.dumps(raw))
    assert main(["bank", "validate", "--warnings", str(path)]) == 0
    assert f'warning: {path}: item "q1": solution: no solution' in capsys.readouterr().out


def test_synth_writes_a_valid_bank(tmp_path: Path) -> None:
    out = tmp_path / "big.json"
    done = run(
        "bank",
        "synth",
        "--items",
        "1000",
        "--model",
        "3pl",
        "--competencies",
        "3",
        "--seed",
        "1",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    bank = read_bank(out)
    assert len(bank.items) == 1000
    assert len(bank.competencies) == 3
    again = tmp_path / "again.json"
    assert (
        main(
            [
                "bank",
                "synth",
                "--items",
                "1000",
                "--model",
                "3pl",
                "--competencies",
                "3",
                "--seed",
                "1",
                "--out",
                str(again),
            ]
        )
        == 0
    )
    assert again.read_bytes() == out.read_bytes()  # the seed fixes the bank


def test_simulate_json_and_report(tmp_path: Path) -> None:
    bank = tmp_path / "b.yaml"
    assert (
        main(
            [
                "bank",
                "synth",
                "--items",
                "150",
                "--model",
                "2pl",
                "--competencies",
                "2",
                "--out",
                str(bank),
            ]
        )
        == 0
    )
    policy = tmp_path / "policy.toml"
    policy.write_text('[stopping]\nrule = "fixed_length"\nn = 10\n')
    report = tmp_path / "report.html"
    done = run(
        "simulate",
        "--bank",
        str(bank),
        "--policy",
        str(policy),
        "--examinees",
        "40",
        "--seed",
        "1",
        "--json",
        "--report",
        str(report),
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["examinees"] == 40
    assert summary["mean_length"] == 10
    assert len(summary["accuracy"]) == 2
    assert "<svg" in report.read_text()
    text = run("simulate", "--bank", str(bank), "--policy", str(policy), "--examinees", "20")
    assert "RMSE" in text.stdout
    assert "test overlap" in text.stdout


def test_bad_policy_is_a_located_message(tmp_path: Path) -> None:
    bank = tmp_path / "b.yaml"
    assert main(["bank", "synth", "--items", "30", "--model", "2pl", "--out", str(bank)]) == 0
    policy = tmp_path / "policy.toml"
    policy.write_text('[stopping]\nrule = "fixed_length"\nn = 50\n')
    done = run("simulate", "--bank", str(bank), "--policy", str(policy))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"{policy}: stopping: asks for up to 50 items; the bank has 30" in done.stderr
    policy.write_text('[selection]\nmethod = "best"\n')
    done = run("simulate", "--bank", str(bank), "--policy", str(policy))
    assert done.returncode == 1
    assert (
        f"{policy}: selection.method: must be one of the listed values, got 'best'" in done.stderr
    )


def test_bad_bank_for_simulate(tmp_path: Path) -> None:
    bank = tmp_path / "b.yaml"
    bank.write_text("id: x\n")
    done = run("simulate", "--bank", str(bank))
    assert done.returncode == 1
    assert f"{bank}: title: is required" in done.stderr


def test_demo_runs_a_session_on_the_sample_bank() -> None:
    done = run("demo", "--seed", "3")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Skillgauge demo" in out
    assert " 1. " in out
    assert "answer:" in out
    assert "Stopped after" in out
    for competency in ("python-core", "pandas-wrangling", "numpy-stats"):
        assert competency in out.split("Stopped after")[1]


def test_sympson_hetter_command(tmp_path: Path) -> None:
    bank = tmp_path / "b.json"
    assert main(["bank", "synth", "--items", "120", "--model", "3pl", "--out", str(bank)]) == 0
    policy = tmp_path / "p.toml"
    policy.write_text('[stopping]\nrule = "fixed_length"\nn = 8\n[content]\nbalance = "none"\n')
    out = tmp_path / "sh.json"
    done = run(
        "bank",
        "sympson-hetter",
        "--bank",
        str(bank),
        "--policy",
        str(policy),
        "--r-max",
        "0.3",
        "--examinees",
        "200",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    limited = [item for item in read_bank(out).items if item.exposure is not None]
    assert limited
    assert all(0 < item.exposure < 1 for item in limited if item.exposure is not None)
