r"""Where a learner stands on each competency: scaled score, level, strength or gap.

Pure numerics for the competency report; the web layer renders them.

**Scaled score.** Learners see :math:`S = 500 + 100\,\theta` (rounded to a whole number),
with standard error :math:`SE_S = 100\,SE_\theta`. It is a linear transformation of the
logistic-metric ability scale, so it orders learners exactly as :math:`\theta` does and keeps
its interval properties (Kolen & Brennan, 2014, ch. 9). With the engine's N(0, 1) prior, 500
is a typical learner and about two thirds of learners fall between 400 and 600; cut scores
and level boundaries are transformed the same way.

**Levels.** A competency's levels are bands of :math:`\theta` (``item_banks.model.Level``);
the learner is at the highest level whose lower boundary is at or below the estimate. The
probability of each level is the probability mass of the ability between its boundaries,
:math:`P(b_j \le \theta < b_{j+1}) = P(\theta \ge b_j) - P(\theta \ge b_{j+1})`, with the
probabilities above each boundary from :meth:`engine.session.Session.probability_above`
(posterior mass, or Rudner's 2001 normal approximation for ML and WLE).

**Strength or gap.** Against a reference point (the cut score, or 0, the typical learner,
when the competency has none): a *strength* when :math:`P(\theta \ge r) \ge 0.8`, a *gap*
when :math:`P(\theta \ge r) \le 0.2`, otherwise *not yet clear* (the test could not tell
with four-to-one odds either way).

References
----------
Kolen, M. J., & Brennan, R. L. (2014). *Test equating, scaling, and linking* (3rd ed.),
chapter 9, Score scales. Springer.

Rudner, L. M. (2001). Computing the expected proportions of misclassified examinees.
*Practical Assessment, Research & Evaluation*, 7(14).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from engine.irt.generic import Array

#: ``S = SCALE_CENTRE + SCALE_UNIT * theta``.
SCALE_CENTRE = 500.0
SCALE_UNIT = 100.0
#: Probability of being above the reference that makes a strength (below 1 - it: a gap).
STRENGTH_PROBABILITY = 0.8

Standing = Literal["strength", "gap", "unclear"]


def scaled_score(theta: ArrayLike) -> Array:
    r"""The learner-facing score :math:`S = 500 + 100\,\theta` (Kolen & Brennan, 2014).

    Parameters
    ----------
    theta
        Abilities (or cut scores, level boundaries) on the logistic-metric scale.
    """
    return SCALE_CENTRE + SCALE_UNIT * np.asarray(theta, dtype=float)


def scaled_se(se: ArrayLike) -> Array:
    r"""The standard error on the scaled score, :math:`SE_S = 100\,SE_\theta`."""
    return SCALE_UNIT * np.asarray(se, dtype=float)


def level_index(theta: float, boundaries: Sequence[float]) -> int:
    r"""Index of the level holding ``theta``: the number of boundaries at or below it.

    With boundaries :math:`b_1 < \dots < b_{L-1}` (the ``min_theta`` of levels 2..L), the
    level is :math:`\#\{j : b_j \le \theta\}` (0-based), so a learner exactly on a boundary
    is at the higher level.
    """
    return int(np.searchsorted(np.asarray(boundaries, dtype=float), theta, side="right"))


def level_probabilities(above: ArrayLike) -> Array:
    r"""Probability of each level from the probabilities of being above its boundaries.

    .. math:: p_0 = 1 - a_1, \qquad p_j = a_j - a_{j+1}, \qquad p_{L-1} = a_{L-1}

    where :math:`a_j = P(\theta \ge b_j)` for increasing boundaries :math:`b_j`. Rounding
    noise that would make :math:`a_j` increase is removed (a running minimum), so every
    probability is non-negative and they sum to 1.

    Parameters
    ----------
    above
        :math:`P(\theta \ge b_j)` for each boundary, in increasing order of the boundaries
        (empty for a competency with one level).
    """
    a = np.clip(np.asarray(above, dtype=float), 0.0, 1.0)
    a = np.minimum.accumulate(a) if a.size else a
    chain = np.concatenate(([1.0], a, [0.0]))
    return np.asarray(chain[:-1] - chain[1:])


def standing(probability_above_reference: float) -> Standing:
    r"""Strength, gap or unclear from :math:`P(\theta \ge r)` (see the module notes)."""
    if probability_above_reference >= STRENGTH_PROBABILITY:
        return "strength"
    if 1.0 - probability_above_reference >= STRENGTH_PROBABILITY:
        return "gap"
    return "unclear"


def probability_text(probability: float) -> str:
    r"""A probability as a percentage that never claims more certainty than it has.

    Rounded to whole percent where that leaves it strictly between 0 % and 100 %, else to one
    decimal; what would still print as 100.0 % or 0.0 % is bounded instead:

    .. math::

        0.998 \mapsto 99.8\%, \quad 0.9996 \mapsto {>}99.9\%, \quad
        0.0004 \mapsto {<}0.1\%, \quad 0.8 \mapsto 80\%

    A posterior probability of exactly 1 or 0 is a limit of the arithmetic, not a certainty
    (every prior the engine uses is proper), so it prints as ">99.9%" or "<0.1%" too.

    Parameters
    ----------
    probability
        A probability in [0, 1] (values outside are clipped).
    """
    p = min(1.0, max(0.0, float(probability)))
    whole = round(100 * p)
    if 0 < whole < 100:
        return f"{whole}%"
    tenth = round(1000 * p) / 10
    if tenth >= 100.0:
        return ">99.9%"
    if tenth <= 0.0:
        return "<0.1%"
    return f"{tenth:.1f}%"


def score_text(theta: float) -> str:
    """The scaled score of ``theta`` as a whole number (``500 + 100 theta``)."""
    return f"{float(scaled_score(theta)):.0f}"


def score_se_text(se: float) -> str:
    """A standard error on the score scale as a whole number of points (``100 SE``)."""
    return f"{float(scaled_se(se)):.0f}"
