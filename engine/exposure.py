r"""Exposure control: keep the most informative items from being given to everyone.

* **Randomesque** (Kingsbury & Zara, 1989): pick at random among the ``n`` best items.
* **Sympson-Hetter** (Sympson & Hetter, 1985): the best item is administered with probability
  :math:`K_i` (the item's ``exposure`` parameter); when it is not, it is excluded for this
  learner and the next best item is tried. :math:`K_i` are set by simulation so that no
  item's exposure rate exceeds :math:`r_{max}` (:func:`engine.simulation.sympson_hetter`).
* **Item eligibility** (van der Linden & Veldkamp, 2004): at the start of each session every
  item is eligible with probability :math:`P(E_i)`; after each session the probabilities are
  updated from the observed exposure rates :math:`\hat r_i`:
  :math:`P(E_i) \leftarrow \min\{1,\; r_{max} P(E_i) / \hat r_i\}` (:func:`update_eligibility`).
  When the ineligible items leave nothing to give, every item not yet given becomes eligible
  again for that learner (their rule for an infeasible shadow test), so exposure control
  never shortens a test.

References
----------
Kingsbury, G. G., & Zara, A. R. (1989). Procedures for selecting items for computerized
adaptive tests. *Applied Measurement in Education*, 2(4), 359-375.
Sympson, J. B., & Hetter, R. D. (1985). Controlling item-exposure rates in computerized
adaptive testing. *Proceedings of the 27th annual meeting of the Military Testing Association*.
van der Linden, W. J., & Veldkamp, B. P. (2004). Constraining item exposure in computerized
adaptive testing with shadow tests. *Journal of Educational and Behavioral Statistics*, 29(3),
273-291.
"""

from __future__ import annotations

import random

import numpy as np

from engine.irt.generic import Array


def best(values: Array) -> int | None:
    """Index of the largest finite value, or None when every value is ``-inf``."""
    i = int(np.argmax(values))
    return i if values[i] > -np.inf else None


def randomesque(values: Array, size: int, rng: random.Random) -> int | None:
    """Pick uniformly among the ``size`` items with the largest (finite) values."""
    finite = int(np.count_nonzero(values > -np.inf))
    if finite == 0:
        return None
    k = min(size, finite)
    if k == 1:
        return best(values)
    top = np.argpartition(values, -k)[-k:]
    return int(top[rng.randrange(k)])


def sympson_hetter(
    values: Array, exposure: Array, rng: random.Random
) -> tuple[int | None, list[int]]:
    """Go down the ranking, administering each item with probability ``exposure[i]``.

    Returns the item to administer (None when every candidate was refused or none is left)
    and the items refused on the way, which the caller excludes for this learner.
    """
    values = values.copy()
    refused: list[int] = []
    while True:
        i = best(values)
        if i is None:
            return None, refused
        if exposure[i] >= 1.0 or rng.random() < exposure[i]:
            return i, refused
        refused.append(i)
        values[i] = -np.inf


def update_eligibility(probability: Array, exposure_rate: Array, r_max: float) -> Array:
    r"""One update of van der Linden & Veldkamp's eligibility probabilities.

    .. math:: P(E_i)^{(j+1)} = \min\left\{1,\; \frac{r_{max}\, P(E_i)^{(j)}}{\hat r_i^{(j)}}
              \right\}

    Items never administered so far (:math:`\hat r_i = 0`) become fully eligible.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(exposure_rate > 0, r_max * probability / exposure_rate, 1.0)
    return np.asarray(np.minimum(1.0, ratio))
