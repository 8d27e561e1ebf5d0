r"""Person fit: the standardised log-likelihood :math:`l_z` and Snijders' corrected :math:`l_z^*`.

A response pattern that the model finds unlikely *given the learner's own estimate* (hard
items right and easy items wrong, as after copying or preknowledge of some items) has a low
log-likelihood. With category weights :math:`w_{ik} = \log P_{ik}(\theta)`, the statistic
of Drasgow, Levine & Williams (1985) for item :math:`i` answered in category :math:`x_i` is

.. math:: l_0 = \sum_i w_{i x_i}, \qquad
          E(l_0) = \sum_i \sum_k P_{ik} w_{ik}, \qquad
          \operatorname{Var}(l_0) = \sum_i \Big[\sum_k P_{ik} w_{ik}^2
              - \big(\sum_k P_{ik} w_{ik}\big)^2\Big], \qquad
          l_z = \frac{l_0 - E(l_0)}{\sqrt{\operatorname{Var}(l_0)}} .

:math:`l_z` is standard normal only at the *true* ability. Evaluated at an estimate it is
too narrow (its variance shrinks because the estimate was fitted to the same responses).
Snijders (2001) corrects the weights and the centre for an estimate that solves

.. math:: \sum_i r_{i x_i}(\hat\theta) + r_0(\hat\theta) = 0, \qquad
          r_{ik} = \frac{P'_{ik}}{P_{ik}}

(the likelihood score plus an estimator-specific term :math:`r_0`):

.. math:: c_n = \frac{\sum_i \sum_k P'_{ik} w_{ik}}{\sum_i \sum_k P'_{ik} r_{ik}}, \qquad
          \tilde w_{ik} = w_{ik} - c_n r_{ik},

.. math:: l_z^* = \frac{l_0 - E(l_0) + c_n r_0}
                       {\sqrt{\sum_i \big[\sum_k P_{ik} \tilde w_{ik}^2
                        - (\sum_k P_{ik}\tilde w_{ik})^2\big]}},

everything at :math:`\hat\theta`; :math:`l_z^*` is asymptotically N(0, 1) under the model.
For dichotomous items this is exactly Snijders' statistic (the category form reduces to his
weights :math:`w_i = \operatorname{logit} P_i`, :math:`r_i = P_i'/(P_i(1-P_i))`); for
graded and partial-credit items it is Sinharay's (2016) extension. The estimator terms are
(Magis, Raîche & Béland, 2012):

=========  ==========================================================================
``mle``    :math:`r_0 = 0`
``map``    :math:`r_0 = (\mu - \theta)/\sigma^2` (normal prior :math:`N(\mu, \sigma^2)`)
``wle``    :math:`r_0 = J / (2 I)` with :math:`I = \sum P'^2/P`, :math:`J = \sum P'P''/P`
``eap``    the MAP term: the EAP solves no estimating equation of this form, but it is
           close to the posterior mode, whose equation has the same prior term
           (simulated under the model, 10-60 items of 2PL/3PL/GRM/GPCM: mean 0.0-0.14,
           SD 0.92-1.02; ``tests/engine/test_person_fit.py``)
=========  ==========================================================================

Low values signal misfit; the one-sided p-value is :math:`\Phi(l_z^*)`. A learner measured
on several competencies has one estimate per competency; the competencies' parts are
independent, so the session's statistic adds their numerators and variances.

Undefined values (no items, one item, or a pattern whose variance vanishes, as all-correct
answers to items far below the estimate) are NaN in the arrays and ``None`` in the Structs:
nothing can be said, and nothing is flagged.

References
----------
Drasgow, F., Levine, M. V., & Williams, E. A. (1985). Appropriateness measurement with
polychotomous item response models and standardized indices. *British Journal of
Mathematical and Statistical Psychology*, 38(1), 67-86.
Snijders, T. A. B. (2001). Asymptotic null distribution of person fit statistics with
estimated person parameter. *Psychometrika*, 66(3), 331-342.
Magis, D., Raîche, G., & Béland, S. (2012). A didactic presentation of Snijders's lz* index
of person fit with emphasis on response model selection and ability estimation. *Journal of
Educational and Behavioral Statistics*, 37(1), 57-81.
Sinharay, S. (2016). Asymptotically correct standardization of person-fit statistics beyond
dichotomous items. *Psychometrika*, 81(4), 992-1013.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import msgspec
import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

from engine.irt.generic import Array
from engine.pool import Index, ItemPool

Estimator = Literal["eap", "map", "mle", "wle"]
#: Variances below this are treated as zero: the statistic is undefined.
_TINY = 1e-10


@dataclass(frozen=True, slots=True)
class FitArrays:
    r"""Person-fit pieces per group (a learner's competency, or a simulee's).

    Attributes
    ----------
    n_items
        Items that entered each group's statistic.
    numerator, variance
        :math:`l_0 - E(l_0)` and :math:`\operatorname{Var}(l_0)` (for :math:`l_z`).
    numerator_star, variance_star
        Snijders' corrected numerator and variance (for :math:`l_z^*`).
    """

    n_items: NDArray[np.intp]
    numerator: Array
    variance: Array
    numerator_star: Array
    variance_star: Array

    @property
    def lz(self) -> Array:
        """:math:`l_z` per group, NaN where undefined."""
        return _ratio(self.numerator, self.variance)

    @property
    def lz_star(self) -> Array:
        """:math:`l_z^*` per group, NaN where undefined."""
        return _ratio(self.numerator_star, self.variance_star)

    def combine(self, owner: NDArray[np.intp], n_owners: int) -> FitArrays:
        """Add the groups of each owner (e.g. a learner's competencies) into one statistic."""
        return FitArrays(
            n_items=np.bincount(owner, weights=self.n_items, minlength=n_owners).astype(np.intp),
            numerator=_sum(owner, self.numerator, n_owners),
            variance=_sum(owner, self.variance, n_owners),
            numerator_star=_sum(owner, self.numerator_star, n_owners),
            variance_star=_sum(owner, self.variance_star, n_owners),
        )


def _sum(group: NDArray[np.intp], values: Array, n: int) -> Array:
    return np.bincount(group, weights=values, minlength=n).astype(np.float64)


def _ratio(numerator: Array, variance: Array) -> Array:
    ok = variance > _TINY
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, np.sqrt(np.where(ok, variance, 1.0)), out=out, where=ok)
    return out


def fit_from_probabilities(
    p: Array,
    dp: Array,
    d2p: Array,
    categories: Index,
    *,
    group: Index,
    n_groups: int,
    theta: Array,
    estimator: Estimator,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
) -> FitArrays:
    r""":math:`l_z` and :math:`l_z^*` pieces from category probabilities at the estimates.

    Parameters
    ----------
    p, dp, d2p
        ``(E, C)``: category probabilities of each answered item at its group's estimate and
        their first and second derivatives in theta; categories an item lacks have ``P = 0``.
    categories
        ``(E,)`` observed score categories.
    group
        ``(E,)`` group of each answer, in ``0 .. n_groups - 1``.
    theta
        ``(n_groups,)`` the estimates (used by the MAP term :math:`r_0`).
    estimator
        How the estimates were made: ``eap``, ``map``, ``mle`` or ``wle``.
    prior_mean, prior_sd
        The normal prior of EAP and MAP.

    Returns
    -------
    FitArrays
        The pieces per group; see the module documentation for the formulas (Snijders,
        2001; Sinharay, 2016).
    """
    rows = np.arange(categories.size)
    present = p > 0.0
    safe_p = np.where(present, p, 1.0)
    w = np.where(present, np.log(safe_p), 0.0)
    r = np.where(present, dp / safe_p, 0.0)
    mean_w = (p * w).sum(axis=1)
    var_w = np.maximum((p * w * w).sum(axis=1) - mean_w**2, 0.0)
    observed_w = w[rows, categories]
    slope_w = (dp * w).sum(axis=1)  # sum_k P' w: numerator of c_n
    info = (dp * r).sum(axis=1)  # sum_k P'^2 / P
    j_term = (dp * np.where(present, d2p / safe_p, 0.0)).sum(axis=1)

    n_items = np.bincount(group, minlength=n_groups).astype(np.intp)
    numerator = _sum(group, observed_w - mean_w, n_groups)
    variance = _sum(group, var_w, n_groups)
    total_info = _sum(group, info, n_groups)
    c_n = np.divide(
        _sum(group, slope_w, n_groups),
        total_info,
        out=np.zeros(n_groups),
        where=total_info > _TINY,
    )
    w_tilde = w - c_n[group, None] * r
    mean_tilde = (p * w_tilde).sum(axis=1)
    var_tilde = np.maximum((p * w_tilde * w_tilde).sum(axis=1) - mean_tilde**2, 0.0)
    variance_star = _sum(group, var_tilde, n_groups)
    r0 = _estimator_term(
        estimator,
        theta,
        info=total_info,
        j_term=_sum(group, j_term, n_groups),
        prior_mean=prior_mean,
        prior_sd=prior_sd,
    )
    numerator_star = numerator + c_n * r0
    # The score term must make sense: where the information vanishes nothing is assessable.
    variance_star = np.where(total_info > _TINY, variance_star, 0.0)
    return FitArrays(n_items, numerator, variance, numerator_star, variance_star)


def _estimator_term(
    estimator: Estimator,
    theta: Array,
    *,
    info: Array,
    j_term: Array,
    prior_mean: float,
    prior_sd: float,
) -> Array:
    r"""Snijders' :math:`r_0(\hat\theta)` of each estimator (Magis et al., 2012, Table 1)."""
    if estimator == "mle":
        return np.zeros_like(theta)
    if estimator in ("eap", "map"):
        return np.asarray((prior_mean - theta) / prior_sd**2)
    return np.divide(j_term, 2.0 * info, out=np.zeros_like(info), where=info > _TINY)


def pool_fit(
    pool: ItemPool,
    items: Index,
    categories: Index,
    group: Index,
    theta: Array,
    *,
    estimator: Estimator,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
) -> FitArrays:
    """:math:`l_z` and :math:`l_z^*` pieces for answers to pool items, one group per estimate.

    Parameters
    ----------
    pool
        The compiled bank.
    items, categories
        ``(E,)`` pool indices and score categories of the answers.
    group
        ``(E,)`` which estimate each answer belongs to (index into ``theta``).
    theta
        ``(G,)`` the estimates, one per group.

    Notes
    -----
    One call evaluates every answer's item at its own group's estimate
    (:meth:`engine.pool.ItemPool.derivatives` with per-item abilities): no loop over items.
    """
    items = np.asarray(items, dtype=np.intp)
    categories = np.asarray(categories, dtype=np.intp)
    group = np.asarray(group, dtype=np.intp)
    theta = np.asarray(theta, dtype=np.float64).reshape(-1)
    n_groups = theta.size
    if items.size == 0:
        empty = np.zeros(n_groups)
        return FitArrays(np.zeros(n_groups, dtype=np.intp), empty, empty, empty, empty)
    p, dp, d2p = pool.derivatives(items, theta[group][:, None])
    return fit_from_probabilities(
        p[..., 0],
        dp[..., 0],
        d2p[..., 0],
        categories,
        group=group,
        n_groups=n_groups,
        theta=theta,
        estimator=estimator,
        prior_mean=prior_mean,
        prior_sd=prior_sd,
    )


# --------------------------------------------------------------------------- per learner


class CompetencyFit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Person fit on one competency: ``None`` where the statistic is undefined."""

    competency: str
    items: int
    lz: float | None
    lz_star: float | None


class PersonFit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    r"""A learner's person fit: per competency and for the whole session.

    ``lz_star`` is Snijders' :math:`l_z^*` over every operational answer (the competencies'
    parts added); ``p_value`` is its one-sided :math:`\Phi(l_z^*)`.
    """

    estimator: Estimator
    items: int
    lz: float | None
    lz_star: float | None
    p_value: float | None
    competencies: tuple[CompetencyFit, ...]


def _value(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def learner_fit(
    pool: ItemPool,
    items: Index,
    categories: Index,
    theta: Array,
    *,
    estimator: Estimator,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
) -> PersonFit:
    """Person fit of one learner's operational answers at their per-competency estimates.

    Parameters
    ----------
    items, categories
        The answered operational items (pool indices) and their score categories.
    theta
        ``(K,)`` the learner's estimate on each competency of the pool.
    """
    items = np.asarray(items, dtype=np.intp)
    group = pool.competency[items] if items.size else np.zeros(0, dtype=np.intp)
    parts = pool_fit(
        pool,
        items,
        categories,
        group,
        theta,
        estimator=estimator,
        prior_mean=prior_mean,
        prior_sd=prior_sd,
    )
    whole = parts.combine(np.zeros(pool.n_competencies, dtype=np.intp), 1)
    lz_star = float(whole.lz_star[0])
    return PersonFit(
        estimator=estimator,
        items=int(items.size),
        lz=_value(float(whole.lz[0])),
        lz_star=_value(lz_star),
        p_value=None if np.isnan(lz_star) else float(ndtr(lz_star)),
        competencies=tuple(
            CompetencyFit(
                competency=cid,
                items=int(parts.n_items[k]),
                lz=_value(float(parts.lz[k])),
                lz_star=_value(float(parts.lz_star[k])),
            )
            for k, cid in enumerate(pool.competency_ids)
        ),
    )
