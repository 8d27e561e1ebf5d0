r"""Calibrating van der Linden's lognormal response-time model from stored times.

The model (van der Linden, 2006) for the log-time of person :math:`i` on item :math:`j`,

.. math:: y_{ij} = \ln t_{ij} = \beta_j - \tau_i + \varepsilon_{ij}/\alpha_j, \qquad
          \varepsilon_{ij} \sim N(0, 1), \qquad \tau_i \sim N(0, \sigma_\tau^2),

is a linear mixed model with one random person effect and an error variance per item. The
population mean speed is 0 (it identifies the :math:`\beta` scale). Parameters are estimated
by marginal maximum likelihood with the EM algorithm, every step in closed form: given the
data, :math:`\tau_i` is normal with

.. math:: v_i = \Big(\sigma_\tau^{-2} + \sum_{j \in J_i} \alpha_j^2\Big)^{-1}, \qquad
          m_i = v_i \sum_{j \in J_i} \alpha_j^2 (\beta_j - y_{ij}),

and the M-step is

.. math:: \beta_j = \overline{y_{ij} + m_i}, \qquad
          \alpha_j^{-2} = \overline{(y_{ij} - \beta_j + m_i)^2 + v_i}, \qquad
          \sigma_\tau^2 = \overline{m_i^2 + v_i},

means over the answers to item :math:`j` (persons for :math:`\sigma_\tau`). Only the answers
given enter (:math:`J_i` is person :math:`i`'s items), so CAT data with most of the table
empty calibrate as they are.

Standard errors come from the observed information of the marginal likelihood by Louis'
(1982) identity, exact for this model: the complete-data information minus the conditional
covariance of the complete-data score, whose parts are polynomials of degree two in
:math:`\tau_i` with the normal posterior's moments (:func:`observed_information`). They are
reported for :math:`\beta_j`, :math:`\alpha_j` (delta method from :math:`\log\alpha_j`) and
:math:`\sigma_\tau`.

References
----------
van der Linden, W. J. (2006). A lognormal model for response times on test items. *Journal
of Educational and Behavioral Statistics*, 31(2), 181-204.
Louis, T. A. (1982). Finding the observed information matrix when using the EM algorithm.
*Journal of the Royal Statistical Society, Series B*, 44(2), 226-233.
Dempster, A. P., Laird, N. M., & Rubin, D. B. (1977). Maximum likelihood from incomplete data
via the EM algorithm. *Journal of the Royal Statistical Society, Series B*, 39(1), 1-38.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import msgspec
import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from calibration.bank_update import updated_bank
from calibration.errors import CalibrationError, CalibrationWarning
from calibration.timed_data import TimedResponses
from item_banks.model import Bank, TimeParameterErrors, TimeParameters

Array = NDArray[np.float64]
#: Items with fewer timed answers than this keep their bank values (or get none).
MIN_TIMED_ANSWERS = 20
_ALPHA_MAX = 50.0


@dataclass(frozen=True)
class TimeModelFit:
    """A calibrated lognormal response-time model.

    Attributes
    ----------
    item_ids
        The calibrated items (data order, excluded items left out).
    alpha, beta, se_alpha, se_beta
        Item parameters and their standard errors.
    n_answers
        Timed answers per calibrated item.
    sigma_tau, se_sigma_tau
        SD of the population's speed and its standard error.
    n_persons
        Persons with at least one timed answer to a calibrated item.
    loglik
        Marginal log-likelihood at the estimates (log-seconds scale).
    iterations, converged
        EM steps taken, and whether the largest change fell below the tolerance.
    excluded
        ``item id -> reason`` for items left out.
    warnings
        Located notes for the user (excluded items, non-convergence).
    """

    item_ids: tuple[str, ...]
    alpha: Array
    beta: Array
    se_alpha: Array
    se_beta: Array
    n_answers: NDArray[np.intp]
    sigma_tau: float
    se_sigma_tau: float
    n_persons: int
    loglik: float
    iterations: int
    converged: bool
    excluded: dict[str, str]
    warnings: tuple[CalibrationWarning, ...]

    def parameters(self) -> dict[str, TimeParameters]:
        """The bank fields of every calibrated item, rounded to 4 decimals."""
        return {
            item: TimeParameters(
                alpha=round(float(a), 4),
                beta=round(float(b), 4),
                se=TimeParameterErrors(alpha=round(float(sa), 4), beta=round(float(sb), 4)),
            )
            for item, a, b, sa, sb in zip(
                self.item_ids, self.alpha, self.beta, self.se_alpha, self.se_beta, strict=True
            )
        }


@dataclass(frozen=True)
class _Design:
    """Timed answers to the calibrated items, as parallel arrays."""

    person: NDArray[np.intp]  # compact person index
    item: NDArray[np.intp]  # compact item index
    y: Array  # log-seconds
    n_persons: int
    n_items: int


def _by(index: NDArray[np.intp], weights: Array | None, n: int) -> Array:
    """Sums of ``weights`` (counts without) per value of ``index``, as floats."""
    return np.asarray(np.bincount(index, weights=weights, minlength=n), dtype=np.float64)


def _posterior(d: _Design, alpha: Array, beta: Array, sigma: float) -> tuple[Array, Array]:
    """Posterior mean and variance of every person's speed."""
    w = alpha[d.item] ** 2
    precision = 1.0 / sigma**2 + _by(d.person, w, d.n_persons)
    v = 1.0 / precision
    m = v * _by(d.person, w * (beta[d.item] - d.y), d.n_persons)
    return m, v


def marginal_loglik(d: _Design, alpha: Array, beta: Array, sigma: float) -> float:
    r"""Marginal log-likelihood, person by person in closed form (Woodbury).

    With :math:`e = y - \beta`, :math:`S = \sum \alpha_j^2`, :math:`U = \sum\alpha_j^2 e_j`:
    :math:`\log L_i = -\tfrac{n_i}{2}\log 2\pi + \sum\log\alpha_j
    - \tfrac12\log(1 + \sigma^2 S) - \tfrac12\big(\sum\alpha_j^2 e_j^2
    - \sigma^2 U^2 / (1 + \sigma^2 S)\big)`.
    """
    w = alpha[d.item] ** 2
    e = d.y - beta[d.item]
    s = _by(d.person, w, d.n_persons)
    u = _by(d.person, w * e, d.n_persons)
    q = _by(d.person, w * e * e, d.n_persons)
    k = 1.0 + sigma**2 * s
    total = (
        -0.5 * d.y.size * math.log(2.0 * math.pi)
        + float(np.log(alpha[d.item]).sum())
        - 0.5 * float(np.log(k).sum())
        - 0.5 * float((q - sigma**2 * u * u / k).sum())
    )
    return total


def observed_information(d: _Design, alpha: Array, beta: Array, sigma: float) -> Array:
    r"""Observed information of the item parameters and the speed SD (Louis, 1982).

    The order is :math:`(\beta_1..\beta_J, \log\alpha_1..\log\alpha_J, \log\sigma_\tau)`.

    Louis (1982): :math:`I = \sum_i E[-\nabla^2 \ell^c_i \mid y_i] - \operatorname{Cov}
    [\nabla \ell^c_i \mid y_i]`. The complete-data score of person :math:`i` is
    :math:`g_0 + g_1\tau_i + g_2\tau_i^2` with, per answer, :math:`\partial_{\beta_j} =
    \alpha_j^2(e + \tau)`, :math:`\partial_{\log\alpha_j} = 1 - \alpha_j^2(e + \tau)^2`, and
    :math:`\partial_{\log\sigma} = -1 + \tau^2/\sigma^2`, so its covariance is
    :math:`[g_1\ g_2]\,C_i\,[g_1\ g_2]^\top` with
    :math:`C_i = \begin{pmatrix} v & 2mv \\ 2mv & 4m^2v + 2v^2\end{pmatrix}` (moments of
    :math:`N(m_i, v_i)`).
    """
    n_items = d.n_items
    size = 2 * n_items + 1
    sigma_col = 2 * n_items
    m, v = _posterior(d, alpha, beta, sigma)
    a2 = alpha[d.item] ** 2
    e = d.y - beta[d.item]
    u = e + m[d.person]  # expected residual
    # complete-data information (expected given the data)
    info = np.zeros((size, size))
    diag_b = _by(d.item, a2, n_items)
    cross = _by(d.item, -2.0 * a2 * u, n_items)
    diag_l = _by(d.item, 2.0 * a2 * (u * u + v[d.person]), n_items)
    j = np.arange(n_items)
    info[j, j] = diag_b
    info[j, n_items + j] = cross
    info[n_items + j, j] = cross
    info[n_items + j, n_items + j] = diag_l
    info[sigma_col, sigma_col] = 2.0 * float((m * m + v).sum()) / sigma**2
    # coefficients of tau and tau^2 in each person's complete-data score
    rows = np.concatenate((d.person, d.person))
    cols = np.concatenate((d.item, n_items + d.item))
    g1 = sparse.csr_matrix(
        (np.concatenate((a2, -2.0 * a2 * e)), (rows, cols)), shape=(d.n_persons, size)
    )
    persons = np.arange(d.n_persons)
    g2 = sparse.csr_matrix(
        (
            np.concatenate((-a2, np.full(d.n_persons, 1.0 / sigma**2))),
            (
                np.concatenate((d.person, persons)),
                np.concatenate((n_items + d.item, np.full(d.n_persons, sigma_col))),
            ),
        ),
        shape=(d.n_persons, size),
    )
    c11 = sparse.diags(v)
    c12 = sparse.diags(2.0 * m * v)
    c22 = sparse.diags(4.0 * m * m * v + 2.0 * v * v)
    missing = g1.T @ c11 @ g1 + g1.T @ c12 @ g2 + g2.T @ c12 @ g1 + g2.T @ c22 @ g2
    return np.asarray(info - missing.toarray())


def _design(data: TimedResponses, keep: NDArray[np.bool_]) -> tuple[_Design, NDArray[np.intp]]:
    usable = np.isfinite(data.seconds) & (data.seconds > 0) & keep[data.item]
    items = np.flatnonzero(keep)
    item_map = np.full(len(data.item_ids), -1, dtype=np.intp)
    item_map[items] = np.arange(items.size)
    person_used = np.unique(data.person[usable])
    person_map = np.full(len(data.person_ids), -1, dtype=np.intp)
    person_map[person_used] = np.arange(person_used.size)
    design = _Design(
        person=person_map[data.person[usable]],
        item=item_map[data.item[usable]],
        y=np.log(data.seconds[usable]),
        n_persons=int(person_used.size),
        n_items=int(items.size),
    )
    return design, items


def calibrate_times(
    data: TimedResponses,
    *,
    min_answers: int = MIN_TIMED_ANSWERS,
    tol: float = 1e-6,
    max_iterations: int = 5000,
) -> TimeModelFit:
    r"""Estimate the lognormal model's item parameters and speed SD by MML (EM).

    Parameters
    ----------
    data
        Answers with response times (long form); answers without a time drop out.
    min_answers
        Items with fewer timed answers are excluded with a warning.
    tol
        Convergence: the largest change of any :math:`\beta_j`, :math:`\log\alpha_j` or
        :math:`\log\sigma_\tau` in one EM step.

    Raises
    ------
    CalibrationError
        When no item has enough timed answers, or fewer than two persons have times.
    """
    timed = np.isfinite(data.seconds) & (data.seconds > 0)
    counts = _by(data.item[timed], None, len(data.item_ids))
    warnings: list[CalibrationWarning] = list(data.warnings)
    excluded: dict[str, str] = {}
    keep = counts >= min_answers
    for k in np.flatnonzero(~keep):
        reason = f"{int(counts[k])} timed answers (needs {min_answers})"
        excluded[data.item_ids[k]] = reason
    # an item whose log-times do not vary has no finite alpha
    log_t = np.log(np.where(timed, data.seconds, 1.0))
    n_all = len(data.item_ids)
    for_items = data.item[timed]
    mean = _by(for_items, log_t[timed], n_all) / np.maximum(counts, 1)
    spread = _by(for_items, (log_t[timed] - mean[for_items]) ** 2, n_all)
    flat = keep & (spread <= 1e-12)
    for k in np.flatnonzero(flat):
        excluded[data.item_ids[k]] = "every timed answer took the same time"
    keep &= ~flat
    for item_id, reason in excluded.items():
        warnings.append(
            CalibrationWarning(
                kind="not_estimable",
                subject=f'item "{item_id}"',
                message=f"no time parameters estimated: {reason}",
            )
        )
    if not keep.any():
        raise CalibrationError(
            f"{data.source}: no item has {min_answers} or more timed answers; "
            "nothing to calibrate (see the warnings)"
        )
    d, items = _design(data, keep)
    if d.n_persons < 2:
        raise CalibrationError(f"{data.source}: fewer than two persons have response times")
    # start: item means and the pooled residual SD after removing person means
    n_per_item = _by(d.item, None, d.n_items)
    beta = _by(d.item, d.y, d.n_items) / n_per_item
    person_mean = _by(d.person, d.y - beta[d.item], d.n_persons)
    person_mean /= _by(d.person, None, d.n_persons)
    resid = d.y - beta[d.item] - person_mean[d.person]
    var = _by(d.item, resid**2, d.n_items) / n_per_item
    alpha = 1.0 / np.sqrt(np.maximum(var, 1e-4))
    sigma = max(float(np.std(person_mean)), 0.05)
    converged = False
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 (the count is reported)
        m, v = _posterior(d, alpha, beta, sigma)
        new_beta = _by(d.item, d.y + m[d.person], d.n_items)
        new_beta /= n_per_item
        r = d.y - new_beta[d.item] + m[d.person]
        inv_a2 = _by(d.item, r * r + v[d.person], d.n_items)
        inv_a2 /= n_per_item
        new_alpha = np.minimum(1.0 / np.sqrt(inv_a2), _ALPHA_MAX)
        new_sigma = math.sqrt(float((m * m + v).mean()))
        change = max(
            float(np.abs(new_beta - beta).max()),
            float(np.abs(np.log(new_alpha / alpha)).max()),
            abs(math.log(new_sigma / sigma)),
        )
        alpha, beta, sigma = new_alpha, new_beta, new_sigma
        if change < tol:
            converged = True
            break
    if not converged:
        warnings.append(
            CalibrationWarning(
                kind="not_converged",
                subject=data.source,
                message=f"EM stopped after {iterations} steps above the tolerance {tol:g}",
            )
        )
    info = observed_information(d, alpha, beta, sigma)
    try:
        cov = np.linalg.inv(info)
        se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    except np.linalg.LinAlgError:
        se = np.full(info.shape[0], np.nan)
        warnings.append(
            CalibrationWarning(
                kind="no_standard_errors",
                subject=data.source,
                message="the information matrix is singular: no standard errors",
            )
        )
    n = d.n_items
    return TimeModelFit(
        item_ids=tuple(data.item_ids[k] for k in items),
        alpha=alpha,
        beta=beta,
        se_alpha=alpha * se[n : 2 * n],
        se_beta=se[:n],
        n_answers=_by(d.item, None, n).astype(np.intp),
        sigma_tau=sigma,
        se_sigma_tau=sigma * float(se[2 * n]),
        n_persons=d.n_persons,
        loglik=marginal_loglik(d, alpha, beta, sigma),
        iterations=iterations,
        converged=converged,
        excluded=excluded,
        warnings=tuple(warnings),
    )


def with_time_parameters(
    bank: Bank, parameters: Mapping[str, TimeParameters], *, note: str
) -> Bank:
    """``bank`` with the given items' response-time parameters set, as a new version.

    The result is validated like any calibrated bank (:func:`calibration.bank_update.updated_bank`:
    version bumped, ``note`` appended to the notes, schema limits and cross checks).

    Raises
    ------
    CalibrationError
        When an item id is not in the bank, or the result does not fit the bank schema.
    BankValidationError
        When the result fails the bank's cross checks.
    """
    known = {item.id for item in bank.items}
    unknown = sorted(set(parameters) - known)
    if unknown:
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise CalibrationError(f"items not in the bank: {', '.join(unknown[:10])}{more}")
    items = tuple(
        msgspec.structs.replace(item, time=parameters[item.id]) if item.id in parameters else item
        for item in bank.items
    )
    return updated_bank(msgspec.structs.replace(bank, items=items), {}, note=note)
