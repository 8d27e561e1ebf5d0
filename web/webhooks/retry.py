"""The retry policy shared by webhook messages and LTI scores (one place for both outboxes)."""

from __future__ import annotations

import random
from collections.abc import Sequence


def retry_delay(schedule: Sequence[float], step: int, rng: random.Random) -> float | None:
    """Seconds to wait before the next attempt after failed attempt ``step`` (0-based).

    The schedule's ``step``-th delay with ±10 % jitter, so retries of many messages do not
    arrive together; None once the schedule is spent (the item is then given up).
    """
    if step >= len(schedule):
        return None
    return schedule[step] * rng.uniform(0.9, 1.1)
