"""What one sandboxed run gives back."""

from __future__ import annotations

from typing import Literal

import msgspec

#: Which limit stopped a run.
LimitKind = Literal["cpu", "wall", "memory", "processes", "output", "file_size", "disk"]
#: How a run ended: exited 0, exited non-zero, a limit stopped it, or it crashed (a signal).
Outcome = Literal["ok", "error", "limit", "crashed"]


class RunResult(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The result of one run.

    Attributes
    ----------
    outcome
        ``ok`` (exit 0), ``error`` (non-zero exit), ``limit`` (see ``limit``) or
        ``crashed`` (killed by a signal such as SIGSEGV).
    exit_code
        The program's exit status; ``None`` when it was killed by a signal or by us.
    signal
        The signal that ended it, if any.
    stdout, stderr
        Decoded as UTF-8 (bad bytes replaced), each cut at the output limit.
    truncated
        Whether some output was cut (the cut is marked in the text).
    timed_out
        Whether the wall-clock limit killed the run.
    limit
        The limit that stopped the run, if one did.
    message
        The ending in plain words, for learners ("your code used more than 400 MB").
    cpu_seconds, wall_seconds
        CPU time (user + system, all processes of the run) and wall-clock time.
    """

    outcome: Outcome
    exit_code: int | None
    signal: int | None
    stdout: str
    stderr: str
    truncated: bool
    timed_out: bool
    limit: LimitKind | None
    message: str
    cpu_seconds: float
    wall_seconds: float
