r"""A response pattern's log-likelihood as a function of the ability vector.

In a between-item model item :math:`j` measures competency :math:`k(j)` only, so

.. math:: \ell(\theta) = \sum_j \log P_{j u_j}(\theta_{k(j)}), \qquad
          \frac{\partial \ell}{\partial \theta_k} = \sum_{j: k(j)=k}
          \frac{P'_{j u_j}}{P_{j u_j}}, \qquad
          \frac{\partial^2 \ell}{\partial \theta_k \partial \theta_l} = \delta_{kl}
          \sum_{j: k(j)=k} \left[\frac{P''_{j u_j}}{P_{j u_j}}
          - \left(\frac{P'_{j u_j}}{P_{j u_j}}\right)^2\right]:

the Hessian is diagonal, and so is the test information
:math:`I_k(\theta_k) = \sum_{j: k(j)=k} I_j(\theta_k)` (Segall, 1996). Dichotomous items
(1PL-4PL) are computed in closed form from :math:`\psi = \sigma(a(\theta - b))`,
:math:`P = c + (d-c)\psi`, :math:`P' = (d-c)a\psi(1-\psi)`, :math:`P'' = P' a (1 - 2\psi)`,
with :math:`1 - P = (1 - d) + (d - c)(1 - \psi)` evaluated directly so that neither tail
loses precision; graded and partial-credit items through the pool's families.

Reference: Segall, D. O. (1996). Multidimensional adaptive testing. *Psychometrika*, 61(2),
331-354.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

from engine.irt.generic import Array
from engine.pool import Index, ItemPool

_TINY = 1e-300
#: Exponents are capped here (exp(700) is finite); beyond it a probability is 0 anyway.
_EXP_MAX = 700.0


class Pattern:
    """One response pattern with its items' parameters gathered once (for repeated calls).

    Built by :meth:`PatternLikelihood.prepare`; Newton iterations and importance sampling
    evaluate the same pattern many times.
    """

    __slots__ = ("_a", "_a2", "_b", "_right", "_signed", "categories", "dims", "items", "owner")

    def __init__(self, owner: PatternLikelihood, items: Index, categories: Index) -> None:
        self.owner = owner
        self.items = items
        self.categories = categories
        self.dims = owner.pool.competency[items]
        self._a: Array | None = None
        self._a2: Array | None = None
        self._b: Array | None = None
        self._right: Array | None = None
        self._signed: Array | None = None
        if bool(owner._plain[items].all()):
            self._a = owner._a[items]
            self._a2 = self._a * self._a
            self._b = owner._b[items]
            self._right = (categories == 1).astype(np.float64)
            self._signed = self._a * (2.0 * self._right - 1.0)

    def terms(self, theta: Array) -> tuple[float, Array, Array, Array]:
        """:meth:`PatternLikelihood.terms` of this pattern at ``theta``."""
        if self._a is None or self._a2 is None or self._b is None:
            return self.owner.terms(self.items, self.categories, theta)
        assert self._right is not None and self._signed is not None
        k = self.owner.dimension
        # 1PL/2PL: l' = a (u - psi), l'' = -I = -a^2 psi (1 - psi),
        # log P(u) = -log(1 + exp(-s a (t - b))) with s = +1 (right) or -1 (wrong).
        shifted = theta[self.dims] - self._b
        psi = np.exp(np.minimum(-self._a * shifted, _EXP_MAX))
        psi += 1.0
        np.reciprocal(psi, out=psi)
        info = self._a2 * psi * (1.0 - psi)
        grad = self._a * (self._right - psi)
        odds = np.exp(np.minimum(-self._signed * shifted, _EXP_MAX))
        loglik = -float(np.log1p(odds).sum())
        info_k = np.bincount(self.dims, weights=info, minlength=k).astype(np.float64, copy=False)
        grad_k = np.bincount(self.dims, weights=grad, minlength=k).astype(np.float64, copy=False)
        return loglik, grad_k, -info_k, info_k

    def log_likelihood_at(
        self, centre: Array, factor: Array, standard: NDArray[np.floating[Any]]
    ) -> Array:
        """:meth:`PatternLikelihood.log_likelihood_at` of this pattern."""
        if self._signed is None or self._b is None:
            return self.owner.log_likelihood_at(
                self.items, self.categories, centre, factor, standard
            )
        # -z = -s a (theta - b) as one product; log P = -log1p(exp(-z)), in single precision
        # (log-likelihoods of a few dozen items to 1e-6, far below what moves a weight).
        negative = -self._signed
        coefficients = (factor[:, self.dims] * negative).astype(np.float32)
        minus_z = standard.astype(np.float32, copy=False) @ coefficients
        minus_z += (negative * (centre[self.dims] - self._b)).astype(np.float32)
        np.minimum(minus_z, np.float32(80.0), out=minus_z)
        np.exp(minus_z, out=minus_z)
        np.log1p(minus_z, out=minus_z)
        ones = np.ones(minus_z.shape[1], dtype=np.float32)
        return np.asarray(-(minus_z @ ones), dtype=np.float64)


class PatternLikelihood:
    """Per-competency derivatives of response patterns on one pool.

    Built once per pool: every item's 4PL parameters as arrays over the whole pool (NaN for
    polytomous items), so a pattern's terms are a gather and a dozen array operations.
    """

    __slots__ = ("_a", "_b", "_c", "_d", "_dichotomous", "_plain", "_span", "dimension", "pool")

    def __init__(self, pool: ItemPool) -> None:
        self.pool = pool
        self.dimension = pool.n_competencies
        n = pool.n_items
        self._a = np.full(n, np.nan)
        self._b = np.full(n, np.nan)
        self._c = np.zeros(n)
        self._d = np.ones(n)
        family = pool.dichotomous
        index = pool.dichotomous_index
        self._a[index] = family.a
        self._b[index] = family.b
        self._c[index] = family.c
        self._d[index] = family.d
        self._span = self._d - self._c
        self._dichotomous = np.zeros(n, dtype=bool)
        self._dichotomous[index] = True
        # 1PL/2PL items: log P = -log(1 + exp(-s z)) with s = +-1.
        self._plain = self._dichotomous & (self._c == 0.0) & (self._d == 1.0)

    def prepare(self, items: Index, categories: Index) -> Pattern:
        """The pattern with its items' parameters gathered, for repeated evaluation."""
        return Pattern(self, items, categories)

    def split(self, items: Index) -> tuple[bool, Index]:
        """Whether every item is dichotomous, and the positions of the polytomous ones."""
        dich = self._dichotomous[items]
        if dich.all():
            return True, np.zeros(0, dtype=np.intp)
        return False, np.flatnonzero(~dich)

    def terms(
        self, items: Index, categories: Index, theta: Array
    ) -> tuple[float, Array, Array, Array]:
        r"""Log-likelihood, gradient, Hessian diagonal and test information at ``theta``.

        Parameters
        ----------
        items, categories
            The pattern (pool indices and score categories).
        theta
            Ability vector ``(K,)``.

        Returns
        -------
        tuple
            ``loglik`` (float), and three ``(K,)`` arrays: :math:`\partial\ell/\partial
            \theta_k`, :math:`\partial^2\ell/\partial\theta_k^2` and :math:`I_k(\theta_k)`.
        """
        k = self.dimension
        if items.size == 0:
            zero = np.zeros(k)
            return 0.0, zero, zero.copy(), zero.copy()
        dims = self.pool.competency[items]
        t = theta[dims]
        if self._plain[items].all():
            # 1PL/2PL: l' = a (u - psi), l'' = -I = -a^2 psi (1 - psi).
            a = self._a[items]
            z = a * (t - self._b[items])
            psi = expit(z)
            right = categories == 1
            p_u = np.where(right, psi, expit(-z))
            info = a * a * psi * (1.0 - psi)
            grad = a * (right - psi)
            loglik = float(np.log(np.maximum(p_u, _TINY)).sum())
            info_k = np.bincount(dims, weights=info, minlength=k).astype(np.float64, copy=False)
            return (
                loglik,
                np.bincount(dims, weights=grad, minlength=k).astype(np.float64, copy=False),
                -info_k,
                info_k,
            )
        all_dich, poly = self.split(items)
        if all_dich:
            ll, grad, hess, info = self._dichotomous_terms(items, categories, t)
        else:
            ll = np.empty(items.size)
            grad = np.empty(items.size)
            hess = np.empty(items.size)
            info = np.empty(items.size)
            dich = np.flatnonzero(self._dichotomous[items])
            if dich.size:
                parts = self._dichotomous_terms(items[dich], categories[dich], t[dich])
                for target, part in zip((ll, grad, hess, info), parts, strict=True):
                    target[dich] = part
            parts = self._generic_terms(items[poly], categories[poly], t[poly])
            for target, part in zip((ll, grad, hess, info), parts, strict=True):
                target[poly] = part
        return (
            float(ll.sum()),
            np.bincount(dims, weights=grad, minlength=k).astype(np.float64, copy=False),
            np.bincount(dims, weights=hess, minlength=k).astype(np.float64, copy=False),
            np.bincount(dims, weights=info, minlength=k).astype(np.float64, copy=False),
        )

    def information(self, items: Index, theta: Array) -> Array:
        """Test information per competency at ``theta``, ``(K,)`` (no categories needed)."""
        k = self.dimension
        if items.size == 0:
            return np.zeros(k)
        dims = self.pool.competency[items]
        if self._plain[items].all():
            a = self._a[items]
            psi = expit(a * (theta[dims] - self._b[items]))
            info = a * a * psi * (1.0 - psi)
            return np.bincount(dims, weights=info, minlength=k).astype(np.float64, copy=False)
        zeros = np.zeros(items.size, dtype=np.intp)
        return self.terms(items, zeros, theta)[3]

    def _dichotomous_terms(
        self, items: Index, categories: Index, t: Array
    ) -> tuple[Array, Array, Array, Array]:
        a = self._a[items]
        c = self._c[items]
        span = self._span[items]
        z = a * (t - self._b[items])
        psi = expit(z)
        rest = expit(-z)  # 1 - psi without cancellation
        p = c + span * psi
        q = (1.0 - self._d[items]) + span * rest
        dp = span * a * psi * rest
        d2p = dp * a * (rest - psi)
        right = categories == 1
        p_u = np.maximum(np.where(right, p, q), _TINY)
        sign = np.where(right, 1.0, -1.0)
        grad = sign * dp / p_u
        hess = sign * d2p / p_u - grad * grad
        pq = np.maximum(p * q, _TINY)
        info = dp * dp / pq
        return np.log(p_u), grad, hess, info

    def _generic_terms(
        self, items: Index, categories: Index, t: Array
    ) -> tuple[Array, Array, Array, Array]:
        p, dp, d2p = self.pool.derivatives(items, t[:, None])
        rows = np.arange(items.size)
        p_u = np.maximum(p[rows, categories, 0], _TINY)
        grad = dp[rows, categories, 0] / p_u
        hess = d2p[rows, categories, 0] / p_u - grad * grad
        safe = p[:, :, 0] > _TINY
        info = np.divide(
            dp[:, :, 0] ** 2, p[:, :, 0], out=np.zeros_like(p[:, :, 0]), where=safe
        ).sum(axis=1)
        return np.log(p_u), grad, hess, info

    def log_likelihood_at(
        self,
        items: Index,
        categories: Index,
        centre: Array,
        factor: Array,
        standard: NDArray[np.floating[Any]],
    ) -> Array:
        r"""The pattern's log-likelihood at the points :math:`\theta_s = c + F^\top t_s`, ``(S,)``.

        Parameters
        ----------
        centre
            :math:`c`, ``(K,)``.
        factor
            :math:`F`, ``(K, K)`` (points are ``centre + standard @ factor``).
        standard
            The standardised points :math:`t_s`, ``(S, K)``.

        Notes
        -----
        For 1PL/2PL items the logits are one matrix product,
        :math:`z_{sj} = s_j a_j (\theta_{s k(j)} - b_j) = t_s^\top (F_{\cdot k(j)} s_j a_j)
        + s_j a_j (c_{k(j)} - b_j)` with :math:`s_j = \pm 1` for a right (wrong) answer, and
        :math:`\log P = \log\sigma(z)`.
        """
        if items.size == 0:
            return np.zeros(standard.shape[0])
        dims = self.pool.competency[items]
        if self._plain[items].all():
            signed = self._a[items] * np.where(categories == 1, 1.0, -1.0)
            z = standard @ (factor[:, dims] * signed)
            z += signed * (centre[dims] - self._b[items])
            np.maximum(expit(z, out=z), _TINY, out=z)
            return np.asarray(np.log(z, out=z).sum(axis=1))
        t = (centre + standard @ factor)[:, dims]  # (S, m)
        _, poly = self.split(items)
        total = np.zeros(standard.shape[0])
        dich = np.flatnonzero(self._dichotomous[items])
        if dich.size:
            sub = items[dich]
            z = self._a[sub] * (t[:, dich] - self._b[sub])
            c = self._c[sub]
            span = self._span[sub]
            right = categories[dich] == 1
            p = np.where(right, c + span * expit(z), (1.0 - self._d[sub]) + span * expit(-z))
            total += np.log(np.maximum(p, _TINY)).sum(axis=1)
        if poly.size:
            sub = items[poly]
            p, _, _ = self.pool.derivatives(sub, np.ascontiguousarray(t[:, poly].T))
            chosen = p[np.arange(sub.size), categories[poly], :]  # (m_poly, S)
            total += np.log(np.maximum(chosen, _TINY)).sum(axis=0)
        return total
