"""``skillgauge simulate`` says when a policy's precision target is out of reach in practice."""

from __future__ import annotations

from pathlib import Path

import pytest

from skillgauge.cli import main
from tests.conftest import SAMPLE_BANK

OLD_DEMO = """
[content]
balance = "targets"
[stopping]
rule = "all"
rules = [{rule = "min_items", n = 8},
         {rule = "any", rules = [{rule = "standard_error", max_se = 0.45},
                                 {rule = "max_items", n = 24}]}]
"""
REACHABLE = OLD_DEMO.replace("0.45", "0.65").replace("n = 24", "n = 28") + (
    '[exposure]\nmethod = "randomesque"\nrandomesque_size = 5\n'
)


def simulate(tmp_path: Path, policy: str, capsys: pytest.CaptureFixture[str]) -> str:
    path = tmp_path / "policy.toml"
    path.write_text(policy)
    assert (
        main(
            [
                "simulate",
                "--bank",
                str(SAMPLE_BANK),
                "--policy",
                str(path),
                "--examinees",
                "40",
                "--seed",
                "1",
            ]
        )
        == 0
    )
    return capsys.readouterr().out


def test_an_unreachable_target_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = simulate(tmp_path, OLD_DEMO, capsys)
    assert "SE target 0.45: met by 0% of the simulees" in out
    warnings = [line for line in out.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2
    assert "reach the precision target (± 45 points, SE 0.45)" in warnings[0]
    assert "start with the same question" in warnings[1]


def test_a_reachable_target_draws_no_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = simulate(tmp_path, REACHABLE, capsys)
    assert "SE target 0.65: met by" in out
    assert "warning:" not in out
