r"""The latent correlation matrix of a correlated bank: checks and access in bank order.

A correlation matrix :math:`R` must be symmetric, have ones on its diagonal and be positive
definite; its rows and columns are labelled by the bank's competency ids (every competency
once, in any order). Positive definiteness is checked by a Cholesky factorisation
:math:`R = L L^\top` (Golub & Van Loan, 2013, alg. 4.2.1): it exists, with a positive
diagonal, exactly when :math:`R` is positive definite. A pivot below :data:`MIN_PIVOT`
(the matrix is singular to working precision, e.g. two competencies correlated 1) is
refused: no prior can be built from it.

Reference: Golub, G. H., & Van Loan, C. F. (2013). *Matrix Computations* (4th ed.). Johns
Hopkins University Press.
"""

from __future__ import annotations

import math
from collections import Counter

from item_banks.errors import Problem
from item_banks.model import Bank, LatentCorrelations

#: Entries ``R[i][j]`` and ``R[j][i]`` may differ by this much (a file written with rounding).
SYMMETRY_TOLERANCE = 1e-9
#: The smallest squared Cholesky pivot accepted: below it the matrix is numerically singular.
MIN_PIVOT = 1e-8
_FIELD = "correlations"


def cholesky_pivots(matrix: list[list[float]]) -> tuple[int, float] | None:
    r"""Return ``(row, pivot)`` of the first squared pivot below :data:`MIN_PIVOT`, else None.

    The squared pivot of row ``k`` is :math:`R_{kk} - \sum_{m<k} L_{km}^2`; its product over
    the rows is :math:`\det R`.
    """
    n = len(matrix)
    low = [[0.0] * n for _ in range(n)]
    for k in range(n):
        pivot = matrix[k][k] - sum(low[k][m] ** 2 for m in range(k))
        if not pivot > MIN_PIVOT:
            return k, pivot
        low[k][k] = math.sqrt(pivot)
        for i in range(k + 1, n):
            low[i][k] = (matrix[i][k] - sum(low[i][m] * low[k][m] for m in range(k))) / low[k][k]
    return None


def check_correlations(bank: Bank, source: str) -> list[Problem]:
    """Every problem of ``bank.correlations`` (empty when it is absent or valid).

    Problems are located at ``correlations.competencies[i]``, ``correlations.matrix[i][j]``
    and ``correlations.se[i][j]``.
    """
    latent = bank.correlations
    if latent is None:
        return []
    problems: list[Problem] = []

    def add(field: str, message: str) -> None:
        problems.append(Problem(source=source, field=f"{_FIELD}.{field}", message=message))

    labels = latent.competencies
    known = [c.id for c in bank.competencies]
    for i, label in enumerate(labels):
        if label not in known:
            add(f"competencies[{i}]", f'"{label}" is not a competency of this bank')
    for label, count in Counter(labels).items():
        if count > 1:
            add("competencies", f'"{label}" is listed more than once')
    missing = [cid for cid in known if cid not in labels]
    if missing:
        add(
            "competencies",
            "every competency needs a row; missing " + ", ".join(f'"{m}"' for m in missing),
        )
    n = len(labels)
    matrix = latent.matrix
    shape_ok = len(matrix) == n
    if not shape_ok:
        add("matrix", f"needs {n} rows (one per listed competency), got {len(matrix)}")
    for i, row in enumerate(matrix):
        if len(row) != n:
            add(f"matrix[{i}]", f"needs {n} entries (one per listed competency), got {len(row)}")
            shape_ok = False
    if not shape_ok:
        return problems
    square = [[float(v) for v in row] for row in matrix]
    for i in range(n):
        if abs(square[i][i] - 1.0) > SYMMETRY_TOLERANCE:
            add(
                f"matrix[{i}][{i}]",
                f"the diagonal of a correlation matrix is 1, got {square[i][i]:g}",
            )
        for j in range(i + 1, n):
            if abs(square[i][j] - square[j][i]) > SYMMETRY_TOLERANCE:
                add(
                    f"matrix[{j}][{i}]",
                    f"must equal matrix[{i}][{j}] (a correlation matrix is symmetric): "
                    f"{square[j][i]:g} != {square[i][j]:g}",
                )
    if not problems:
        failed = cholesky_pivots(square)
        if failed is not None:
            failed_row, pivot = failed
            add(
                "matrix",
                "is not positive definite: no multivariate normal has these correlations "
                f"(the Cholesky factorisation fails at row {failed_row}, "
                f'"{labels[failed_row]}", pivot {pivot:.3g}; e.g. two competencies correlated 1 '
                "are one competency)",
            )
    if latent.se is not None:
        if len(latent.se) != n or any(len(row) != n for row in latent.se):
            add("se", f"must be {n} x {n} like the matrix")
        else:
            for i in range(n):
                if latent.se[i][i] != 0.0:
                    add(
                        f"se[{i}][{i}]",
                        f"a diagonal entry is fixed at 1 and has SE 0, got {latent.se[i][i]:g}",
                    )
    return problems


def ordered_correlations(bank: Bank) -> list[list[float]] | None:
    """The correlation matrix with rows and columns in the order of ``bank.competencies``.

    None when the bank has none. The bank must be valid (:func:`check_correlations`).
    """
    latent = bank.correlations
    if latent is None:
        return None
    position = {cid: i for i, cid in enumerate(latent.competencies)}
    order = [position[c.id] for c in bank.competencies]
    return [[float(latent.matrix[i][j]) for j in order] for i in order]


def labelled(
    competencies: list[str] | tuple[str, ...],
    matrix: list[list[float]],
    se: list[list[float]] | None = None,
    *,
    digits: int = 6,
) -> LatentCorrelations:
    """A :class:`LatentCorrelations` from a matrix in the order of ``competencies``.

    Entries are rounded to ``digits`` decimals and symmetrised (the mean of the two
    triangles), the diagonal set to exactly 1 (and its SE to 0).
    """
    n = len(competencies)

    def sym(values: list[list[float]], diagonal: float) -> tuple[tuple[float, ...], ...]:
        return tuple(
            tuple(
                diagonal
                if i == j
                else round(0.5 * (float(values[i][j]) + float(values[j][i])), digits)
                for j in range(n)
            )
            for i in range(n)
        )

    return LatentCorrelations(
        competencies=tuple(competencies),
        matrix=sym(matrix, 1.0),
        se=None if se is None else sym(se, 0.0),
    )
