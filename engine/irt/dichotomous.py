r"""The one kernel for 1PL, 2PL, 3PL and 4PL items (logistic metric, D = 1).

.. math:: P(\theta) = c + \frac{d - c}{1 + e^{-a(\theta - b)}}

With :math:`\psi = 1 / (1 + e^{-a(\theta - b)})`:

.. math:: P' = (d - c)\, a\, \psi (1 - \psi), \qquad
          P'' = (d - c)\, a^2\, \psi (1 - \psi)(1 - 2\psi)

and the item information (Barton & Lord, 1981; Magis, 2013)

.. math:: I(\theta) = \frac{P'^2}{P (1 - P)}
          = \frac{a^2 (P - c)^2 (d - P)^2}{(d - c)^2 P (1 - P)}.

References
----------
Birnbaum, A. (1968). Some latent trait models and their use in inferring an examinee's
ability. In Lord & Novick, *Statistical Theories of Mental Test Scores*.
Magis, D. (2013). A note on the item information function of the four-parameter logistic
model. *Applied Psychological Measurement*, 37(4), 304-315.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit

from engine.irt.generic import Array, as_theta


@dataclass(frozen=True, slots=True)
class Dichotomous:
    """Items scored 0/1 under the 4PL kernel; 1PL-3PL are special cases.

    Attributes
    ----------
    a, b, c, d
        Discrimination, difficulty, lower and upper asymptote, each of shape ``(n,)``.
    """

    a: Array
    b: Array
    c: Array
    d: Array

    @classmethod
    def from_arrays(
        cls, a: ArrayLike, b: ArrayLike, c: ArrayLike | None = None, d: ArrayLike | None = None
    ) -> Dichotomous:
        """Build from array-likes; ``c`` defaults to 0 and ``d`` to 1."""
        a_ = np.ascontiguousarray(a, dtype=np.float64).reshape(-1)
        b_ = np.ascontiguousarray(b, dtype=np.float64).reshape(-1)
        c_ = np.zeros_like(a_) if c is None else np.ascontiguousarray(c, dtype=np.float64)
        d_ = np.ones_like(a_) if d is None else np.ascontiguousarray(d, dtype=np.float64)
        if not a_.shape == b_.shape == c_.shape == d_.shape:
            raise ValueError("a, b, c and d must have the same length")
        return cls(a_, b_, c_.reshape(-1), d_.reshape(-1))

    @property
    def n_items(self) -> int:
        """Number of items."""
        return int(self.a.shape[0])

    @property
    def n_categories(self) -> int:
        """Always 2."""
        return 2

    def take(self, index: NDArray[np.intp]) -> Dichotomous:
        """The items at ``index``."""
        return Dichotomous(self.a[index], self.b[index], self.c[index], self.d[index])

    def _psi(self, theta: ArrayLike) -> Array:
        t = as_theta(theta)
        return np.asarray(expit(self.a[:, None] * (t - self.b[:, None])))

    def correct(self, theta: ArrayLike) -> Array:
        """Probability of a correct answer, shape ``(n, Q)``."""
        c = self.c[:, None]
        return c + (self.d[:, None] - c) * self._psi(theta)

    def probabilities(self, theta: ArrayLike) -> Array:
        """Category probabilities ``[1 - P, P]``, shape ``(n, 2, Q)``."""
        p = self.correct(theta)
        return np.stack((1.0 - p, p), axis=1)

    def derivatives(self, theta: ArrayLike) -> tuple[Array, Array, Array]:
        """Category probabilities with first and second theta-derivatives, ``(n, 2, Q)``."""
        psi = self._psi(theta)
        c = self.c[:, None]
        span = self.d[:, None] - c
        a = self.a[:, None]
        p = c + span * psi
        core = psi * (1.0 - psi)
        dp = span * a * core
        d2p = span * a * a * core * (1.0 - 2.0 * psi)
        return (
            np.stack((1.0 - p, p), axis=1),
            np.stack((-dp, dp), axis=1),
            np.stack((-d2p, d2p), axis=1),
        )

    def information(self, theta: ArrayLike) -> Array:
        """Fisher information, shape ``(n, Q)``."""
        psi = self._psi(theta)
        c = self.c[:, None]
        span = self.d[:, None] - c
        p = c + span * psi
        num = (span * self.a[:, None] * psi * (1.0 - psi)) ** 2
        den = p * (1.0 - p)
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


class DichotomousKernel:
    """Allocation-free 4PL information at one ability per item: the CAT hot path.

    Precomputes ``a^2 (d - c)^2`` and keeps scratch buffers, so maximum-information selection
    over a 1000-item pool is a dozen in-place ufunc calls.
    """

    __slots__ = ("_buf", "_buf2", "_num", "a", "b", "c", "d", "span", "two_pl")

    def __init__(self, family: Dichotomous) -> None:
        self.a = family.a
        self.b = family.b
        self.c = family.c
        self.d = family.d
        self.span = family.d - family.c
        self._num = family.a * family.a * self.span * self.span
        self.two_pl = bool(np.all(family.c == 0.0) and np.all(family.d == 1.0))
        self._buf = np.empty_like(family.a)
        self._buf2 = np.empty_like(family.a)

    def information(self, theta: Array, out: Array) -> Array:
        r"""Write :math:`I_i(\theta_i)` for every item into ``out``; ``theta`` is ``(n,)``.

        Uses :math:`I = a^2 (d-c)^2 \psi^2 (1-\psi)^2 / (P (1 - P))`, which for 2PL items
        reduces to :math:`a^2 \psi (1 - \psi)`.

        ``theta`` may also be ``(m, n)``: one row of abilities per simulee, item ``i`` in
        column ``i`` (:mod:`engine.batch`). The same element-wise operations run, in the same
        order, so every row equals the one-dimensional result exactly.
        """
        if theta.shape == self._buf.shape:
            psi, q = self._buf, self._buf2
        else:
            psi, q = np.empty_like(theta), np.empty_like(theta)
        np.subtract(theta, self.b, out=psi)
        np.multiply(psi, self.a, out=psi)
        np.negative(psi, out=psi)
        np.exp(psi, out=psi)
        np.add(psi, 1.0, out=psi)
        np.reciprocal(psi, out=psi)  # psi = logistic(a (theta - b))
        np.subtract(1.0, psi, out=q)
        np.multiply(psi, q, out=q)  # psi (1 - psi)
        if self.two_pl:
            np.multiply(q, self.a, out=out)
            np.multiply(out, self.a, out=out)
            return out
        np.multiply(q, q, out=out)
        np.multiply(out, self._num, out=out)  # numerator
        np.multiply(psi, self.span, out=psi)
        np.add(psi, self.c, out=psi)  # P
        np.subtract(1.0, psi, out=q)
        np.multiply(q, psi, out=q)  # P (1 - P)
        # Where P (1 - P) = 0 the numerator is 0 too (psi is 0 or 1), so out stays 0 there.
        np.divide(out, q, out=out, where=q > 0)
        return out
