r"""Mantel-Haenszel statistics over K strata, and the ETS DIF categories.

For a dichotomous item, stratum :math:`k` (persons matched on a score) is a 2 x 2 table:
:math:`A_k, B_k` reference right / wrong, :math:`C_k, D_k` focal right / wrong,
:math:`T_k = A_k + B_k + C_k + D_k`, :math:`n_{Rk} = A_k + B_k`, :math:`n_{Fk} = C_k + D_k`,
:math:`m_{1k} = A_k + C_k`, :math:`m_{0k} = B_k + D_k`.

.. math:: \hat\alpha_{MH} = \frac{\sum_k A_k D_k / T_k}{\sum_k B_k C_k / T_k}, \qquad
          \chi^2_{MH} = \frac{\big(\,\big|\sum_k A_k - \sum_k E(A_k)\big| - \tfrac12\big)^2}
                             {\sum_k \operatorname{Var}(A_k)},

.. math:: E(A_k) = \frac{n_{Rk} m_{1k}}{T_k}, \qquad
          \operatorname{Var}(A_k) = \frac{n_{Rk} n_{Fk} m_{1k} m_{0k}}{T_k^2 (T_k - 1)},

with the continuity correction applied only when the difference is at least 1/2 (as R's
``mantelhaen.test``). On the ETS delta scale :math:`\Delta_{MH} = -2.35 \ln\hat\alpha_{MH}`
(negative: the item is harder for the focal group than for matched reference members). Its
standard error uses the Robins-Breslow-Greenland (1986) variance of
:math:`\ln\hat\alpha_{MH}` (equal to Phillips & Holland's, 1987), with
:math:`P_k = (A_k + D_k)/T_k`, :math:`Q_k = (B_k + C_k)/T_k`, :math:`R_k = A_k D_k / T_k`,
:math:`S_k = B_k C_k / T_k`:

.. math:: \operatorname{Var}(\ln\hat\alpha) = \frac{\sum P_k R_k}{2(\sum R_k)^2}
          + \frac{\sum (P_k S_k + Q_k R_k)}{2 \sum R_k \sum S_k}
          + \frac{\sum Q_k S_k}{2(\sum S_k)^2}.

ETS categories (Holland & Thayer, 1988; Zwick, 2012):

* **A** (negligible): :math:`\chi^2_{MH}` not significant at 0.05, or :math:`|\Delta| < 1`;
* **C** (large): :math:`|\Delta| \ge 1.5` and :math:`|\Delta|` significantly above 1
  (one-sided 0.05: :math:`(|\Delta| - 1)/SE > 1.645`);
* **B** (moderate): otherwise.

Polytomous items (Zwick, Donoghue & Grima, 1993; Zwick, Thayer & Mazzeo, 1997): Mantel's
(1963) test of the focal group's summed scores :math:`F_k = \sum_y y\, n_{Fky}`,

.. math:: \chi^2_{M} = \frac{(\sum_k F_k - \sum_k E F_k)^2}{\sum_k \operatorname{Var} F_k},
          \quad E F_k = \frac{n_{Fk}}{T_k}\sum_y y\, n_{ky}, \quad
          \operatorname{Var} F_k = \frac{n_{Rk} n_{Fk}\big[T_k \sum_y y^2 n_{ky}
          - (\sum_y y\, n_{ky})^2\big]}{T_k^2 (T_k - 1)},

and the standardised mean difference :math:`SMD = \sum_k \frac{n_{Fk}}{n_F}(\bar y_{Fk} -
\bar y_{Rk})` (strata with both groups), divided by the item's SD in the total group:
**AA** when :math:`\chi^2_M` is not significant at 0.05 or :math:`|SMD/SD| \le 0.17`,
**CC** when it is and :math:`|SMD/SD| > 0.25`, **BB** otherwise.

References
----------
Mantel, N., & Haenszel, W. (1959). Statistical aspects of the analysis of data from
retrospective studies of disease. *Journal of the National Cancer Institute*, 22, 719-748.
Mantel, N. (1963). Chi-square tests with one degree of freedom: Extensions of the
Mantel-Haenszel procedure. *Journal of the American Statistical Association*, 58, 690-700.
Holland, P. W., & Thayer, D. T. (1988). Differential item performance and the
Mantel-Haenszel procedure. In H. Wainer & H. I. Braun (Eds.), *Test Validity* (pp. 129-145).
Robins, J., Breslow, N., & Greenland, S. (1986). Estimators of the Mantel-Haenszel variance
consistent in both sparse data and large-strata limiting models. *Biometrics*, 42, 311-323.
Zwick, R. (2012). A review of ETS differential item functioning assessment procedures:
Flagging rules, minimum sample size requirements, and criterion refinement. ETS Research
Report RR-12-08.
Zwick, R., Thayer, D. T., & Mazzeo, J. (1997). Descriptive and inferential procedures for
assessing differential item functioning in polytomous items. *Applied Measurement in
Education*, 10(4), 321-344.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.special import chdtrc, ndtri

Array = NDArray[np.float64]
EtsCategory = Literal["A", "B", "C", "AA", "BB", "CC"]
#: ETS delta-scale constant: -2.35 ln(alpha) (4 / 1.7 rounded).
DELTA_SCALE = 2.35
_Z95 = float(ndtri(0.95))  # 1.645: the one-sided test of |delta| > 1


@dataclass(frozen=True)
class MHTest:
    """The Mantel-Haenszel statistics of one dichotomous item over its strata."""

    alpha: float
    delta: float
    se_delta: float
    chi2: float
    p_value: float
    strata: int

    @property
    def category(self) -> EtsCategory:
        """ETS A/B/C (see the module notes)."""
        return ets_category(self.delta, self.se_delta, self.p_value)


def mantel_haenszel(a: Array, b: Array, c: Array, d: Array) -> MHTest:
    r"""MH common odds ratio, :math:`\chi^2_{MH}` (continuity-corrected), delta and its SE.

    Parameters
    ----------
    a, b, c, d
        Per stratum: reference right, reference wrong, focal right, focal wrong.

    Returns
    -------
    MHTest
        NaN statistics where they are undefined (no stratum with both groups, or an odds
        ratio of 0 or infinity).
    """
    a, b, c, d = (np.asarray(x, dtype=np.float64) for x in (a, b, c, d))
    t = a + b + c + d
    n_r, n_f = a + b, c + d
    m1, m0 = a + c, b + d
    informative = (n_r > 0) & (n_f > 0) & (t > 1)
    a, b, c, d = a[informative], b[informative], c[informative], d[informative]
    t, n_r, n_f, m1, m0 = (x[informative] for x in (t, n_r, n_f, m1, m0))
    r = a * d / t
    s = b * c / t
    sum_r, sum_s = float(r.sum()), float(s.sum())
    expected = n_r * m1 / t
    variance = float((n_r * n_f * m1 * m0 / (t * t * (t - 1.0))).sum())
    difference = abs(float(a.sum() - expected.sum()))
    yates = 0.5 if difference >= 0.5 else 0.0
    chi2 = (difference - yates) ** 2 / variance if variance > 0 else math.nan
    p_value = float(chdtrc(1, chi2)) if math.isfinite(chi2) else math.nan
    if sum_r > 0 and sum_s > 0:
        alpha = sum_r / sum_s
        p = (a + d) / t
        q = (b + c) / t
        var_log = (
            float((p * r).sum()) / (2 * sum_r**2)
            + float((p * s + q * r).sum()) / (2 * sum_r * sum_s)
            + float((q * s).sum()) / (2 * sum_s**2)
        )
        delta = -DELTA_SCALE * math.log(alpha)
        se_delta = DELTA_SCALE * math.sqrt(var_log)
    else:
        alpha = delta = se_delta = math.nan
    return MHTest(alpha, delta, se_delta, chi2, p_value, int(informative.sum()))


def ets_category(delta: float, se_delta: float, p_value: float) -> EtsCategory:
    """ETS A/B/C from delta, its SE and the MH chi-square p-value (Zwick, 2012)."""
    if not math.isfinite(p_value) or p_value >= 0.05:
        return "A"  # no evidence of DIF (or nothing to test: no variance in any stratum)
    if not math.isfinite(delta):
        return "B"  # significant, but an odds ratio of 0 or infinity has no delta to grade
    if abs(delta) < 1.0:
        return "A"
    if abs(delta) >= 1.5 and se_delta > 0 and (abs(delta) - 1.0) / se_delta > _Z95:
        return "C"
    return "B"


@dataclass(frozen=True)
class MantelTest:
    """Mantel's test and the standardised mean difference of one polytomous item."""

    chi2: float
    p_value: float
    smd: float
    smd_ratio: float
    strata: int

    @property
    def category(self) -> EtsCategory:
        """ETS AA/BB/CC (see the module notes)."""
        if not math.isfinite(self.p_value) or self.p_value >= 0.05 or abs(self.smd_ratio) <= 0.17:
            return "AA"
        return "CC" if abs(self.smd_ratio) > 0.25 else "BB"


def mantel(
    scores: NDArray[np.integer],
    focal: NDArray[np.bool_],
    stratum: NDArray[np.intp],
) -> MantelTest:
    r"""Mantel's (1963) :math:`\chi^2` and Dorans & Schmitt's SMD for one polytomous item.

    Parameters
    ----------
    scores
        ``(n,)`` item scores of the persons who answered the item.
    focal
        ``(n,)`` True for focal-group members.
    stratum
        ``(n,)`` matching stratum of each person (``0 .. K-1``).
    """
    y = np.asarray(scores, dtype=np.float64)
    k = int(stratum.max()) + 1 if stratum.size else 0
    f = focal.astype(np.float64)

    def by(weights: Array) -> Array:
        return np.bincount(stratum, weights=weights, minlength=k).astype(np.float64)

    t, n_f = by(np.ones_like(y)), by(f)
    n_r = t - n_f
    sum_y, sum_y2, f_sum = by(y), by(y * y), by(y * f)
    both = (n_r > 0) & (n_f > 0) & (t > 1)
    expected = n_f * sum_y / np.where(both, t, 1.0)
    variance = n_r * n_f * (t * sum_y2 - sum_y**2) / np.where(both, t * t * (t - 1.0), 1.0)
    var_total = float(variance[both].sum())
    diff = float(f_sum[both].sum() - expected[both].sum())
    chi2 = diff * diff / var_total if var_total > 0 else math.nan
    p_value = float(chdtrc(1, chi2)) if math.isfinite(chi2) else math.nan
    mean_f = f_sum / np.where(n_f > 0, n_f, 1.0)
    mean_r = (sum_y - f_sum) / np.where(n_r > 0, n_r, 1.0)
    shared = (n_r > 0) & (n_f > 0)
    weight = n_f[shared] / n_f[shared].sum() if shared.any() else np.zeros(0)
    smd = float((weight * (mean_f[shared] - mean_r[shared])).sum()) if shared.any() else math.nan
    sd = float(y.std(ddof=1)) if y.size > 1 else 0.0
    ratio = smd / sd if sd > 0 else math.nan
    return MantelTest(chi2, p_value, smd, ratio, int(both.sum()))
