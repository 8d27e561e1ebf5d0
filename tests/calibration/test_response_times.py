"""Lognormal response-time calibration: nlme golden, exact information, recovery, edges."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.errors import CalibrationError, ResponseDataError
from calibration.response_times import (
    _design,
    calibrate_times,
    marginal_loglik,
    observed_information,
    with_time_parameters,
)
from calibration.timed_data import TimedResponses, read_timed_long, timed_from_arrays
from engine.synthetic import synthetic_bank
from item_banks.model import TimeParameters

HERE = Path(__file__).parent / "data" / "response_times"


def simulate(
    n_persons: int, n_items: int, seed: int, missing: float = 0.5, sigma: float = 0.4
) -> tuple[TimedResponses, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    alpha = rng.uniform(1.2, 2.5, n_items)
    beta = rng.normal(3.5, 0.5, n_items)
    tau = rng.normal(0.0, sigma, n_persons)
    person, item = np.divmod(np.arange(n_persons * n_items), n_items)
    keep = rng.random(person.size) >= missing
    person, item = person[keep], item[keep]
    y = beta[item] - tau[person] + rng.standard_normal(person.size) / alpha[item]
    return timed_from_arrays(person, item, np.exp(y)), alpha, beta


def test_agrees_with_r_nlme() -> None:
    """ML fit of the same linear mixed model by nlme 3.1-162 (make_golden.R beside the data)."""
    fit = calibrate_times(read_timed_long(HERE / "times.csv"), tol=1e-10)
    with (HERE / "nlme_golden.csv").open(encoding="utf-8") as handle:
        golden = list(csv.DictReader(handle))
    population = dict(
        line.split(",") for line in (HERE / "nlme_population.csv").read_text().splitlines()
    )
    order = [fit.item_ids.index(row["item_id"]) for row in golden]
    np.testing.assert_allclose(fit.beta[order], [float(r["beta"]) for r in golden], atol=1e-5)
    np.testing.assert_allclose(fit.alpha[order], [float(r["alpha"]) for r in golden], atol=2e-4)
    # nlme's fixed-effect SEs are conditional on the variances (GLS); ours are from the full
    # observed information: the two agree to a small fraction of a percent here.
    np.testing.assert_allclose(fit.se_beta[order], [float(r["se_beta"]) for r in golden], rtol=2e-3)
    assert fit.sigma_tau == pytest.approx(float(population["sd_tau"]), abs=1e-5)
    assert fit.loglik == pytest.approx(float(population["loglik"]), abs=1e-4)
    assert fit.converged


def test_louis_information_is_the_hessian_of_the_marginal_likelihood() -> None:
    data, _, _ = simulate(150, 6, seed=3)
    fit = calibrate_times(data, tol=1e-10)
    d, _ = _design(data, np.ones(6, dtype=bool))
    n = 6
    x0 = np.concatenate((fit.beta, np.log(fit.alpha), [np.log(fit.sigma_tau)]))

    def loglik(x: np.ndarray) -> float:
        return marginal_loglik(d, np.exp(x[n : 2 * n]), x[:n], float(np.exp(x[-1])))

    h = 1e-4
    size = x0.size
    hessian = np.zeros((size, size))
    for i in range(size):
        for j in range(i, size):
            ei, ej = np.eye(size)[i] * h, np.eye(size)[j] * h
            hessian[i, j] = hessian[j, i] = (
                loglik(x0 + ei + ej)
                - loglik(x0 + ei - ej)
                - loglik(x0 - ei + ej)
                + loglik(x0 - ei - ej)
            ) / (4 * h * h)
    info = observed_information(d, fit.alpha, fit.beta, fit.sigma_tau)
    np.testing.assert_allclose(info, -hessian, atol=2e-3 * np.abs(info).max())


@pytest.mark.slow
def test_recovery_and_standard_errors_on_simulated_cat_like_data() -> None:
    """2,000 persons x 40 items, 60 % of the table missing: parameters and SEs recovered."""
    z_alpha, z_beta = [], []
    for seed in range(4):
        data, alpha, beta = simulate(2000, 40, seed=10 + seed, missing=0.6)
        fit = calibrate_times(data)
        order = [int(i[4:]) - 1 for i in fit.item_ids]
        assert np.sqrt(np.mean((fit.alpha - alpha[order]) ** 2)) < 0.08  # SE ~ a / sqrt(2n)
        assert np.sqrt(np.mean((fit.beta - beta[order]) ** 2)) < 0.03
        assert fit.sigma_tau == pytest.approx(0.4, abs=0.03)
        z_alpha.extend((fit.alpha - alpha[order]) / fit.se_alpha)
        z_beta.extend((fit.beta - beta[order]) / fit.se_beta)
    # standardised errors have unit spread when the SEs are right
    assert 0.8 < float(np.sqrt(np.mean(np.square(z_alpha)))) < 1.2
    assert 0.8 < float(np.sqrt(np.mean(np.square(z_beta)))) < 1.2


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 1000), scale=st.floats(0.05, 20.0))
def test_a_change_of_time_unit_moves_only_beta(seed: int, scale: float) -> None:
    """Times in other units (t * s): beta shifts by log s; alpha and the speed SD stay."""
    data, _, _ = simulate(80, 5, seed=seed, missing=0.2)
    a = calibrate_times(data, min_answers=5, tol=1e-9)
    scaled = timed_from_arrays(data.person, data.item, data.seconds * scale)
    b = calibrate_times(scaled, min_answers=5, tol=1e-9)
    np.testing.assert_allclose(b.beta, a.beta + np.log(scale), atol=1e-5)
    np.testing.assert_allclose(b.alpha, a.alpha, rtol=1e-4)
    assert b.sigma_tau == pytest.approx(a.sigma_tau, rel=1e-4)
    assert b.loglik == pytest.approx(a.loglik, abs=1e-5)  # log-seconds shift: same density


def test_items_with_few_or_constant_times_are_excluded_with_warnings() -> None:
    data, _, _ = simulate(100, 4, seed=1, missing=0.0)
    # item 4: only 10 persons timed; item 3: every time identical
    seconds = data.seconds.copy()
    seconds[(data.item == 3) & (data.person >= 10)] = np.nan
    seconds[data.item == 2] = 12.0
    fit = calibrate_times(timed_from_arrays(data.person, data.item, seconds))
    assert fit.item_ids == ("item1", "item2")
    assert "10 timed answers" in fit.excluded["item4"]
    assert "same time" in fit.excluded["item3"]
    assert {w.subject for w in fit.warnings} >= {'item "item3"', 'item "item4"'}


def test_nothing_to_calibrate_is_an_error() -> None:
    data = timed_from_arrays(np.array([0, 1]), np.array([0, 0]), np.array([np.nan, np.nan]))
    with pytest.raises(CalibrationError, match="no item has"):
        calibrate_times(data)
    one = timed_from_arrays(np.zeros(30, dtype=int), np.arange(30) % 2, np.linspace(2, 9, 30))
    with pytest.raises(CalibrationError, match="fewer than two persons"):
        calibrate_times(one, min_answers=1)


def test_parameters_go_into_a_new_bank_version() -> None:
    bank = synthetic_bank(3, "2pl", 1, seed=1)
    params = {"s1": TimeParameters(alpha=1.7, beta=3.2)}
    new = with_time_parameters(bank, params, note="times calibrated")
    assert new.items[0].time == params["s1"] and new.items[1].time is None
    assert new.version != bank.version and "times calibrated" in new.notes
    with pytest.raises(CalibrationError, match="not in the bank: zz"):
        with_time_parameters(bank, {"zz": params["s1"]}, note="x")


# --------------------------------------------------------------------------- reading


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "answers.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_the_web_export(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "person_id,item_id,response,max_category,pretest,seq,answered_at,elapsed_ms,assessment_id\n"
        "s1,i1,1,1,0,1,2026-03-01T10:00:05+00:00,5250,a\n"
        "s1,i2,0,1,0,2,2026-03-01T10:00:09+00:00,,a\n"
        "s2,i1,0,1,0,1,2026-03-01T09:59:00+00:00,12000,a\n",
    )
    data = read_timed_long(path)
    assert data.person_ids == ("s1", "s2") and data.item_ids == ("i1", "i2")
    np.testing.assert_allclose(data.seconds, [5.25, np.nan, 12.0])
    assert data.response.tolist() == [1, 0, 0]
    assert data.chronological().tolist() == [2, 0, 1]
    assert data.warnings == ()


@pytest.mark.parametrize(
    ("row", "where"),
    [
        ("s1,i1,abc", "line 3: column seconds: 'abc' is not a number"),
        ("s1,i1,-2", "line 3: column seconds: '-2': a response time must be above 0"),
        ("s1,i1,0", "line 3: column seconds: '0': a response time must be above 0"),
        ("s1,i1,inf", "line 3: column seconds: 'inf' is not a finite time"),
        ("s1,i1,100000", "line 3: column seconds: '100000': more than a day"),
        (",i1,3", "line 3: column person_id: empty person id"),
        ("s1,i1", "line 3: expected 3 fields, found 2"),
        ("s0,i1,4", 'line 3: person "s0" answered item "i1" twice (first on line 2)'),
    ],
)
def test_bad_rows_are_located(tmp_path: Path, row: str, where: str) -> None:
    path = write(tmp_path, f"person_id,item_id,seconds\ns0,i1,3.5\n{row}\n")
    with pytest.raises(ResponseDataError) as caught:
        read_timed_long(path)
    assert f"{path}: {where}" in str(caught.value)


def test_missing_columns_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(ResponseDataError, match=r"line 1: the header needs the columns seconds"):
        read_timed_long(write(tmp_path, "person_id,item_id,response\np,i,1\n"))
    with pytest.raises(ResponseDataError, match="no answers"):
        read_timed_long(write(tmp_path, "person_id,item_id,seconds\n"))
    with pytest.raises(ResponseDataError, match="empty"):
        read_timed_long(write(tmp_path, ""))
    with pytest.raises(ResponseDataError, match="column answered_at: 'yesterday'"):
        read_timed_long(write(tmp_path, "person_id,item_id,seconds,answered_at\np,i,1,yesterday\n"))
    with pytest.raises(ResponseDataError, match=r"column response: '1\.5' is not a score"):
        read_timed_long(write(tmp_path, "person_id,item_id,seconds,response\np,i,1,1.5\n"))
