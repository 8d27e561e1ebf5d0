"""A bank compiled for the engine: contiguous numpy arrays, one row per item.

Every selection and update works on these arrays, never on per-item Python objects. A pool is
compiled once per bank version (:func:`compile_pool`) and is immutable, so callers may cache it
by the bank's content hash.

Items whose answers a person scores (``extended_text``) stay in the bank but are left out of the
pool, so the engine can never select them: it could not score the answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from engine.errors import PoolError
from engine.irt.dichotomous import Dichotomous
from engine.irt.generic import Array
from engine.irt.graded import GradedResponse
from engine.irt.partial_credit import GeneralizedPartialCredit
from item_banks.correlations import ordered_correlations
from item_banks.model import (
    Bank,
    FourPL,
    Graded,
    OnePL,
    PartialCredit,
    ThreePL,
    TwoPL,
    auto_scored,
)
from item_banks.native import content_hash

Index = NDArray[np.intp]


@dataclass(frozen=True, eq=False, slots=True)
class ItemPool:
    """Item parameters and metadata as arrays.

    Attributes
    ----------
    bank_hash
        Content hash of the bank version the pool was compiled from.
    item_ids
        Item identifiers; the pool index of an item is its position here.
    competency
        Competency index of every item, into ``competency_ids``.
    areas
        Boolean matrix ``(n_items, n_areas)``: content-area tags.
    operational
        False for pretest items (administered for calibration, never scored).
    n_categories
        Score categories per item (2 for dichotomous items).
    slope, location
        Every item's ``a`` and a single difficulty (``b``; the mean threshold of polytomous
        items), used by a-stratification.
    exposure
        Sympson-Hetter exposure parameter ``K_i`` (1 when the bank gives none).
    cut_scores
        Cut score per competency on its theta scale, NaN when none.
    correlation
        The bank's latent correlation matrix in competency order, ``(K, K)``, or None when
        the bank has none (its competencies are then scored independently).
    """

    bank_id: str
    bank_hash: str
    item_ids: tuple[str, ...]
    competency_ids: tuple[str, ...]
    area_ids: tuple[str, ...]
    competency: Index
    areas: NDArray[np.bool_]
    operational: NDArray[np.bool_]
    n_categories: Index
    slope: Array
    location: Array
    exposure: Array
    cut_scores: Array
    dichotomous_index: Index
    dichotomous: Dichotomous
    graded_index: Index
    graded: GradedResponse
    partial_index: Index
    partial: GeneralizedPartialCredit
    index: dict[str, int] = field(repr=False)
    correlation: Array | None = None

    @property
    def n_items(self) -> int:
        """Number of items, operational and pretest."""
        return len(self.item_ids)

    @property
    def n_competencies(self) -> int:
        """Number of competencies."""
        return len(self.competency_ids)

    @property
    def max_categories(self) -> int:
        """The widest item's number of score categories."""
        return int(self.n_categories.max())

    def _families(
        self,
    ) -> list[tuple[Index, Dichotomous | GradedResponse | GeneralizedPartialCredit]]:
        parts: list[tuple[Index, Dichotomous | GradedResponse | GeneralizedPartialCredit]] = []
        if self.dichotomous_index.size:
            parts.append((self.dichotomous_index, self.dichotomous))
        if self.graded_index.size:
            parts.append((self.graded_index, self.graded))
        if self.partial_index.size:
            parts.append((self.partial_index, self.partial))
        return parts

    def derivatives(self, items: Index, theta: Array) -> tuple[Array, Array, Array]:
        """Category probabilities and derivatives of ``items`` at ``theta``.

        Parameters
        ----------
        items
            Pool indices, shape ``(m,)``.
        theta
            1-D ability points ``(Q,)`` shared by all items, or ``(m, Q)`` per item.

        Returns
        -------
        tuple of ndarray
            ``P, P', P''`` each of shape ``(m, C, Q)`` with ``C = max_categories``.
        """
        items = np.asarray(items, dtype=np.intp)
        per_item = np.ndim(theta) == 2
        q = np.shape(theta)[-1] if np.ndim(theta) else 1
        c = self.max_categories
        out = [np.zeros((items.size, c, q)) for _ in range(3)]
        for members, family in self._families():
            mask = np.isin(items, members)
            if not mask.any():
                continue
            local = np.searchsorted(members, items[mask])
            sub = family.take(local)
            t = np.asarray(theta)[mask] if per_item else theta
            for target, part in zip(out, sub.derivatives(t), strict=True):
                target[mask, : part.shape[1], :] = part
        return out[0], out[1], out[2]

    def probabilities(self, theta: Array) -> Array:
        """Category probabilities of every item at the points ``theta``, ``(n, C, Q)``."""
        theta = np.asarray(theta, dtype=np.float64).reshape(-1)
        out = np.zeros((self.n_items, self.max_categories, theta.size))
        for members, family in self._families():
            part = family.probabilities(theta)
            out[members, : part.shape[1], :] = part
        return out

    def information(self, theta: Array) -> Array:
        """Fisher information of every item at the points ``theta``, shape ``(n, Q)``."""
        theta = np.asarray(theta, dtype=np.float64).reshape(-1)
        out = np.zeros((self.n_items, theta.size))
        for members, family in self._families():
            out[members] = family.information(theta)
        return out

    def response_probabilities(self, item: int, theta: float) -> list[float]:
        """Category probabilities of one item at one ability (for simulating answers)."""
        if self.n_categories[item] == 2 and self.dichotomous_index.size:
            local = int(np.searchsorted(self.dichotomous_index, item))
            if local < self.dichotomous_index.size and self.dichotomous_index[local] == item:
                fam = self.dichotomous
                a, b = float(fam.a[local]), float(fam.b[local])
                c, d = float(fam.c[local]), float(fam.d[local])
                z = a * (theta - b)
                psi = 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0
                p = c + (d - c) * psi
                return [1.0 - p, p]
        p_all, _, _ = self.derivatives(np.array([item]), np.array([theta]))
        return [float(v) for v in p_all[0, : self.n_categories[item], 0]]


def _difficulty(thresholds: tuple[float, ...]) -> float:
    return float(np.mean(thresholds))


def compile_pool(bank: Bank, *, bank_hash: str | None = None) -> ItemPool:
    """Compile a validated bank into an :class:`ItemPool`.

    ``bank_hash`` is the version's stored identity where one exists (the service's database
    key); sessions are bound to it, so they keep running when the content hash's rule or the
    bank model's defaults change. By default :func:`item_banks.native.content_hash`.

    Raises
    ------
    PoolError
        When the bank has no items, no operational items, or a competency without items
        (also one whose operational items are all human-scored essays: such a bank can be
        stored, but not run).

    Notes
    -----
    Items that cannot be auto-scored (:func:`item_banks.model.auto_scored`) are left out.
    """
    if not bank.items:
        raise PoolError(f'bank "{bank.id}" has no items')
    items = [item for item in bank.items if auto_scored(item)]
    if not items:
        raise PoolError(
            f'bank "{bank.id}" has only human-scored items: it cannot be measured adaptively'
        )
    competency_ids = tuple(c.id for c in bank.competencies)
    comp_index = {cid: i for i, cid in enumerate(competency_ids)}
    area_ids = tuple(
        dict.fromkeys(
            [a.id for a in bank.content_areas] + [t for item in items for t in item.content_areas]
        )
    )
    area_index = {aid: i for i, aid in enumerate(area_ids)}

    n = len(items)
    competency = np.empty(n, dtype=np.intp)
    areas = np.zeros((n, len(area_ids)), dtype=bool)
    operational = np.empty(n, dtype=bool)
    n_categories = np.empty(n, dtype=np.intp)
    slope = np.empty(n)
    location = np.empty(n)
    exposure = np.ones(n)
    dich: list[tuple[int, float, float, float, float]] = []
    graded: list[tuple[int, float, tuple[float, ...]]] = []
    partial: list[tuple[int, float, tuple[float, ...]]] = []

    for i, item in enumerate(items):
        if item.competency not in comp_index:
            raise PoolError(f'item "{item.id}": unknown competency "{item.competency}"')
        competency[i] = comp_index[item.competency]
        for tag in item.content_areas:
            areas[i, area_index[tag]] = True
        operational[i] = item.status == "operational"
        if item.exposure is not None:
            exposure[i] = item.exposure
        irt = item.irt
        slope[i] = irt.a
        if isinstance(irt, Graded):
            graded.append((i, irt.a, irt.thresholds))
            n_categories[i] = len(irt.thresholds) + 1
            location[i] = _difficulty(irt.thresholds)
        elif isinstance(irt, PartialCredit):
            partial.append((i, irt.a, irt.thresholds))
            n_categories[i] = len(irt.thresholds) + 1
            location[i] = _difficulty(irt.thresholds)
        else:
            c = irt.c if isinstance(irt, ThreePL | FourPL) else 0.0
            d = irt.d if isinstance(irt, FourPL) else 1.0
            assert isinstance(irt, OnePL | TwoPL | ThreePL | FourPL)
            dich.append((i, irt.a, irt.b, c, d))
            n_categories[i] = 2
            location[i] = irt.b

    if not operational.any():
        raise PoolError(f'bank "{bank.id}" has no operational items')
    counts = np.bincount(competency[operational], minlength=len(competency_ids))
    empty = [competency_ids[k] for k in np.flatnonzero(counts == 0)]
    if empty:
        human = {
            item.competency
            for item in bank.items
            if item.status == "operational" and not auto_scored(item)
        }
        if empty[0] in human:
            raise PoolError(
                f'bank "{bank.id}": competency "{empty[0]}" has only human-scored items: '
                "it cannot be measured adaptively"
            )
        raise PoolError(f'bank "{bank.id}": no operational item measures competency "{empty[0]}"')

    def column(rows: list[tuple[int, float, float, float, float]], j: int) -> Array:
        return np.array([r[j] for r in rows], dtype=np.float64)

    dich_family = Dichotomous.from_arrays(
        column(dich, 1), column(dich, 2), column(dich, 3), column(dich, 4)
    )
    graded_family = GradedResponse.from_lists([g[1] for g in graded], [g[2] for g in graded])
    partial_family = GeneralizedPartialCredit.from_lists(
        [g[1] for g in partial], [g[2] for g in partial]
    )
    cut_scores = np.array(
        [np.nan if c.cut_score is None else c.cut_score for c in bank.competencies]
    )
    ids = tuple(item.id for item in items)
    ordered = ordered_correlations(bank)
    correlation = None if ordered is None else np.array(ordered, dtype=np.float64)
    return ItemPool(
        bank_id=bank.id,
        bank_hash=bank_hash or content_hash(bank),
        item_ids=ids,
        competency_ids=competency_ids,
        area_ids=area_ids,
        competency=competency,
        areas=areas,
        operational=operational,
        n_categories=n_categories,
        slope=slope,
        location=location,
        exposure=exposure,
        cut_scores=cut_scores,
        dichotomous_index=np.array([r[0] for r in dich], dtype=np.intp),
        dichotomous=dich_family,
        graded_index=np.array([g[0] for g in graded], dtype=np.intp),
        graded=graded_family,
        partial_index=np.array([g[0] for g in partial], dtype=np.intp),
        partial=partial_family,
        index={item_id: i for i, item_id in enumerate(ids)},
        correlation=correlation,
    )
