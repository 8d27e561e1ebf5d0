r"""Prior distributions on item parameters (maximum a posteriori item estimation).

The 3PL's lower asymptote is weakly identified: without a prior, items whose lower tail is
not observed wander to :math:`c = 0` or to implausible values. BILOG-MG's default is a Beta
prior with weight 20 around :math:`1/m` for :math:`m` options (Mislevy & Bock, 1990): for
:math:`m = 5`, :math:`\mathrm{Beta}(20 \cdot 0.2 + 1,\ 20 \cdot 0.8 + 1) = \mathrm{Beta}(5, 17)`,
mean 0.227, which is also the distribution the engine's synthetic banks draw from. The 4PL's
upper asymptote gets the mirror image :math:`\mathrm{Beta}(17, 5)`.

The prior is applied to the asymptote itself (the log density below), while estimation runs
on its logit; a log-normal prior on the slope is available but off by default (R mirt has no
default priors, and the golden test compares with mirt).

References
----------
Mislevy, R. J., & Bock, R. D. (1990). *BILOG 3: Item analysis and test scoring with binary
logistic models* (2nd ed.). Scientific Software.
Harwell, M. R., & Baker, F. B. (1991). The use of prior distributions in marginalized
Bayesian item parameter estimation: A didactic. *Applied Psychological Measurement*, 15(4),
375-389.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np
from numpy.typing import NDArray
from scipy.special import betaln

Array = NDArray[np.float64]


class BetaPrior(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    r"""Beta(:math:`\alpha, \beta`) prior on an asymptote.

    :math:`\log p(v) = (\alpha - 1)\log v + (\beta - 1)\log(1 - v) - \log B(\alpha, \beta)`.
    """

    alpha: float
    beta: float

    @property
    def mean(self) -> float:
        r""":math:`\alpha / (\alpha + \beta)`."""
        return self.alpha / (self.alpha + self.beta)

    def log_density(self, v: Array) -> Array:
        """Log density at ``v`` in (0, 1)."""
        v = np.clip(v, 1e-300, 1.0 - 1e-16)
        return np.asarray(
            (self.alpha - 1.0) * np.log(v)
            + (self.beta - 1.0) * np.log1p(-v)
            - betaln(self.alpha, self.beta)
        )


class LogNormalPrior(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    r"""Log-normal prior on the slope: :math:`\log a \sim N(\mu, \sigma^2)` (BILOG's choice).

    Applied as a penalty on :math:`a` itself:
    :math:`\log p(a) = -\log a - (\log a - \mu)^2 / (2\sigma^2) + \text{const}`.
    """

    mean: float = 0.0
    sd: float = 0.5

    def log_density_of_log(self, a: Array) -> Array:
        """Log density at slopes ``a`` (non-positive slopes get a large finite penalty)."""
        safe = np.maximum(a, 1e-6)
        z = (np.log(safe) - self.mean) / self.sd
        return np.asarray(
            -np.log(safe) - 0.5 * z * z - math.log(self.sd * math.sqrt(2.0 * math.pi))
        )

    def gradient_hessian_of_log(self, a: Array) -> tuple[Array, Array]:
        """First and second derivative of :meth:`log_density_of_log` in ``a``."""
        safe = np.maximum(a, 1e-6)
        s2 = self.sd * self.sd
        la = np.log(safe) - self.mean
        grad = (-1.0 - la / s2) / safe
        hess = (1.0 + la / s2 - 1.0 / s2) / (safe * safe)
        return np.asarray(grad), np.asarray(hess)


class Priors(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Priors used during estimation; ``None`` switches one off."""

    c: BetaPrior | None = BetaPrior(alpha=5.0, beta=17.0)
    u: BetaPrior | None = BetaPrior(alpha=17.0, beta=5.0)
    log_a: LogNormalPrior | None = None


DEFAULT_PRIORS = Priors()
