"""The README's calibration session runs as written (with fewer simulated persons)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def session_commands() -> list[list[str]]:
    section = README[README.index("## Calibration") :]
    block = re.search(r"```console\n(.*?)```", section, re.S)
    assert block, "no console block in the README's calibration section"
    return [shlex.split(line[2:]) for line in block.group(1).splitlines() if line.startswith("$ ")]


def test_the_readme_session_runs(tmp_path: Path) -> None:
    commands = session_commands()
    assert [c[:2] for c in commands] == [
        ["skillgauge", "bank"],
        ["skillgauge", "simulate-responses"],
        ["skillgauge", "calibrate"],
        ["skillgauge", "score"],
    ]
    for command in commands:
        args = ["400" if a == "3000" else a for a in command[1:]]  # a faster, smaller sample
        done = subprocess.run(
            [sys.executable, "-m", "skillgauge", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, (command, done.stderr)
    for name in (
        "bank.yaml",
        "responses.csv",
        "bank.v2.yaml",
        "bank.v2.params.csv",
        "report.html",
        "scores.csv",
    ):
        assert (tmp_path / name).stat().st_size > 0, name
