r"""Simulated aberrant test-takers, and the detection study of the integrity checks.

Each simulee takes the assessment through the same :class:`~engine.session.Session` the
service runs, with an ability :math:`\theta \sim N(0, 1)` and a speed
:math:`\tau \sim N(0, 0.3^2)`; answers and times follow the item's IRT and lognormal
parameters unless the behaviour says otherwise:

``normal``
    Model answers, model times.
``preknowledge``
    The learner knows the keys of a compromised subset of the bank (by default the fifth of
    the items the CAT gives most often, which is what a harvesting ring would collect): those
    are answered correctly, ``speedup`` (3) times faster than the learner's own pace; the
    rest as ``normal``.
``rapid_guessing``
    Each item, with probability ``rapid_share`` (0.4), is a rapid guess: a uniformly random
    category, in 1-4 seconds. The rest as ``normal``.
``random``
    Every answer a uniformly random category at the learner's usual pace (only the pattern
    betrays it).

:func:`detection_study` runs every behaviour through an :class:`~engine.integrity.IntegrityChecker`
and reports, per check and for "any check", the share of simulees flagged: the false-alarm
rate for ``normal``, the detection rate (power) for the others.

References
----------
Karabatsos, G. (2003). Comparing the aberrant response detection performance of thirty-six
person-fit statistics. *Applied Measurement in Education*, 16(4), 277-298.
Sinharay, S. (2017). Are the nonparametric person-fit statistics more powerful than their
parametric counterparts? Revisiting the simulations in Karabatsos (2003). *Applied
Measurement in Education*, 30(4), 314-328.
Wise, S. L., & Ma, L. (2012). Setting response time thresholds for a CAT item pool: The
normative threshold method. Paper at the annual meeting of NCME.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import msgspec
import numpy as np

from engine.integrity import IntegrityChecker, IntegrityEvidence
from engine.response_times import ItemTiming
from engine.session import Session, SessionState
from engine.synthetic import synthetic_bank
from item_banks.model import Bank, TimeParameters

Behaviour = Literal["normal", "preknowledge", "rapid_guessing", "random"]
BEHAVIOURS: tuple[Behaviour, ...] = ("normal", "preknowledge", "rapid_guessing", "random")
CHECKS = ("person_fit", "response_time_fit", "rapid_guessing", "too_fast_to_read")


@dataclass(frozen=True)
class Aberrance:
    """How the aberrant behaviours behave (see the module notes)."""

    compromised: frozenset[int] = frozenset()
    speedup: float = 3.0
    rapid_share: float = 0.4
    rapid_seconds: tuple[float, float] = (1.0, 4.0)
    speed_sd: float = 0.3


def study_bank(n_items: int, seed: int) -> Bank:
    r"""A synthetic 3PL bank whose items have realistic reading loads and time parameters.

    Stems have 25-90 words (options 4 x 2 words); the median time at average speed is the
    reading time at 238 words per minute (Brysbaert, 2019) times 1.5, plus 10 s to think,
    :math:`\beta = \ln(1.5 \cdot 60\,w / 238 + 10) + N(0, 0.2^2)`, and
    :math:`\alpha \sim U(1.5, 2.5)` (log-time SDs of 0.4-0.67, as in van der Linden, 2006).
    """
    bank = synthetic_bank(n_items, "3pl", 1, seed)
    rng = np.random.default_rng(seed)
    items = []
    for item in bank.items:
        words = int(rng.integers(25, 91))
        stem = " ".join(["word"] * words)
        total = words + 8
        beta = math.log(1.5 * 60.0 * total / 238.0 + 10.0) + float(rng.normal(0.0, 0.2))
        alpha = float(rng.uniform(1.5, 2.5))
        items.append(
            msgspec.structs.replace(
                item, stem=stem, time=TimeParameters(alpha=round(alpha, 4), beta=round(beta, 4))
            )
        )
    return msgspec.structs.replace(bank, items=tuple(items))


def take_test(
    session: Session,
    timing: ItemTiming,
    behaviour: Behaviour,
    rng: np.random.Generator,
    aberrance: Aberrance,
    *,
    seed: int,
) -> tuple[SessionState, list[float]]:
    """One simulee's finished session and response times (seconds, in answer order)."""
    theta = float(rng.standard_normal())
    tau = float(rng.normal(0.0, aberrance.speed_sd))
    pool = session.pool
    state = session.start(seed=seed)
    seconds: list[float] = []
    while not state.finished:
        state = session.next_item(state)
        item = state.pending
        if item is None:
            break
        top = int(pool.n_categories[item])
        pace = math.exp(timing.beta[item] - tau + float(rng.standard_normal()) / timing.alpha[item])
        probabilities = pool.response_probabilities(item, theta)
        category = int(np.searchsorted(np.cumsum(probabilities), rng.random(), side="right"))
        category = min(category, top - 1)
        if behaviour == "preknowledge" and item in aberrance.compromised:
            category, pace = top - 1, pace / aberrance.speedup
        elif behaviour == "rapid_guessing" and rng.random() < aberrance.rapid_share:
            category = int(rng.integers(top))
            pace = float(rng.uniform(*aberrance.rapid_seconds))
        elif behaviour == "random":
            category = int(rng.integers(top))
        state = session.record(state, item, category)
        seconds.append(pace)
    return state, seconds


def most_exposed(
    session: Session, timing: ItemTiming, share: float, n: int, seed: int
) -> frozenset[int]:
    """The ``share`` of the pool's items a pilot of ``n`` normal simulees saw most often."""
    rng = np.random.default_rng(seed)
    counts = np.zeros(session.pool.n_items)
    for k in range(n):
        state, _ = take_test(session, timing, "normal", rng, Aberrance(), seed=seed * 1_000_003 + k)
        counts[list(state.items)] += 1
    top = max(1, round(share * session.pool.n_items))
    return frozenset(int(i) for i in np.argsort(-counts, kind="stable")[:top])


@dataclass(frozen=True)
class StudyRow:
    """Flag rates of one behaviour: per check, and for any check raised."""

    behaviour: Behaviour
    simulees: int
    mean_items: float
    rates: dict[str, float]
    any_check: float
    lz_star: tuple[float, ...]

    @property
    def lz_star_mean(self) -> float:
        """Mean :math:`l_z^*` of the simulees where it is defined."""
        return float(np.mean(self.lz_star)) if self.lz_star else math.nan

    def below(self, threshold: float) -> float:
        """Share of all simulees whose :math:`l_z^*` is below ``threshold``."""
        return sum(v < threshold for v in self.lz_star) / self.simulees


def _flags(evidence: IntegrityEvidence) -> dict[str, bool]:
    return {flag.check: flag.raised for flag in evidence.flags}


def detection_study(
    checker: IntegrityChecker,
    n: int,
    seed: int,
    aberrance: Aberrance,
    *,
    behaviours: Sequence[Behaviour] = BEHAVIOURS,
    extra_lz_thresholds: Sequence[float] = (),
) -> list[StudyRow]:
    """Flag rates of every behaviour (``n`` simulees each) under the checker's thresholds.

    ``extra_lz_thresholds`` adds rows' rates ``lz* < t`` for other thresholds (as
    ``person_fit@t``), to show the trade-off of the person-fit threshold.
    """
    rows = []
    for b_index, behaviour in enumerate(behaviours):
        rng = np.random.default_rng((seed, b_index))
        raised: dict[str, list[bool]] = {c: [] for c in CHECKS}
        extra: dict[float, list[bool]] = {t: [] for t in extra_lz_thresholds}
        any_raised: list[bool] = []
        lengths: list[int] = []
        lz: list[float] = []
        for k in range(n):
            state, seconds = take_test(
                checker.session, checker.timing, behaviour, rng, aberrance, seed=seed + 7919 * k
            )
            evidence = checker.evaluate(state, seconds)
            flags = _flags(evidence)
            for check in CHECKS:
                raised[check].append(flags[check])
            any_raised.append(any(flags.values()))
            value = evidence.person_fit.lz_star
            computed = evidence.flags[0].computed
            for t in extra_lz_thresholds:
                extra[t].append(bool(computed and value is not None and value < t))
            if value is not None:
                lz.append(value)
            lengths.append(evidence.items)
        rates = {c: float(np.mean(v)) for c, v in raised.items()}
        rates.update({f"person_fit@{t:g}": float(np.mean(v)) for t, v in extra.items()})
        rows.append(
            StudyRow(
                behaviour=behaviour,
                simulees=n,
                mean_items=float(np.mean(lengths)),
                rates=rates,
                any_check=float(np.mean(any_raised)),
                lz_star=tuple(lz),
            )
        )
    return rows
