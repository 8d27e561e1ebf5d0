r"""Small symmetric positive definite systems through LAPACK directly.

The engine solves :math:`K \times K` systems (:math:`K \le 8`) a few times per CAT step;
``numpy.linalg``'s Python-level checks cost ten times the arithmetic there, so these call
LAPACK's Cholesky routines (``dpotrf``, ``dtrtri``, ``dpotrs``, ``dpotri``; Anderson et al.,
1999) through :mod:`scipy.linalg.lapack`, and fall back to ``numpy.linalg`` (which raises a
clear error) when a matrix is not positive definite.

Reference: Anderson, E., et al. (1999). *LAPACK Users' Guide* (3rd ed.). SIAM.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

from engine.irt.generic import Array


def cholesky_inverse_factor(matrix: Array) -> Array:
    r""":math:`R^{-1}` for the lower Cholesky factor :math:`R R^\top = H`.

    Then :math:`H^{-1} = R^{-\top} R^{-1}`: points :math:`c + t R^{-1}` (rows ``t``) have
    covariance :math:`H^{-1}` when ``t`` has the identity.
    """
    low, info = lapack.dpotrf(matrix, lower=1, clean=1)
    if info == 0:
        inverse, info = lapack.dtrtri(low, lower=1)
        if info == 0:
            return np.asarray(inverse, dtype=np.float64)
    return np.asarray(np.linalg.inv(np.linalg.cholesky(matrix)), dtype=np.float64)


def spd_solve(matrix: Array, vector: Array) -> Array:
    """Solve :math:`H x = b` for a symmetric positive definite :math:`H`."""
    low, info = lapack.dpotrf(matrix, lower=1)
    if info == 0:
        solution, info = lapack.dpotrs(low, vector, lower=1)
        if info == 0:
            return np.asarray(solution, dtype=np.float64)
    return np.asarray(np.linalg.solve(matrix, vector), dtype=np.float64)


def spd_inverse(matrix: Array) -> Array:
    """:math:`H^{-1}` for a symmetric positive definite :math:`H` (both triangles filled)."""
    low, info = lapack.dpotrf(matrix, lower=1)
    if info == 0:
        inverse, info = lapack.dpotri(low, lower=1)
        if info == 0:
            full = np.tril(inverse)
            return np.asarray(full + np.tril(full, -1).T, dtype=np.float64)
    return np.asarray(np.linalg.inv(matrix), dtype=np.float64)
