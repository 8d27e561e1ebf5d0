"""Helpers of the sandbox tests: processes left behind by a run's uids."""

from __future__ import annotations

import time

from grading import Sandbox
from grading.sandbox import processes_of


def assert_nothing_left(sandbox: Sandbox) -> None:
    """No process of a run outlives it (the kill signal may take a moment to land)."""
    uids = range(sandbox.uid_base, sandbox.uid_base + sandbox.slots)
    for _ in range(50):
        left = processes_of(uids)
        if not left:
            return
        time.sleep(0.1)
    raise AssertionError(f"processes left behind by a run: {left}")
