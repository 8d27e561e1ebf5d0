r"""Content balancing across competencies and content areas.

Two methods:

* **Target proportions** (Kingsbury & Zara, 1989): before each item, the competency whose
  share of the test so far is furthest below its target is chosen (ties go to the one with the
  largest standard error), then, within it, the content area furthest below its target; the
  selection rule then picks among those items only.
* **Shadow test** (van der Linden & Reese, 1998): before each item, a full-length test is
  assembled that contains every item given so far, meets the content targets as counts
  (:math:`\lfloor pL \rfloor \le n_c \le \lceil pL \rceil`) and maximises the information at
  the current estimates; the best unadministered item of that shadow test is given. The
  0-1 problem is solved with ``scipy.optimize.milp`` (HiGHS).

References
----------
Kingsbury, G. G., & Zara, A. R. (1989). Procedures for selecting items for computerized
adaptive tests. *Applied Measurement in Education*, 2(4), 359-375.
van der Linden, W. J., & Reese, L. M. (1998). A model for optimal constrained adaptive
testing. *Applied Psychological Measurement*, 22(3), 259-270.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array, vstack

from engine.irt.generic import Array
from engine.pool import ItemPool
from engine.stopping import length_bound

if TYPE_CHECKING:
    from engine.policy import Policy

Mask = NDArray[np.bool_]


def competency_shares(pool: ItemPool, policy: Policy) -> Array:
    """Target share of the test per competency (equal shares when the policy sets none)."""
    k = pool.n_competencies
    if not policy.content.competencies:
        return np.full(k, 1.0 / k)
    shares = np.zeros(k)
    for cid, share in policy.content.competencies.items():
        shares[pool.competency_ids.index(cid)] = share
    return shares


def area_shares(pool: ItemPool, policy: Policy) -> Array:
    """Target share per content area, NaN where the policy sets none."""
    shares = np.full(len(pool.area_ids), np.nan)
    for aid, share in policy.content.areas.items():
        shares[pool.area_ids.index(aid)] = share
    return shares


class TargetBalancer:
    """Kingsbury-Zara restriction of the eligible items to the most under-served content."""

    def __init__(self, pool: ItemPool, policy: Policy) -> None:
        self.pool = pool
        self.competency_shares = competency_shares(pool, policy)
        self.area_shares = area_shares(pool, policy)
        self.has_area_targets = bool(np.isfinite(self.area_shares).any())

    def restrict(
        self,
        eligible: Mask,
        comp_counts: Array,
        area_counts: Array,
        se: Array,
        done: Mask | None,
    ) -> Mask:
        """Return the subset of ``eligible`` the next item must come from.

        Competencies marked ``done`` (already measured well enough by the stopping rule) are
        skipped while others still have eligible items.
        """
        pool = self.pool
        available = np.bincount(pool.competency[eligible], minlength=pool.n_competencies) > 0
        open_ = available & ~done if done is not None else available
        if not open_.any():
            open_ = available
        if not open_.any():
            return eligible
        total = comp_counts.sum()
        observed = comp_counts / total if total > 0 else np.zeros_like(comp_counts)
        deficit = self.competency_shares - observed
        # Largest deficit first; ties broken by the larger standard error.
        score = np.where(open_, deficit * 1e6 + se, -np.inf)
        chosen = int(np.argmax(score))
        mask: Mask = np.logical_and(eligible, pool.competency == chosen)
        if self.has_area_targets:
            in_areas = pool.areas[mask].any(axis=0)
            targets = np.isfinite(self.area_shares) & in_areas
            if targets.any():
                observed_area = area_counts / total if total > 0 else np.zeros_like(area_counts)
                area_deficit = np.where(targets, self.area_shares - observed_area, -np.inf)
                best = int(np.argmax(area_deficit))
                if area_deficit[best] > 0:
                    narrowed = np.logical_and(mask, pool.areas[:, best])
                    if narrowed.any():
                        mask = narrowed
        return mask


class ShadowTest:
    """van der Linden & Reese's shadow-test assembler for one pool and policy."""

    def __init__(self, pool: ItemPool, policy: Policy) -> None:
        bound = length_bound(policy.stopping)
        if bound is None:
            raise ValueError("a shadow test needs a stopping rule with a maximum length")
        self.pool = pool
        self.length = bound
        self.items = np.flatnonzero(pool.operational)
        rows: list[csr_array] = []
        lower: list[float] = []
        upper: list[float] = []
        n = self.items.size
        rows.append(csr_array(np.ones((1, n))))
        lower.append(self.length)
        upper.append(self.length)
        for k, share in enumerate(competency_shares(pool, policy)):
            member = (pool.competency[self.items] == k).astype(np.float64)
            rows.append(csr_array(member[None, :]))
            lower.append(math.floor(share * self.length + 1e-9))
            upper.append(math.ceil(share * self.length - 1e-9))
        for a, share in enumerate(area_shares(pool, policy)):
            if np.isfinite(share):
                member = pool.areas[self.items, a].astype(np.float64)
                rows.append(csr_array(member[None, :]))
                lower.append(math.floor(share * self.length + 1e-9))
                upper.append(math.ceil(share * self.length - 1e-9))
        self._constraint = LinearConstraint(vstack(rows), np.array(lower), np.array(upper))

    def assemble(self, information: Array, administered: Mask, available: Mask) -> Mask | None:
        """Solve for a shadow test; return its items as a pool mask, or None if infeasible.

        Parameters
        ----------
        information
            The criterion to maximise, per pool item.
        administered
            Items already given (forced into the test).
        available
            Items that may still be given.
        """
        items = self.items
        fixed = administered[items]
        lower = fixed.astype(np.float64)
        upper = (fixed | available[items]).astype(np.float64)
        result = milp(
            c=-information[items],
            constraints=[self._constraint],
            integrality=np.ones(items.size),
            bounds=Bounds(lower, upper),
            options={"time_limit": 2.0},
        )
        if result.x is None or result.status not in (0, 1):
            return None
        chosen = np.zeros(self.pool.n_items, dtype=bool)
        chosen[items[result.x > 0.5]] = True
        return chosen


def shadow_feasible(pool: ItemPool, policy: Policy) -> str | None:
    """Return why the shadow-test constraints cannot be met on the whole pool, or None."""
    shadow = ShadowTest(pool, policy)
    none = np.zeros(pool.n_items, dtype=bool)
    if shadow.assemble(np.ones(pool.n_items), none, pool.operational.copy()) is None:
        return (
            f"no test of {shadow.length} items meets the content targets with this bank's "
            "items; lower the targets or the test length"
        )
    return None
