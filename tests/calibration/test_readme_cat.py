"""The README's "Calibrating a bank from its own CAT" session runs as written (fewer persons)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from engine.policy import check_policy, load_policy
from engine.pool import compile_pool
from item_banks import read_bank
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## Calibrating a bank from its own CAT") :]


def test_the_readme_cat_session_runs(tmp_path: Path) -> None:
    policy = re.search(r"```toml\n(.*?)```", SECTION, re.S)
    console = re.search(r"```console\n(.*?)```", SECTION, re.S)
    assert policy and console
    (tmp_path / "operational.toml").write_text(policy.group(1))
    commands = [
        shlex.split(line[2:]) for line in console.group(1).splitlines() if line.startswith("$ ")
    ]
    assert [c[1] for c in commands] == ["bank", "simulate-responses", "calibrate"]
    outputs = []
    for command in commands:
        args = ["2000" if a == "20000" else a for a in command[1:]]  # a faster, smaller sample
        done = subprocess.run(
            [sys.executable, "-m", "skillgauge", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, (command, done.stderr)
        outputs.append(done.stdout)
    pool = compile_pool(read_bank(tmp_path / "cat-bank.yaml"))
    check_policy(load_policy(tmp_path / "operational.toml"), pool)
    assert pool.n_items == 200
    assert "Wrote 60000 responses of 2000 simulated persons to cat.csv" in outputs[1]
    assert "Wrote cat-bank.v2.yaml, cat-bank.v2.params.csv" in outputs[2]
    assert read_bank(tmp_path / "cat-bank.v2.yaml").version == "seed-12"
