r"""Reliability as psychometricians report it: marginal, empirical, and the information curve.

Test information
    :math:`I(\theta) = \sum_i \sum_k P_{ik}'(\theta)^2 / P_{ik}(\theta)` over the scale's
    items (Samejima, 1969), with the standard error of measurement
    :math:`SE(\theta) = I(\theta)^{-1/2}`.

Marginal reliability
    The conditional reliability :math:`\rho(\theta) = \sigma^2 I(\theta) / (\sigma^2
    I(\theta) + 1)` (true-score variance over true plus error variance at
    :math:`\theta`) averaged over the fitted population :math:`N(\mu, \sigma^2)`
    (Green, Bock, Humphreys, Linn & Reckase, 1984):

    .. math:: \bar\rho = \int \frac{\sigma^2 I(\theta)}{\sigma^2 I(\theta) + 1}\,
              \phi(\theta; \mu, \sigma)\, d\theta,

    evaluated by Gauss-Hermite quadrature with :data:`HERMITE_NODES` nodes. For the standard
    population (:math:`\mu = 0, \sigma = 1`, every free calibration) this is R mirt's
    ``marginal_rxx``, which integrates :math:`I / (I + \sigma^2)` against the standard normal
    density; for other populations (Rasch models, fixed-parameter calibration) mirt's
    integrand mixes the two scales and the formula above is the consistent one.

Empirical reliability
    Of the EAP scores (R mirt's ``empirical_rxx``): the variance of the estimates over the
    variance of the estimates plus the mean squared standard error,

    .. math:: \hat\rho = \frac{\widehat{\operatorname{var}}(\hat\theta)}
              {\widehat{\operatorname{var}}(\hat\theta) + \overline{SE^2}},

    with the sample variance (denominator :math:`n - 1`), as mirt computes it.

Both lie in :math:`[0, 1)`; marginal reliability grows with every item added, because each
item adds non-negative information at every :math:`\theta`.

References
----------
Green, B. F., Bock, R. D., Humphreys, L. G., Linn, R. L., & Reckase, M. D. (1984).
Technical guidelines for assessing computerized adaptive tests. *Journal of Educational
Measurement*, 21(4), 347-360.
Samejima, F. (1969). Estimation of latent ability using a response pattern of graded scores.
*Psychometrika Monograph Supplement*, 17.
Chalmers, R. P. (2012). mirt: A multidimensional item response theory package for the R
environment. *Journal of Statistical Software*, 48(6), 1-29.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy.special import roots_hermitenorm

from calibration.fit import person_eap
from engine.irt.generic import information_from_derivatives
from engine.pool import Index, ItemPool

if TYPE_CHECKING:
    from calibration.workflow import ScaleCalibration

Array = NDArray[np.float64]
#: Gauss-Hermite nodes for the marginal reliability (exact for polynomials of degree 401).
HERMITE_NODES = 201


@dataclass(frozen=True)
class Reliability:
    """The reliabilities of one scale and the population they refer to."""

    marginal: float
    empirical: float
    mean: float
    sd: float
    n_persons: int


def information_curve(pool: ItemPool, items: Index, theta: Array) -> Array:
    r"""Test information :math:`I(\theta) = \sum_i I_i(\theta)` of ``items`` at ``theta``."""
    theta = np.asarray(theta, dtype=np.float64)
    items = np.asarray(items, dtype=np.intp)
    if items.size == 0:
        return np.zeros_like(theta)
    p, dp, _ = pool.derivatives(items, theta)
    return np.asarray(information_from_derivatives(p, dp).sum(axis=0))


def marginal_reliability(pool: ItemPool, items: Index, mean: float = 0.0, sd: float = 1.0) -> float:
    r"""Marginal reliability over :math:`N(\mu, \sigma^2)` (see the module documentation).

    .. math:: \bar\rho = \int \frac{\sigma^2 I(\theta)}{\sigma^2 I(\theta) + 1}\,
              \phi(\theta; \mu, \sigma)\, d\theta

    Returns 0 for no items.
    """
    if not (math.isfinite(sd) and sd > 0):
        raise ValueError(f"the population SD must be a positive number, got {sd}")
    nodes, weights = roots_hermitenorm(HERMITE_NODES)
    theta = mean + sd * nodes
    info = information_curve(pool, items, theta)
    conditional = sd * sd * info / (sd * sd * info + 1.0)
    return float(np.clip(weights @ conditional / math.sqrt(2.0 * math.pi), 0.0, 1.0))


def empirical_reliability(theta: Array, se: Array, weights: Array | None = None) -> float:
    r"""Empirical reliability of ability estimates with standard errors (mirt's).

    .. math:: \hat\rho = \frac{\widehat{\operatorname{var}}(\hat\theta)}
              {\widehat{\operatorname{var}}(\hat\theta) + \overline{SE^2}}

    Parameters
    ----------
    theta, se
        Estimates and their standard errors; non-finite estimates are left out.
    weights
        Frequency weights (e.g. counts of collapsed response patterns).

    Returns
    -------
    float
        In :math:`[0, 1]`; NaN with fewer than two persons (no variance to speak of).
    """
    theta = np.asarray(theta, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    w = np.ones_like(theta) if weights is None else np.asarray(weights, dtype=np.float64)
    keep = np.isfinite(theta) & np.isfinite(se) & (w > 0)
    theta, se, w = theta[keep], se[keep], w[keep]
    total = float(w.sum())
    if total < 2.0:
        return math.nan
    mean = float(w @ theta) / total
    variance = float(w @ (theta - mean) ** 2) / (total - 1.0)
    error = float(w @ (se * se)) / total
    if variance + error <= 0.0:
        return math.nan
    return variance / (variance + error)


def population(scale: ScaleCalibration) -> tuple[float, float]:
    """The fitted population's mean and SD on the scale of the bank's parameters."""
    r = scale.result
    if scale.linking is None:
        return r.latent_mean, r.latent_sd
    return scale.linking.a * r.latent_mean + scale.linking.b, scale.linking.a * r.latent_sd


def scale_reliability(scale: ScaleCalibration, pool: ItemPool) -> Reliability:
    """Marginal and empirical (EAP) reliability of one calibrated scale.

    The items are the scale's items in ``pool`` (the calibrated bank), the population the
    fitted one; the EAP estimates and posterior SDs are those of the calibration's persons
    under the fitted model (:func:`calibration.fit.person_eap`).
    """
    mean, sd = population(scale)
    items = np.array([pool.index[i] for i in scale.status if i in pool.index], dtype=np.intp)
    eap, posterior_sd = person_eap(scale.result)
    counts = scale.result.model.design.counts
    return Reliability(
        marginal=marginal_reliability(pool, items, mean, sd),
        empirical=empirical_reliability(eap, posterior_sd, counts),
        mean=mean,
        sd=sd,
        n_persons=scale.result.n_persons,
    )
