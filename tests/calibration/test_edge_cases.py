"""Degenerate data: warnings or errors that name the item or person, and never a NaN."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from calibration.data import from_array, read_long, read_wide
from calibration.em import calibrate
from calibration.errors import CalibrationError, ModelError
from calibration.fit import item_fit, model_fit, q3
from calibration.simulate import simulate_responses
from calibration.standard_errors import attach_standard_errors
from calibration.workflow import calibrate_bank, parameter_rows
from engine.pool import compile_pool
from engine.synthetic import synthetic_bank
from item_banks.model import Bank


@pytest.fixture(scope="module")
def bank() -> Bank:
    return synthetic_bank(12, "2pl", 1, seed=2)


@pytest.fixture(scope="module")
def responses(bank: Bank) -> np.ndarray:
    pool = compile_pool(bank)
    rng = np.random.default_rng(2)
    return simulate_responses(pool, rng.standard_normal(1500), rng)


def all_finite(values: object) -> bool:
    if isinstance(values, dict):
        return all(all_finite(v) for v in values.values())
    if isinstance(values, list | tuple):
        return all(all_finite(v) for v in values)
    if isinstance(values, float):
        return math.isfinite(values)
    if isinstance(values, np.ndarray):
        return bool(np.isfinite(values).all())
    return True


def test_an_item_everyone_answers_correctly_is_named_and_left_out(
    bank: Bank, responses: np.ndarray
) -> None:
    matrix = responses.copy()
    matrix[:, 3] = 1
    data = from_array(matrix, item_ids=[i.id for i in bank.items])
    fit = calibrate(data, "2pl")
    assert bank.items[3].id not in fit.item_ids
    warning = next(w for w in fit.warnings if w.kind == "not_estimable")
    assert warning.subject == f'item "{bank.items[3].id}"'
    assert "every one of its 1500 responses is 1" in warning.message
    assert all(np.isfinite(fit.irt_vector(i)).all() for i in range(len(fit.item_ids)))
    # The bank keeps the item's previous parameters.
    result = calibrate_bank(bank, data, model="2pl")
    assert result.bank.items[3].irt == bank.items[3].irt
    assert result.scales[0].status[bank.items[3].id].startswith("kept: every one")


def test_a_person_with_one_response_is_used_and_reported(bank: Bank, responses: np.ndarray) -> None:
    matrix = responses.copy()
    matrix[7, 1:] = -1
    data = from_array(matrix, item_ids=[i.id for i in bank.items])
    fit = calibrate(data, "2pl")
    warning = next(w for w in fit.warnings if w.kind == "single_response")
    assert '"p8"' in warning.message
    assert fit.n_persons == 1500
    assert fit.converged


def test_persons_without_responses_are_left_out_by_name(bank: Bank, responses: np.ndarray) -> None:
    matrix = responses.copy()
    matrix[[4, 9]] = -1
    fit = calibrate(from_array(matrix), "2pl")
    warning = next(w for w in fit.warnings if w.kind == "no_responses")
    assert warning.subject == "2 persons"
    assert '"p5"' in warning.message and '"p10"' in warning.message
    assert fit.n_persons == 1498


def test_non_binary_codes_for_a_dichotomous_model_name_item_code_and_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.csv"
    lines = ["person_id,item_id,response"]
    rng = np.random.default_rng(1)
    for p in range(40):
        for item in ("q1", "q2", "q3"):
            lines.append(f"p{p},{item},{int(rng.integers(0, 2))}")
    lines[50] = "p16,q2,2"  # line 51 of the file
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = read_long(path)
    with pytest.raises(ModelError) as info:
        calibrate(data, "2pl")
    (problem,) = info.value.problems
    assert problem.startswith(f"{path}: line 51: column response: ")
    assert 'item "q2": code 2 is not a category of the dichotomous 2pl model (categories 0..1)' in (
        problem
    )


def test_an_empty_column_is_named_and_left_out(tmp_path: Path, bank: Bank) -> None:
    ids = [i.id for i in bank.items[:4]]
    rng = np.random.default_rng(3)
    rows = ["person_id," + ",".join(ids)]
    for p in range(300):
        cells = [str(int(rng.integers(0, 2))) for _ in ids[:3]] + [""]
        rows.append(f"p{p}," + ",".join(cells))
    path = tmp_path / "w.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    data = read_wide(path, item_ids=ids)
    fit = calibrate(data, "2pl")
    warning = next(w for w in fit.warnings if w.kind == "no_responses")
    assert warning.subject == f'item "{ids[3]}"'
    assert "empty column" in warning.message
    assert fit.item_ids == tuple(ids[:3])


def test_a_polytomous_category_nobody_used_is_named() -> None:
    pool = compile_pool(synthetic_bank(6, "grm", 1, seed=3))
    rng = np.random.default_rng(3)
    matrix = simulate_responses(pool, rng.standard_normal(800), rng)
    matrix[matrix[:, 2] == 1, 2] = 2
    fit = calibrate(from_array(matrix), "grm", n_categories={"item3": 4})
    warning = next(w for w in fit.warnings if w.subject == 'item "item3"')
    assert "no response in category 1 (of 0..3)" in warning.message


def test_nothing_to_estimate_is_an_error() -> None:
    with pytest.raises(CalibrationError, match="no item can be estimated"):
        calibrate(from_array(np.ones((20, 3), dtype=np.int8)), "2pl")


def test_unknown_model_is_an_error() -> None:
    with pytest.raises(CalibrationError, match="unknown model 'nominal'"):
        calibrate(from_array(np.zeros((5, 2), dtype=np.int8)), "nominal")  # type: ignore[arg-type]


def test_no_nan_anywhere_in_the_output_of_a_degenerate_calibration(
    bank: Bank, responses: np.ndarray
) -> None:
    matrix = responses[:200].copy()
    matrix[:, 0] = 0  # nobody right
    matrix[:, 5] = -1  # empty column
    matrix[3, 1:] = -1  # one response
    matrix[rng_mask(matrix.shape)] = -1  # sparse
    data = from_array(matrix, item_ids=[i.id for i in bank.items])
    result = calibrate_bank(bank, data, model="2pl", se="oakes")
    rows = parameter_rows(result)
    assert len(rows) == 12
    for row in rows:
        for key, value in row.items():
            if isinstance(value, float):
                assert math.isfinite(value) or key in ("s_x2", "p"), (row["item_id"], key)
    for item in result.bank.items:
        assert all(math.isfinite(v) for v in (item.irt.a, getattr(item.irt, "b", 0.0)))
        se = item.irt.se
        if se is not None:
            assert all(v is None or math.isfinite(v) for v in (se.a, se.b, se.c, se.d))
    fit = result.scales[0].result
    fits, _ = item_fit(fit)
    assert all(math.isfinite(f.infit) and math.isfinite(f.outfit) for f in fits)
    assert all_finite(model_fit(fit).loglik)
    assert math.isfinite(q3(fit).mean)
    attach_standard_errors(fit, "xpd")
    assert all(np.isfinite(v[:2]).all() for v in fit.standard_errors.values())


def rng_mask(shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(9).random(shape) < 0.2
