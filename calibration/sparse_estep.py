r"""The Bock-Aitkin E-step over the answered items only: cost and memory linear in answers.

In data collected by a CAT each person answers a few of many items (30 of 500: 94 % of the
person x item table is empty). :class:`calibration.estep.Design` works on the dense table,
so its cost grows with persons x items; here the answers are a sparse person x
(item, category) indicator matrix :math:`A` (CSR: one row per person, one non-zero per
answer, :math:`A_{u,(j,x_{uj})} = 1`), and with :math:`L_{(j,k),q} = \log P_{jk}(\theta_q)`

.. math:: \log L_{uq} = (A L)_{uq}, \qquad
          r_{jkq} = \left(A^\top W\right)_{(j,k),q}, \quad
          W_{uq} = n_u \frac{L_{uq}\pi_q}{\sum_r L_{ur}\pi_r},

two sparse-times-dense products per E-step, each costing answers x nodes (Bock & Aitkin,
1981; missing responses drop out, Mislevy & Wu, 1996). Persons are processed in row blocks
so that the dense ``(persons, nodes)`` work arrays stay small; the products run in single
precision (the expected counts and the log-likelihood are accumulated in double), which
halves their memory traffic and changes the expected counts by a relative 1e-6.

Patterns are not collapsed: in sparse data nearly every pattern is unique, and
``np.unique`` over a million 500-byte rows costs more than it saves.

While EM has frozen some items (their parameters no longer change, see
:meth:`calibration.em.CalibrationModel.focus`), :meth:`SparseDesign.hold` splits off the
moving items' answers: the frozen items' part of every person's log-likelihood,
:math:`C_{uq} = \sum_{j \text{ frozen}} \log P_{j x_{uj}}(\theta_q)`, is computed once and
kept (exact while they stay frozen; it is recomputed if their table rows change), and an
E-step then multiplies only the moving items' answers, :math:`\log L = A_m L + C`,
:math:`r_m = A_m^\top W`. The frozen items' expected counts are then not computed.

The blocks are independent until their expected counts are summed, so they run on several
threads (numpy's ufuncs and scipy's sparse kernels release the GIL); each block's
contribution is computed whole and the contributions are added in block order, so the
result is bit for bit the one-thread result whatever the number of threads.

References
----------
Bock, R. D., & Aitkin, M. (1981). Marginal maximum likelihood estimation of item parameters:
Application of an EM algorithm. *Psychometrika*, 46(4), 443-459.
Mislevy, R. J., & Wu, P.-K. (1996). Missing responses and IRT ability estimation: Omits,
choice, time limits, and adaptive testing. ETS Research Report RR-96-30.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from calibration.estep import EStepResult

Array = NDArray[np.float64]
#: Persons per block of the sparse E-step: the block x nodes work arrays (1 MB) stay in
#: cache through the posterior's passes, three times faster than 65,536 rows.
BLOCK_ROWS = 4_096
#: ``auto``: the sparse E-step is used when at least this share of the table is empty and
#: there are at least :data:`SPARSE_MIN_PERSONS` persons.
SPARSE_MIN_MISSING = 0.5
SPARSE_MIN_PERSONS = 2_000
#: :meth:`SparseDesign.hold` splits off the moving items' answers when they are at most
#: this share of all answers (beyond it the split costs more than it saves).
HOLD_SHARE = 0.7


def default_threads(blocks: int) -> int:
    """Threads of the E-step when not given: ``os.cpu_count()``, at most one per block."""
    return max(1, min(os.cpu_count() or 1, blocks))


class SparseDesign:
    """Answers as a CSR person x (item, category) indicator matrix, in row blocks.

    Parameters
    ----------
    patterns
        ``int8`` ``(U, J)`` with ``-1`` for not administered (kept by reference for the fit
        statistics; the E-step reads only the answers).
    counts
        ``(U,)`` person weights.
    n_categories
        ``(J,)`` categories per item.
    threads
        Threads of the E-step (``None``: :func:`default_threads`); the result does not
        depend on it.
    """

    has_missing = True

    def __init__(
        self,
        patterns: NDArray[np.int8],
        counts: Array,
        n_categories: NDArray[np.intp],
        *,
        block_rows: int = BLOCK_ROWS,
        blocks: list[sp.csr_matrix] | None = None,
        threads: int | None = None,
    ) -> None:
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self.requested_threads = threads
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
        rows = patterns.shape[0]
        self.slices = [slice(s, min(s + block_rows, rows)) for s in range(0, rows, block_rows)]
        self.blocks: list[sp.csr_matrix] = []
        width = self.n_items * self.max_categories
        if blocks is not None:  # already built (a subset of another design's persons)
            self.slices = []
            start = 0
            for block in blocks:
                self.slices.append(slice(start, start + block.shape[0]))
                start += block.shape[0]
            self.blocks = blocks
        for part in self.slices if blocks is None else ():
            block = patterns[part]
            r, j = np.nonzero(block >= 0)
            column = (j * self.max_categories + block[r, j]).astype(np.int32)
            indptr = np.zeros(block.shape[0] + 1, dtype=np.int32)
            np.cumsum(np.bincount(r, minlength=block.shape[0]), out=indptr[1:])
            self.blocks.append(
                sp.csr_matrix(
                    (np.ones(column.size, dtype=np.float32), column, indptr),
                    shape=(block.shape[0], width),
                )
            )
        # the transposes in CSR too: A^T W by rows of A^T runs 2.4 times faster than by
        # the columns of A (scipy's csc kernel scatters), for another 8 bytes per answer
        self.blocks_t = [b.T.tocsr() for b in self.blocks]
        self.threads = threads if threads is not None else default_threads(len(self.blocks))
        self._held: _Held | None = None
        self._by_item: tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.intp]] | None = None

    @property
    def n_patterns(self) -> int:
        """Number of persons (patterns are not collapsed)."""
        return int(self.counts.shape[0])

    @property
    def n_answers(self) -> int:
        """Number of answers (non-zeros)."""
        return int(sum(b.nnz for b in self.blocks))

    def answered_per_item(self) -> Array:
        """Weighted number of answers of every item, ``(J,)``."""
        out = np.zeros(self.n_items)
        for part, block in zip(self.slices, self.blocks, strict=True):
            rows = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
            out += np.bincount(
                block.indices // self.max_categories,
                weights=self.counts[part][rows],
                minlength=self.n_items,
            )
        return out

    def block_answers(
        self, k: int
    ) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.int32]]:
        """The answers of block ``k`` as ``(person, item, category)``, persons in order."""
        part, block = self.slices[k], self.blocks[k]
        persons = part.start + np.repeat(
            np.arange(block.shape[0], dtype=np.int32), np.diff(block.indptr)
        )
        return (
            persons.astype(np.int32),
            (block.indices // self.max_categories).astype(np.int32),
            (block.indices % self.max_categories).astype(np.int32),
        )

    def by_item(self) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.intp]]:
        """Every answer's person and category grouped by item, and the group bounds.

        ``persons[bounds[j]:bounds[j + 1]]`` answered item ``j`` (a stable radix sort on
        the item numbers: linear in the answers). Computed once and kept (the standard
        errors and the item fit both need it; the arrays are read-only).
        """
        if self._by_item is None:
            self._by_item = self._sort_by_item()
        return self._by_item

    def _sort_by_item(self) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.intp]]:
        persons, items, codes = self.answers()
        small = items.astype(np.int16) if self.n_items < 2**15 else items
        order = np.argsort(small, kind="stable")
        bounds = np.searchsorted(items[order], np.arange(self.n_items + 1))
        by_person, by_code = persons[order], codes[order]
        for array in (by_person, by_code, bounds):
            array.flags.writeable = False
        return by_person, by_code, bounds

    def answers(self) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.int32]]:
        """Every answer as ``(person, item, category)`` arrays, persons in order."""
        parts = [self.block_answers(k) for k in range(len(self.blocks))]
        return (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]),
        )

    def persons_answering(self, columns: NDArray[np.intp]) -> NDArray[np.intp]:
        """The persons (sorted) who answered at least one of the items ``columns``."""
        wanted = np.zeros(self.n_items * self.max_categories, dtype=bool)
        for c in range(self.max_categories):
            wanted[columns * self.max_categories + c] = True
        out = []
        for part, block in zip(self.slices, self.blocks, strict=True):
            running = np.concatenate(([0], np.cumsum(wanted[block.indices])))
            hits = running[block.indptr[1:]] - running[block.indptr[:-1]]
            out.append(part.start + np.flatnonzero(hits))
        return np.concatenate(out).astype(np.intp)

    def subset(self, rows: NDArray[np.intp], *, with_patterns: bool = True) -> SparseDesign:
        """The design of the persons ``rows`` (sorted), cut from the CSR blocks.

        Without ``with_patterns`` the dense table is not copied (``patterns`` is then
        empty): enough for E-steps, not for fit statistics.
        """
        blocks = []
        bounds = np.searchsorted(rows, [part.start for part in self.slices] + [self.n_patterns])
        for k, part in enumerate(self.slices):
            local = rows[bounds[k] : bounds[k + 1]] - part.start
            if local.size:
                blocks.append(self.blocks[k][local])
        patterns = self.patterns[rows] if with_patterns else np.zeros((0, self.n_items), np.int8)
        return SparseDesign(
            patterns,
            self.counts[rows],
            self.n_categories,
            blocks=blocks,
            threads=self.requested_threads,
        )

    def hold(self, moving: NDArray[np.bool_] | None) -> bool:
        """Split off the answers of the items ``moving`` for :meth:`e_step` with ``held``.

        ``moving`` may be shorter than the items (the others are frozen).

        Returns whether it did: not for ``None`` (release), nor when the moving items'
        answers are more than :data:`HOLD_SHARE` of all answers.
        """
        self._held = None
        if moving is None or not self.blocks:
            return False
        items = np.zeros(self.n_items, dtype=bool)  # ``moving`` may omit trailing items
        items[: len(moving)] = moving
        mask = np.repeat(items, self.max_categories)
        kept = [mask[block.indices] for block in self.blocks]
        if sum(int(m.sum()) for m in kept) > HOLD_SHARE * max(self.n_answers, 1):
            return False
        columns = np.flatnonzero(mask)
        blocks = []
        for block, m in zip(self.blocks, kept, strict=True):
            running = np.concatenate(([0], np.cumsum(m, dtype=np.int64))).astype(np.int32)
            blocks.append(
                sp.csr_matrix(
                    (block.data[m], block.indices[m], running[block.indptr]), shape=block.shape
                )
            )
        blocks_t = [block_t[columns] for block_t in self.blocks_t]
        self._held = _Held(mask, columns, blocks, blocks_t)
        return True

    def _table(self, log_p: Array) -> NDArray[np.float32]:
        return np.ascontiguousarray(
            log_p.reshape(self.n_items * self.max_categories, -1), dtype=np.float32
        )

    def _posterior(
        self,
        block: sp.csr_matrix,
        table: NDArray[np.float32],
        log_prior: NDArray[np.float32],
        frozen: NDArray[np.float32] | None = None,
    ) -> tuple[NDArray[np.float32], Array, Array]:
        """Unnormalised posterior weights of a block's persons, their sums, log marginals.

        ``frozen``: the block's held log-likelihood of the items not in ``block``. Each
        row's largest weight is 1.
        """
        ll = np.asarray(block @ table)
        if frozen is not None:
            ll += frozen
        ll += log_prior[None, :]
        top = ll.max(axis=1)
        ll -= top[:, None]
        np.exp(ll, out=ll)
        total = ll.sum(axis=1, dtype=np.float64)
        return ll, total, top.astype(np.float64) + np.log(total)

    def posterior_chunks(
        self, log_p: Array, log_prior: Array, low_rank: tuple[Array, Array] | None = None
    ) -> Iterator[tuple[slice, Array, Array, None, None]]:
        """Yield ``(rows, weights, log marginal, None, None)`` per block of persons."""
        table = self._table(log_p)
        prior = log_prior.astype(np.float32)
        for part, block in zip(self.slices, self.blocks, strict=True):
            w, total, marginal = self._posterior(block, table, prior)
            yield part, w.astype(np.float64) / total[:, None], marginal, None, None

    def e_step(
        self,
        log_p: Array,
        log_prior: Array,
        low_rank: tuple[Array, Array] | None = None,
        *,
        held: bool = False,
    ) -> EStepResult:
        """Expected counts ``r[j, k, q]`` and the marginal log-likelihood.

        With ``held`` (after :meth:`hold` returned true) only the moving items' answers are
        multiplied and their counts computed; the frozen items' counts are zero.
        ``low_rank`` is accepted for the interface of :class:`calibration.estep.Design`.
        """
        q = log_prior.size
        table = self._table(log_p)
        prior = log_prior.astype(np.float32)
        by_column = np.zeros((self.n_items * self.max_categories, q))
        nodes = np.zeros(q)
        loglik = 0.0
        keep = self._held if held else None
        if held and keep is None:
            raise RuntimeError("e_step(held=True) without a successful hold()")
        indices = range(len(self.blocks))
        threads = min(self.threads, len(self.blocks))

        def run(work: Callable[[int], _T]) -> Iterator[_T]:
            if threads <= 1:
                return map(work, indices)
            # map yields in submission order: the sums run in block order, as serially
            with ThreadPoolExecutor(max_workers=threads) as pool:
                return iter(list(pool.map(work, indices)))

        if keep is not None and not (
            keep.frozen_table is not None and np.array_equal(keep.frozen_table, table[~keep.mask])
        ):
            zeroed = table.copy()
            zeroed[keep.mask] = 0.0
            keep.cache = list(run(lambda k: np.asarray(self.blocks[k] @ zeroed)))
            keep.frozen_table = table[~keep.mask]

        def contribution(k: int) -> tuple[Array, Array, float]:
            if keep is None:
                w, total, marginal = self._posterior(self.blocks[k], table, prior)
            else:
                w, total, marginal = self._posterior(keep.blocks[k], table, prior, keep.cache[k])
            n = self.counts[self.slices[k]]
            w *= (n / total).astype(np.float32)[:, None]
            back = self.blocks_t[k] if keep is None else keep.blocks_t[k]
            return (
                np.asarray(back @ w, dtype=np.float64),
                w.sum(axis=0, dtype=np.float64),
                float(n @ marginal),
            )

        target = by_column if keep is None else np.zeros((keep.columns.size, q))
        if threads <= 1:
            parts: Iterator[tuple[Array, Array, float]] = map(contribution, indices)
            for block_counts, block_nodes, block_loglik in parts:
                target += block_counts
                nodes += block_nodes
                loglik += block_loglik
        else:
            # map yields in submission order: the sums run in block order, as serially
            with ThreadPoolExecutor(max_workers=threads) as pool:
                for block_counts, block_nodes, block_loglik in pool.map(contribution, indices):
                    target += block_counts
                    nodes += block_nodes
                    loglik += block_loglik
        if keep is not None:
            by_column[keep.columns] = target
        counts = by_column.reshape(self.n_items, self.max_categories, q)
        return EStepResult(counts=counts, node_counts=nodes, loglik=loglik)


_T = TypeVar("_T")


class _Held:
    """The moving items' answers split off by :meth:`SparseDesign.hold`, and the cache."""

    def __init__(
        self,
        mask: NDArray[np.bool_],
        columns: NDArray[np.intp],
        blocks: list[sp.csr_matrix],
        blocks_t: list[sp.csr_matrix],
    ) -> None:
        self.mask = mask  # indicator columns of the moving items
        self.columns = columns
        self.blocks = blocks  # the moving items' answers, per block of persons
        self.blocks_t = blocks_t  # their transposes, rows = ``columns``
        self.cache: list[NDArray[np.float32]] = []  # frozen items' log-likelihood per block
        self.frozen_table: NDArray[np.float32] | None = None  # the table it was built from
