r"""Answers from a bank whose item drifts, for testing and studying :mod:`calibration.drift`.

``n`` learners (:math:`\theta \sim N(0, 1)`, speed :math:`\tau \sim N(0, 0.3^2)`) arrive one
a minute and answer ``length`` items drawn at random from the bank (a linear-on-the-fly
form, so every item collects answers from the whole ability range). From the middle learner
on, item ``item`` is ``shift`` logits easier or harder (a leaked key makes it easier) and is
answered ``faster`` log-seconds faster. Answers follow the bank's dichotomous parameters and
times its lognormal ones (``alpha`` and ``beta`` of every item).
"""

from __future__ import annotations

import numpy as np

from calibration.timed_data import TimedResponses, timed_from_arrays
from engine.pool import compile_pool
from engine.response_times import compile_timing
from item_banks.model import Bank

START = 1.7e9  # 2023-11-14T22:13:20Z: the first learner


def simulate_drift(
    bank: Bank,
    n: int,
    seed: int,
    *,
    length: int = 15,
    item: int = 4,
    shift: float = 0.0,
    faster: float = 0.0,
) -> TimedResponses:
    """Timed answers in time order; the drift starts with learner ``n // 2``."""
    pool = compile_pool(bank)
    if pool.dichotomous_index.size != pool.n_items:
        raise ValueError("simulate_drift needs a bank of dichotomous items")
    timing = compile_timing(bank, pool)
    if not timing.timed.all():
        raise ValueError("simulate_drift needs response-time parameters on every item")
    rng = np.random.default_rng(seed)
    theta = rng.standard_normal(n)
    tau = rng.normal(0.0, 0.3, n)
    person = np.repeat(np.arange(n), length)
    items = np.argsort(rng.random((n, pool.n_items)), axis=1)[:, :length].ravel()
    fam = pool.dichotomous
    b = fam.b[items].copy()
    late = person >= n // 2
    b[(items == item) & late] += shift
    p = fam.c[items] + (fam.d[items] - fam.c[items]) / (
        1.0 + np.exp(-fam.a[items] * (theta[person] - b))
    )
    x = (rng.random(items.size) < p).astype(np.int16)
    log_t = timing.beta[items] - tau[person] + rng.standard_normal(items.size) / timing.alpha[items]
    log_t[(items == item) & late] -= faster
    stamp = START + person * 60.0 + np.arange(items.size) % length
    return timed_from_arrays(
        person, items, np.exp(log_t), response=x, answered_at=stamp, item_ids=pool.item_ids
    )
