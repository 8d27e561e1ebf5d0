"""Golden values: LSAT7 (Bock & Lieberman, 1970) against R mirt's published output.

mirt's values are from its documentation (``mirt(expand.table(LSAT7), 1)``, mirt 1.45,
reference pages of ``mirt``, ``M2`` and ``itemfit``): slope-intercept estimates, the
log-likelihood -2658.805, AIC 5337.61, BIC 5386.688, G2(21) = 31.7 (p = .0628), M2 = 11.938
(df 5, p .036, RMSEA .037 [.009, .065], SRMSR .032), 95 % confidence intervals of the SEM
standard errors, and S-X2 with ``mincell = 0`` (as tabulated in jMetrik's test suite from
``itemfit(mod1, mincell = 0)``).
"""

from __future__ import annotations

import numpy as np
import pytest

from calibration.data import ResponseData, collapse
from calibration.em import EMOptions, FitResult, calibrate
from calibration.fit import item_fit, model_fit, s_x2
from calibration.models import ModelName
from calibration.priors import Priors
from calibration.standard_errors import attach_standard_errors, oakes_information
from tests.calibration.conftest import lsat7_patterns

MIRT_A = np.array([0.988, 1.081, 1.706, 0.7651, 0.7358])
MIRT_D = np.array([1.8561, 0.808, 1.8043, 0.486, 1.8545])
# 95 % intervals printed by coef(mirt(data, 1, SE = TRUE, SE.type = "SEM")).
MIRT_CI_A = [(0.639, 1.336), (0.755, 1.407), (1.086, 2.329), (0.500, 1.030), (0.437, 1.034)]
MIRT_CI_D = [(1.599, 2.112), (0.629, 0.987), (1.395, 2.215), (0.339, 0.633), (1.630, 2.079)]
MIRT_SX2 = np.array([4.7492191, 14.4528980, 1.2703374, 5.2373430, 0.9407036])


def test_the_pattern_table_is_the_published_one() -> None:
    patterns, counts = lsat7_patterns()
    assert patterns.shape == (32, 5)
    assert counts.sum() == 1000
    assert len({tuple(p) for p in patterns}) == 32
    # Bock & Lieberman's item proportions correct (mirt's itemstats: .828 .658 .772 .606 .843)
    p = (patterns * counts[:, None]).sum(axis=0) / 1000
    np.testing.assert_allclose(p, [0.828, 0.658, 0.772, 0.606, 0.843])


def test_identical_patterns_are_collapsed(lsat7: ResponseData) -> None:
    collapsed = collapse(lsat7.responses)
    assert collapsed.n_patterns == 32
    assert collapsed.counts.sum() == 1000
    np.testing.assert_array_equal(collapsed.patterns[collapsed.inverse], lsat7.responses)


def test_2pl_slope_intercepts_match_mirt(lsat7_2pl: FitResult) -> None:
    assert lsat7_2pl.converged
    a = np.array([lsat7_2pl.slope_intercept(i)[0] for i in range(5)])
    d = np.array([lsat7_2pl.slope_intercept(i)[1][0] for i in range(5)])
    np.testing.assert_allclose(a, MIRT_A, atol=0.01)
    np.testing.assert_allclose(d, MIRT_D, atol=0.01)


def test_log_likelihood_aic_bic_match_mirt(lsat7_2pl: FitResult) -> None:
    assert lsat7_2pl.loglik == pytest.approx(-2658.805, abs=5e-4)
    assert lsat7_2pl.n_parameters == 10
    assert lsat7_2pl.aic == pytest.approx(5337.61, abs=5e-3)
    assert lsat7_2pl.bic == pytest.approx(5386.688, abs=5e-3)


def test_bank_form_is_the_slope_intercept_form_converted(lsat7_2pl: FitResult) -> None:
    for i in range(5):
        a1, (d,) = lsat7_2pl.slope_intercept(i)
        vector = lsat7_2pl.irt_vector(i)
        assert vector[0] == pytest.approx(a1)
        assert vector[1] == pytest.approx(-d / a1)


def test_plain_em_reaches_the_same_estimates_with_more_steps(
    lsat7: ResponseData, lsat7_2pl: FitResult
) -> None:
    plain = calibrate(lsat7, "2pl", options=EMOptions(accelerate="none"))
    assert plain.converged
    assert plain.trace.em_steps > lsat7_2pl.trace.em_steps
    for i in range(5):
        np.testing.assert_allclose(
            plain.slope_intercept(i)[0], lsat7_2pl.slope_intercept(i)[0], atol=2e-3
        )
    assert plain.loglik == pytest.approx(lsat7_2pl.loglik, abs=1e-4)


def test_oakes_standard_errors_match_mirt_and_the_exact_hessian(lsat7: ResponseData) -> None:
    fit = calibrate(lsat7, "2pl", options=EMOptions(tol=1e-8))
    attach_standard_errors(fit, "oakes")
    se = np.array([fit.se_internal[item][:2] for item in fit.item_ids])
    mirt_a = np.array([(hi - lo) / (2 * 1.959964) for lo, hi in MIRT_CI_A])
    mirt_d = np.array([(hi - lo) / (2 * 1.959964) for lo, hi in MIRT_CI_D])
    # mirt's intervals come from its SEM approximation; Oakes' identity agrees within 3 %.
    np.testing.assert_allclose(se[:, 0], mirt_a, rtol=0.03)
    np.testing.assert_allclose(se[:, 1], mirt_d, rtol=0.03)
    # Independent reference: the numerical Hessian of the marginal log-likelihood itself.
    cal = fit.model
    x = cal.pack(cal.xi, 0.0, 1.0)
    n, h = x.size, 1e-4

    def loglik(v: np.ndarray) -> float:
        return cal.e_step(*cal.unpack(v)).loglik

    hess = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            ei, ej = np.eye(n)[i] * h, np.eye(n)[j] * h
            value = (
                loglik(x + ei + ej)
                - loglik(x + ei - ej)
                - loglik(x - ei + ej)
                + loglik(x - ei - ej)
            ) / (4 * h * h)
            hess[i, j] = hess[j, i] = value
    exact = np.sqrt(np.diag(np.linalg.inv(-hess)))
    oakes = np.sqrt(np.diag(np.linalg.inv(oakes_information(cal, x))))
    np.testing.assert_allclose(oakes, exact, rtol=1e-4)
    # Delta method: SE(b) from the covariance of (a, d)
    assert np.all(np.isfinite([fit.standard_errors[i][:2] for i in fit.item_ids]))


def test_crossproduct_and_sandwich_are_close_to_oakes(lsat7: ResponseData) -> None:
    results = {}
    for method in ("oakes", "xpd", "sandwich"):
        fit = calibrate(lsat7, "2pl")
        attach_standard_errors(fit, method)
        assert fit.se_method == method
        results[method] = np.array([fit.se_internal[i][:2] for i in fit.item_ids])
    np.testing.assert_allclose(results["xpd"], results["oakes"], rtol=0.05)
    np.testing.assert_allclose(results["sandwich"], results["oakes"], rtol=0.10)


def test_s_x2_matches_mirt_without_collapsing(lsat7_2pl: FitResult) -> None:
    stat, df, note = s_x2(lsat7_2pl, mincell=0)
    assert note == ""
    np.testing.assert_allclose(stat, MIRT_SX2, atol=0.01)
    np.testing.assert_array_equal(df, [2, 2, 2, 2, 2])


def test_item_fit_reports_every_item(lsat7_2pl: FitResult) -> None:
    fits, _ = item_fit(lsat7_2pl)
    assert [f.item for f in fits] == list(lsat7_2pl.item_ids)
    assert all(f.n == 1000 for f in fits)
    # Item 2 is the misfitting one in mirt's table too (S-X2 14.45 on 2 df).
    assert min(fits, key=lambda f: f.p_value).item == "Item.2"
    assert all(0.4 < f.outfit < 1.3 and 0.6 < f.infit < 1.2 for f in fits)


def test_m2_rmsea_srmsr_and_g2_match_mirt(lsat7_2pl: FitResult) -> None:
    fit = model_fit(lsat7_2pl)
    assert fit.m2 == pytest.approx(11.938, abs=0.01)
    assert fit.m2_df == 5
    assert fit.m2_p == pytest.approx(0.036, abs=5e-4)
    assert fit.rmsea == pytest.approx(0.037, abs=5e-4)
    assert fit.rmsea_ci is not None
    assert fit.rmsea_ci[0] == pytest.approx(0.009, abs=5e-4)
    assert fit.rmsea_ci[1] == pytest.approx(0.065, abs=5e-4)
    assert fit.srmsr == pytest.approx(0.032, abs=5e-4)
    assert fit.g2 == pytest.approx(31.7, abs=0.01)
    assert fit.g2_df == 21
    assert fit.g2_p == pytest.approx(0.0628, abs=5e-4)


def test_3pl_on_item_5_reaches_at_least_mirts_likelihood(lsat7: ResponseData) -> None:
    # mirt(data, 1, itemtype = c(rep("2PL", 4), "3PL")): log-likelihood -2658.794, no prior.
    models: list[ModelName] = ["2pl", "2pl", "2pl", "2pl", "3pl"]
    fit = calibrate(lsat7, models, options=EMOptions(priors=Priors(c=None)))
    assert fit.converged
    assert fit.n_parameters == 11
    assert fit.loglik >= -2658.794 - 1e-3
    # The 3PL item's curve is flat in c; the four 2PL items barely move (mirt: .987 1.082 ...)
    np.testing.assert_allclose(
        [fit.slope_intercept(i)[0] for i in range(4)], [0.987, 1.082, 1.706, 0.764], atol=0.01
    )
