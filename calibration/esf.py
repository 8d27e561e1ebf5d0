r"""Elementary symmetric functions of polytomous item weights, by the summation algorithm.

For items :math:`i \in S` with category weights :math:`\varepsilon_{ik} = e^{\eta_{ik}}`
(:math:`k = 0..m_i`, :math:`\eta_{i0} = 0`), the elementary symmetric function of order
:math:`r` is the sum over all response vectors with raw score :math:`r` of the product of
their weights,

.. math:: \gamma_r(S) = \sum_{x:\ \sum_i x_i = r}\ \prod_{i \in S} \varepsilon_{i x_i}.

The summation algorithm (Fischer & Molenaar, 1995, ch. 19; Verhelst, Glas & van der Sluis,
1984) adds one item at a time,

.. math:: \gamma_r(S \cup \{i\}) = \sum_{k=0}^{m_i} \varepsilon_{ik}\, \gamma_{r-k}(S),

which only adds positive terms and is numerically stable. To keep the products inside the
floating-point range, the weights are first moved to the scale's centre,
:math:`\eta'_{ik} = \eta_{ik} + k\bar\delta` with :math:`\bar\delta` the mean threshold
(then :math:`\gamma_r = e^{-r\bar\delta}\gamma'_r`), and every row is divided by its
largest value after each item, the logarithm of the divisor being carried separately. The
functions are returned as logarithms.

Functions of subsets (an item or two left out, :math:`\gamma^{(i)}`, :math:`\gamma^{(ij)}`)
are computed the same way on rows whose item masks leave those items out: the recursion
runs once over the items, vectorised over all rows.

References
----------
Fischer, G. H., & Molenaar, I. W. (Eds.) (1995). *Rasch Models: Foundations, Recent
Developments, and Applications*. Springer (ch. 3 and 19).
Verhelst, N. D., Glas, C. A. W., & van der Sluis, A. (1984). Estimation problems in the Rasch
model: The basic symmetric functions. *Computational Statistics Quarterly*, 1(3), 245-262.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


def log_elementary_symmetric(
    eta: Array, n_categories: NDArray[np.intp], masks: NDArray[np.bool_]
) -> Array:
    r"""Logarithms of the elementary symmetric functions of the item subsets ``masks``.

    Parameters
    ----------
    eta
        ``(J, C)`` log category weights :math:`\eta_{ik}`; column 0 is 0 and columns at or
        beyond an item's number of categories are ignored.
    n_categories
        ``(J,)`` categories per item, :math:`m_i + 1`.
    masks
        ``(G, J)``: row ``g`` is the subset of items whose functions are wanted.

    Returns
    -------
    ndarray
        ``(G, R + 1)`` with :math:`R = \sum_i m_i`: :math:`\log\gamma_r(S_g)`, ``-inf``
        for scores a row cannot reach.
    """
    rows, n_items = masks.shape
    top = n_categories - 1
    width = int(top.sum()) + 1
    k = np.arange(eta.shape[1], dtype=np.float64)
    valid = k[None, :] < n_categories[:, None]
    thresholds = (eta[:, :-1] - eta[:, 1:])[valid[:, 1:]]
    centre = float(thresholds.mean()) if thresholds.size else 0.0
    moved = eta + k[None, :] * centre
    gamma = np.zeros((rows, width))
    gamma[:, 0] = 1.0
    log_scale = np.zeros(rows)
    reach = np.zeros(rows, dtype=np.intp)  # highest score reachable so far, per row
    for j in range(n_items):  # the recursion adds one item at a time (it is sequential)
        sel = np.flatnonzero(masks[:, j])
        if sel.size == 0:
            continue
        m = int(top[j])
        shift = float(np.max(moved[j, : m + 1]))
        weights = np.exp(moved[j, : m + 1] - shift)
        span = int(reach[sel].max()) + 1
        old = gamma[sel, :span]
        new = np.zeros((sel.size, span + m))
        for c in range(m + 1):  # categories of one item (a handful)
            new[:, c : c + span] += weights[c] * old
        biggest = new.max(axis=1)
        new /= biggest[:, None]
        gamma[sel, : span + m] = new
        log_scale[sel] += np.log(biggest) + shift
        reach[sel] += m
    with np.errstate(divide="ignore"):
        out = np.log(gamma) + log_scale[:, None]
    return np.asarray(out - centre * np.arange(width, dtype=np.float64)[None, :])
