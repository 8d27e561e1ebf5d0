r"""Many simulees through one adaptive test at once: a lockstep, vectorised CAT.

:class:`~engine.session.Session` runs one learner's test, a step at a time, in 60-100 us;
a simulation study or a calibration study runs tens of thousands of tests, and
:func:`engine.simulation.run` takes about 35 s for 20,000 simulees x 30 items. Here all
simulees of a block advance together, one item per step, each step an array operation over
``simulees x items`` with the Session's own parts:

* the criterion of its :class:`~engine.selection.Selector`
  (:meth:`~engine.selection.Selector.criterion_rows`: ``max_info``, ``a_stratified``,
  ``max_posterior_info``, ``random``);
* EAP on its :class:`~engine.estimation.GridTables`: the log-likelihood of each simulee and
  competency on the grid is accumulated item by item (the same sums, in the same order, as
  :meth:`GridTables.log_likelihood`), and the posterior mean and SD are per-row
  vector products, so every estimate equals the Session's exactly;
* its content balancing (Kingsbury-Zara targets for competencies and content areas), its
  exposure control (randomesque, Sympson-Hetter with the refused items excluded for the
  rest of the test, item eligibility), pretest seeding, and its stopping rule (every rule
  of :mod:`engine.stopping`, evaluated for all simulees at once).

Shadow tests and the MAP, ML and WLE estimators need a per-person optimisation at every
step and are refused (:class:`~engine.errors.PolicyError`): use
:func:`engine.simulation.run` for those; so are the ``kl``, ``posterior_kl`` and
``min_posterior_variance`` criteria.

Randomness
----------
Session draws its random numbers (randomesque, Sympson-Hetter, pretest seeding, random
selection, eligibility at the start) from generators seeded by ``(seed, items so far)``, one
per learner and step. ``draws="session"`` reproduces exactly those streams, simulee by
simulee (a Python loop over simulees: for checking and small runs); the batch then makes
the same choices and estimates as Session, which the tests check item by item.
``draws="vectorised"`` (the default) draws the same kinds of numbers, used in the same way
(a uniform choice among the ``n`` best, acceptance with probability :math:`K_i`, ...), from
counter-based streams: the draw of simulee ``j`` for a given purpose at step ``t`` is
position ``j`` of the Philox stream keyed by ``(seed, purpose, t)``, so results do not
depend on how the simulees are split into blocks. Only the random numbers differ between
the two modes, never what is done with them.

The simulees' answers come from the model at their true abilities: the category of
simulee ``j`` at step ``t`` is the first ``k`` with ``U < P(X <= k)``, ``U`` being position
``j`` of the stream ``(seed, ANSWER, t)`` (:func:`uniforms`) in both modes.

Item eligibility (van der Linden & Veldkamp, 2004) is updated from the running exposure
rates after every ``update_every`` simulees (after every simulee in
:func:`engine.simulation.run`, which is ``update_every=1``); in lockstep, the simulees of one
block start with the same probabilities, as the learners of one day would in a programme
that updates them daily.

References
----------
van der Linden, W. J., & Veldkamp, B. P. (2004). Constraining item exposure in computerized
adaptive testing with shadow tests. *Journal of Educational and Behavioral Statistics*, 29(3),
273-291.
Salmon, J. K., Moraes, M. A., Dror, R. O., & Shaw, D. E. (2011). Parallel random numbers: as
easy as 1, 2, 3. *SC '11* (the Philox counter-based generator).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

from engine.errors import PolicyError
from engine.exposure import update_eligibility
from engine.irt.generic import Array
from engine.pool import Index, ItemPool
from engine.session import Session
from engine.stopping import (
    AllOf,
    AnyOf,
    Classification,
    FixedLength,
    MaxItems,
    MinItems,
    StandardErrorRule,
    StoppingRule,
    decide,
    length_bound,
)

Draws = Literal["vectorised", "session"]
Mask = NDArray[np.bool_]

# Purposes of the counter-based streams (the second element of a stream's key).
ANSWER = 0
ELIGIBILITY = 1
RANDOM_SELECTION = 2
PRETEST_GO = 3
PRETEST_PICK = 4
RANDOMESQUE = 5
SYMPSON_HETTER = 6  # round r of the ranking walk uses purpose SYMPSON_HETTER + 2 r
SYMPSON_HETTER_WIDE = 7  # and SYMPSON_HETTER_WIDE + 2 r after widening


def uniforms(seed: int, stream: Sequence[int], start: int, count: int) -> Array:
    """Draws ``start .. start + count - 1`` of the counter-based stream ``(seed, *stream)``.

    The key of a Philox-4x64 generator (Salmon et al., 2011) is derived from
    ``(seed, *stream)`` by :class:`numpy.random.SeedSequence`; the generator is advanced to
    position ``start`` (four 64-bit words per counter step) and ``count`` doubles in
    :math:`[0, 1)` are read, one word each. Position ``j`` of a stream is therefore a pure
    function of ``(seed, stream, j)``.
    """
    key = np.random.SeedSequence([int(seed), *(int(s) for s in stream)]).generate_state(
        2, dtype=np.uint64
    )
    bits = np.random.Philox(key=key)
    bits.advance(start // 4)
    skip = start % 4
    return np.random.Generator(bits).random(count + skip)[skip:]


def simulee_seeds(seed: int, n: int) -> NDArray[np.int64]:
    """Session seeds of ``n`` simulees, as :func:`engine.simulation.run` draws them."""
    return np.random.default_rng(seed).integers(0, 2**31 - 1, size=n)


class _Draws(Protocol):
    def begin(self, rows: Index, step: int) -> None: ...

    def uniform(self, rows: Index, purpose: int) -> Array: ...

    def below(self, rows: Index, sizes: Index, purpose: int) -> Index: ...

    def matrix(self, rows: Index, width: int, purpose: int) -> Array: ...


class _VectorDraws:
    """Counter-based draws: simulee ``j``'s draw is position ``j`` of ``(seed, purpose, t)``."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.step = 0

    def begin(self, rows: Index, step: int) -> None:
        self.step = step

    def _block(self, rows: Index, stream: tuple[int, ...], width: int) -> Array:
        lo, hi = int(rows.min()), int(rows.max()) + 1
        block = uniforms(self.seed, stream, lo * width, (hi - lo) * width)
        return block.reshape(hi - lo, width)[rows - lo]

    def uniform(self, rows: Index, purpose: int) -> Array:
        if rows.size == 0:
            return np.zeros(0)
        return self._block(rows, (purpose, self.step), 1)[:, 0]

    def below(self, rows: Index, sizes: Index, purpose: int) -> Index:
        u = self.uniform(rows, purpose)
        return np.minimum((u * sizes).astype(np.intp), sizes - 1)

    def matrix(self, rows: Index, width: int, purpose: int) -> Array:
        if rows.size == 0:
            return np.zeros((0, width))
        # Eligibility is drawn once per test, before its first step.
        stream = (purpose,) if purpose == ELIGIBILITY else (purpose, self.step)
        return self._block(rows, stream, width)


class _SessionDraws:
    """Session's own streams, simulee by simulee (exact; a Python loop over simulees)."""

    def __init__(self, seeds: NDArray[np.int64]) -> None:
        self.seeds = seeds
        self.step = 0
        self.streams: dict[int, random.Random] = {}

    def begin(self, rows: Index, step: int) -> None:
        self.step = step
        # Session.next_item: random.Random((seed << 20) + number of items so far).
        self.streams = {int(j): random.Random((int(self.seeds[j]) << 20) + step) for j in rows}

    def uniform(self, rows: Index, purpose: int) -> Array:
        return np.array([self.streams[int(j)].random() for j in rows], dtype=np.float64)

    def below(self, rows: Index, sizes: Index, purpose: int) -> Index:
        picks = [self.streams[int(j)].randrange(int(s)) for j, s in zip(rows, sizes, strict=True)]
        return np.array(picks, dtype=np.intp)

    def matrix(self, rows: Index, width: int, purpose: int) -> Array:
        if purpose == ELIGIBILITY:  # Session.start: default_rng(seed).random(n_items)
            keys: list[int | tuple[int, int]] = [int(self.seeds[j]) for j in rows]
        else:  # random selection: default_rng((seed, items so far)).random(n_items)
            keys = [(int(self.seeds[j]), self.step) for j in rows]
        out = np.empty((rows.size, width))
        for r, key in enumerate(keys):
            out[r] = np.random.default_rng(key).random(width)
        return out


@dataclass(frozen=True)
class BatchRun:
    """What every simulee was given and answered, and where each ended.

    Attributes
    ----------
    items, categories
        ``(N, T)``: pool indices of the items given, in order (pretest included), and the
        score categories; ``-1`` after the end of each test.
    theta, se
        ``(N, K)`` final estimates and standard errors per competency.
    excluded
        ``(N, n_items)``: items a simulee could not get (refused by Sympson-Hetter or not
        eligible), as in :attr:`SessionState.excluded`.
    refused
        ``(N, n_items)``: items Sympson-Hetter refused (selected but not administered).
    finished
        Whether each test ended by its stopping rule or by running out of items.
    exhausted
        Tests that ended because no eligible item was left.
    """

    pool: ItemPool
    true_theta: Array
    items: NDArray[np.int32]
    categories: NDArray[np.int8]
    theta: Array
    se: Array
    excluded: Mask
    refused: Mask
    finished: Mask
    exhausted: Mask

    @property
    def n_given(self) -> NDArray[np.intp]:
        """Items given to each simulee, pretest included."""
        return np.asarray((self.items >= 0).sum(axis=1), dtype=np.intp)

    @property
    def lengths(self) -> NDArray[np.intp]:
        """Operational items given to each simulee."""
        given = self.items >= 0
        operational = given & self.pool.operational[np.where(given, self.items, 0)]
        return np.asarray(operational.sum(axis=1), dtype=np.intp)

    def responses(self) -> NDArray[np.int8]:
        """Person x item matrix of categories, ``-1`` where not administered."""
        out = np.full((self.items.shape[0], self.pool.n_items), -1, dtype=np.int8)
        rows, steps = np.nonzero(self.items >= 0)
        out[rows, self.items[rows, steps]] = self.categories[rows, steps]
        return out

    def administered(self) -> Mask:
        """``(N, n_items)``: which items each simulee was given."""
        return self.responses() >= 0

    def stop_reasons(self, session: Session) -> list[str]:
        """Why each test ended, in the Session's words (one :func:`decide` per simulee)."""
        reasons = []
        for j in range(self.items.shape[0]):  # reporting only, once per simulee
            if self.exhausted[j]:
                reasons.append("no eligible items left in the bank")
                continue
            given = self.items[j][self.items[j] >= 0].astype(np.intp)
            cats = self.categories[j][: given.size].astype(np.intp)
            keep = self.pool.operational[given]
            ctx = session._stop_context(given[keep], cats[keep], self.theta[j], self.se[j])
            decision = decide(session.policy.stopping, ctx)
            reasons.append(decision.reason if decision.stop else "")
        return reasons


def check_batch_policy(session: Session) -> None:
    """Raise :class:`PolicyError` when the batch cannot run ``session``'s policy exactly."""
    policy = session.policy
    problems = []
    if policy.estimator.method != "eap":
        problems.append(
            f"estimator.method: the batch simulator estimates by EAP; "
            f'"{policy.estimator.method}" needs a per-person optimisation '
            "(use engine.simulation.run)"
        )
    if policy.selection.method not in session.selector.ROW_METHODS:
        problems.append(
            f'selection.method: "{policy.selection.method}" is not vectorised; the batch '
            f"simulator runs {', '.join(session.selector.ROW_METHODS)}"
        )
    if policy.content.balance == "shadow_test":
        problems.append(
            "content.balance: shadow tests solve an integer programme per person and step "
            "(use engine.simulation.run)"
        )
    if session.model == "correlated":
        problems.append(
            "model: a correlated session estimates every competency jointly per person "
            "(use engine.simulation.run)"
        )
    if problems:
        raise PolicyError(problems, "batch simulation")


def _decide_rows(
    rule: StoppingRule,
    *,
    n_items: Array,
    theta: Array,
    se: Array,
    cut: Array,
    llr: dict[tuple[int, float, float], Array],
) -> tuple[Mask, Mask | None]:
    """:func:`engine.stopping.decide` for many simulees: ``(stop (m,), done (m, K) | None)``."""
    if isinstance(rule, MaxItems | MinItems | FixedLength):
        return np.asarray(n_items >= rule.n), None
    if isinstance(rule, StandardErrorRule):
        within = np.asarray(se <= rule.max_se)
        return np.asarray(within.all(axis=1)), within
    if isinstance(rule, Classification):
        has_cut = ~np.isnan(cut)
        classified = np.broadcast_to(~has_cut, theta.shape).copy()
        if rule.method == "ci":
            z = float(norm.ppf(1.0 - (1.0 - rule.confidence) / 2.0))
            lower = theta - z * se
            upper = theta + z * se
            with np.errstate(invalid="ignore"):
                classified |= has_cut & ((lower > cut) | (upper < cut))
        else:
            upper_bound = np.log((1.0 - rule.beta) / rule.alpha)
            lower_bound = np.log(rule.beta / (1.0 - rule.alpha))
            for k in np.flatnonzero(has_cut):  # competencies, not persons
                value = llr[(int(k), float(cut[k] - rule.delta), float(cut[k] + rule.delta))]
                classified[:, k] |= (value >= upper_bound) | (value <= lower_bound)
        return np.asarray(classified.all(axis=1)), classified
    children = [
        _decide_rows(child, n_items=n_items, theta=theta, se=se, cut=cut, llr=llr)
        for child in rule.rules
    ]
    opinions = [done for _, done in children if done is not None]
    combine = np.logical_or if isinstance(rule, AnyOf) else np.logical_and
    done = np.asarray(combine.reduce(opinions), dtype=bool) if opinions else None
    stops = np.array([stop for stop, _ in children])
    stop = stops.any(axis=0) if isinstance(rule, AnyOf) else stops.all(axis=0)
    return np.asarray(stop, dtype=bool), done


def _sprt_points(rule: StoppingRule, cut: Array) -> list[tuple[int, float, float]]:
    """The (competency, lower, upper) pairs whose log-likelihood ratio a rule reads."""
    if isinstance(rule, Classification):
        if rule.method != "sprt":
            return []
        return [
            (int(k), float(cut[k] - rule.delta), float(cut[k] + rule.delta))
            for k in np.flatnonzero(~np.isnan(cut))
        ]
    if isinstance(rule, AnyOf | AllOf):
        return [p for child in rule.rules for p in _sprt_points(child, cut)]
    return []


class _Block:
    """The state of one block of simulees, as arrays over (simulee, item | competency)."""

    def __init__(
        self,
        session: Session,
        abilities: Array,
        *,
        first: int,
        steps: int,
        draws: _Draws,
        seed: int,
        eligibility: Array | None,
    ) -> None:
        pool = session.pool
        self.session = session
        self.pool = pool
        self.abilities = abilities
        self.first = first
        self.draws = draws
        self.seed = seed
        m, j, k = abilities.shape[0], pool.n_items, pool.n_competencies
        q = session.grid.points.size
        self.items = np.full((m, steps), -1, dtype=np.int32)
        self.categories = np.full((m, steps), -1, dtype=np.int8)
        self.administered = np.zeros((m, j), dtype=bool)
        self.excluded = np.zeros((m, j), dtype=bool)
        self.refused = np.zeros((m, j), dtype=bool)
        self.relaxed = np.zeros(m, dtype=bool)  # eligibility relaxed: nothing else was left
        if eligibility is not None:
            u = draws.matrix(first + np.arange(m), j, ELIGIBILITY)
            self.excluded = u >= eligibility[None, :]
        self.loglik = np.zeros((m, k, q))
        self.counts = np.zeros((m, k))
        self.area_counts = np.zeros((m, len(pool.area_ids)))
        self.n_pretest = np.zeros(m, dtype=np.intp)
        empty = np.zeros(0, dtype=np.intp)
        start = session.estimate(empty, empty)
        self.theta = np.full((m, k), start.theta)
        self.se = np.full((m, k), start.se)
        self.cut = session.cuts
        self.sprt = {p: np.zeros((m, 2)) for p in _sprt_points(session.policy.stopping, self.cut)}
        stop, done = _decide_rows(
            session.policy.stopping,
            n_items=np.zeros(m),
            theta=self.theta,
            se=self.se,
            cut=self.cut,
            llr=self._llr(np.arange(m)),
        )
        self.measured = done.copy() if done is not None else np.zeros((m, k), dtype=bool)
        self.finished = stop.copy()
        self.exhausted = np.zeros(m, dtype=bool)

    def _llr(self, rows: Index) -> dict[tuple[int, float, float], Array]:
        r"""SPRT log-likelihood ratios :math:`\log L(upper) - \log L(lower)` of ``rows``."""
        return {key: sums[rows, 1] - sums[rows, 0] for key, sums in self.sprt.items()}

    # ------------------------------------------------------------------ selection

    def _posterior(self, rows: Index) -> Array:
        """Normalised posteriors ``(m, K, Q)``, as :meth:`GridTables.posterior`."""
        log_post = self.loglik[rows] + self.session.grid.log_prior
        log_post -= log_post.max(axis=2, keepdims=True)
        weights = np.exp(log_post)
        return np.asarray(weights / weights.sum(axis=2, keepdims=True))

    def _restrict(self, rows: Index, eligible: Mask) -> Mask:
        """Kingsbury-Zara targets (:meth:`TargetBalancer.restrict`) for many simulees."""
        balancer = self.session.balancer
        assert balancer is not None
        pool = self.pool
        k = pool.n_competencies
        member = pool.competency[None, :] == np.arange(k)[:, None]  # (K, J)
        available = (eligible[:, None, :] & member[None]).any(axis=2)  # (m, K)
        open_ = available & ~self.measured[rows]
        none_open = ~open_.any(axis=1)
        open_[none_open] = available[none_open]
        counts = self.counts[rows]
        total = counts.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            observed = np.where(total[:, None] > 0, counts / total[:, None], 0.0)
        deficit = balancer.competency_shares[None, :] - observed
        score = np.where(open_, deficit * 1e6 + self.se[rows], -np.inf)
        chosen = np.argmax(score, axis=1)
        mask = eligible & (pool.competency[None, :] == chosen[:, None])
        nothing = ~available.any(axis=1)
        mask[nothing] = eligible[nothing]
        if balancer.has_area_targets:
            areas = pool.areas
            in_areas = (mask[:, :, None] & areas[None]).any(axis=1)  # (m, A)
            targets = np.isfinite(balancer.area_shares)[None, :] & in_areas
            with np.errstate(invalid="ignore", divide="ignore"):
                observed_area = np.where(
                    total[:, None] > 0, self.area_counts[rows] / total[:, None], 0.0
                )
            area_deficit = np.where(targets, balancer.area_shares[None, :] - observed_area, -np.inf)
            best = np.argmax(area_deficit, axis=1)
            positive = area_deficit[np.arange(rows.size), best] > 0
            narrowed = mask & areas[:, best].T
            use = ~nothing & targets.any(axis=1) & positive & narrowed.any(axis=1)
            mask[use] = narrowed[use]
        return np.asarray(mask, dtype=bool)

    def _randomesque(self, rows: Index, scored: Array, size: int) -> Index:
        """:func:`engine.exposure.randomesque` for many simulees."""
        finite = np.count_nonzero(scored > -np.inf, axis=1)
        k = np.minimum(size, finite)
        choice = np.full(rows.size, -1, dtype=np.intp)
        one = k == 1
        choice[one] = np.argmax(scored[one], axis=1)
        for kk in np.unique(k[k > 1]):  # one value of k but near the end of the pool
            rr = np.flatnonzero(k == kk)
            top = np.argpartition(scored[rr], -kk, axis=1)[:, -kk:]
            pick = self.draws.below(rows[rr], np.full(rr.size, kk), RANDOMESQUE)
            choice[rr] = top[np.arange(rr.size), pick]
        return choice

    def _sympson_hetter(self, rows: Index, values: Array, purpose: int) -> tuple[Index, Mask]:
        """:func:`engine.exposure.sympson_hetter` for many simulees: choice and refused."""
        exposure = self.pool.exposure
        values = values.copy()
        m = rows.size
        choice = np.full(m, -1, dtype=np.intp)
        refused = np.zeros(values.shape, dtype=bool)
        pending = np.arange(m)
        r = 0
        while pending.size:  # rounds of the ranking walk, not persons
            best = np.argmax(values[pending], axis=1)
            live = values[pending, best] > -np.inf
            pending, best = pending[live], best[live]
            k = exposure[best]
            sure = k >= 1.0
            accept = sure.copy()
            drawn = np.flatnonzero(~sure)
            u = self.draws.uniform(rows[pending[drawn]], purpose + 2 * r)
            accept[drawn] = u < k[drawn]
            choice[pending[accept]] = best[accept]
            no = ~accept
            refused[pending[no], best[no]] = True
            values[pending[no], best[no]] = -np.inf
            pending = pending[no]
            r += 1
        return choice, refused

    def _choose(self, rows: Index, t: int) -> tuple[Index, Mask]:
        """Operational choice for ``rows``; -1 where nothing can be given."""
        session = self.session
        pool = self.pool
        excluded = self.excluded[rows] & ~self.relaxed[rows, None]
        eligible = pool.operational[None, :] & ~self.administered[rows] & ~excluded
        method = session.policy.selection.method
        posterior = self._posterior(rows) if method == "max_posterior_info" else None
        uniform = (
            self.draws.matrix(rows + self.first, pool.n_items, RANDOM_SELECTION)
            if method == "random"
            else None
        )
        values = session.selector.criterion_rows(
            self.theta[rows], self.counts[rows], posterior, uniform
        )
        mask = self._restrict(rows, eligible) if session.balancer is not None else eligible
        scored = np.where(mask, values, -np.inf)
        exposure = session.policy.exposure
        refused = np.zeros(scored.shape, dtype=bool)
        if exposure.method == "randomesque":
            choice = self._randomesque(rows + self.first, scored, exposure.randomesque_size)
        elif exposure.method == "sympson_hetter":
            choice, refused = self._sympson_hetter(rows + self.first, scored, SYMPSON_HETTER)
            failed = np.flatnonzero(choice < 0)
            if failed.size:  # all refused within the restriction: fall back to all eligible
                widened = np.where(eligible[failed], values[failed], -np.inf)
                widened[refused[failed]] = -np.inf
                again, more = self._sympson_hetter(
                    rows[failed] + self.first, widened, SYMPSON_HETTER_WIDE
                )
                choice[failed] = again
                refused[failed] |= more
        else:
            choice = np.argmax(scored, axis=1)
            choice[scored[np.arange(rows.size), choice] == -np.inf] = -1
        return choice, refused

    # ------------------------------------------------------------------ one step

    def step(self, t: int) -> bool:
        """Give every unfinished simulee its item ``t``; False when all are finished."""
        session = self.session
        pool = self.pool
        act = np.flatnonzero(~self.finished)
        if act.size == 0:
            return False
        self.draws.begin(act + self.first, t)
        chosen = np.full(act.size, -1, dtype=np.intp)
        pretest = session.policy.pretest
        if pretest.rate > 0:  # Session draws only while pretest items may still be given
            can = np.flatnonzero(self.n_pretest[act] < pretest.max_items)
            u = self.draws.uniform(act[can] + self.first, PRETEST_GO)
            go = can[u < pretest.rate]
            candidates = ~pool.operational[None, :] & ~self.administered[act[go]]
            candidates &= ~self.excluded[act[go]]
            sizes = candidates.sum(axis=1)
            has = sizes > 0
            picks = self.draws.below(act[go[has]] + self.first, sizes[has], PRETEST_PICK)
            # the picks-th True of each row: first position where the running count passes it
            running = np.cumsum(candidates[has], axis=1)
            chosen[go[has]] = np.argmax(running > picks[:, None], axis=1)
        todo = np.flatnonzero(chosen < 0)
        rows = act[todo]
        open_ = pool.operational[None, :] & ~self.administered[rows]
        eligible_any = (open_ & ~self.excluded[rows]).any(axis=1)
        if session.policy.exposure.method == "eligibility":  # ineligibility never ends a test
            self.relaxed[rows[~eligible_any]] = True
            eligible_any = open_.any(axis=1)
        out = todo[~eligible_any]
        self.finished[act[out]] = True
        self.exhausted[act[out]] = True
        todo = todo[eligible_any]
        if todo.size:
            choice, refused = self._choose(act[todo], t)
            self.refused[act[todo]] |= refused
            self.excluded[act[todo]] |= refused
            none = choice < 0
            self.finished[act[todo[none]]] = True
            self.exhausted[act[todo[none]]] = True
            chosen[todo[~none]] = choice[~none]
        given = np.flatnonzero(chosen >= 0)
        self._record(act[given], chosen[given], t)
        return True

    def _record(self, rows: Index, items: Index, t: int) -> None:
        """Answer and record: :meth:`Session.record` for many simulees."""
        session = self.session
        pool = self.pool
        if rows.size == 0:
            return
        k = pool.competency[items]
        ability = self.abilities[rows, np.minimum(k, self.abilities.shape[1] - 1)]
        p, _, _ = pool.derivatives(items, ability[:, None])  # (m, C, 1)
        cumulative = np.cumsum(p[:, :, 0], axis=1)[:, :-1]
        lo, hi = int(rows.min()), int(rows.max()) + 1
        u = uniforms(self.seed, (ANSWER, t), lo + self.first, hi - lo)[rows - lo]
        top = pool.n_categories[items] - 1
        category = np.minimum((u[:, None] >= cumulative).sum(axis=1), top)
        self.items[rows, t] = items
        self.categories[rows, t] = category
        self.administered[rows, items] = True
        scored = pool.operational[items]
        self.n_pretest[rows[~scored]] += 1
        rows, items, category, k = rows[scored], items[scored], category[scored], k[scored]
        if rows.size == 0:
            return
        tables = session.tables
        self.loglik[rows, k] += tables.log_probabilities[items, category]
        self.counts[rows, k] += 1.0
        if pool.areas.shape[1]:
            self.area_counts[rows] += pool.areas[items]
        for (kk, lower, upper), sums in self.sprt.items():  # log L at cut -+ delta
            mine = k == kk
            if mine.any():
                pp, _, _ = pool.derivatives(items[mine], np.array([lower, upper]))
                picked = pp[np.arange(int(mine.sum())), category[mine]]  # (m, 2)
                sums[rows[mine]] += np.log(np.maximum(picked, 1e-300))
        # EAP of the answered competency, as engine.estimation.eap
        log_post = self.loglik[rows, k] + session.grid.log_prior
        log_post -= log_post.max(axis=1, keepdims=True)
        weights = np.exp(log_post)
        w = weights / weights.sum(axis=1, keepdims=True)
        points = session.grid.points
        mean = np.matmul(w[:, None, :], points[:, None])[:, 0, 0]
        centred = points[None, :] - mean[:, None]
        var = np.matmul(w[:, None, :], (centred * centred)[:, :, None])[:, 0, 0]
        self.theta[rows, k] = mean
        self.se[rows, k] = np.sqrt(var)
        stop, done = _decide_rows(
            session.policy.stopping,
            n_items=self.counts[rows].sum(axis=1),
            theta=self.theta[rows],
            se=self.se[rows],
            cut=self.cut,
            llr=self._llr(rows),
        )
        if done is not None:
            self.measured[rows] = done
        self.finished[rows] = stop


def max_steps(session: Session) -> int:
    """The most items (operational and pretest) one test of ``session`` can give."""
    pool = session.pool
    bound = length_bound(session.policy.stopping)
    operational = int(pool.operational.sum())
    steps = operational if bound is None else min(bound, operational)
    pretest = session.policy.pretest
    if pretest.rate > 0:
        steps += min(pretest.max_items, int((~pool.operational).sum()))
    return steps


def run_batch(
    session: Session,
    true_theta: Array,
    seed: int,
    *,
    draws: Draws = "vectorised",
    eligibility: Array | None = None,
    update_every: int = 100,
    block: int = 4096,
) -> BatchRun:
    """Administer ``session``'s adaptive test to every simulee at once.

    Parameters
    ----------
    session
        The assessment (pool and policy), as the service runs it.
    true_theta
        ``(N, K)`` true abilities per competency, or ``(N,)`` for the same ability on every
        competency.
    seed
        Seed of everything random: the simulees' Session seeds (:func:`simulee_seeds`), their
        answers and, with ``draws="vectorised"``, the exposure-control draws.
    draws
        ``"vectorised"`` (counter-based streams) or ``"session"`` (Session's own streams,
        exact, with a Python loop over simulees).
    eligibility
        For ``exposure.method = "eligibility"``: the starting probabilities (default 1).
        They are updated from the running exposure rates after every ``update_every``
        simulees (:func:`engine.exposure.update_eligibility`).
    block
        Simulees advanced together (memory: about ``block x n_items x 40`` bytes). Results
        do not depend on it, except through ``update_every`` with eligibility.

    Raises
    ------
    PolicyError
        When the policy needs something the batch does not vectorise (see the module notes).
    """
    check_batch_policy(session)
    pool = session.pool
    theta = np.asarray(true_theta, dtype=np.float64)
    if theta.ndim == 0 or theta.shape[0] == 0:
        raise ValueError("need at least one simulee")
    abilities = theta.reshape(theta.shape[0], -1)
    if abilities.shape[1] not in (1, pool.n_competencies):
        raise ValueError(
            f"true_theta needs 1 or {pool.n_competencies} columns, got {abilities.shape[1]}"
        )
    if update_every < 1 or block < 1:
        raise ValueError("update_every and block must be >= 1")
    n = abilities.shape[0]
    source: _Draws = (
        _SessionDraws(simulee_seeds(seed, n)) if draws == "session" else _VectorDraws(seed)
    )
    exposure = session.policy.exposure
    adaptive = exposure.method == "eligibility"
    probability = (
        (np.ones(pool.n_items) if eligibility is None else np.asarray(eligibility, dtype=float))
        if adaptive
        else None
    )
    counts = np.zeros(pool.n_items)
    size = min(block, update_every) if adaptive else block
    steps = max_steps(session)
    parts: list[_Block] = []
    for first in range(0, n, size):
        part = _Block(
            session,
            abilities[first : first + size],
            first=first,
            steps=steps + 1,
            draws=source,
            seed=seed,
            eligibility=probability,
        )
        for t in range(steps + 1):  # the last step can only find the pool exhausted
            if not part.step(t):
                break
        parts.append(part)
        if probability is not None:
            given = part.administered & pool.operational[None, :]
            counts += given.sum(axis=0)
            done = first + part.items.shape[0]
            probability = update_eligibility(probability, counts / done, exposure.r_max)
    items = np.concatenate([p.items for p in parts])
    width = int((items >= 0).sum(axis=1).max())
    return BatchRun(
        pool=pool,
        true_theta=abilities,
        items=items[:, :width],
        categories=np.concatenate([p.categories for p in parts])[:, :width],
        theta=np.concatenate([p.theta for p in parts]),
        se=np.concatenate([p.se for p in parts]),
        excluded=np.concatenate([p.excluded for p in parts]),
        refused=np.concatenate([p.refused for p in parts]),
        finished=np.concatenate([p.finished for p in parts]),
        exhausted=np.concatenate([p.exhausted for p in parts]),
    )
