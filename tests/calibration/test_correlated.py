"""The correlated (between-item multidimensional) calibration: integrals, recovery, errors.

Full-size figures (20,000 x 200, complete and CAT data, against Python mirt) are in
``python -m bench multidim``; here a scaled-down recovery and the E-step's marginal
likelihood against a brute-force product-grid integral.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.correlated import (
    CorrelatedOptions,
    _Engine,
    _nearest_correlation,
    _Scale,
    fit_correlated,
    interpolate,
    storable,
)
from calibration.correlated_bank import calibrate_bank_correlated
from calibration.data import from_array
from calibration.em import FitResult, calibrate
from calibration.errors import CalibrationError
from calibration.estep import Design
from engine.pool import compile_pool
from engine.synthetic import synthetic_bank
from item_banks import read_bank
from item_banks.correlations import cholesky_pivots, labelled
from skillgauge.cli import main


def simulate(
    n: int, j: int, k: int, rho: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    r = np.full((k, k), rho)
    np.fill_diagonal(r, 1.0)
    theta = rng.standard_normal((n, k)) @ np.linalg.cholesky(r).T
    a = rng.lognormal(0.2, 0.25, j)
    b = rng.normal(0.0, 1.0, j)
    dim = np.arange(j) % k
    p = 1.0 / (1.0 + np.exp(-a * (theta[:, dim] - b)))
    return (rng.random((n, j)) < p).astype(np.int8), a, b, dim, theta


def per_competency(x: np.ndarray, dim: np.ndarray, k: int) -> list[FitResult]:
    data = from_array(x, item_ids=[f"i{c}" for c in range(x.shape[1])])
    return [calibrate(data.take_items(np.flatnonzero(dim == d).tolist()), "2pl") for d in range(k)]


def test_catmull_rom_reproduces_cubics_on_the_grid() -> None:
    grid = np.linspace(-6.0, 6.0, 121)
    table = np.vstack((0.3 * grid**2 - grid + 2.0, -0.5 * grid**2))
    x = np.array([[-3.33, 0.01, 4.77], [1.234, -5.5, 2.0]])
    pos = (x - grid[0]) / (grid[1] - grid[0])
    expected = np.vstack((0.3 * x[0] ** 2 - x[0] + 2.0, -0.5 * x[1] ** 2))
    np.testing.assert_allclose(interpolate(table, pos), expected, atol=1e-12)


def test_the_e_step_marginal_likelihood_matches_a_product_grid_integral() -> None:
    x, _, _, dim, _ = simulate(400, 12, 2, 0.5, seed=3)
    x[::7, :3] = -1  # some missing responses
    fits = per_competency(x, dim, 2)
    scales = [
        _Scale(
            fit=f,
            design=Design(
                np.ascontiguousarray(f.data.responses),
                np.ones(400),
                np.array(f.n_categories),
                chunk_rows=128,
            ),
            xi=[v.copy() for v in f.model.xi],
        )
        for f in fits
    ]
    engine = _Engine(scales, 400, CorrelatedOptions(draws=64))
    correlation = np.array([[1.0, 0.45], [0.45, 1.0]])
    ours = engine.e_step(correlation).loglik
    # Brute force: 161 x 161 nodes on [-8, 8], each person's likelihood by the families.
    grid = np.linspace(-8.0, 8.0, 161)
    logs = []
    for f in fits:
        p = f.model.probabilities(grid)  # (J, C, Q)
        resp = f.data.responses
        ll = np.zeros((400, grid.size))
        for j in range(resp.shape[1]):
            seen = resp[:, j] >= 0
            ll[seen] += np.log(p[j, resp[seen, j].astype(int)])
        logs.append(ll)
    precision = np.linalg.inv(correlation)
    t1, t2 = np.meshgrid(grid, grid, indexing="ij")
    log_prior = -0.5 * (
        precision[0, 0] * t1**2 + 2 * precision[0, 1] * t1 * t2 + precision[1, 1] * t2**2
    )
    log_prior += (
        -0.5 * np.log(np.linalg.det(correlation))
        - np.log(2 * np.pi)
        + 2 * np.log(grid[1] - grid[0])
    )
    joint = logs[0][:, :, None] + logs[1][:, None, :] + log_prior[None]
    top = joint.max(axis=(1, 2))
    exact = float((top + np.log(np.exp(joint - top[:, None, None]).sum(axis=(1, 2)))).sum())
    assert ours == pytest.approx(exact, abs=0.002 * 400)  # 0.002 per person


def test_recovers_items_and_correlations() -> None:
    k, rho = 3, 0.5
    x, a, b, dim, theta = simulate(2500, 45, k, rho, seed=11)
    fits = per_competency(x, dim, k)
    fit = fit_correlated(fits, ["c1", "c2", "c3"])
    assert fit.converged
    truth = np.corrcoef(theta.T)
    off = ~np.eye(k, dtype=bool)
    assert np.abs(fit.correlation - truth)[off].max() < 0.04
    se = fit.correlation_se[off]
    # The SE of a correlation of perfectly measured abilities is (1 - rho^2) / sqrt(N); the
    # estimated abilities carry measurement error, so ours is larger, but not by much.
    floor = (1 - rho**2) / np.sqrt(2500)
    assert (se > floor).all() and (se < 2.0 * floor).all()
    err_a, err_b = [], []
    for d, f in enumerate(fit.scales):
        cols = np.flatnonzero(dim == d)
        for i, c in enumerate(cols):
            v = f.irt_vector(i)
            err_a.append(v[0] - a[c])
            err_b.append(v[1] - b[c])
        assert f.se_method.startswith("xpd")
        assert all(np.isfinite(s[:2]).all() for s in f.standard_errors.values())
    assert np.sqrt(np.mean(np.square(err_a))) < 0.1
    assert np.sqrt(np.mean(np.square(err_b))) < 0.1
    assert np.isfinite(fit.loglik) and fit.aic > -2 * fit.loglik


def test_refuses_what_it_cannot_estimate() -> None:
    x, _, _, dim, _ = simulate(300, 8, 2, 0.3, seed=2)
    fits = per_competency(x, dim, 2)
    with pytest.raises(CalibrationError, match="at least two competencies"):
        fit_correlated(fits[:1], ["c1"])
    data = from_array(x, item_ids=[f"i{c}" for c in range(8)])
    rasch = [
        calibrate(data.take_items(np.flatnonzero(dim == d).tolist()), "rasch") for d in range(2)
    ]
    with pytest.raises(CalibrationError, match="calibrate it as 1pl"):
        fit_correlated(rasch, ["c1", "c2"])


def test_the_cli_writes_a_valid_correlated_bank(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bank_path = tmp_path / "bank.yaml"
    assert (
        main(
            [
                "bank",
                "synth",
                "--items",
                "36",
                "--model",
                "2pl",
                "--competencies",
                "3",
                "--correlation",
                "0.7",
                "--seed",
                "4",
                "--out",
                str(bank_path),
            ]
        )
        == 0
    )
    responses = tmp_path / "responses.csv"
    assert (
        main(
            [
                "simulate-responses",
                "--bank",
                str(bank_path),
                "--persons",
                "1500",
                "--seed",
                "2",
                "--out",
                str(responses),
            ]
        )
        == 0
    )
    out = tmp_path / "bank.v2.yaml"
    code = main(
        [
            "calibrate",
            str(responses),
            "--bank",
            str(bank_path),
            "--model",
            "2pl",
            "--correlated",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "Correlations (SE), QMC-EM" in printed
    new = read_bank(out)
    assert new.correlations is not None and new.correlations.se is not None
    matrix = np.array(new.correlations.matrix)
    assert np.abs(matrix[~np.eye(3, dtype=bool)] - 0.7).max() < 0.08
    assert compile_pool(new).correlation is not None
    # A fixed or linked scale is refused with the reason.
    code = main(
        [
            "calibrate",
            str(responses),
            "--bank",
            str(bank_path),
            "--correlated",
            "--fixed",
            "--out",
            str(tmp_path / "x.yaml"),
            "--quiet",
        ]
    )
    assert code == 1
    assert "--correlated estimates every item on the N(0, R) scale" in capsys.readouterr().err


def test_a_competency_without_responses_is_refused() -> None:
    bank = synthetic_bank(30, "2pl", 3, seed=1, correlation=0.5)
    pool = compile_pool(bank)
    x, _, _, _, _ = simulate(300, 30, 3, 0.5, seed=5)
    x[:, pool.competency == 2] = -1
    data = from_array(x, item_ids=list(pool.item_ids))
    with pytest.raises(CalibrationError, match='none to "c3"'):
        calibrate_bank_correlated(bank, data)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(-1.5, 1.5), min_size=6, max_size=6),
    floor=st.sampled_from([1e-6, 1e-3]),
)
def test_every_estimate_becomes_a_valid_correlation_matrix(
    values: list[float], floor: float
) -> None:
    # Whatever the moments of an EM step give, the matrix kept is a valid correlation matrix.
    raw = np.eye(4)
    raw[np.triu_indices(4, 1)] = values
    raw = raw + raw.T - np.eye(4)
    fixed = _nearest_correlation(raw, floor=floor)
    np.testing.assert_allclose(np.diag(fixed), 1.0)
    np.testing.assert_allclose(fixed, fixed.T)
    assert np.linalg.eigvalsh(fixed).min() > 0
    # What a bank stores (rounded to 6 decimals) passes the bank's positive-definiteness check.
    latent = labelled(["a", "b", "c", "d"], storable(fixed).tolist())
    assert cholesky_pivots([list(row) for row in latent.matrix]) is None


def test_a_competency_with_a_single_item_is_calibrated_through_the_others() -> None:
    x, a, b, dim, _ = simulate(3000, 25, 3, 0.7, seed=8)
    keep = np.flatnonzero((dim != 2) | (np.arange(25) == 2))  # competency 3 keeps item 2
    x, a, b, dim = x[:, keep], a[keep], b[keep], dim[keep]
    fits = per_competency(x, dim, 3)
    fit = fit_correlated(fits, ["c1", "c2", "c3"])
    assert np.isfinite(fit.correlation).all()
    assert np.linalg.eigvalsh(fit.correlation).min() > 0
    single = fit.scales[2]
    assert single.item_ids == ("i2",)
    slope, (intercept,) = single.slope_intercept(0)
    assert np.isfinite([slope, intercept]).all()
    assert abs(intercept - (-a[2] * b[2])) < 0.3  # the proportion correct pins d down
    assert np.isfinite(fit.correlation_se[0, 1])
