r"""Response times in a session: speed, response-time person fit, rapid guesses, reading time.

The lognormal model of van der Linden (2006) gives each item a time intensity
:math:`\beta_j` and a time discrimination :math:`\alpha_j` (bank field ``time``), and each
learner a speed :math:`\tau_i`:

.. math:: \ln T_{ij} \sim N\!\left(\beta_j - \tau_i,\; \alpha_j^{-2}\right).

Given the items, the learner's speed has the closed-form ML estimate (a precision-weighted
mean) and standard error

.. math:: \hat\tau = \frac{\sum_j \alpha_j^2 (\beta_j - \ln t_j)}{\sum_j \alpha_j^2}, \qquad
          SE(\hat\tau) = \Big(\sum_j \alpha_j^2\Big)^{-1/2},

and the standardised log-time residuals (van der Linden & Guo, 2008)

.. math:: z_j = \alpha_j\left(\ln t_j - (\beta_j - \hat\tau)\right).

The response-time person-fit statistic is their sum of squares,
:math:`l_t = \sum_j z_j^2` (Marianti, Fox, Avetisyan, Veldkamp & Tijmstra, 2014). Because
:math:`\hat\tau` is the weighted least-squares fit of one parameter to normal log-times,
:math:`l_t` is *exactly* :math:`\chi^2_{n-1}` under the model (given the item parameters);
a large value says the learner's times do not follow the items' time intensities, as when
some items are answered far faster than the learner's own pace (preknowledge) or at random.

Two simpler flags need no person model:

* **Rapid guess** (Wise & Ma, 2012, normative threshold NT10): a time below 10 % of the
  item's mean time, at most 10 s. The mean time of a learner of average speed is
  :math:`E(T_j) = \exp(\beta_j + 1/(2\alpha_j^2))`. Items without time parameters have no
  threshold (NaN: never a rapid guess).
* **Too fast to read**: a time below what reading the stem and options takes at a given
  speed, ``words * 60 / words_per_minute`` (:func:`item_banks.reading.reading_words`).

References
----------
van der Linden, W. J. (2006). A lognormal model for response times on test items. *Journal
of Educational and Behavioral Statistics*, 31(2), 181-204.
van der Linden, W. J., & Guo, F. (2008). Bayesian procedures for identifying aberrant
response-time patterns in adaptive testing. *Psychometrika*, 73(3), 365-384.
Marianti, S., Fox, J.-P., Avetisyan, M., Veldkamp, B. P., & Tijmstra, J. (2014). Testing for
aberrant behavior in response time modeling. *Journal of Educational and Behavioral
Statistics*, 39(6), 426-451.
Wise, S. L., & Ma, L. (2012). Setting response time thresholds for a CAT item pool: The
normative threshold method. Paper at the annual meeting of NCME, Vancouver.
Wise, S. L., & Kong, X. (2005). Response time effort: A new measure of examinee motivation
in computer-based tests. *Applied Measurement in Education*, 18(2), 163-183.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import chdtrc

from engine.irt.generic import Array
from engine.pool import Index, ItemPool
from item_banks.model import Bank
from item_banks.reading import reading_words


@dataclass(frozen=True, eq=False, slots=True)
class ItemTiming:
    """Response-time parameters and reading load of every pool item (pool order).

    Attributes
    ----------
    alpha, beta
        The lognormal model's parameters; NaN for items the bank gives none.
    words
        Words in each item's stem and options.
    """

    alpha: Array
    beta: Array
    words: NDArray[np.intp]

    @property
    def timed(self) -> NDArray[np.bool_]:
        """Items with response-time parameters."""
        return np.asarray(np.isfinite(self.alpha))

    def mean_seconds(self) -> Array:
        r""":math:`E(T_j) = \exp(\beta_j + 1/(2\alpha_j^2))` at average speed (NaN if untimed)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(np.exp(self.beta + 0.5 / self.alpha**2))

    def rapid_threshold(self, fraction: float = 0.10, max_seconds: float = 10.0) -> Array:
        """Wise & Ma's normative threshold: ``fraction`` of the mean time, at most ``max_seconds``.

        NaN for items without time parameters (no response is a rapid guess there).
        """
        return np.asarray(np.minimum(fraction * self.mean_seconds(), max_seconds))

    def reading_seconds(self, words_per_minute: float) -> Array:
        """Seconds needed to read each item's stem and options at ``words_per_minute``."""
        return np.asarray(self.words * (60.0 / words_per_minute))


def compile_timing(bank: Bank, pool: ItemPool) -> ItemTiming:
    """The timing table of ``pool`` (compiled from ``bank``)."""
    n = pool.n_items
    alpha = np.full(n, np.nan)
    beta = np.full(n, np.nan)
    words = np.zeros(n, dtype=np.intp)
    for item in bank.items:
        index = pool.index.get(item.id)
        if index is None:
            continue
        words[index] = reading_words(item)
        if item.time is not None:
            alpha[index] = item.time.alpha
            beta[index] = item.time.beta
    return ItemTiming(alpha=alpha, beta=beta, words=words)


@dataclass(frozen=True, slots=True)
class SpeedFit:
    r"""Speed and response-time person fit per group (learner).

    Attributes
    ----------
    n_items
        Answers with a time and time parameters.
    tau, tau_se
        :math:`\hat\tau` and its SE (NaN with no such answers).
    lt, df, p_value
        :math:`l_t`, its degrees of freedom :math:`n - 1` and :math:`P(\chi^2_{n-1} \ge l_t)`
        (NaN with fewer than two answers).
    residuals
        ``(E,)`` standardised log-time residuals :math:`z_j` of the answers (NaN where
        untimed).
    """

    n_items: NDArray[np.intp]
    tau: Array
    tau_se: Array
    lt: Array
    df: NDArray[np.intp]
    p_value: Array
    residuals: Array


def speed_fit(alpha: Array, beta: Array, seconds: Array, group: Index, n_groups: int) -> SpeedFit:
    r"""ML speed, log-time residuals and :math:`l_t` of every group, vectorised over answers.

    Parameters
    ----------
    alpha, beta
        ``(E,)`` the answered items' time parameters (NaN: untimed item, left out).
    seconds
        ``(E,)`` response times in seconds (NaN or <= 0: unknown, left out).
    group
        ``(E,)`` the learner each answer belongs to.

    Returns
    -------
    SpeedFit
        :math:`\hat\tau = \sum \alpha^2(\beta - \ln t) / \sum\alpha^2`,
        :math:`z = \alpha(\ln t - \beta + \hat\tau)`, :math:`l_t = \sum z^2 \sim
        \chi^2_{n-1}` (van der Linden, 2006; van der Linden & Guo, 2008; Marianti et al.,
        2014).
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    seconds = np.asarray(seconds, dtype=np.float64)
    group = np.asarray(group, dtype=np.intp)
    use = np.isfinite(alpha) & np.isfinite(beta) & np.isfinite(seconds) & (seconds > 0)
    log_t = np.log(np.where(use, seconds, 1.0))
    weight = np.where(use, alpha, 0.0) ** 2
    n_items = np.bincount(group, weights=use, minlength=n_groups).astype(np.intp)
    precision = np.bincount(group, weights=weight, minlength=n_groups)
    top = np.bincount(group, weights=weight * np.where(use, beta - log_t, 0.0), minlength=n_groups)
    has = precision > 0
    tau = np.full(n_groups, np.nan)
    np.divide(top, precision, out=tau, where=has)
    tau_se = np.full(n_groups, np.nan)
    np.divide(1.0, np.sqrt(np.where(has, precision, 1.0)), out=tau_se, where=has)
    residuals = np.where(use, np.where(use, alpha, 0.0) * (log_t - beta + tau[group]), np.nan)
    squares = np.bincount(group, weights=np.where(use, residuals, 0.0) ** 2, minlength=n_groups)
    df = np.maximum(n_items - 1, 0)
    enough = n_items >= 2
    lt: Array = np.where(enough, squares, np.nan).astype(np.float64)
    p_value = np.full(n_groups, np.nan)
    p_value[enough] = chdtrc(df[enough], lt[enough])
    return SpeedFit(n_items, tau, tau_se, lt, df.astype(np.intp), p_value, residuals)
