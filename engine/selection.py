r"""Item selection criteria, vectorised over the pool (higher is better).

Each item is evaluated at the current estimate :math:`\hat\theta` of *its own* competency, so
one pass over the arrays serves a multi-competency test.

* ``max_info``: Fisher information :math:`I_i(\hat\theta)` (Lord, 1980).
* ``kl``: Kullback-Leibler information integrated over
  :math:`[\hat\theta - \delta_n, \hat\theta + \delta_n]`, :math:`\delta_n = z/\sqrt{n}`
  (Chang & Ying, 1996).
* ``posterior_kl``: KL between the response distributions at :math:`\hat\theta` and at
  :math:`\theta`, weighted by the posterior (Chang & Ying, 1996).
* ``max_posterior_info``: :math:`\int I_i(\theta)\,\pi(\theta \mid u)\,d\theta`
  (van der Linden, 1998).
* ``min_posterior_variance``: minus the expected posterior variance after the item's
  answer, :math:`\sum_k P(u_i = k \mid u) \operatorname{Var}(\theta \mid u, u_i = k)`
  (Owen, 1975; van der Linden, 1998).
* ``a_stratified``: the pool is split into strata of increasing discrimination; the test
  moves through them, choosing the item whose difficulty is closest to :math:`\hat\theta`
  (Chang & Ying, 1999).
* ``random``: uniform.

References
----------
Chang, H.-H., & Ying, Z. (1996). A global information approach to computerized adaptive
testing. *Applied Psychological Measurement*, 20(3), 213-229.
Chang, H.-H., & Ying, Z. (1999). a-stratified multistage computerized adaptive testing.
*Applied Psychological Measurement*, 23(3), 211-222.
van der Linden, W. J. (1998). Bayesian item selection criteria for adaptive testing.
*Psychometrika*, 63(2), 201-216.
Owen, R. J. (1975). A Bayesian sequential procedure for quantal response in the context of
adaptive mental testing. *JASA*, 70(350), 351-356.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.estimation import GridTables
from engine.irt.dichotomous import DichotomousKernel
from engine.irt.generic import Array
from engine.policy import SelectionConfig
from engine.pool import Index, ItemPool

PosteriorFn = Callable[[int], Array]

#: Criterion offset that keeps a-stratified selection inside the current stratum.
_STRATUM_PENALTY = 1.0e3
#: Grid on which polytomous item information is tabulated for selection (spacing 0.0025).
_POLY_GRID = np.linspace(-8.0, 8.0, 6401)
#: Above this many polytomous items, selection computes their information exactly.
_POLY_TABLE_MAX_ITEMS = 300
_POLY_STEP = float(_POLY_GRID[1] - _POLY_GRID[0])


def interpolated_information(table: Array, theta: Array) -> Array:
    r"""Information of item ``i`` at ``theta[i]`` by linear interpolation in ``table[i]``.

    ``table`` holds each item's information on :data:`_POLY_GRID`; with a spacing of
    :math:`h = 0.0025` the error is at most :math:`h^2 \max|I''| / 8`, far below anything
    that changes which item is most informative. Abilities outside the grid are clamped.
    """
    position = np.clip((theta - _POLY_GRID[0]) / _POLY_STEP, 0.0, _POLY_GRID.size - 1.000001)
    left = position.astype(np.intp)
    weight = position - left
    rows = np.arange(table.shape[0])
    return np.asarray(
        table[rows, left] * (1.0 - weight) + table[rows, left + 1] * weight, dtype=np.float64
    )


class Selector:
    """Computes a selection criterion for every item of a pool.

    Built once per (pool, policy); keeps scratch buffers and per-competency index arrays.
    """

    def __init__(
        self,
        pool: ItemPool,
        config: SelectionConfig,
        tables: GridTables,
        planned_length: int,
        shares: Array,
    ) -> None:
        self.pool = pool
        self.config = config
        self.tables = tables
        self.method = config.method
        self._out = np.empty(pool.n_items)
        self._theta = np.empty(pool.n_items)
        self._dich_out = np.empty(pool.dichotomous_index.size)
        self._kernel = DichotomousKernel(pool.dichotomous)
        self._all_dichotomous = pool.dichotomous_index.size == pool.n_items
        # Polytomous items: information tabulated once on a fine grid and interpolated
        # (exact formulas cost ~20 array operations per family per step).
        self._poly_index = np.concatenate((pool.graded_index, pool.partial_index))
        # Large polytomous pools compute exactly: there the cost is in the elements, not
        # in the number of array operations, and a table would take too much memory.
        small = 0 < self._poly_index.size <= _POLY_TABLE_MAX_ITEMS
        self._poly_table = pool.information(_POLY_GRID)[self._poly_index] if small else None
        self._by_competency: list[Index] = [
            np.flatnonzero(pool.competency == k) for k in range(pool.n_competencies)
        ]
        self._strata = self._make_strata(config.strata)
        # Items each competency is planned to get, for the a-stratified stage.
        self._planned = np.maximum(1.0, planned_length * shares)

    # ------------------------------------------------------------------ public

    def criterion(
        self,
        theta: Array,
        counts: Array,
        posterior: PosteriorFn,
        rng_uniform: Callable[[int], Array],
    ) -> Array:
        """Criterion values for every item (higher is better), shape ``(n_items,)``.

        Parameters
        ----------
        theta
            Current estimate per competency, ``(K,)``.
        counts
            Operational items administered per competency, ``(K,)``.
        posterior
            ``posterior(k)`` returns competency ``k``'s normalised posterior on the grid.
        rng_uniform
            ``rng_uniform(n)`` returns ``n`` uniform draws (for ``random``).
        """
        method = self.method
        if method == "max_info":
            return self.information(theta)
        if method == "random":
            return rng_uniform(self.pool.n_items)
        if method == "a_stratified":
            return self._a_stratified(theta, counts)
        if method == "kl":
            return self._kl(theta, counts)
        return self._posterior_weighted(theta, posterior)

    def information(self, theta: Array) -> Array:
        """Fisher information of every item at its competency's ``theta``."""
        np.take(theta, self.pool.competency, out=self._theta)
        if self._all_dichotomous:
            return self._kernel.information(self._theta, self._out)
        out = self._out
        pool = self.pool
        if pool.dichotomous_index.size:
            out[pool.dichotomous_index] = self._kernel.information(
                self._theta[pool.dichotomous_index], self._dich_out
            )
        if self._poly_table is not None:
            out[self._poly_index] = interpolated_information(
                self._poly_table, self._theta[self._poly_index]
            )
            return out
        for members, family in (
            (pool.graded_index, pool.graded),
            (pool.partial_index, pool.partial),
        ):
            if members.size:
                out[members] = family.information(self._theta[members][:, None])[:, 0]
        return out

    # ------------------------------------------------------------------ many simulees

    #: Criteria :meth:`criterion_rows` computes for many simulees at once.
    ROW_METHODS = ("max_info", "a_stratified", "max_posterior_info", "random")

    def criterion_rows(
        self,
        theta: Array,
        counts: Array,
        posterior: Array | None,
        uniform: Array | None,
    ) -> Array:
        """:meth:`criterion` for ``m`` simulees at once, shape ``(m, n_items)``.

        Row ``r`` equals ``criterion(theta[r], counts[r], ...)`` exactly: the same
        element-wise operations in the same order, and per-row matrix-vector products for
        ``max_posterior_info`` (used by :mod:`engine.batch`).

        Parameters
        ----------
        theta, counts
            ``(m, K)`` estimates and operational items per competency.
        posterior
            ``(m, K, Q)`` normalised posteriors (``max_posterior_info`` only).
        uniform
            ``(m, n_items)`` uniform draws (``random`` only).
        """
        method = self.method
        if method == "max_info":
            return self.information_rows(theta)
        if method == "a_stratified":
            return self._a_stratified(theta, counts)
        if method == "random" and uniform is not None:
            return uniform
        if method == "max_posterior_info" and posterior is not None:
            out = np.empty((theta.shape[0], self.pool.n_items))
            for k, members in enumerate(self._by_competency):  # competencies, not items
                if members.size:
                    info = self.tables.information[members]
                    out[:, members] = np.matmul(info[None], posterior[:, k, :, None])[..., 0]
            return out
        raise ValueError(f"criterion_rows does not compute {method!r}")

    def information_rows(self, theta: Array) -> Array:
        """:meth:`information` for ``m`` simulees: ``(m, K)`` estimates -> ``(m, n_items)``."""
        pool = self.pool
        item_theta = np.take(theta, pool.competency, axis=1)
        if self._all_dichotomous:
            return self._kernel.information(item_theta, np.empty_like(item_theta))
        out = np.empty_like(item_theta)
        if pool.dichotomous_index.size:
            part = item_theta[:, pool.dichotomous_index]
            out[:, pool.dichotomous_index] = self._kernel.information(part, np.empty_like(part))
        if self._poly_table is not None:
            out[:, self._poly_index] = interpolated_information(
                self._poly_table, item_theta[:, self._poly_index]
            )
            return out
        for members, family in (
            (pool.graded_index, pool.graded),
            (pool.partial_index, pool.partial),
        ):
            if members.size:
                out[:, members] = family.information(item_theta[:, members].T).T
        return out

    # ------------------------------------------------------------------ rules

    def _make_strata(self, n_strata: int) -> Index:
        """Stratum of every item: within its competency, quantiles of increasing ``a``."""
        strata = np.zeros(self.pool.n_items, dtype=np.intp)
        for members in self._by_competency:
            order = members[np.argsort(self.pool.slope[members], kind="stable")]
            for s, chunk in enumerate(np.array_split(order, min(n_strata, max(order.size, 1)))):
                strata[chunk] = s
        return strata

    def _a_stratified(self, theta: Array, counts: Array) -> Array:
        """Distance of ``b`` to the estimate plus the stratum penalty (``(K,)`` or ``(m, K)``)."""
        n_strata = self.config.strata
        stage = np.minimum(n_strata - 1, np.floor(counts * n_strata / self._planned)).astype(
            np.intp
        )
        item_theta = np.take(theta, self.pool.competency, axis=-1)
        item_stage = np.take(stage, self.pool.competency, axis=-1)
        distance = np.abs(self.pool.location - item_theta)
        penalty = _STRATUM_PENALTY * np.abs(self._strata - item_stage)
        return np.asarray(-(distance + penalty), dtype=np.float64)

    def _kl(self, theta: Array, counts: Array) -> Array:
        """Chang & Ying's KL index by 11-point Simpson integration per item."""
        pool = self.pool
        n = np.maximum(counts, 1.0)[pool.competency]
        centre = theta[pool.competency]
        delta = self.config.kl_width / np.sqrt(n)
        offsets = np.linspace(-1.0, 1.0, 11)
        points = centre[:, None] + delta[:, None] * offsets[None, :]
        everything = np.arange(pool.n_items)
        p0, _, _ = pool.derivatives(everything, centre[:, None])  # (n, C, 1)
        p, _, _ = pool.derivatives(everything, points)  # (n, C, 11)
        tiny = 1e-300
        kl = (p0 * (np.log(np.maximum(p0, tiny)) - np.log(np.maximum(p, tiny)))).sum(axis=1)
        weights = np.array([1, 4, 2, 4, 2, 4, 2, 4, 2, 4, 1], dtype=np.float64)
        h = (2.0 * delta) / 10.0
        return np.asarray((kl @ weights) * h / 3.0)

    def _posterior_weighted(self, theta: Array, posterior: PosteriorFn) -> Array:
        pool = self.pool
        tables = self.tables
        out = np.empty(pool.n_items)
        points = tables.grid.points
        method = self.method
        for k, members in enumerate(self._by_competency):
            if members.size == 0:
                continue
            w = posterior(k)
            if method == "max_posterior_info":
                out[members] = tables.information[members] @ w
            elif method == "min_posterior_variance":
                probs = tables.probabilities[members]  # (m, C, Q)
                moments = probs @ np.stack((w, w * points, w * points * points), axis=1)
                m0, m1, m2 = moments[..., 0], moments[..., 1], moments[..., 2]
                # m0 Var(theta | u, k) = m2 - m1^2 / m0, summed over the answer categories.
                weighted_var = m2 - m1 * m1 / np.maximum(m0, 1e-300)
                out[members] = -np.where(m0 > 0, weighted_var, 0.0).sum(axis=1)
            else:  # posterior_kl
                p0, _, _ = pool.derivatives(members, np.full((members.size, 1), theta[k]))
                p0 = p0[:, :, 0]
                log_p0 = np.log(np.maximum(p0, 1e-300))
                expected_log = tables.log_probabilities[members] @ w  # (m, C)
                out[members] = (p0 * (log_p0 - expected_log)).sum(axis=1)
        return out
