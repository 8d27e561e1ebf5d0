"""The adaptive session: a pure state machine over a small, serialisable state.

A :class:`Session` holds what is fixed for an assessment (the compiled pool, the policy and
the tables derived from them); a :class:`SessionState` holds what belongs to one learner and
round-trips through msgspec (JSON, a database column). Every operation takes a state and
returns a new one, so any web worker can serve any request::

    session = Session(pool, policy)
    state = session.start(seed=42)
    state = session.next_item(state)            # state.pending is the item to present
    state = session.record(state, state.pending, category)
    ...
    result = session.result(state)               # once state.finished

Randomness (randomesque, Sympson-Hetter, pretest seeding, random selection) is drawn from a
generator seeded by ``(seed, number of items so far)``, so replaying a state gives the same
item, and asking twice for the next item without answering returns the same pending item.

With ``policy.model = "correlated"`` and a bank that carries a correlation matrix, every
answer re-estimates all competencies jointly (:mod:`engine.multidim`); otherwise each
competency is estimated from its own items (``Session.model`` says which).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Literal

import msgspec
import numpy as np
from scipy.stats import norm

from engine.content import ShadowTest, TargetBalancer, competency_shares
from engine.errors import SessionError
from engine.estimation import (
    Estimate,
    Grid,
    GridTables,
    eap,
    map_estimate,
    mle,
    wle,
)
from engine.exposure import best, randomesque, sympson_hetter
from engine.irt.generic import Array
from engine.multidim import JOINT_METHODS, JointCriteria, JointEstimate, JointPosterior, MvnPrior
from engine.policy import LatentModel, Policy, check_policy, cut_scores
from engine.pool import Index, ItemPool
from engine.selection import Selector
from engine.stopping import StopContext, decide, length_bound


class SessionState(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One learner's progress. Small, immutable, serialisable.

    Attributes
    ----------
    bank
        Content hash of the bank version; a state is refused by a session on another bank.
    seed
        Seed of the session's random stream.
    items, categories
        Pool indices of the items answered, in order, and their score categories.
    pending
        The item presented and not yet answered.
    excluded
        Items this learner may not get (refused by Sympson-Hetter, or not eligible).
    theta, se
        Current estimate and standard error per competency (pool order).
    measured
        Per competency: measured well enough for the stopping rule (skipped by selection).
    finished, stop_reason
        Whether the test is over, and why.
    """

    bank: str
    seed: int
    theta: tuple[float, ...]
    se: tuple[float, ...]
    measured: tuple[bool, ...]
    items: tuple[int, ...] = ()
    categories: tuple[int, ...] = ()
    pending: int | None = None
    excluded: tuple[int, ...] = ()
    finished: bool = False
    stop_reason: str = ""


class CompetencyResult(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    r"""The outcome for one competency.

    ``confidence`` is the probability of the classification being right: the posterior mass
    on the decided side of the cut for EAP and MAP, :math:`\Phi(|\hat\theta - c| / SE)` for
    ML and WLE.
    """

    competency: str
    theta: float
    se: float
    items: int
    cut_score: float | None = None
    classification: Literal["pass", "fail"] | None = None
    confidence: float | None = None


#: How a result's competencies were scored, in words for learners, authors and employers.
SCORING_MODELS: dict[str, str] = {
    "independent": "each skill was estimated from the answers to its own questions",
    "correlated": "all skills were estimated together: an answer on one skill also informs the "
    "related skills, through the correlations between skills that the item bank's "
    "calibration estimated",
}


class SessionResult(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The outcome of a session: per competency, plus test length and why it stopped.

    ``model`` says how the competencies were scored: ``independent`` (each from its own
    answers) or ``correlated`` (jointly, with the bank's correlation matrix).
    """

    competencies: tuple[CompetencyResult, ...]
    items: int
    pretest_items: int
    finished: bool
    stop_reason: str
    model: LatentModel = "independent"


_tables_cache: dict[tuple[str, tuple[float, float, int, float, float]], GridTables] = {}


def _tables(pool: ItemPool, grid: Grid, key: tuple[float, float, int, float, float]) -> GridTables:
    """Grid tables are the costly part of a Session; share them between sessions.

    Keyed by the bank's content hash: the same content gives the same tables.
    """
    cache_key = (pool.bank_hash, key)
    tables = _tables_cache.get(cache_key)
    if tables is None:
        tables = GridTables(pool, grid)
        if len(_tables_cache) > 64:
            _tables_cache.clear()
        _tables_cache[cache_key] = tables
    return tables


def mass_above(weights: Array, points: Array, cut: float) -> float:
    """Posterior probability that theta >= ``cut`` from grid weights.

    Each grid point's weight covers the cell between the midpoints to its neighbours; the
    cell that contains ``cut`` contributes in proportion (linear interpolation of the CDF).
    """
    half = (points[1] - points[0]) / 2.0
    edges = np.concatenate(([points[0] - half], points + half))
    cdf = np.concatenate(([0.0], np.cumsum(weights)))
    cdf /= cdf[-1]
    return float(np.clip(1.0 - np.interp(cut, edges, cdf), 0.0, 1.0))


def masses_above(weights: Array, points: Array, cuts: Array) -> Array:
    """Posterior probabilities that theta >= each of ``cuts``, from grid weights.

    The vectorised form of :func:`mass_above` (same cells, same interpolation of the CDF).
    """
    half = (points[1] - points[0]) / 2.0
    edges = np.concatenate(([points[0] - half], points + half))
    cdf = np.concatenate(([0.0], np.cumsum(weights)))
    cdf /= cdf[-1]
    return np.asarray(np.clip(1.0 - np.interp(cuts, edges, cdf), 0.0, 1.0))


class Session:
    """An assessment's fixed part: pool, policy and everything precomputed from them.

    Parameters
    ----------
    pool
        The compiled bank.
    policy
        The policy; checked against the pool (:func:`engine.policy.check_policy`).
    """

    def __init__(self, pool: ItemPool, policy: Policy) -> None:
        check_policy(policy, pool)
        self.pool = pool
        self.policy = policy
        est = policy.estimator
        grid = Grid.normal(
            est.grid.lower, est.grid.upper, est.grid.points, est.prior.mean, est.prior.sd
        )
        key = (est.grid.lower, est.grid.upper, est.grid.points, est.prior.mean, est.prior.sd)
        self.tables = _tables(pool, grid, key)
        self.grid = self.tables.grid
        self.cuts = cut_scores(policy, pool)
        shares = competency_shares(pool, policy)
        bound = length_bound(policy.stopping)
        planned = bound if bound is not None else int(pool.operational.sum())
        self.selector = Selector(pool, policy.selection, self.tables, planned, shares)
        balance = policy.content.balance
        self.balancer = TargetBalancer(pool, policy) if balance != "none" else None
        self.shadow = ShadowTest(pool, policy) if balance == "shadow_test" else None
        self._by_competency = [
            np.flatnonzero(pool.competency == k) for k in range(pool.n_competencies)
        ]
        self._zero_areas = np.zeros(len(pool.area_ids))
        self._random = policy.pretest.rate > 0 or policy.exposure.method in (
            "randomesque",
            "sympson_hetter",
        )
        #: How competencies are scored: ``correlated`` needs the policy to ask for it and the
        #: bank to carry a correlation matrix; a bank without one runs independent.
        self.model: LatentModel = (
            "correlated"
            if policy.model == "correlated" and pool.correlation is not None
            else "independent"
        )
        self.joint: JointPosterior | None = None
        self.criteria: JointCriteria | None = None
        if self.model == "correlated" or policy.selection.method in JOINT_METHODS:
            k = pool.n_competencies
            correlation = pool.correlation if self.model == "correlated" else None
            prior = MvnPrior.build(
                est.prior.mean, est.prior.sd, np.eye(k) if correlation is None else correlation
            )
            self.joint = JointPosterior(pool, prior, self.tables, se_max=est.se_max)
        if policy.selection.method in JOINT_METHODS:
            weights = np.array(
                [policy.selection.weights.get(cid, 1.0) for cid in pool.competency_ids]
            )
            self.criteria = JointCriteria(pool, policy.selection.method, weights)

    # ------------------------------------------------------------------ estimation

    def _responses(self, state: SessionState) -> tuple[Index, Index]:
        items = np.fromiter(state.items, dtype=np.intp, count=len(state.items))
        cats = np.fromiter(state.categories, dtype=np.intp, count=len(state.categories))
        keep = self.pool.operational[items]
        return items[keep], cats[keep]

    def estimate(self, items: Index, categories: Index) -> Estimate:
        """Estimate one competency's ability from its operational responses."""
        est = self.policy.estimator
        if est.method == "eap":
            return eap(self.tables, items, categories)
        if est.method == "map":
            return map_estimate(self.pool, self.tables, items, categories, se_max=est.se_max)
        method = mle if est.method == "mle" else wle
        return method(
            self.pool,
            items,
            categories,
            bounds=est.bounds,
            start=est.prior.mean,
            se_max=est.se_max,
        )

    def joint_estimate(
        self, items: Index, categories: Index, start: Array | None = None
    ) -> JointEstimate:
        """Estimate every competency jointly from all operational responses (correlated model).

        ``start`` (the previous estimate) is where the MAP search starts; the MAP does not
        depend on it for 1PL/2PL/GRM/GPCM items, whose log posterior is concave.
        """
        joint = self.joint
        if joint is None:
            raise SessionError("this session scores its competencies independently")
        if self.policy.estimator.method == "map":
            return joint.map(items, categories, start)
        return joint.eap(items, categories, start)

    def _split(self, items: Index, categories: Index, k: int) -> tuple[Index, Index]:
        mask = self.pool.competency[items] == k
        return items[mask], categories[mask]

    def _stop_context(
        self, items: Index, categories: Index, theta: Array, se: Array
    ) -> StopContext:
        def llr(k: int, lower: float, upper: float) -> float:
            mine, cats = self._split(items, categories, k)
            if mine.size == 0:
                return 0.0
            p, _, _ = self.pool.derivatives(mine, np.array([lower, upper]))
            logs = np.log(np.maximum(p[np.arange(mine.size), cats], 1e-300)).sum(axis=0)
            return float(logs[1] - logs[0])

        return StopContext(n_items=int(items.size), theta=theta, se=se, cut=self.cuts, sprt_llr=llr)

    # ------------------------------------------------------------------ transitions

    def start(self, seed: int, eligibility: Array | None = None) -> SessionState:
        """Start a session.

        Parameters
        ----------
        seed
            Seed of the session's random stream (any integer >= 0).
        eligibility
            For ``exposure.method = "eligibility"``: each item's probability of being
            eligible in this session (see :func:`engine.exposure.update_eligibility`).
        """
        if seed < 0:
            raise SessionError(f"seed must be >= 0, got {seed}")
        excluded: tuple[int, ...] = ()
        if self.policy.exposure.method == "eligibility" and eligibility is not None:
            probability = np.asarray(eligibility, dtype=np.float64)
            if probability.shape != (self.pool.n_items,):
                raise SessionError(
                    f"eligibility needs {self.pool.n_items} probabilities, got {probability.shape}"
                )
            draws = np.random.default_rng(seed).random(self.pool.n_items)
            excluded = tuple(int(i) for i in np.flatnonzero(draws >= probability))
        empty = np.zeros(0, dtype=np.intp)
        k = self.pool.n_competencies
        if self.model == "correlated":
            joint = self.joint_estimate(empty, empty)
            theta, se = joint.theta, joint.se
        else:
            first = self.estimate(empty, empty)
            theta = np.full(k, first.theta)
            se = np.full(k, first.se)
        decision = decide(self.policy.stopping, self._stop_context(empty, empty, theta, se))
        measured = decision.done if decision.done is not None else np.zeros(k, dtype=bool)
        return SessionState(
            bank=self.pool.bank_hash,
            seed=int(seed),
            theta=tuple(theta.tolist()),
            se=tuple(se.tolist()),
            measured=tuple(bool(x) for x in measured),
            excluded=excluded,
            finished=decision.stop,
            stop_reason=decision.reason if decision.stop else "",
        )

    def _check(self, state: SessionState) -> None:
        if state.bank != self.pool.bank_hash:
            raise SessionError("this session state belongs to another bank version")
        if len(state.theta) != self.pool.n_competencies:
            raise SessionError("this session state does not fit the bank's competencies")

    def _rng(self, state: SessionState) -> random.Random:
        return random.Random((state.seed << 20) + len(state.items))

    def next_item(self, state: SessionState) -> SessionState:
        """Choose the next item and return the state with it ``pending``.

        When an item is already pending it is returned again (so a reload shows the same
        question). When nothing can be given any more, the returned state is ``finished``.
        """
        self._check(state)
        if state.pending is not None or state.finished:
            return state
        pool = self.pool
        administered = np.zeros(pool.n_items, dtype=bool)
        administered[list(state.items)] = True
        blocked = administered.copy()
        if state.excluded:
            blocked[list(state.excluded)] = True

        # The random stream is only seeded when the policy draws from it (it costs ~5 us).
        rng = self._rng(state) if self._random else None
        pretest = self.policy.pretest
        if rng is not None and pretest.rate > 0:
            given = int((administered & ~pool.operational).sum())
            if given < pretest.max_items and rng.random() < pretest.rate:
                candidates = np.flatnonzero(~pool.operational & ~blocked)
                if candidates.size:
                    item = int(candidates[rng.randrange(candidates.size)])
                    return msgspec.structs.replace(state, pending=item)

        eligible = pool.operational & ~blocked
        if not eligible.any() and self.policy.exposure.method == "eligibility":
            # Ineligibility never ends a test: when it leaves nothing to give, every item not
            # yet given is eligible again (van der Linden & Veldkamp, 2004, drop the
            # eligibility constraints when they make the shadow test infeasible).
            eligible = pool.operational & ~administered
        if not eligible.any():
            return msgspec.structs.replace(
                state, finished=True, stop_reason="no eligible items left in the bank"
            )
        theta = np.array(state.theta)
        items, categories = self._responses(state)
        counts = np.bincount(pool.competency[items], minlength=pool.n_competencies).astype(
            np.float64
        )
        if self.criteria is not None and self.joint is not None:
            information = self.selector.information(theta)
            precision = self.joint.prior.precision + np.diag(
                self.joint.likelihood.information(items, theta)
            )
            values = self.criteria.criterion(information, precision)
        else:
            posterior = self._posterior_fn(items, categories, theta)
            uniform: Callable[[int], Array] = lambda n: np.random.default_rng(  # noqa: E731
                (state.seed, len(state.items))
            ).random(n)
            values = self.selector.criterion(theta, counts, posterior, uniform)

        mask = eligible
        if self.shadow is not None:
            shadow = self.shadow.assemble(values, administered & pool.operational, eligible)
            if shadow is not None:
                mask = eligible & shadow
        if self.balancer is not None and (self.shadow is None or mask is eligible):
            area_counts = (
                pool.areas[items].sum(axis=0).astype(np.float64)
                if pool.areas.shape[1]
                else self._zero_areas
            )
            measured = np.array(state.measured, dtype=bool)
            mask = self.balancer.restrict(
                eligible, counts, area_counts, np.array(state.se), measured
            )
        scored = np.where(mask, values, -np.inf)

        refused: list[int] = []
        exposure = self.policy.exposure
        if exposure.method == "randomesque" and rng is not None:
            choice = randomesque(scored, exposure.randomesque_size, rng)
        elif exposure.method == "sympson_hetter" and rng is not None:
            choice, refused = sympson_hetter(scored, pool.exposure, rng)
            if choice is None:  # all refused within the restriction: fall back to all eligible
                widened = np.where(eligible, values, -np.inf)
                widened[refused] = -np.inf
                choice, more = sympson_hetter(widened, pool.exposure, rng)
                refused += more
        else:
            choice = best(scored)
        if choice is None:
            return msgspec.structs.replace(
                state,
                finished=True,
                stop_reason="no eligible items left in the bank",
                excluded=state.excluded + tuple(refused),
            )
        return msgspec.structs.replace(
            state, pending=choice, excluded=state.excluded + tuple(refused)
        )

    def _posterior_fn(
        self, items: Index, categories: Index, theta: Array
    ) -> Callable[[int], Array]:
        if self.model == "correlated" and self.joint is not None:
            joint = self.joint
            cache: list[Array] = []

            def marginal(k: int) -> Array:
                if not cache:  # one importance sample serves every competency
                    cache.append(joint.marginals(items, categories, theta))
                return np.asarray(cache[0][k], dtype=np.float64)

            return marginal

        def posterior(k: int) -> Array:
            mine, cats = self._split(items, categories, k)
            return self.tables.posterior(mine, cats)

        return posterior

    def _marginal(self, state: SessionState, items: Index, categories: Index, k: int) -> Array:
        """Competency ``k``'s posterior on the grid (joint marginal when correlated)."""
        if self.model == "correlated" and self.joint is not None:
            rows = self.joint.marginals(
                items, categories, np.array(state.theta), np.array([k], dtype=np.intp)
            )
            return np.asarray(rows[k], dtype=np.float64)
        mine, cats = self._split(items, categories, k)
        return self.tables.posterior(mine, cats)

    def record(self, state: SessionState, item: int, category: int) -> SessionState:
        """Record the score ``category`` for the pending ``item`` and re-estimate.

        Raises
        ------
        SessionError
            When ``item`` is not the pending item, the category is out of range, or the
            session is finished.
        """
        self._check(state)
        if state.finished:
            raise SessionError("the session is finished")
        if state.pending is None or item != state.pending:
            raise SessionError(
                f"item {item} was not presented; the pending item is {state.pending}"
            )
        top = int(self.pool.n_categories[item]) - 1
        if not 0 <= category <= top:
            raise SessionError(f"category must be in 0..{top} for this item, got {category}")
        new_items = (*state.items, item)
        new_categories = (*state.categories, int(category))
        if not self.pool.operational[item]:  # pretest: stored, never scored
            return msgspec.structs.replace(
                state, items=new_items, categories=new_categories, pending=None
            )
        k = int(self.pool.competency[item])
        items = np.fromiter(new_items, dtype=np.intp, count=len(new_items))
        cats = np.fromiter(new_categories, dtype=np.intp, count=len(new_categories))
        keep = self.pool.operational[items]
        items, cats = items[keep], cats[keep]
        if self.model == "correlated":
            joint = self.joint_estimate(items, cats, np.array(state.theta))
            theta_a, se_a = joint.theta, joint.se
            theta = [float(x) for x in theta_a]
            se = [float(x) for x in se_a]
        else:
            mine = self.pool.competency[items] == k
            estimate = self.estimate(items[mine], cats[mine])
            theta = list(state.theta)
            se = list(state.se)
            theta[k] = estimate.theta
            se[k] = estimate.se
            theta_a = np.array(theta)
            se_a = np.array(se)
        decision = decide(self.policy.stopping, self._stop_context(items, cats, theta_a, se_a))
        measured = (
            tuple(bool(x) for x in decision.done) if decision.done is not None else state.measured
        )
        return msgspec.structs.replace(
            state,
            items=new_items,
            categories=new_categories,
            pending=None,
            theta=tuple(theta),
            se=tuple(se),
            measured=measured,
            finished=decision.stop,
            stop_reason=decision.reason if decision.stop else "",
        )

    def finish(self, state: SessionState, reason: str) -> SessionState:
        """End the session now (a time limit, a learner who gives up).

        Any pending item is dropped unanswered. A finished state is returned unchanged.
        """
        self._check(state)
        if state.finished:
            return state
        return msgspec.structs.replace(state, pending=None, finished=True, stop_reason=reason)

    def probability_above(self, state: SessionState, k: int, cuts: Sequence[float]) -> Array:
        r"""Probability that competency ``k``'s ability is at or above each of ``cuts``.

        With EAP or MAP, the posterior mass above each cut (as for the classification's
        confidence); with ML or WLE, the normal approximation
        :math:`\Phi((\hat\theta - c) / SE)` (a step at the estimate when SE = 0).

        References
        ----------
        Rudner, L. M. (2001). Computing the expected proportions of misclassified
        examinees. *Practical Assessment, Research & Evaluation*, 7(14).
        """
        self._check(state)
        points = np.asarray(cuts, dtype=float)
        if self.policy.estimator.method in ("eap", "map"):
            items, categories = self._responses(state)
            weights = self._marginal(state, items, categories, k)
            return masses_above(weights, self.grid.points, points)
        theta, se = state.theta[k], state.se[k]
        if se > 0:
            return np.asarray(norm.cdf((theta - points) / se))
        return (theta >= points).astype(float)

    def result(self, state: SessionState) -> SessionResult:
        """Per-competency estimates, SEs and classifications (also for unfinished states)."""
        self._check(state)
        items, categories = self._responses(state)
        bayesian = self.policy.estimator.method in ("eap", "map")
        outcomes = []
        marginals: Array | None = None
        if bayesian and self.model == "correlated" and self.joint is not None:
            with_cut = np.flatnonzero(~np.isnan(self.cuts))
            if with_cut.size:
                marginals = self.joint.marginals(
                    items, categories, np.array(state.theta), with_cut.astype(np.intp)
                )
        for k, cid in enumerate(self.pool.competency_ids):
            mine, cats = self._split(items, categories, k)
            theta, se = state.theta[k], state.se[k]
            cut = float(self.cuts[k])
            classification: Literal["pass", "fail"] | None = None
            confidence: float | None = None
            if not np.isnan(cut):
                if bayesian:
                    weights = (
                        self.tables.posterior(mine, cats) if marginals is None else marginals[k]
                    )
                    above = mass_above(weights, self.grid.points, cut)
                else:
                    above = float(norm.cdf((theta - cut) / se)) if se > 0 else float(theta >= cut)
                classification = "pass" if above >= 0.5 else "fail"
                confidence = max(above, 1.0 - above)
            outcomes.append(
                CompetencyResult(
                    competency=cid,
                    theta=float(theta),
                    se=float(se),
                    items=int(mine.size),
                    cut_score=None if np.isnan(cut) else cut,
                    classification=classification,
                    confidence=confidence,
                )
            )
        n_pretest = len(state.items) - int(items.size)
        return SessionResult(
            competencies=tuple(outcomes),
            items=int(items.size),
            pretest_items=n_pretest,
            finished=state.finished,
            stop_reason=state.stop_reason,
            model=self.model,
        )
