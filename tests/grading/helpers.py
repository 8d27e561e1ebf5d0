"""Helpers of the sandbox tests: processes left behind by a run's uids."""

from __future__ import annotations

import time
from pathlib import Path

from grading import Sandbox


def processes_of(sandbox: Sandbox) -> list[int]:
    """Pids whose real uid is one of the sandbox's slot uids."""
    uids = range(sandbox.uid_base, sandbox.uid_base + sandbox.slots)
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            lines = status.read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith("Uid:") and int(line.split()[1]) in uids:
                pids.append(int(status.parent.name))
    return pids


def assert_nothing_left(sandbox: Sandbox) -> None:
    """No process of a run outlives it (the kill signal may take a moment to land)."""
    for _ in range(50):
        left = processes_of(sandbox)
        if not left:
            return
        time.sleep(0.1)
    raise AssertionError(f"processes left behind by a run: {left}")
