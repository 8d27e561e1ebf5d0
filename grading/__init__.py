"""Running learners' code: a bubblewrap sandbox with rlimits, a bounded run pool, SQL runs.

The foundation of the ``code`` item type (issue 19). Nothing here imports the other
packages of the project; ``web`` (and later a ``skillgauge runner`` process) imports it.
Learners' code never runs outside :class:`grading.sandbox.Sandbox`; where no working sandbox
exists, every run raises :class:`grading.errors.SandboxUnavailable`.
"""

from __future__ import annotations

from grading.errors import GradingError, SandboxBusyError, SandboxUnavailable
from grading.limits import Limits
from grading.pool import RunPool
from grading.result import RunResult
from grading.sandbox import Sandbox
from grading.sql import SqlFixture, SqlResult, run_sql

__all__ = [
    "GradingError",
    "Limits",
    "RunPool",
    "RunResult",
    "Sandbox",
    "SandboxBusyError",
    "SandboxUnavailable",
    "SqlFixture",
    "SqlResult",
    "run_sql",
]
