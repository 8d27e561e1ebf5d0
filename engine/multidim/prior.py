r"""The multivariate-normal prior of the competencies' abilities.

.. math:: \theta \sim N(\mu, \Sigma), \qquad \Sigma = \sigma^2 R,

with the policy's prior mean :math:`\mu` and SD :math:`\sigma` for every competency and the
bank's correlation matrix :math:`R` (the identity for independent competencies). Besides the
precision :math:`\Lambda = \Sigma^{-1}` it holds the conditional distribution of one
ability given the others (Anderson, 2003, th. 2.5.1), written with the precision:

.. math:: E[\theta_k \mid \theta_{-k}] = \mu_k - \Lambda_{kk}^{-1}
          \sum_{l \ne k} \Lambda_{kl} (\theta_l - \mu_l), \qquad
          \operatorname{Var}(\theta_k \mid \theta_{-k}) = \Lambda_{kk}^{-1}.

Reference: Anderson, T. W. (2003). *An Introduction to Multivariate Statistical Analysis*
(3rd ed.). Wiley.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.errors import PoolError
from engine.irt.generic import Array


@dataclass(frozen=True, slots=True)
class MvnPrior:
    r"""A multivariate-normal prior with its precision, Cholesky factor and conditionals.

    Attributes
    ----------
    mean, covariance, precision
        :math:`\mu` ``(K,)``, :math:`\Sigma` and :math:`\Lambda = \Sigma^{-1}` ``(K, K)``.
    cholesky
        Lower-triangular :math:`L` with :math:`L L^\top = \Sigma`.
    conditional
        ``(K, K)``: row ``k`` holds :math:`-\Lambda_{kl} / \Lambda_{kk}` for ``l != k`` and 0
        at ``k``, so :math:`E[\theta_k \mid \theta_{-k}] = \mu_k + \sum_l c_{kl}
        (\theta_l - \mu_l)`.
    conditional_variance
        ``(K,)``: :math:`1 / \Lambda_{kk}`.
    """

    mean: Array
    covariance: Array
    precision: Array
    cholesky: Array
    conditional: Array
    conditional_variance: Array

    @classmethod
    def build(cls, mean: float, sd: float, correlation: Array) -> MvnPrior:
        r"""The prior :math:`N(\mu 1, \sigma^2 R)`.

        Raises
        ------
        PoolError
            When ``correlation`` is not a positive definite correlation matrix (a validated
            bank's never is; checked again because the prior cannot exist otherwise).
        """
        r = np.asarray(correlation, dtype=np.float64)
        k = r.shape[0]
        if r.shape != (k, k) or not np.allclose(r, r.T) or not np.allclose(np.diag(r), 1.0):
            raise PoolError("the correlation matrix must be square, symmetric, with unit diagonal")
        covariance = (sd * sd) * r
        try:
            cholesky = np.asarray(np.linalg.cholesky(covariance), dtype=np.float64)
        except np.linalg.LinAlgError:
            raise PoolError(
                "the correlation matrix is not positive definite (competencies correlated 1 "
                "are one competency)"
            ) from None
        if np.min(np.diag(cholesky)) ** 2 < 1e-8 * sd * sd:
            raise PoolError("the correlation matrix is singular to working precision")
        eye = np.eye(k)
        inverse_cholesky = np.linalg.solve(cholesky, eye)
        precision = inverse_cholesky.T @ inverse_cholesky
        precision = 0.5 * (precision + precision.T)
        diagonal = np.diag(precision)
        conditional = -precision / diagonal[:, None]
        np.fill_diagonal(conditional, 0.0)
        return cls(
            mean=np.full(k, float(mean)),
            covariance=covariance,
            precision=precision,
            cholesky=cholesky,
            conditional=conditional,
            conditional_variance=1.0 / diagonal,
        )

    @property
    def dimension(self) -> int:
        """Number of competencies."""
        return int(self.mean.size)

    @property
    def sd(self) -> Array:
        """Prior SD of each competency, ``(K,)``."""
        return np.asarray(np.sqrt(np.diag(self.covariance)))

    def log_density(self, theta: Array) -> Array:
        r"""Log density up to a constant, :math:`-\tfrac12 (\theta-\mu)^\top\Lambda(\theta-\mu)`.

        ``theta`` is ``(K,)`` or ``(S, K)``; returns a float array of shape ``()`` or ``(S,)``.
        """
        centred = theta - self.mean
        return np.asarray(-0.5 * ((centred @ self.precision) * centred).sum(axis=-1))
