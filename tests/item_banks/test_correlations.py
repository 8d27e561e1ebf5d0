"""The bank's latent correlation matrix: schema, located validation, order, hashing."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from engine.pool import compile_pool
from item_banks import BankValidationError, content_hash, decode_bank
from item_banks.correlations import cholesky_pivots, labelled, ordered_correlations
from item_banks.diff import diff_banks
from item_banks.formats.qti3_export import not_carried
from tests.item_banks.helpers import choice_item, raw_bank


def correlated_raw(
    matrix: list[list[float]], labels: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    bank = raw_bank(
        0,
        competencies=[
            {"id": "c1", "name": "One"},
            {"id": "c2", "name": "Two"},
            {"id": "c3", "name": "Three"},
        ],
        items=[choice_item(f"q{i}", competency=f"c{i % 3 + 1}") for i in range(6)],
    )
    bank["correlations"] = {"competencies": labels or ["c1", "c2", "c3"], "matrix": matrix, **extra}
    return bank


def decode(raw: dict[str, Any]) -> Any:
    return decode_bank(json.dumps(raw).encode(), source="bank.json", fmt="json")


GOOD = [[1.0, 0.5, 0.3], [0.5, 1.0, 0.4], [0.3, 0.4, 1.0]]


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(BankValidationError) as info:
        decode(raw)
    return [str(p) for p in info.value.problems]


def test_a_valid_matrix_is_kept_and_a_bank_without_one_hashes_as_before() -> None:
    bank = decode(correlated_raw(GOOD))
    assert bank.correlations is not None
    assert bank.correlations.matrix[0][1] == 0.5
    plain = correlated_raw(GOOD)
    del plain["correlations"]
    without = decode(plain)
    assert without.correlations is None
    # Absent means absent: the canonical encoding (and so the hash) omits it.
    assert content_hash(without) != content_hash(bank)
    assert "correlations" not in json.dumps(json.loads(json.dumps(plain)))


def test_rows_follow_the_bank_order_whatever_the_file_order() -> None:
    # The file lists c3, c1, c2; the pool wants c1, c2, c3.
    matrix = [[1.0, 0.3, 0.4], [0.3, 1.0, 0.5], [0.4, 0.5, 1.0]]
    bank = decode(correlated_raw(matrix, labels=["c3", "c1", "c2"]))
    ordered = ordered_correlations(bank)
    assert ordered == [[1.0, 0.5, 0.3], [0.5, 1.0, 0.4], [0.3, 0.4, 1.0]]
    pool = compile_pool(bank)
    assert pool.correlation is not None
    np.testing.assert_array_equal(pool.correlation, np.array(ordered))


def test_asymmetry_is_located_at_the_entry() -> None:
    bad = [[1.0, 0.5, 0.3], [0.45, 1.0, 0.4], [0.3, 0.4, 1.0]]
    found = problems(correlated_raw(bad))
    assert found == [
        "bank.json: correlations.matrix[1][0]: must equal matrix[0][1] (a correlation matrix "
        "is symmetric): 0.45 != 0.5"
    ]


def test_a_diagonal_other_than_one_is_refused() -> None:
    bad = [[1.0, 0.5, 0.3], [0.5, 0.9, 0.4], [0.3, 0.4, 1.0]]
    assert problems(correlated_raw(bad)) == [
        "bank.json: correlations.matrix[1][1]: the diagonal of a correlation matrix is 1, got 0.9"
    ]


def test_correlation_one_is_not_positive_definite() -> None:
    singular = [[1.0, 1.0, 0.3], [1.0, 1.0, 0.3], [0.3, 0.3, 1.0]]
    (message,) = problems(correlated_raw(singular))
    assert message.startswith("bank.json: correlations.matrix: is not positive definite")
    assert 'row 1, "c2"' in message


def test_an_indefinite_matrix_is_refused() -> None:
    indefinite = [[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]]
    (message,) = problems(correlated_raw(indefinite))
    assert "not positive definite" in message
    assert np.linalg.eigvalsh(np.array(indefinite)).min() < 0


def test_labels_must_be_the_banks_competencies_once_each() -> None:
    found = problems(correlated_raw(GOOD, labels=["c1", "c2", "ghost"]))
    assert (
        'bank.json: correlations.competencies[2]: "ghost" is not a competency of this bank' in found
    )
    assert (
        'bank.json: correlations.competencies: every competency needs a row; missing "c3"' in found
    )
    twice = problems(correlated_raw(GOOD, labels=["c1", "c1", "c3"]))
    assert 'bank.json: correlations.competencies: "c1" is listed more than once' in twice


def test_shape_problems_are_located() -> None:
    found = problems(correlated_raw([[1.0, 0.5, 0.3], [0.5, 1.0], [0.3, 0.4, 1.0]]))
    assert found == [
        "bank.json: correlations.matrix[1]: needs 3 entries (one per listed competency), got 2"
    ]
    short = problems(correlated_raw([[1.0, 0.5, 0.3], [0.5, 1.0, 0.4]]))
    assert short == [
        "bank.json: correlations.matrix: needs 3 rows (one per listed competency), got 2"
    ]


def test_entries_beyond_one_are_refused_by_the_schema() -> None:
    found = problems(correlated_raw([[1.0, 1.5, 0.3], [1.5, 1.0, 0.4], [0.3, 0.4, 1.0]]))
    assert found == ["bank.json: correlations.matrix[0][1]: must be <= 1, got 1.5"]


def test_standard_errors_must_match_and_be_zero_on_the_diagonal() -> None:
    se = [[0.0, 0.02, 0.03], [0.02, 0.0, 0.01], [0.03, 0.01, 0.0]]
    assert decode(correlated_raw(GOOD, se=se)).correlations is not None
    bad = [[0.1, 0.02, 0.03], [0.02, 0.0, 0.01], [0.03, 0.01, 0.0]]
    assert problems(correlated_raw(GOOD, se=bad)) == [
        "bank.json: correlations.se[0][0]: a diagonal entry is fixed at 1 and has SE 0, got 0.1"
    ]
    assert problems(correlated_raw(GOOD, se=[[0.0]])) == [
        "bank.json: correlations.se: must be 3 x 3 like the matrix"
    ]


def test_cholesky_pivots_find_the_first_singular_row() -> None:
    assert cholesky_pivots(GOOD) is None
    row, pivot = cholesky_pivots([[1.0, 0.6], [0.6, 0.36]]) or (None, None)
    assert row == 1 and pivot == pytest.approx(0.0, abs=1e-12)


def test_labelled_symmetrises_and_fixes_the_diagonal() -> None:
    latent = labelled(["a", "b"], [[0.999999, 0.4], [0.4000004, 1.0]], [[1.0, 0.1], [0.1, 0.0]])
    assert latent.matrix == ((1.0, 0.4), (0.4, 1.0))
    assert latent.se == ((0.0, 0.1), (0.1, 0.0))


def test_diff_and_qti_export_mention_the_matrix() -> None:
    bank = decode(correlated_raw(GOOD))
    moved = decode(correlated_raw([[1.0, 0.55, 0.3], [0.55, 1.0, 0.4], [0.3, 0.4, 1.0]]))
    assert diff_banks(bank, moved).header == [("correlation(c1, c2)", "0.500", "0.550")]
    plain = correlated_raw(GOOD)
    del plain["correlations"]
    assert ("correlation(c2, c3)", "0.400", "none") in diff_banks(bank, decode(plain)).header
    notes = [str(p) for p in not_carried(bank, "bank.zip")]
    assert (
        "bank.zip: correlations: not carried by QTI: the competencies' correlation matrix" in notes
    )
