r"""Model and item fit: S-X2, infit/outfit, M2 with RMSEA and SRMSR, G2, Q3.

Item fit
    **S-X2** (Orlando & Thissen, 2000; polytomous: Kang & Chen, 2008) compares, within each
    summed score :math:`s`, the observed proportion of each category of item :math:`i` with
    the model's

    .. math:: E_{iks} = \frac{\sum_q P_{ik}(\theta_q)\, f_{-i}(s - k \mid \theta_q)\,\pi_q}
                             {\sum_q f(s \mid \theta_q)\,\pi_q},

    where :math:`f` and :math:`f_{-i}` are the summed-score likelihoods with and without the
    item (Lord & Wingersky, 1984, recursion). :math:`S\text{-}X^2_i = \sum_s N_s \sum_k
    (O_{iks} - E_{iks})^2 / E_{iks}` over the scores :math:`1..S-1`, after merging adjacent
    score groups from the tails until every expected count is at least ``mincell`` (mirt's
    default 1); df = cells - groups - estimated parameters. It needs complete data.

    **Infit / outfit** mean squares (Wright & Masters, 1982) use each person's EAP estimate:
    outfit is the mean squared standardised residual, infit the information-weighted one
    :math:`\sum (x - E)^2 / \sum V`. Both work with missing responses.

Model fit
    **M2** (Maydeu-Olivares & Joe, 2005, 2006) on the first and second moments of the item
    scores (for dichotomous items these are the univariate and bivariate margins; for
    polytomous items the moments, as mirt's collapsed M2*):

    .. math:: M_2 = N\, e^\top \left[\Xi^{-1} - \Xi^{-1}\Delta(\Delta^\top\Xi^{-1}\Delta)^{-1}
              \Delta^\top\Xi^{-1}\right] e,

    with :math:`e` the residual moments, :math:`\Xi` their covariance under the model and
    :math:`\Delta` their Jacobian in the parameters; df = moments - parameters; RMSEA
    :math:`= \sqrt{\max(M_2 - df, 0) / (N\, df)}` with a 90 % interval from the noncentral
    :math:`\chi^2`; SRMSR the root mean square of the residual correlations.
    **G2** is the full-table likelihood ratio against the saturated model, reported when
    the number of possible patterns is small; log-likelihood, AIC and BIC are on the result.

Missing responses
    Infit, outfit and Q3 use each person's own responses and work with missing data. S-X2,
    M2 and G2 are not computed when responses are missing, and the note says why. S-X2
    groups persons by their summed score over the same items, and with missing responses
    summed scores are over different items. M2 and G2 compare the observed item margins
    and pairs with the population model's, but with missing responses each margin comes
    only from the persons who got the item; in adaptive data those persons were chosen by
    their earlier answers (missing at random, not completely at random), so their margins
    are not the population's and the comparison would reject a true model. R mirt offers
    these statistics with missing data only by imputing the missing responses from the
    fitted model (plausible values); with 85 % of a CAT's table imputed, the statistic
    mostly compares the model with its own predictions and loses its power, so it is not
    offered here. Per-form statistics for designs missing completely at random (fixed
    forms with common items) would be valid and are not implemented.

Local dependence
    **Q3** (Yen, 1984): correlations of the residuals :math:`x - E(\theta_{EAP})` between
    item pairs over the persons who answered both; pairs with
    :math:`Q_3 - \bar Q_3 > 0.2` are flagged (Christensen, Makransky & Horton, 2017).

References
----------
Orlando, M., & Thissen, D. (2000). Likelihood-based item-fit indices for dichotomous item
response theory models. *Applied Psychological Measurement*, 24(1), 50-64.
Kang, T., & Chen, T. T. (2008). Performance of the generalized S-X2 item fit index for
polytomous IRT models. *Journal of Educational Measurement*, 45(4), 391-406.
Lord, F. M., & Wingersky, M. S. (1984). Comparison of IRT true-score and equipercentile
observed-score "equatings". *Applied Psychological Measurement*, 8(4), 453-461.
Wright, B. D., & Masters, G. N. (1982). *Rating Scale Analysis*. MESA Press.
Maydeu-Olivares, A., & Joe, H. (2006). Limited information goodness-of-fit testing in
multidimensional contingency tables. *Psychometrika*, 71(4), 713-732.
Yen, W. M. (1984). Effects of local item dependence on the fit and equating performance of
the three-parameter logistic model. *Applied Psychological Measurement*, 8(2), 125-145.
Christensen, K. B., Makransky, G., & Horton, M. (2017). Critical values for Yen's Q3.
*Applied Psychological Measurement*, 41(3), 178-194.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats
from scipy.linalg import cho_solve
from scipy.optimize import brentq

from calibration.em import FitResult
from calibration.sparse_estep import SparseDesign
from calibration.standard_errors import shared_slope_map

Array = NDArray[np.float64]
#: M2 is computed up to this many items (its moment covariance grows as J^4).
M2_MAX_ITEMS = 100
#: The full-table G2 is reported while the number of possible patterns stays below this.
G2_MAX_PATTERNS = 2**16
#: Q3 is not computed for incomplete data with more persons than this: it flags no pair
#: there (see :func:`q3`), and its item x item products cost persons x items squared.
Q3_MAX_INCOMPLETE = 50_000


@dataclass(frozen=True, kw_only=True)
class ItemFit:
    """Fit of one item (``nan`` where a statistic is not available)."""

    item: str
    n: int
    s_x2: float
    df: int
    p_value: float
    rmsea: float
    infit: float
    outfit: float


@dataclass(frozen=True)
class ModelFit:
    """Overall fit; ``notes`` says why a statistic is missing."""

    loglik: float
    aic: float
    bic: float
    n_parameters: int
    n_persons: int
    m2: float | None = None
    m2_df: int | None = None
    m2_p: float | None = None
    rmsea: float | None = None
    rmsea_ci: tuple[float, float] | None = None
    srmsr: float | None = None
    g2: float | None = None
    g2_df: int | None = None
    g2_p: float | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LocalDependence:
    """Yen's Q3 matrix (NaN where two items share too few persons) and flagged pairs."""

    q3: Array
    mean: float
    flagged: tuple[tuple[str, str, float], ...]
    note: str = ""


# --------------------------------------------------------------------------- helpers


def _missing_share(result: FitResult) -> float:
    """Share of the (weighted) person x item table that is not administered."""
    design = result.model.design
    answered = float(design.answered_per_item().sum())
    total = max(float(design.counts.sum()) * design.n_items, 1e-300)
    return 1.0 - answered / total


def _weights(result: FitResult) -> Array:
    cal = result.model
    return np.exp(cal.quadrature.log_weights(cal.latent_mean, cal.latent_sd))


def person_eap(result: FitResult) -> tuple[Array, Array]:
    r"""EAP estimate and posterior SD of every (collapsed) pattern at the fitted parameters.

    :math:`\hat\theta_u = \sum_q \theta_q w_{uq}`, :math:`SD_u^2 = \sum_q (\theta_q -
    \hat\theta_u)^2 w_{uq}`, with :math:`w_{uq}` the posterior weights on the quadrature grid
    under the fitted population (Bock & Mislevy, 1982, *Applied Psychological Measurement*,
    6(4), 431-444).
    """
    cal = result.model
    design = cal.design
    theta = cal.theta
    mean = np.empty(design.n_patterns)
    sd = np.empty(design.n_patterns)
    log_prior = cal.quadrature.log_weights(cal.latent_mean, cal.latent_sd)
    for part, w, _, _, _ in design.posterior_chunks(cal.log_probabilities(cal.xi), log_prior):
        m = w @ theta
        mean[part] = m
        sd[part] = np.sqrt(np.maximum(w @ theta**2 - m * m, 0.0))
    return mean, sd


def _free_per_item(result: FitResult) -> NDArray[np.intp]:
    out = np.zeros(len(result.item_ids), dtype=np.intp)
    for item, (f, row) in enumerate(result.family_of):
        fam = result.model.families[f]
        if result.model.estimate[f][row]:
            out[item] = int(fam.free.sum()) - (1 if fam.shared_slope else 0)
    return out


def _summed_score_tables(p: Array, cats: NDArray[np.intp]) -> tuple[Array, Array]:
    """Lord-Wingersky: ``f(s | q)`` ``(S+1, Q)`` and leave-one-out ``f_-i`` ``(J, S+1, Q)``."""
    j, _, q = p.shape
    top = int((cats - 1).sum())
    full = np.zeros((top + 1, q))
    full[0] = 1.0
    loo = np.zeros((j, top + 1, q))
    loo[:, 0] = 1.0
    for k in range(j):  # the recursion runs over items in order; each step is vectorised
        ck = int(cats[k])
        new_full = np.zeros_like(full)
        new_loo = np.zeros_like(loo)
        for c in range(ck):
            new_full[c:] += full[: top + 1 - c] * p[k, c][None, :]
            new_loo[:, c:] += loo[:, : top + 1 - c] * p[k, c][None, None, :]
        keep = loo[k].copy()
        full, loo = new_full, new_loo
        loo[k] = keep
    return full, loo


def _merge_groups(
    observed: Array, expected: Array, mincell: float
) -> tuple[list[Array], list[Array]]:
    """Merge adjacent score groups from both tails until expected counts reach ``mincell``."""
    groups_o = [observed[s] for s in range(observed.shape[0])]
    groups_e = [expected[s] for s in range(expected.shape[0])]
    if mincell <= 0:
        return groups_o, groups_e

    def small(e: Array) -> bool:
        return bool(((e > 0) & (e < mincell)).any() or e.sum() <= 0)

    while len(groups_e) > 1 and small(groups_e[0]):
        groups_o[1] = groups_o[0] + groups_o[1]
        groups_e[1] = groups_e[0] + groups_e[1]
        del groups_o[0], groups_e[0]
    while len(groups_e) > 1 and small(groups_e[-1]):
        groups_o[-2] = groups_o[-1] + groups_o[-2]
        groups_e[-2] = groups_e[-1] + groups_e[-2]
        del groups_o[-1], groups_e[-1]
    return groups_o, groups_e


def s_x2(result: FitResult, *, mincell: float = 1.0) -> tuple[Array, NDArray[np.intp], str]:
    r"""S-X2 and its df per item; NaN with a reason when the data are not complete.

    .. math:: S\text{-}X^2_i = \sum_{s=1}^{S-1} N_s \sum_k
              \frac{(O_{iks} - E_{iks})^2}{E_{iks}}

    with :math:`E_{iks}` from the Lord-Wingersky summed-score likelihoods (see the module
    documentation); df = cells - score groups - estimated parameters of the item.

    References
    ----------
    Orlando, M., & Thissen, D. (2000). *Applied Psychological Measurement*, 24(1), 50-64.
    Kang, T., & Chen, T. T. (2008). *Journal of Educational Measurement*, 45(4), 391-406.
    """
    cal = result.model
    design = cal.design
    j = design.n_items
    stat = np.full(j, np.nan)
    dfs = np.zeros(j, dtype=np.intp)
    if design.has_missing:
        share = _missing_share(result)
        return (
            stat,
            dfs,
            f"S-X2 needs complete responses and is not computed: {share:.0%} of the person x "
            "item table is missing, so summed scores are over different items; imputing the "
            "missing answers from the fitted model would test it against its own predictions",
        )
    cats = design.n_categories
    p = cal.probabilities(cal.theta)
    weights = _weights(result)
    full, loo = _summed_score_tables(p, cats)
    marginal = full @ weights  # P(s)
    top = full.shape[0] - 1
    totals = design.patterns.astype(np.int64).sum(axis=1)
    counts = design.counts
    n_s = np.asarray(np.bincount(totals, weights=counts, minlength=top + 1), dtype=np.float64)
    n_params = _free_per_item(result)
    for i in range(j):  # one table per item
        ci = int(cats[i])
        obs = np.zeros((top + 1, ci))
        for c in range(ci):
            sel = design.patterns[:, i] == c
            obs[:, c] = np.bincount(totals[sel], weights=counts[sel], minlength=top + 1)
        exp = np.zeros((top + 1, ci))
        for c in range(ci):
            shifted = np.zeros((top + 1, cal.theta.size))
            shifted[c:] = loo[i, : top + 1 - c]
            exp[:, c] = (shifted * p[i, c][None, :]) @ weights
        with np.errstate(invalid="ignore", divide="ignore"):
            prop = np.where(marginal[:, None] > 0, exp / marginal[:, None], 0.0)
        scores = slice(1, top)  # 0 and the maximum are uninformative
        expected_counts = prop[scores] * n_s[scores][:, None]
        groups_o, groups_e = _merge_groups(obs[scores], expected_counts, mincell)
        total = 0.0
        cells = 0
        for o, e in zip(groups_o, groups_e, strict=True):
            live = e > 0
            total += float((((o - e) ** 2)[live] / e[live]).sum())
            cells += int(live.sum()) - 1
        stat[i] = total
        dfs[i] = cells - int(n_params[i])
    return stat, dfs, ""


def infit_outfit(result: FitResult) -> tuple[Array, Array]:
    r"""Infit and outfit mean squares per item, at the persons' EAP estimates.

    .. math:: \text{outfit}_i = \frac{1}{n_i}\sum_u \frac{(x_{ui} - E_{ui})^2}{V_{ui}},
              \qquad \text{infit}_i = \frac{\sum_u (x_{ui} - E_{ui})^2}{\sum_u V_{ui}},

    over the persons who answered item :math:`i`, with :math:`E` and :math:`V` the model's
    mean and variance of the item score at :math:`\hat\theta_u` (Wright & Masters, 1982,
    *Rating Scale Analysis*, ch. 5).
    """
    cal = result.model
    design = cal.design
    theta_hat, _ = person_eap(result)
    if isinstance(design, SparseDesign):
        return _infit_outfit_sparse(result, design, theta_hat)
    j = design.n_items
    num_in = np.zeros(j)
    den_in = np.zeros(j)
    out_sum = np.zeros(j)
    n = np.zeros(j)
    scores = np.arange(design.max_categories, dtype=np.float64)
    for part in design.slices:
        p = cal.probabilities(theta_hat[part])  # (J, C, u)
        expected = np.einsum("jcu,c->uj", p, scores)
        variance = np.einsum("jcu,c->uj", p, scores**2) - expected**2
        resp = design.patterns[part]
        given = resp >= 0
        w = design.counts[part][:, None] * given
        sq = (np.where(given, resp, 0) - expected) ** 2
        variance = np.maximum(variance, 1e-12)
        num_in += (w * sq).sum(axis=0)
        den_in += (w * variance).sum(axis=0)
        out_sum += (w * sq / variance).sum(axis=0)
        n += w.sum(axis=0)
    return num_in / np.maximum(den_in, 1e-300), out_sum / np.maximum(n, 1e-300)


def _infit_outfit_sparse(
    result: FitResult, design: SparseDesign, theta_hat: Array
) -> tuple[Array, Array]:
    """:func:`infit_outfit` over the answers only (one pass per item, linear in answers)."""
    cal = result.model
    persons, codes, starts = design.by_item()
    j = design.n_items
    num_in, den_in, out_sum, n = (np.zeros(j) for _ in range(4))
    for fam, cols, x in zip(cal.families, cal.members, cal.xi, strict=True):
        scores = np.arange(fam.n_categories, dtype=np.float64)
        for r, col in enumerate(cols):  # one pass per item (post-EM, once)
            seg = slice(starts[col], starts[col + 1])
            who = persons[seg]
            if not who.size:
                continue
            p = fam.probabilities(x[r : r + 1], theta_hat[who])[0]  # (C, n_j)
            expected = scores @ p
            variance = np.maximum(scores**2 @ p - expected**2, 1e-12)
            w = design.counts[who]
            sq = (codes[seg] - expected) ** 2
            num_in[col] = w @ sq
            den_in[col] = w @ variance
            out_sum[col] = w @ (sq / variance)
            n[col] = w.sum()
    return num_in / np.maximum(den_in, 1e-300), out_sum / np.maximum(n, 1e-300)


def item_fit(result: FitResult, *, mincell: float = 1.0) -> tuple[list[ItemFit], str]:
    """S-X2 (when the data are complete), infit and outfit for every calibrated item."""
    stat, dfs, note = s_x2(result, mincell=mincell)
    infit, outfit = infit_outfit(result)
    design = result.model.design
    answered = design.answered_per_item()
    out = []
    for i, item in enumerate(result.item_ids):
        n = round(float(answered[i]))
        x2, df = float(stat[i]), int(dfs[i])
        p = float(stats.chi2.sf(x2, df)) if np.isfinite(x2) and df > 0 else math.nan
        rmsea = (
            math.sqrt(max(x2 - df, 0.0) / (df * max(n - 1, 1)))
            if np.isfinite(x2) and df > 0
            else math.nan
        )
        out.append(
            ItemFit(
                item=item,
                n=n,
                s_x2=x2,
                df=df,
                p_value=p,
                rmsea=rmsea,
                infit=float(infit[i]),
                outfit=float(outfit[i]),
            )
        )
    return out, note


# --------------------------------------------------------------------------- M2


def _moment_parts(result: FitResult, vector: Array | None = None) -> tuple[Array, Array]:
    """Conditional first and second moments of every item score, ``(J, Q)`` each."""
    cal = result.model
    xi = cal.xi if vector is None else cal.unpack(vector)[0]
    p = cal.probabilities(cal.theta, xi)
    scores = np.arange(p.shape[1], dtype=np.float64)
    return np.einsum("jcq,c->jq", p, scores), np.einsum("jcq,c->jq", p, scores**2)


def _model_moments(m1: Array, w: Array) -> Array:
    j = m1.shape[0]
    iu = np.triu_indices(j, 1)
    first = m1 @ w
    second = ((m1 * w) @ m1.T)[iu]
    return np.concatenate((first, second))


def _moment_covariance(m1: Array, m2: Array, w: Array) -> Array:
    r""":math:`\Xi = E[g g^\top] - \pi\pi^\top` for :math:`g = (X_i, X_iX_j)`, exactly."""
    j = m1.shape[0]
    iu, ju = np.triu_indices(j, 1)
    n_pairs = iu.size
    v = np.concatenate((m1, m1[iu] * m1[ju]), axis=0)  # conditional E[g | q]
    outer = (v * w) @ v.T  # correct wherever the two moments share no item
    # Entries where the moments share items: products of m2 (shared) and m1 (the others).
    outer[np.arange(j), np.arange(j)] = m2 @ w
    pair_id = np.full((j, j), -1, dtype=np.intp)
    pair_id[iu, ju] = j + np.arange(n_pairs)
    pair_id[ju, iu] = j + np.arange(n_pairs)
    # single i with pair (i, k), and a pair with itself
    pairs = j + np.arange(n_pairs)
    with_a = (m2[iu] * m1[ju]) @ w
    with_b = (m1[iu] * m2[ju]) @ w
    outer[iu, pairs] = outer[pairs, iu] = with_a
    outer[ju, pairs] = outer[pairs, ju] = with_b
    outer[pairs, pairs] = (m2[iu] * m2[ju]) @ w
    # pairs sharing exactly one item s: (s, x) and (s, y), x != y
    for s in range(j):  # loop over items; each step handles all pairs through item s
        others = np.delete(np.arange(j), s)
        if others.size < 2:
            continue
        ids = pair_id[s, others]
        term = (m1[others] * (m2[s] * w)[None, :]) @ m1[others].T  # (o, o)
        block = outer[np.ix_(ids, ids)]
        mask = ~np.eye(others.size, dtype=bool)
        block[mask] = term[mask]
        outer[np.ix_(ids, ids)] = block
    pi = v @ w
    return np.asarray(outer - np.outer(pi, pi))


def _observed_moments(result: FitResult) -> tuple[Array, float]:
    design = result.model.design
    x = design.patterns.astype(np.float64)
    n = design.counts
    total = float(n.sum())
    first = (n @ x) / total
    second = ((x * n[:, None]).T @ x / total)[np.triu_indices(x.shape[1], 1)]
    return np.concatenate((first, second)), total


def _rmsea_interval(stat: float, df: int, n: float, level: float = 0.90) -> tuple[float, float]:
    """Confidence interval of RMSEA by inverting the noncentral chi-square (mirt's method)."""

    def lam(target: float) -> float:
        if stats.chi2.cdf(stat, df) < target:
            return 0.0
        hi = max(10.0, stat * 4)
        while stats.ncx2.cdf(stat, df, hi) > target:
            hi *= 2
        return float(brentq(lambda x: stats.ncx2.cdf(stat, df, x) - target, 1e-10, hi))

    lo_l = lam((1 + level) / 2)
    hi_l = lam((1 - level) / 2)
    return math.sqrt(lo_l / (n * df)), math.sqrt(hi_l / (n * df))


def model_fit(result: FitResult) -> ModelFit:
    r"""M2 with RMSEA and SRMSR, the full-table G2, log-likelihood, AIC and BIC.

    :math:`M_2` as in the module documentation; :math:`\mathrm{RMSEA} = \sqrt{\max(M_2 -
    df, 0)/(N\,df)}`; :math:`G^2 = 2\sum_u n_u \log(n_u / (N \hat P_u))` over observed
    patterns, df = patterns - 1 - parameters (Maydeu-Olivares & Joe, 2006, *Psychometrika*,
    71(4), 713-732; Bock & Aitkin, 1981).
    """
    cal = result.model
    design = cal.design
    notes: list[str] = []
    base = ModelFit(
        loglik=result.loglik,
        aic=result.aic,
        bic=result.bic,
        n_parameters=result.n_parameters,
        n_persons=result.n_persons,
    )
    if design.has_missing:
        notes.append(
            f"M2 and G2 need complete responses and are not computed: {_missing_share(result):.0%}"
            " of the person x item table is missing, and each item's margins come only from "
            "the persons who got it (in adaptive data, persons chosen by their earlier "
            "answers), which the population model does not predict; imputing the missing "
            "answers from the fitted model would test it against its own predictions"
        )
        return _replace(base, notes=tuple(notes))
    j = design.n_items
    w = _weights(result)
    g2_fields = _g2(result)
    if g2_fields is None:
        notes.append(f"G2 is reported for at most {G2_MAX_PATTERNS} possible patterns")
    if j > M2_MAX_ITEMS:
        notes.append(f"M2 is computed for at most {M2_MAX_ITEMS} items (cost grows as J^4)")
        return _replace(base, notes=tuple(notes), **(g2_fields or {}))
    if j < 3:
        notes.append("M2 needs at least 3 items")
        return _replace(base, notes=tuple(notes), **(g2_fields or {}))
    m1, m2 = _moment_parts(result)
    pi = _model_moments(m1, w)
    observed, n = _observed_moments(result)
    xi_cov = _moment_covariance(m1, m2, w)
    vector = cal.pack(cal.xi, cal.latent_mean, cal.latent_sd)
    t = shared_slope_map(cal)
    delta = np.zeros((pi.size, vector.size))
    for k in range(vector.size):  # numerical Jacobian of the model moments
        h = 1e-6 * max(1.0, abs(float(vector[k])))
        plus, minus = vector.copy(), vector.copy()
        plus[k] += h
        minus[k] -= h
        xp, mp_, sp_ = cal.unpack(plus)
        xm, mm_, sm_ = cal.unpack(minus)
        wp = np.exp(cal.quadrature.log_weights(mp_, sp_))
        wm = np.exp(cal.quadrature.log_weights(mm_, sm_))
        ap, _ = _moment_parts(result, plus)
        am, _ = _moment_parts(result, minus)
        delta[:, k] = (_model_moments(ap, wp) - _model_moments(am, wm)) / (2 * h)
        del xp, xm
    delta = delta @ t
    residual = observed - pi
    df = int(pi.size - delta.shape[1])
    if df <= 0:
        notes.append(f"M2 has no degrees of freedom ({pi.size} moments, {delta.shape[1]} params)")
        return _replace(base, notes=tuple(notes), **(g2_fields or {}))
    try:
        factor = np.linalg.cholesky(xi_cov)
    except np.linalg.LinAlgError:
        notes.append("M2: the moment covariance is singular (an item with no variance?)")
        return _replace(base, notes=tuple(notes), **(g2_fields or {}))
    rhs = np.column_stack((residual, delta))
    solved = cho_solve((factor, True), rhs)
    e_inv_e = float(residual @ solved[:, 0])
    d_inv_e = delta.T @ solved[:, 0]
    d_inv_d = delta.T @ solved[:, 1:]
    stat = n * (e_inv_e - float(d_inv_e @ np.linalg.solve(d_inv_d, d_inv_e)))
    stat = max(stat, 0.0)
    rmsea = math.sqrt(max(stat - df, 0.0) / (n * df))
    # SRMSR: residual correlations of the item scores
    var_model = (m2 @ w) - pi[:j] ** 2
    design_x = design.patterns.astype(np.float64)
    counts = design.counts
    var_obs = (counts @ design_x**2) / n - observed[:j] ** 2
    iu, ju = np.triu_indices(j, 1)
    cov_model = pi[j:] - pi[iu] * pi[ju]
    cov_obs = observed[j:] - observed[iu] * observed[ju]
    r_model = cov_model / np.sqrt(var_model[iu] * var_model[ju])
    r_obs = cov_obs / np.sqrt(np.maximum(var_obs[iu] * var_obs[ju], 1e-300))
    srmsr = float(np.sqrt(np.mean((r_obs - r_model) ** 2)))
    return _replace(
        base,
        m2=stat,
        m2_df=df,
        m2_p=float(stats.chi2.sf(stat, df)),
        rmsea=rmsea,
        rmsea_ci=_rmsea_interval(stat, df, n),
        srmsr=srmsr,
        notes=tuple(notes),
        **(g2_fields or {}),
    )


def _g2(result: FitResult) -> dict[str, float | int] | None:
    """Full-table likelihood ratio against the saturated model (complete data only)."""
    design = result.model.design
    possible = float(np.prod(design.n_categories.astype(np.float64)))
    if possible > G2_MAX_PATTERNS:
        return None
    cal = result.model
    log_prior = cal.quadrature.log_weights(cal.latent_mean, cal.latent_sd)
    total = float(design.counts.sum())
    g2 = 0.0
    for part, _, log_marginal, _, _ in design.posterior_chunks(
        cal.log_probabilities(cal.xi), log_prior
    ):
        o = design.counts[part]
        g2 += float(2.0 * (o * (np.log(o) - np.log(total) - log_marginal)).sum())
    df = int(possible - 1 - result.n_parameters)
    p = float(stats.chi2.sf(g2, df)) if df > 0 else math.nan
    return {"g2": g2, "g2_df": df, "g2_p": p}


def _replace(base: ModelFit, **changes: object) -> ModelFit:
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- Q3


def q3(result: FitResult, *, threshold: float = 0.2, min_pairs: int = 100) -> LocalDependence:
    r"""Yen's Q3 residual correlations at the persons' EAP estimates.

    :math:`Q_{3,ij} = \operatorname{corr}_u(x_{ui} - E_{ui}(\hat\theta_u), x_{uj} -
    E_{uj}(\hat\theta_u))` over persons who answered both items (Yen, 1984, *Applied
    Psychological Measurement*, 8(2), 125-145); flagged when :math:`Q_3 - \bar Q_3` exceeds
    ``threshold`` (Christensen, Makransky & Horton, 2017).

    Pairs answered together by fewer than ``min_pairs`` persons get NaN. Pairs are flagged
    only in complete data: when items were chosen adaptively, the persons who share a pair
    were selected on their provisional estimates, which itself correlates the residuals.
    """
    cal = result.model
    design = cal.design
    j = design.n_items
    if design.has_missing and design.n_patterns > Q3_MAX_INCOMPLETE:
        empty = np.full((j, j), np.nan)
        return LocalDependence(
            q3=empty,
            mean=math.nan,
            flagged=(),
            note=f"Q3 is not computed for incomplete data from more than "
            f"{Q3_MAX_INCOMPLETE:,} persons: it flags no pair there (when items are chosen "
            "adaptively, selection itself correlates the residuals)",
        )
    theta_hat, _ = person_eap(result)
    scores = np.arange(design.max_categories, dtype=np.float64)
    n_ij = np.zeros((j, j))
    s_ij = np.zeros((j, j))
    ss_ij = np.zeros((j, j))
    sp_ij = np.zeros((j, j))
    for part in design.slices:
        p = cal.probabilities(theta_hat[part])
        expected = np.einsum("jcu,c->uj", p, scores)
        resp = design.patterns[part]
        mask = (resp >= 0).astype(np.float64)
        resid = np.where(resp >= 0, resp - expected, 0.0)
        w = design.counts[part][:, None]
        n_ij += (mask * w).T @ mask
        s_ij += (resid * w).T @ mask
        ss_ij += (resid * resid * w).T @ mask
        sp_ij += (resid * w).T @ resid
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_i = s_ij / n_ij  # mean residual of i over persons who also answered j
        var_i = ss_ij / n_ij - mean_i**2
        cov = sp_ij / n_ij - mean_i * mean_i.T
        corr = cov / np.sqrt(var_i * var_i.T)
    corr[n_ij < min_pairs] = np.nan
    np.fill_diagonal(corr, np.nan)
    off = corr[np.triu_indices(j, 1)]
    mean = float(np.nanmean(off)) if np.isfinite(off).any() else math.nan
    flagged = []
    note = ""
    if design.has_missing:
        note = (
            "Q3 is not used to flag pairs in incomplete data: when items are chosen "
            "adaptively, selection itself correlates the residuals"
        )
    else:
        iu, ju = np.triu_indices(j, 1)
        for a, b in zip(iu, ju, strict=True):
            value = corr[a, b]
            if np.isfinite(value) and value - mean > threshold:
                flagged.append((result.item_ids[a], result.item_ids[b], float(value)))
        flagged.sort(key=lambda t: -t[2])
    return LocalDependence(q3=corr, mean=mean, flagged=tuple(flagged), note=note)
