"""The README's session from a response file alone runs as written and prints what it shows."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## From a response file alone") :]


def session() -> list[tuple[list[str], list[str]]]:
    """``(command, shown output lines)`` of the section's console block."""
    block = re.search(r"```console\n(.*?)```", SECTION, re.S)
    assert block, "no console block in the README section"
    steps: list[tuple[list[str], list[str]]] = []
    for line in block.group(1).splitlines():
        if line.startswith("$ "):
            steps.append((shlex.split(line[2:]), []))
        else:
            steps[-1][1].append(line)
    return steps


def checked(line: str) -> bool:
    """Shown lines that must appear verbatim: table rows, CML lines, files written."""
    if " in " in line and line.startswith("Calibrated "):
        return False  # the time taken varies
    if line.strip() in ("...", "") or line.endswith("..."):
        return False
    return not re.search(r"sha256 [0-9a-f]{12}$", line)


NUMBER = re.compile(r"-?\d+\.\d+")


def same_up_to_rounding(shown: str, printed: str) -> bool:
    """The same line, where each decimal may differ by one unit in its last place.

    A statistic that lands on a rounding boundary (M2 = 1230.7050...) prints as 1230.70 on
    one CPU's floating-point path and 1230.71 on another's; every other character must match.
    """
    if NUMBER.sub("#", shown) != NUMBER.sub("#", printed):
        return False
    for a, b in zip(NUMBER.findall(shown), NUMBER.findall(printed), strict=True):
        if len(a.split(".")[1]) != len(b.split(".")[1]):
            return False
        if abs(float(a) - float(b)) > 1.01 * 10.0 ** -len(a.split(".")[1]):
            return False
    return True


def test_the_readme_session_runs_and_prints_what_it_shows(tmp_path: Path) -> None:
    steps = session()
    assert [c[0] for c, _ in steps] == [
        "cp",
        "skillgauge",
        "cp",
        "skillgauge",
        "skillgauge",
        "skillgauge",
        "skillgauge",
    ]
    for command, shown in steps:
        if command[0] == "cp":
            shutil.copy(REPO / command[1], tmp_path / command[2])
            continue
        done = subprocess.run(
            [sys.executable, "-m", "skillgauge", *command[1:]],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, (command, done.stderr)
        printed = done.stdout.splitlines()
        for line in filter(checked, shown):
            assert any(same_up_to_rounding(line, p) for p in printed), (command, line)
        head = [line for line in shown if line.startswith("Calibrated ")]
        for line in head:
            assert any(p.startswith(line.split(" in ")[0]) for p in printed), line
    for name in (
        "out/params.csv",
        "out/params.report.html",
        "out/bank.yaml",
        "out/bank.params.csv",
        "out/bank.report.html",
        "out/values.want.csv",
        "out/values.do.csv",
        "out/scores.csv",
        "out/cml.csv",
    ):
        assert (tmp_path / name).stat().st_size > 0, name


def test_only_the_last_printed_digit_may_differ() -> None:
    assert same_up_to_rounding("M2 1230.71 (228) 0.118", "M2 1230.70 (228) 0.118")
    assert not same_up_to_rounding("M2 1230.71 (228) 0.118", "M2 1230.69 (228) 0.118")
    assert not same_up_to_rounding("M2 1230.71 (228) 0.118", "M2 1230.71 (229) 0.118")
    assert not same_up_to_rounding("M2 1230.71 (228) 0.118", "M2 1230.7 (228) 0.118")
