"""Golden values from R: psychotools and eRm (CML), lme4 (MML Rasch), on their data sets.

The numbers were produced once by ``golden/make_goldens.R`` (R 4.2.2, psychotools 0.7.2,
eRm 1.0.2, lme4 1.1-31; see ``goldens.json["versions"]``) and are compared here without R:

* CML Rasch (VerbalAggression dichotomous, MathExam14W solved) and partial credit models
  (VerbalAggression polytomous, with and without missing responses; MathExam14W credits):
  item parameters in psychotools' ``coef`` (first item's first parameter 0) and
  ``itempar``/``threshpar`` (mean 0) normalisations, their standard errors, the conditional
  log-likelihood; eRm's ``betapar`` (sum zero) and SEs.
* MML Rasch against ``glmer(response ~ 0 + item + (1 | person), binomial, nAGQ = 25)``:
  difficulty :math:`b_i = -\\beta_i`, population SD = the random intercept's SD, marginal
  log-likelihood.

psychotools' ``nplmodel`` (2PL/3PL) and ``gpcmodel`` need R's mirt, which Debian does not
ship: the script records their error instead of numbers (checked below).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from calibration.cml import CmlResult, cml
from calibration.data import ResponseData, read_wide
from calibration.em import EMOptions, calibrate
from calibration.standard_errors import attach_standard_errors
from calibration.workflow import calibrate_responses
from item_banks.model import PartialCredit

GOLDEN = Path(__file__).parent / "golden"
CML_SETS = [
    ("verbal_aggression_dich", "rasch"),
    ("mathexam14w_solved", "rasch"),
    ("verbal_aggression_poly", "pcm"),
    ("verbal_aggression_poly_na", "pcm"),
    ("mathexam14w_credits", "pcm"),
]
#: psychotools is run to reltol 1e-14 twice; we agree to about 3e-7 (parameters, SEs).
PSYCHOTOOLS_ATOL = 2e-6
#: eRm's nlm stops earlier: its log-likelihood is up to 1e-6 below the maximum that
#: psychotools and we reach, and its parameters differ from both by up to 2.2e-4.
ERM_ATOL = 4e-4


@cache
def goldens() -> dict[str, Any]:
    with (GOLDEN / "goldens.json").open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


@cache
def data_set(name: str) -> ResponseData:
    return read_wide(GOLDEN / f"{name}.csv")


@cache
def fitted(name: str, model: str) -> CmlResult:
    return cml(data_set(name), "rasch" if model == "rasch" else "pcm")


def test_the_golden_files_are_the_published_data_sets() -> None:
    g = goldens()
    assert data_set("verbal_aggression_dich").responses.shape == (316, 24)
    assert data_set("mathexam14w_credits").responses.shape == (729, 13)
    assert int(data_set("verbal_aggression_poly").responses.max()) == 2
    assert (data_set("verbal_aggression_poly_na").responses < 0).mean() == pytest.approx(
        1 / 13, abs=0.01
    )
    for name, _ in CML_SETS:
        assert list(data_set(name).item_ids) == g[name]["items"]
        assert data_set(name).n_persons == g[name]["persons"]


@pytest.mark.parametrize(("name", "model"), CML_SETS)
def test_cml_matches_psychotools(name: str, model: str) -> None:
    golden = goldens()[name]["psychotools"]
    result = fitted(name, model)
    assert result.converged
    assert result.loglik == pytest.approx(golden["loglik"], abs=1e-6)
    assert result.n_parameters == golden["df"]
    first, cov = result.estimates("first", thresholds=False)
    np.testing.assert_allclose(first[1:], golden["coef"], atol=PSYCHOTOOLS_ATOL)
    np.testing.assert_allclose(np.sqrt(np.diag(cov))[1:], golden["coef_se"], atol=PSYCHOTOOLS_ATOL)
    np.testing.assert_allclose(cov[1:, 1:], golden["vcov"], atol=PSYCHOTOOLS_ATOL)
    mean, mean_cov = result.estimates("mean")
    key = "difficulty" if model == "rasch" else "thresholds"
    expected = np.asarray(golden[key], dtype=float).ravel()
    np.testing.assert_allclose(mean, expected, atol=PSYCHOTOOLS_ATOL)
    np.testing.assert_allclose(
        np.sqrt(np.diag(mean_cov)),
        golden["difficulty_se" if model == "rasch" else "threshold_se"],
        atol=PSYCHOTOOLS_ATOL,
    )


@pytest.mark.parametrize(("name", "model"), CML_SETS)
def test_cml_matches_erm(name: str, model: str) -> None:
    golden = goldens()[name]["eRm"]
    result = fitted(name, model)
    assert result.loglik == pytest.approx(golden["loglik"], abs=2e-6)
    assert result.loglik >= golden["loglik"] - 1e-9  # we are at least as high
    assert result.n_parameters == golden["npar"]
    cumulative, cov = result.estimates("sum", thresholds=False)
    np.testing.assert_allclose(-cumulative, golden["betapar"], atol=ERM_ATOL)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), golden["se_beta"], atol=ERM_ATOL)
    if model == "pcm":
        # eRm's threshold table, in its own normalisation: equal up to one shift
        ours, _ = result.estimates("mean")
        theirs = np.asarray(golden["thresholds"], dtype=float).ravel()
        theirs = theirs[np.isfinite(theirs)]
        shift = float(np.mean(theirs - ours))
        np.testing.assert_allclose(ours + shift, theirs, atol=ERM_ATOL)


@pytest.mark.parametrize("name", ["verbal_aggression_dich", "mathexam14w_solved"])
def test_mml_rasch_matches_lme4_glmer(name: str) -> None:
    """glmer's adaptive quadrature is accurate; on a fine grid our EM agrees to 1e-5."""
    golden = goldens()[name]["glmer"]
    data = data_set(name)
    fine = calibrate(
        data,
        "rasch",
        options=EMOptions(tol=1e-8, quadrature_points=121, theta_range=(-8.0, 8.0)),
    )
    attach_standard_errors(fine, "oakes")
    b = np.array([fine.irt_vector(i)[1] for i in range(data.n_items)])
    se = np.array([fine.standard_errors[item][1] for item in data.item_ids])
    np.testing.assert_allclose(b, golden["difficulty"], atol=1e-5)
    np.testing.assert_allclose(se, golden["difficulty_se"], atol=1e-5)
    assert fine.latent_sd == pytest.approx(golden["sigma"], abs=1e-5)
    assert fine.loglik == pytest.approx(golden["loglik"], abs=1e-4)
    # glmer with 15 and 25 nodes agree: its own integration error is far below these limits
    assert goldens()[name]["glmer_agq15"]["loglik"] == pytest.approx(golden["loglik"], abs=1e-5)


@pytest.mark.parametrize("name", ["verbal_aggression_dich", "mathexam14w_solved"])
def test_mml_rasch_on_mirts_default_grid_is_within_its_rectangle_rule_error(name: str) -> None:
    """R mirt's grid (61 nodes on [-6, 6]) is what calibrate uses by default."""
    golden = goldens()[name]["glmer"]
    data = data_set(name)
    default = calibrate(data, "rasch", options=EMOptions(tol=1e-8))
    b = np.array([default.irt_vector(i)[1] for i in range(data.n_items)])
    np.testing.assert_allclose(b, golden["difficulty"], atol=5e-4)
    assert default.latent_sd == pytest.approx(golden["sigma"], abs=5e-4)
    assert default.loglik == pytest.approx(golden["loglik"], abs=1e-2)


def test_the_cml_workflow_carries_the_golden_estimates_to_the_bank() -> None:
    """``calibrate --method cml`` keeps the CML estimates; the bank moves the origin only."""
    data = data_set("verbal_aggression_poly")
    calibration = calibrate_responses(data, model="pcm", method="cml")
    scale = calibration.scales[0]
    assert scale.conditional is not None
    golden = goldens()["verbal_aggression_poly"]["psychotools"]
    assert scale.conditional.loglik == pytest.approx(golden["loglik"], abs=1e-6)
    bank = {}
    for item in calibration.bank.items:
        assert isinstance(item.irt, PartialCredit) and item.irt.a == 1.0
        assert item.irt.se is not None and item.irt.se.thresholds is not None
        bank[item.id] = item.irt
    ours = np.concatenate([bank[i].thresholds for i in data.item_ids])
    expected = np.asarray(golden["thresholds"], dtype=float).ravel()
    np.testing.assert_allclose(np.diff(ours), np.diff(expected), atol=PSYCHOTOOLS_ATOL)
    se = np.concatenate([bank[i].se.thresholds for i in data.item_ids])  # type: ignore[union-attr]
    np.testing.assert_allclose(se, golden["threshold_se"], atol=1e-5)


def test_the_mml_only_models_of_psychotools_could_not_run() -> None:
    """nplmodel and gpcmodel call R's mirt, which Debian does not package."""
    not_run = goldens()["not_run"]
    assert "mirt" in not_run["nplmodel"]
    assert "mirt" in not_run["gpcmodel"]
    assert goldens()["versions"]["psychotools"] == "0.7.2"
