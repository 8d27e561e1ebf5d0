r"""Item families for estimation: category probabilities and their parameter derivatives.

The engine's kernels (:mod:`engine.irt`) differentiate in :math:`\theta`; calibration needs
derivatives in the *item parameters*, in a parameterisation where every value is allowed so
that EM acceleration may extrapolate freely:

* 1PL-4PL: :math:`a, d, \operatorname{logit} c, \operatorname{logit} u`; bank form
  :math:`b = -d / a`;
* GRM: :math:`a, d_1, \log(d_1 - d_2), \dots, \log(d_{K-1} - d_K)`; :math:`b_k = -d_k / a`;
* GPCM: :math:`a, d_1, \dots, d_K` (mirt's :math:`z_k = k a\theta + d_k`);
  :math:`b_k = -(d_k - d_{k-1}) / a`.

This is R mirt's slope-intercept form (Chalmers, 2012) with the asymptotes on the logit scale
(as mirt stores them) and the GRM intercepts kept ordered by construction.

Dichotomous (Birnbaum, 1968; Barton & Lord, 1981), with :math:`\psi = \sigma(a\theta + d)`:

.. math:: P = c + (u - c)\psi, \quad
          \frac{\partial P}{\partial a} = (u - c)\psi(1-\psi)\theta, \quad
          \frac{\partial P}{\partial d} = (u - c)\psi(1-\psi), \quad
          \frac{\partial P}{\partial \operatorname{logit} c} = (1 - \psi) c (1 - c), \quad
          \frac{\partial P}{\partial \operatorname{logit} u} = \psi u (1 - u).

Graded (Samejima, 1969): :math:`P^*_k = \sigma(a\theta + d_k)`,
:math:`P_k = P^*_k - P^*_{k+1}` computed as :math:`P^*_k (1 - P^*_{k+1})(1 - e^{z_{k+1} - z_k})`
so that small probabilities keep their precision.

Generalised partial credit (Muraki, 1992): :math:`P_k \propto \exp(k a \theta + d_k)`,
:math:`\partial P_k / \partial a = P_k \theta (k - \bar k)`,
:math:`\partial P_k / \partial d_m = P_k (\delta_{km} - P_m)`.

References
----------
Chalmers, R. P. (2012). mirt: A multidimensional item response theory package for the R
environment. *Journal of Statistical Software*, 48(6), 1-29.
Samejima, F. (1969). Estimation of latent ability using a response pattern of graded scores.
*Psychometrika Monograph Supplement*, 17.
Muraki, E. (1992). A generalized partial credit model. *Applied Psychological Measurement*,
16(2), 159-176.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, logit, ndtri, softmax

from calibration.priors import BetaPrior, Priors
from item_banks.model import (
    FourPL,
    Graded,
    IrtParameters,
    OnePL,
    ParameterErrors,
    PartialCredit,
    ThreePL,
    TwoPL,
)

Array = NDArray[np.float64]
ModelName = Literal["rasch", "1pl", "2pl", "3pl", "4pl", "grm", "gpcm", "pcm"]
MODELS: tuple[ModelName, ...] = ("rasch", "1pl", "2pl", "3pl", "4pl", "grm", "gpcm", "pcm")
#: Models whose slopes are fixed at 1: the population SD is estimated instead.
FIXED_SLOPE: tuple[ModelName, ...] = ("rasch", "pcm")


def bank_model(params: IrtParameters) -> ModelName:
    """The calibration model that matches an item's current bank parameters."""
    if isinstance(params, Graded):
        return "grm"
    if isinstance(params, PartialCredit):
        return "gpcm"
    if isinstance(params, FourPL):
        return "4pl"
    if isinstance(params, ThreePL):
        return "3pl"
    if isinstance(params, TwoPL):
        return "2pl"
    assert isinstance(params, OnePL)
    return "rasch" if params.a == 1.0 else "1pl"


DICHOTOMOUS: tuple[ModelName, ...] = ("rasch", "1pl", "2pl", "3pl", "4pl")
#: Guards against runaway estimates (an item every responder got right would otherwise let
#: the intercept grow without bound): slopes stay in [-A_MAX, A_MAX], intercepts in
#: [-D_MAX, D_MAX]. Items that end on a guard are reported as not estimable.
A_MAX = 20.0
D_MAX = 40.0
_LOGIT_MAX = 12.0


def _safe_divide(num: Array, den: Array) -> Array:
    return np.divide(num, den, out=np.zeros_like(num), where=den > 1e-300)


@dataclass(frozen=True)
class Family:
    """Items of one model and one number of categories, estimated together.

    Attributes
    ----------
    model
        The model name.
    n_categories
        Score categories per item (2 for dichotomous models).
    priors
        Prior distributions on the parameters (only the lower/upper asymptote by default).
    """

    model: ModelName
    n_categories: int
    priors: Priors

    # ------------------------------------------------------------------ layout

    @property
    def n_params(self) -> int:
        """Internal parameters per item (estimated or not)."""
        return 4 if self.model in DICHOTOMOUS else self.n_categories

    @property
    def free(self) -> NDArray[np.bool_]:
        """Which internal parameters are estimated."""
        if self.model in DICHOTOMOUS:
            return np.array(
                [
                    self.model != "rasch",
                    True,
                    self.model in ("3pl", "4pl"),
                    self.model == "4pl",
                ]
            )
        return (
            np.arange(self.n_params) > 0
            if self.model == "pcm"
            else np.ones(self.n_params, dtype=bool)
        )

    @property
    def shared_slope(self) -> bool:
        """True for the 1PL: one slope common to all its items."""
        return self.model == "1pl"

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Names of the internal parameters (mirt's slope-intercept names)."""
        if self.model in DICHOTOMOUS:
            return ("a1", "d", "logit(g)", "logit(u)")
        if self.model == "grm":
            gaps = tuple(f"log(d{k}-d{k + 1})" for k in range(1, self.n_categories - 1))
            return ("a1", "d1", *gaps)
        return ("a1", *(f"d{k}" for k in range(1, self.n_categories)))

    # ------------------------------------------------------------------ probabilities

    def _asymptotes(self, xi: Array) -> tuple[Array, Array]:
        n = xi.shape[0]
        c = expit(xi[:, 2]) if self.model in ("3pl", "4pl") else np.zeros(n)
        u = expit(xi[:, 3]) if self.model == "4pl" else np.ones(n)
        return np.asarray(c), np.asarray(u)

    def _slopes(self, xi: Array) -> Array:
        return np.ones(xi.shape[0]) if self.model in FIXED_SLOPE else xi[:, 0]

    def intercepts(self, xi: Array) -> Array:
        """Slope-intercept ``d`` (``(n, K)``; decreasing for the GRM)."""
        if self.model in DICHOTOMOUS:
            return xi[:, 1:2]
        if self.model == "grm":
            gaps = np.exp(xi[:, 2:])
            return np.concatenate((xi[:, 1:2], xi[:, 1:2] - np.cumsum(gaps, axis=1)), axis=1)
        return xi[:, 1:]

    def linear_logits(self, xi: Array) -> Array | None:
        r"""Slopes and intercepts of :math:`\log(P_k / P_0)` in theta, ``(n, K, 2)``.

        For the 1PL/2PL, :math:`\log(P_1/P_0) = a\theta + d`; for the GPCM,
        :math:`\log(P_k/P_0) = k a\theta + d_k`. ``None`` for the 3PL, 4PL and GRM, whose
        log-odds are not linear in theta.
        """
        if self.model in ("rasch", "1pl", "2pl"):
            a = self._slopes(xi)
            return np.stack((a, xi[:, 1]), axis=1)[:, None, :]
        if self.model in ("gpcm", "pcm"):
            a = self._slopes(xi)
            k = np.arange(1, self.n_categories, dtype=np.float64)
            return np.stack((a[:, None] * k[None, :], xi[:, 1:]), axis=2)
        return None

    def probabilities(self, xi: Array, theta: Array) -> Array:
        """Category probabilities, ``(n, C, Q)``."""
        return self.jacobian(xi, theta, derivatives=False)[0]

    def jacobian(self, xi: Array, theta: Array, *, derivatives: bool = True) -> tuple[Array, Array]:
        """Category probabilities ``(n, C, Q)`` and their derivatives ``(n, C, Q, p)``.

        Derivatives are with respect to every internal parameter (also those not estimated);
        callers select the free ones.
        """
        t = np.asarray(theta, dtype=np.float64)[None, :]
        a = self._slopes(xi)[:, None]
        if self.model in DICHOTOMOUS:
            return self._dichotomous(xi, t, a, derivatives)
        if self.model == "grm":
            return self._graded(xi, t, a, derivatives)
        return self._partial_credit(xi, t, a, derivatives)

    def _dichotomous(self, xi: Array, t: Array, a: Array, derivatives: bool) -> tuple[Array, Array]:
        z = a * t + xi[:, 1:2]
        psi = expit(z)
        one_minus = expit(-z)
        c, u = self._asymptotes(xi)
        c_, u_ = c[:, None], u[:, None]
        span = u_ - c_
        p1 = c_ + span * psi
        p0 = (1.0 - u_) + span * one_minus
        p = np.stack((p0, p1), axis=1)
        if not derivatives:
            return p, np.empty((0,))
        n, q = z.shape
        d1 = np.empty((n, q, 4))
        core = span * psi * one_minus
        d1[:, :, 0] = core * t
        d1[:, :, 1] = core
        d1[:, :, 2] = one_minus * (c * (1.0 - c))[:, None]
        d1[:, :, 3] = psi * (u * (1.0 - u))[:, None]
        if self.model == "rasch":
            d1[:, :, 0] = 0.0
        if self.model not in ("3pl", "4pl"):
            d1[:, :, 2] = 0.0
        if self.model != "4pl":
            d1[:, :, 3] = 0.0
        return p, np.stack((-d1, d1), axis=1)

    def _graded(self, xi: Array, t: Array, a: Array, derivatives: bool) -> tuple[Array, Array]:
        d = self.intercepts(xi)  # (n, K)
        n, k = d.shape
        z = a[:, :, None] * t[:, None, :] + d[:, :, None]  # (n, K, Q)
        upper = expit(z)  # P*_k
        lower = expit(-z)  # 1 - P*_k
        q = z.shape[2]
        p = np.empty((n, k + 1, q))
        p[:, 0] = lower[:, 0]
        p[:, k] = upper[:, k - 1]
        if k > 1:
            gap = z[:, 1:] - z[:, :-1]  # < 0
            p[:, 1:k] = upper[:, :-1] * lower[:, 1:] * -np.expm1(gap)
        if not derivatives:
            return p, np.empty((0,))
        s = upper * lower  # (n, K, Q)
        # dP_k/dz_m = s_m (delta_km - delta_{k+1,m}); P_k depends on z_k and z_{k+1}.
        dz = np.zeros((n, k + 1, q, k))
        for m in range(k):  # loop over thresholds (a handful), not over items
            dz[:, m, :, m] -= s[:, m]
            dz[:, m + 1, :, m] += s[:, m]
        # dz_m/da = theta, dz_m/dd_m = 1; d(d)/d(xi) via the ordered parameterisation.
        jac_d = np.zeros((n, k, k))
        jac_d[:, :, 0] = 1.0
        gaps = np.exp(xi[:, 2:])
        for m in range(1, k):
            jac_d[:, m:, m] = -gaps[:, m - 1 : m]
        out = np.empty((n, k + 1, q, k + 1))
        out[..., 0] = (dz * t[0][None, None, :, None]).sum(axis=3)
        out[..., 1:] = np.einsum("ncqm,nml->ncql", dz, jac_d)
        return p, out

    def _partial_credit(
        self, xi: Array, t: Array, a: Array, derivatives: bool
    ) -> tuple[Array, Array]:
        n = xi.shape[0]
        k = self.n_categories - 1
        scores = np.arange(k + 1, dtype=np.float64)
        d = np.concatenate((np.zeros((n, 1)), xi[:, 1:]), axis=1)  # (n, K+1)
        z = a[:, :, None] * scores[None, :, None] * t[:, None, :] + d[:, :, None]
        p = np.asarray(softmax(z, axis=1))
        if not derivatives:
            return p, np.empty((0,))
        mean = (p * scores[None, :, None]).sum(axis=1, keepdims=True)
        q = p.shape[2]
        out = np.empty((n, k + 1, q, k + 1))
        out[..., 0] = p * t[:, None, :] * (scores[None, :, None] - mean)
        eye = np.eye(k + 1)[:, 1:]  # (K+1, K): delta_{c,m} for m = 1..K
        out[..., 1:] = p[..., None] * (eye[None, :, None, :] - np.moveaxis(p[:, 1:], 1, 2)[:, None])
        return p, out

    # ------------------------------------------------------------------ priors

    def log_prior(self, xi: Array) -> Array:
        """Log prior density of each item's parameters, ``(n,)``."""
        total = np.zeros(xi.shape[0])
        pr = self.priors
        if self.model in ("3pl", "4pl") and pr.c is not None:
            total += pr.c.log_density(np.asarray(expit(xi[:, 2])))
        if self.model == "4pl" and pr.u is not None:
            total += pr.u.log_density(np.asarray(expit(xi[:, 3])))
        if pr.log_a is not None and self.model not in FIXED_SLOPE:
            total += pr.log_a.log_density_of_log(xi[:, 0])
        return total

    def prior_gradient_hessian(self, xi: Array) -> tuple[Array, Array]:
        """Gradient ``(n, p)`` and Hessian ``(n, p, p)`` of :meth:`log_prior` in ``xi``."""
        n, p = xi.shape
        grad = np.zeros((n, p))
        hess = np.zeros((n, p, p))
        pr = self.priors

        def beta_on_logit(col: int, prior: BetaPrior) -> None:
            v = np.asarray(expit(xi[:, col]))
            grad[:, col] += (prior.alpha - 1.0) * (1.0 - v) - (prior.beta - 1.0) * v
            hess[:, col, col] -= (prior.alpha + prior.beta - 2.0) * v * (1.0 - v)

        if self.model in ("3pl", "4pl") and pr.c is not None:
            beta_on_logit(2, pr.c)
        if self.model == "4pl" and pr.u is not None:
            beta_on_logit(3, pr.u)
        if pr.log_a is not None and self.model not in FIXED_SLOPE:
            g, h = pr.log_a.gradient_hessian_of_log(xi[:, 0])
            grad[:, 0] += g
            hess[:, 0, 0] += h
        return grad, hess

    # ------------------------------------------------------------------ conversions

    def clamp(self, xi: Array) -> Array:
        """Keep parameters inside the guards (see :data:`A_MAX`, :data:`D_MAX`)."""
        out = xi.copy()
        out[:, 0] = np.clip(out[:, 0], -A_MAX, A_MAX)
        if self.model in DICHOTOMOUS:
            out[:, 1] = np.clip(out[:, 1], -D_MAX, D_MAX)
            out[:, 2:] = np.clip(out[:, 2:], -_LOGIT_MAX, _LOGIT_MAX)
        elif self.model == "grm":
            out[:, 1] = np.clip(out[:, 1], -D_MAX, D_MAX)
            out[:, 2:] = np.clip(out[:, 2:], -_LOGIT_MAX, np.log(2 * D_MAX))
        else:
            out[:, 1:] = np.clip(out[:, 1:], -2 * D_MAX, 2 * D_MAX)
        if self.model in FIXED_SLOPE:
            out[:, 0] = 1.0
        return out

    def at_guard(self, xi: Array) -> NDArray[np.bool_]:
        """Items whose estimate sits on a guard (not estimable from these data)."""
        hit = np.abs(xi[:, 0]) >= A_MAX * 0.999
        d = self.intercepts(xi)
        hit |= (np.abs(d) >= D_MAX * 0.999).any(axis=1)
        if self.model in ("3pl", "4pl"):
            hit |= np.abs(xi[:, 2]) >= _LOGIT_MAX * 0.999
        return np.asarray(hit)

    def irt_vector(self, xi: Array) -> Array:
        """Bank-form parameters per item: ``[a, b, c, u]`` or ``[a, b_1..b_K]``, ``(n, m)``."""
        a = self._slopes(xi)
        safe_a = np.where(np.abs(a) < 1e-12, 1e-12, a)
        if self.model in DICHOTOMOUS:
            c, u = self._asymptotes(xi)
            return np.column_stack((a, -xi[:, 1] / safe_a, c, u))
        d = self.intercepts(xi)
        if self.model == "grm":
            return np.column_stack((a, -d / safe_a[:, None]))
        steps = -np.diff(np.concatenate((np.zeros((d.shape[0], 1)), d), axis=1), axis=1)
        return np.column_stack((a, steps / safe_a[:, None]))

    def irt_names(self) -> tuple[str, ...]:
        """Names of the columns of :meth:`irt_vector`."""
        if self.model in DICHOTOMOUS:
            return ("a", "b", "c", "u")
        return ("a", *(f"b{k}" for k in range(1, self.n_categories)))

    def to_bank(self, row: Array, se: Array | None = None) -> IrtParameters:
        """One item's bank parameters from its :meth:`irt_vector` row (and their SEs)."""

        def fin(x: float) -> float | None:
            return float(x) if np.isfinite(x) else None

        a = float(row[0])
        if self.model in DICHOTOMOUS:
            b, c, u = float(row[1]), float(row[2]), float(row[3])
            errors = None
            if se is not None:
                errors = ParameterErrors(
                    a=fin(se[0]) if self.model != "rasch" else None,
                    b=fin(se[1]),
                    c=fin(se[2]) if self.model in ("3pl", "4pl") else None,
                    d=fin(se[3]) if self.model == "4pl" else None,
                )
            if self.model in ("rasch", "1pl"):
                return OnePL(a=a, b=b, se=errors)
            if self.model == "2pl":
                return TwoPL(a=a, b=b, se=errors)
            if self.model == "3pl":
                return ThreePL(a=a, b=b, c=c, se=errors)
            return FourPL(a=a, b=b, c=c, d=u, se=errors)
        thresholds = tuple(float(x) for x in row[1:])
        errors = None
        if se is not None:
            errors = ParameterErrors(
                a=fin(se[0]) if self.model != "pcm" else None,
                thresholds=tuple(float(x) if np.isfinite(x) else 0.0 for x in se[1:]),
            )
        if self.model == "grm":
            return Graded(a=a, thresholds=thresholds, se=errors)
        return PartialCredit(a=a, thresholds=thresholds, se=errors)

    def from_bank(self, params: IrtParameters) -> Array | None:
        """Internal parameters of one item from its bank parameters, if the model matches."""
        a = float(params.a)
        if self.model in DICHOTOMOUS:
            if isinstance(params, Graded | PartialCredit):
                return None
            c = params.c if isinstance(params, ThreePL | FourPL) else 0.0
            u = params.d if isinstance(params, FourPL) else 1.0
            row = np.array(
                [
                    1.0 if self.model == "rasch" else a,
                    -a * params.b,
                    float(logit(min(max(c, 1e-4), 0.5))),
                    float(logit(min(max(u, 0.5), 1 - 1e-4))),
                ]
            )
            if self.model in ("3pl", "4pl") and c == 0.0 and self.priors.c is not None:
                row[2] = float(logit(self.priors.c.mean))
            return row
        if not isinstance(params, Graded | PartialCredit):
            return None
        if len(params.thresholds) != self.n_categories - 1:
            return None
        b = np.asarray(params.thresholds, dtype=np.float64)
        if self.model == "grm":
            if not isinstance(params, Graded) or np.any(np.diff(b) <= 0):
                return None
            d = -a * b
            return np.concatenate(([a, d[0]], np.log(-np.diff(d))))
        if not isinstance(params, PartialCredit):
            return None
        if self.model == "pcm":
            a = 1.0
        return np.concatenate(([a], -a * np.cumsum(b)))

    def start(self, proportions: Array, correlation: Array) -> Array:
        r"""Classical starting values from category proportions and item-rest correlations.

        The slope follows from the biserial-type correlation taken as a factor loading
        :math:`\lambda`, :math:`a = 1.702 \lambda / \sqrt{1 - \lambda^2}`; intercepts from
        the normal-ogive approximation :math:`P(X \ge k) = \Phi(d_k / (1.702
        \sqrt{1 + (a/1.702)^2}))` (Lord & Novick, 1968, ch. 16).

        Parameters
        ----------
        proportions
            ``(n, C)`` observed category proportions (smoothed, all > 0).
        correlation
            ``(n,)`` item-rest correlations (0 when unknown).
        """
        n = proportions.shape[0]
        lam = np.clip(np.nan_to_num(correlation, nan=0.5), 0.1, 0.9)
        a = np.clip(1.702 * lam / np.sqrt(1.0 - lam * lam), 0.3, 3.0)
        if self.model in FIXED_SLOPE:
            a = np.ones(n)
        if self.model == "1pl":
            a = np.full(n, float(np.median(a)))
        scale = 1.702 * np.sqrt(1.0 + (a / 1.702) ** 2)
        xi = np.zeros((n, self.n_params))
        xi[:, 0] = a
        if self.model in DICHOTOMOUS:
            p = proportions[:, 1]
            c0 = self.priors.c.mean if (self.model in ("3pl", "4pl") and self.priors.c) else 0.0
            u0 = self.priors.u.mean if (self.model == "4pl" and self.priors.u) else 1.0
            adjusted = np.clip((p - c0) / max(u0 - c0, 1e-3), 0.02, 0.98)
            xi[:, 1] = scale * ndtri(adjusted)
            xi[:, 2] = float(logit(min(max(c0, 1e-3), 0.5)))
            xi[:, 3] = float(logit(min(max(u0, 0.5), 1 - 1e-3)))
            return xi
        # P(X >= k) for k = 1..K
        at_least = np.clip(np.cumsum(proportions[:, ::-1], axis=1)[:, ::-1][:, 1:], 0.01, 0.99)
        d = scale[:, None] * ndtri(at_least)
        if self.model == "grm":
            d = d - np.arange(d.shape[1])[None, :] * 1e-3  # strictly decreasing
            gaps = np.maximum(-np.diff(d, axis=1), 0.05)
            xi[:, 1] = d[:, 0]
            xi[:, 2:] = np.log(gaps)
            return xi
        # GPCM: step difficulties from the cumulative thresholds, intercepts as cumulative sums
        steps = -d / a[:, None]
        xi[:, 1:] = -a[:, None] * np.cumsum(steps, axis=1)
        return xi
