r"""The fixed quadrature grid and the latent (population) distribution on it.

Bock & Aitkin (1981) replace the integral over ability by a sum over fixed nodes. Like R mirt,
the default is 61 equally spaced nodes on :math:`[-6, 6]` with weights proportional to the
normal density at the nodes and normalised to sum to 1 (rectangular quadrature):

.. math:: \pi_q(\mu, \sigma) = \frac{\phi((\theta_q - \mu)/\sigma)}
                                    {\sum_r \phi((\theta_r - \mu)/\sigma)}.

The population mean and SD are fixed at 0 and 1 to identify the scale, except when anchor
items fix the scale (fixed-parameter calibration) or the slopes are fixed (Rasch); then they
are estimated by maximising :math:`\sum_q N_q \log \pi_q(\mu, \sigma)`, where :math:`N_q` is
the expected number of persons at node :math:`q`. The discretised normal is an exponential
family in :math:`(\theta, \theta^2)`, so the maximiser matches the first two moments of
:math:`\pi` to those of :math:`N_q / N` (Mislevy, 1984), which the fixed-point iteration
below solves.

References
----------
Bock, R. D., & Aitkin, M. (1981). Marginal maximum likelihood estimation of item parameters:
Application of an EM algorithm. *Psychometrika*, 46(4), 443-459.
Mislevy, R. J. (1984). Estimating latent distributions. *Psychometrika*, 49(3), 359-381.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Quadrature:
    """Equally spaced nodes; the latent distribution is evaluated on them."""

    points: Array

    @classmethod
    def grid(cls, n: int = 61, lower: float = -6.0, upper: float = 6.0) -> Quadrature:
        """``n`` equally spaced nodes on ``[lower, upper]`` (mirt: 61 on [-6, 6])."""
        if n < 5 or not lower < upper:
            raise ValueError("need at least 5 nodes on a non-empty interval")
        return cls(np.linspace(lower, upper, n))

    @property
    def n_points(self) -> int:
        """Number of nodes."""
        return int(self.points.size)

    def log_weights(self, mean: float = 0.0, sd: float = 1.0) -> Array:
        r"""Normalised log prior weights :math:`\log \pi_q(\mu, \sigma)`."""
        z = -0.5 * ((self.points - mean) / sd) ** 2
        top = float(z.max())
        return np.asarray(z - (top + float(np.log(np.exp(z - top).sum()))))

    def moments(self, mean: float, sd: float) -> tuple[float, float]:
        r"""Mean and SD of the discretised normal :math:`\\pi(\\mu, \\sigma)` on the grid."""
        w = np.exp(self.log_weights(mean, sd))
        m = float(w @ self.points)
        return m, float(np.sqrt(max(float(w @ (self.points - m) ** 2), 1e-300)))

    def fit_latent(
        self, node_counts: Array, mean: float, sd: float, *, estimate_mean: bool = True
    ) -> tuple[float, float]:
        r"""M-step for the population mean and SD given expected node counts.

        Returns the :math:`(\\mu, \\sigma)` whose discretised normal has the mean and SD of
        ``node_counts`` (the mean is left alone when ``estimate_mean`` is False).
        """
        total = float(node_counts.sum())
        if total <= 0:
            return mean, sd
        w = node_counts / total
        target_mean = float(w @ self.points) if estimate_mean else mean
        target_sd = float(np.sqrt(max(float(w @ (self.points - target_mean) ** 2), 1e-12)))
        mu, sigma = target_mean, target_sd
        for _ in range(50):
            weights = np.exp(self.log_weights(mu, sigma))
            m = float(weights @ self.points) if estimate_mean else mean
            s = float(np.sqrt(max(float(weights @ (self.points - m) ** 2), 1e-300)))
            new_mu = mu + (target_mean - m) if estimate_mean else mu
            new_sigma = sigma * target_sd / s
            if abs(new_mu - mu) < 1e-12 and abs(new_sigma - sigma) < 1e-12:
                mu, sigma = new_mu, new_sigma
                break
            mu, sigma = new_mu, new_sigma
        return mu, float(np.clip(sigma, 0.05, 20.0))
