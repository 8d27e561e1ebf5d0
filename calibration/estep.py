r"""The Bock-Aitkin E-step as matrix products over collapsed response patterns.

For pattern :math:`u` (count :math:`n_u`) the log-likelihood at node :math:`q` is a sum over
the items the pattern answered. Writing :math:`X_{u,(j,k)} = [x_{uj} = k]` for the
categories :math:`k \ge 1` and :math:`M_{uj} = [x_{uj} \text{ administered}]`,

.. math:: \log L_{uq} = \sum_{(j,k)} X_{u,(j,k)} (\log P_{jkq} - \log P_{j0q})
                         + \sum_j M_{uj} \log P_{j0q},

two matrix products (one when nothing is missing: the second term is then the same row for
every pattern). The posterior weights :math:`w_{uq} \propto L_{uq}\pi_q` give the expected
counts of the M-step, again as products:

.. math:: r_{jkq} = \sum_u n_u w_{uq} X_{u,(j,k)}, \qquad
          N_{jq} = \sum_u n_u w_{uq} M_{uj}, \qquad r_{j0q} = N_{jq} - \sum_{k\ge1} r_{jkq}.

Missing responses simply drop out of both sums: that is full-information estimation, valid
for data missing at random given the responses, which includes adaptively chosen items
(Mislevy & Wu, 1996).

Patterns are processed in chunks; the indicator matrices of the chunks are cached while they
fit in ``cache_bytes`` and rebuilt from the ``int8`` patterns otherwise, which bounds memory.

References
----------
Bock, R. D., & Aitkin, M. (1981). Marginal maximum likelihood estimation of item parameters:
Application of an EM algorithm. *Psychometrika*, 46(4), 443-459.
Mislevy, R. J., & Wu, P.-K. (1996). Missing responses and IRT ability estimation: Omits,
choice, time limits, and adaptive testing. ETS Research Report RR-96-30.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
LOG_FLOOR = float(np.log(1e-300))


@dataclass(frozen=True)
class EStepResult:
    r"""Expected counts and the marginal log-likelihood at the parameters of the E-step.

    Attributes
    ----------
    counts
        ``r[j, k, q]``: expected number of persons at node ``q`` answering item ``j`` in
        category ``k``; shape ``(J, C, Q)``.
    node_counts
        Expected number of persons at each node, ``(Q,)``.
    loglik
        :math:`\\sum_u n_u \\log \\sum_q L_{uq} \\pi_q`.
    """

    counts: Array
    node_counts: Array
    loglik: float


class Design:
    """Category indicators of the response patterns, in row chunks.

    Parameters
    ----------
    patterns
        ``int8`` ``(U, J)`` with ``-1`` for not administered.
    counts
        ``(U,)`` pattern counts (or weights).
    n_categories
        ``(J,)`` categories per item; codes must be below it (checked by the caller).
    cache_bytes
        Indicator chunks are kept in memory up to this size.
    """

    def __init__(
        self,
        patterns: NDArray[np.int8],
        counts: Array,
        n_categories: NDArray[np.intp],
        *,
        cache_bytes: int = 320 * 2**20,
        chunk_rows: int | None = None,
    ) -> None:
        self.patterns = patterns
        self.counts = np.asarray(counts, dtype=np.float64)
        self.n_items = int(patterns.shape[1])
        self.n_categories = np.asarray(n_categories, dtype=np.intp)
        self.max_categories = int(self.n_categories.max()) if self.n_items else 2
        items, cats = [], []
        for c in range(1, self.max_categories):
            members = np.flatnonzero(self.n_categories > c)
            items.append(members)
            cats.append(np.full(members.size, c))
        self.col_item = np.concatenate(items).astype(np.intp)
        self.col_cat = np.concatenate(cats).astype(np.intp)
        self.has_missing = bool((patterns < 0).any())
        width = self.col_item.size + (self.n_items if self.has_missing else 0)
        rows = patterns.shape[0]
        if chunk_rows is None:
            chunk_rows = max(512, min(16384, (4 * 2**20) // max(width, 1)))
        self.chunk_rows = chunk_rows
        self.slices = [slice(s, min(s + chunk_rows, rows)) for s in range(0, rows, chunk_rows)]
        self._cache: dict[int, tuple[Array, Array | None]] = {}
        self._cache_bytes = cache_bytes
        self._used = 0

    @property
    def n_patterns(self) -> int:
        """Number of (collapsed) patterns."""
        return int(self.patterns.shape[0])

    def answered_per_item(self) -> Array:
        """Weighted number of answers of every item, ``(J,)``."""
        out = np.zeros(self.n_items)
        for part in self.slices:
            out += self.counts[part] @ (self.patterns[part] >= 0)
        return out

    def subset(self, rows: NDArray[np.intp]) -> Design:
        """The design of the patterns ``rows`` (for a warm start on a subsample)."""
        return Design(
            self.patterns[rows], self.counts[rows], self.n_categories, cache_bytes=self._cache_bytes
        )

    def _build(self, part: slice) -> tuple[Array, Array | None]:
        block = self.patterns[part]
        indicators = np.ascontiguousarray(
            block[:, self.col_item] == self.col_cat[None, :], dtype=np.float64
        )
        mask = np.ascontiguousarray(block >= 0, dtype=np.float64) if self.has_missing else None
        return indicators, mask

    def chunks(self) -> Iterator[tuple[slice, Array, Array | None]]:
        """Yield ``(rows, X, M)``: category indicators and the administered mask (or None)."""
        for k, part in enumerate(self.slices):
            cached = self._cache.get(k)
            if cached is None:
                cached = self._build(part)
                size = cached[0].nbytes + (0 if cached[1] is None else cached[1].nbytes)
                if self._used + size <= self._cache_bytes:
                    self._cache[k] = cached
                    self._used += size
            yield part, cached[0], cached[1]

    def tables(self, log_p: Array) -> tuple[Array, Array]:
        """Per-column log-probability differences ``(ncols, Q)`` and category-0 logs ``(J, Q)``."""
        base = log_p[:, 0, :]
        return log_p[self.col_item, self.col_cat, :] - base[self.col_item], base

    def log_likelihood(
        self,
        indicators: Array,
        mask: Array | None,
        diff: Array,
        base: Array,
        low_rank: tuple[Array, Array] | None = None,
    ) -> Array:
        """Pattern log-likelihoods at every node for one chunk, ``(rows, Q)``.

        With ``low_rank = (F, G)`` the differences are ``diff = F @ G`` (``F`` is
        ``(ncols, r)``, ``G`` is ``(r, Q)``), so ``X @ diff = (X @ F) @ G`` costs
        ``r / Q`` of the full product: for the 1PL/2PL and the GPCM the log-odds against
        category 0 are linear in theta, ``k a theta + d_k``, and ``r = 2``.
        """
        ll = indicators @ diff if low_rank is None else (indicators @ low_rank[0]) @ low_rank[1]
        if mask is None:
            ll += base.sum(axis=0)[None, :]
        else:
            ll += mask @ base
        return ll

    def posterior_chunks(
        self, log_p: Array, log_prior: Array, low_rank: tuple[Array, Array] | None = None
    ) -> Iterator[tuple[slice, Array, Array, Array, Array | None]]:
        """Yield ``(rows, weights, log marginal, X, M)``: normalised posteriors per pattern."""
        diff, base = self.tables(log_p)
        for part, x, m in self.chunks():
            ll = self.log_likelihood(x, m, diff, base, low_rank)
            ll += log_prior[None, :]
            top = ll.max(axis=1)
            ll -= top[:, None]
            np.exp(ll, out=ll)
            total = ll.sum(axis=1)
            ll /= total[:, None]
            yield part, ll, top + np.log(total), x, m

    def e_step(
        self, log_p: Array, log_prior: Array, low_rank: tuple[Array, Array] | None = None
    ) -> EStepResult:
        """Expected counts ``r[j, k, q]`` and the marginal log-likelihood.

        ``low_rank``: optional factors of the log-probability differences (see
        :meth:`log_likelihood`); they must describe the same ``log_p``.
        """
        q = log_prior.size
        diff, base = self.tables(log_p)
        by_column = np.zeros((self.col_item.size, q))
        responders = np.zeros((self.n_items, q))
        nodes = np.zeros(q)
        loglik = 0.0
        for part, x, m in self.chunks():
            ll = self.log_likelihood(x, m, diff, base, low_rank)
            ll += log_prior[None, :]
            top = ll.max(axis=1)
            ll -= top[:, None]
            np.exp(ll, out=ll)
            total = ll.sum(axis=1)
            n = self.counts[part]
            loglik += float(n @ (top + np.log(total)))
            ll *= (n / total)[:, None]
            by_column += x.T @ ll
            if m is None:
                nodes += ll.sum(axis=0)
            else:
                responders += m.T @ ll
                nodes += ll.sum(axis=0)
        if not self.has_missing:
            responders[:] = nodes[None, :]
        counts = np.zeros((self.n_items, self.max_categories, q))
        counts[self.col_item, self.col_cat] = by_column
        rest = responders.copy()
        np.subtract.at(rest, self.col_item, by_column)
        counts[:, 0] = np.maximum(rest, 0.0)
        return EStepResult(counts=counts, node_counts=nodes, loglik=loglik)
