r"""Marginal maximum likelihood by EM (Bock & Aitkin, 1981), accelerated by SQUAREM.

One EM step is an E-step over the collapsed patterns (:mod:`calibration.estep`) followed by
Fisher scoring of every item family (:mod:`calibration.mstep`) and, when the population is
not fixed, the update of its mean and SD (:mod:`calibration.quadrature`). EM converges
linearly and slowly; SQUAREM (Varadhan & Roland, 2008, scheme S3) extrapolates along two
successive EM steps,

.. math:: r = F(x) - x, \quad v = F(F(x)) - 2F(x) + x, \quad \alpha = \|r\| / \|v\|,
          \quad x' = x + 2\alpha r + \alpha^2 v,

and stabilises with one more EM step from :math:`x'`. The step is accepted only if the log
posterior did not decrease (otherwise the plain EM iterate is kept and the largest step is
reduced), so the algorithm keeps EM's monotonicity and its fixed points.

Convergence criterion
---------------------
Like R mirt's ``TOL``: stop when one EM step changes no estimated parameter by more than
``tol`` (default ``1e-4``) in the internal metric (slope, intercepts, logits of the
asymptotes, logs of GRM intercept gaps; the population mean and log SD when estimated). The
check is made at every SQUAREM iterate; the final estimate is the EM step from it. If
``max_em_steps`` E-steps pass without meeting it, the result says ``converged = False`` and
carries a ``not_converged`` warning with the largest change. Because EM converges slowly in
some directions, the distance to the exact maximum can exceed ``tol`` (about 1e-3 on a 2PL
with 100,000 persons and 200 items, a tenth of a standard error); pass a smaller ``tol``
when that matters.

References
----------
Bock, R. D., & Aitkin, M. (1981). Marginal maximum likelihood estimation of item parameters:
Application of an EM algorithm. *Psychometrika*, 46(4), 443-459.
Varadhan, R., & Roland, C. (2008). Simple and globally convergent methods for accelerating
the convergence of any EM algorithm. *Scandinavian Journal of Statistics*, 35(2), 335-353.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Literal, Protocol

import msgspec
import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri

from calibration.data import ResponseData, collapse
from calibration.errors import CalibrationError, CalibrationWarning, ModelError
from calibration.estep import LOG_FLOOR, Design, EStepResult
from calibration.models import DICHOTOMOUS, FIXED_SLOPE, MODELS, Family, ModelName, bank_model
from calibration.mstep import m_step
from calibration.priors import DEFAULT_PRIORS, LogNormalPrior, Priors
from calibration.quadrature import Quadrature
from calibration.sparse_estep import SPARSE_MIN_MISSING, SPARSE_MIN_PERSONS, SparseDesign
from item_banks.model import (
    IrtParameters,
    category_count,
)

Array = NDArray[np.float64]


class Progress(Protocol):
    """``progress(em_steps, max_change, loglik, moving)`` after every EM step.

    ``moving`` is the number of items whose parameters still change (``None`` when not
    tracked).
    """

    def __call__(self, steps: int, change: float, loglik: float, moving: int | None = None) -> None:
        """Report one EM step."""


FEW_RESPONSES = 20
#: Data sets with at least this many distinct patterns get a subsample warm start.
WARM_START_PATTERNS = 20_000
#: The warm start's subsample: a fifth of the patterns, at least 5,000, at most this many.
WARM_START_MAX = 100_000
#: Fisher-scoring iterations of one M-step: EM needs an improving M-step, not an exact one
#: (a generalised EM, Dempster, Laird & Rubin, 1977); items on flat ridges otherwise spend
#: the full budget of line searches in every EM step.
M_STEP_ITER = 20
#: Under :meth:`CalibrationModel.focus`, the E-step runs over the moving items' persons
#: when they are at most this share of all persons (otherwise over everyone).
FOCUS_SHARE = 0.5
#: An item is frozen after this many SQUAREM cycles in which EM moved none of its
#: parameters by ``tol`` (the final free step checks every frozen item anyway).
CALM_CYCLES = 1
#: The rule of :attr:`EMOptions.min_answers` applies only when at least this many items
#: reach the minimum (otherwise the whole data set is small and every item is estimated).
MIN_ANSWERS_ITEMS = 3
#: Default of :attr:`EMOptions.min_answers`.
MIN_ANSWERS = 100
#: The weak slope prior for items with fewer than ``min_answers`` answers and no bank value
#: (BILOG-MG's default for the 2PL slope, as mirt's ``lnorm(0, 0.5)``).
WEAK_SLOPE_PRIOR = LogNormalPrior(mean=0.0, sd=0.5)


class EMOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings of the estimation.

    Attributes
    ----------
    quadrature_points, theta_range
        The fixed grid (mirt's default: 61 nodes on [-6, 6]).
    tol
        Convergence: largest parameter change of one EM step (mirt's ``TOL``).
    max_em_steps
        Budget of E-steps (each SQUAREM cycle uses three).
    accelerate
        ``squarem`` or ``none`` (plain EM).
    latent
        ``auto``: the population mean and SD are estimated when anchor items fix the scale
        (mean and SD) or when slopes are fixed by the Rasch model (SD only); ``fixed``:
        always N(0, 1); ``estimate``: always both (needs anchors).
    priors
        Item-parameter priors.
    cache_mb
        Memory for cached indicator matrices; beyond it, chunks are rebuilt every E-step.
    warm_start
        With at least :data:`WARM_START_PATTERNS` distinct patterns, start the full EM from
        an EM run on a random fifth of them, at most :data:`WARM_START_MAX` (same criterion
        on the full data).
    min_answers
        Items with fewer answers are not estimated freely: with a start value (the bank's
        parameters) they are held at it, otherwise their slope gets the weak prior
        :data:`WEAK_SLOPE_PRIOR`; either way a located ``few_answers`` warning says so.
        Their flat likelihoods would otherwise hold back EM's convergence for every item
        and can run to absurd slopes. Fixed-slope models (Rasch, 1PL, PCM) are exempt, and
        so are data sets in which fewer than :data:`MIN_ANSWERS_ITEMS` items reach the
        minimum (a small sample, calibrated as a whole).
    sparse
        ``auto``: the E-step over the answered items only
        (:class:`calibration.sparse_estep.SparseDesign`) when at least half of the table
        is empty and there are at least 2,000 persons; ``always`` / ``never`` force it.
    threads
        Threads of the sparse E-step (``None``: ``os.cpu_count()``, at most one per block
        of persons); the estimates do not depend on it (the blocks' sums are added in
        block order).
    """

    quadrature_points: int = 61
    theta_range: tuple[float, float] = (-6.0, 6.0)
    tol: float = 1e-4
    max_em_steps: int = 3000
    accelerate: Literal["squarem", "none"] = "squarem"
    latent: Literal["auto", "fixed", "estimate"] = "auto"
    priors: Priors = DEFAULT_PRIORS
    cache_mb: int = 320
    warm_start: bool = True
    min_answers: int = MIN_ANSWERS
    sparse: Literal["auto", "always", "never"] = "auto"
    threads: Annotated[int, msgspec.Meta(ge=1)] | None = None


def anchor_model(params: IrtParameters) -> ModelName:
    """The family an anchor's bank parameters belong to (its parameters are held fixed).

    A 1PL or Rasch anchor is held fixed as a 2PL with its bank slope.
    """
    model = bank_model(params)
    return "2pl" if model in {"rasch", "1pl"} else model


class CalibrationModel:
    """Everything one EM run needs: the data design, the item families and the population.

    Items are the columns of the design; ``members[f]`` lists the columns of family ``f``,
    ``estimate[f]`` which of them are estimated (the others are anchors held fixed).
    """

    def __init__(
        self,
        design: Design | SparseDesign,
        quadrature: Quadrature,
        *,
        families: list[Family],
        members: list[NDArray[np.intp]],
        xi: list[Array],
        estimate: list[NDArray[np.bool_]],
        latent_mean: float = 0.0,
        latent_sd: float = 1.0,
        estimate_mean: bool = False,
        estimate_sd: bool = False,
    ) -> None:
        self.design = design
        self.quadrature = quadrature
        self.families = families
        self.members = members
        self.xi = [x.copy() for x in xi]
        self.estimate = estimate
        self.latent_mean = latent_mean
        self.latent_sd = latent_sd
        self.estimate_mean = estimate_mean
        self.estimate_sd = estimate_sd
        # column_of[j, k]: the indicator column of item j, category k >= 1 (-1 if none)
        self.column_of = np.full((design.n_items, design.max_categories), -1, dtype=np.intp)
        self.column_of[design.col_item, design.col_cat] = np.arange(design.col_item.size)
        self._moving: NDArray[np.bool_] | None = None
        self._focus_design: SparseDesign | None = None
        self._holding = False

    @property
    def theta(self) -> Array:
        """Quadrature nodes."""
        return self.quadrature.points

    @property
    def n_free(self) -> int:
        """Number of estimated parameters (the 1PL's common slope counts once)."""
        total = 0
        for fam, est in zip(self.families, self.estimate, strict=True):
            k = int(est.sum())
            per = int(fam.free.sum())
            total += k * per
            if fam.shared_slope and k:
                total -= k - 1
        return total + int(self.estimate_mean) + int(self.estimate_sd)

    # ------------------------------------------------------------------ packing

    def pack(self, xi: Sequence[Array], mean: float, sd: float) -> Array:
        """The vector of estimated parameters."""
        parts = [
            x[est][:, fam.free].ravel()
            for fam, x, est in zip(self.families, xi, self.estimate, strict=True)
        ]
        if self.estimate_mean:
            parts.append(np.array([mean]))
        if self.estimate_sd:
            parts.append(np.array([math.log(sd)]))
        return np.concatenate(parts) if parts else np.zeros(0)

    def item_groups(self) -> NDArray[np.intp]:
        """The item (design column) of every packed element.

        ``-1`` for the population parameters and the 1PL's shared slope, never frozen.
        """
        parts = []
        for fam, cols, est in zip(self.families, self.members, self.estimate, strict=True):
            width = int(fam.free.sum())
            block = np.repeat(cols[est], width).astype(np.intp)
            if fam.shared_slope:
                block[:] = -1
            parts.append(block)
        parts.append(np.full(int(self.estimate_mean) + int(self.estimate_sd), -1, dtype=np.intp))
        return np.concatenate(parts)

    def unpack(self, vector: Array) -> tuple[list[Array], float, float]:
        """Parameters per family and the population mean and SD from a packed vector."""
        out = []
        pos = 0
        for fam, x, est in zip(self.families, self.xi, self.estimate, strict=True):
            free = fam.free
            rows = int(est.sum())
            width = int(free.sum())
            new = x.copy()
            block = new[est]
            block[:, free] = vector[pos : pos + rows * width].reshape(rows, width)
            new[est] = fam.clamp(block)
            pos += rows * width
            out.append(new)
        mean, sd = self.latent_mean, self.latent_sd
        if self.estimate_mean:
            mean = float(vector[pos])
            pos += 1
        if self.estimate_sd:
            sd = float(np.exp(np.clip(vector[pos], -3.0, 3.0)))
        return out, mean, sd

    # ------------------------------------------------------------------ model pieces

    def log_probabilities(self, xi: Sequence[Array]) -> Array:
        """Log category probabilities of every item at every node, ``(J, C, Q)``."""
        q = self.theta.size
        out = np.full((self.design.n_items, self.design.max_categories, q), LOG_FLOOR)
        for fam, cols, x in zip(self.families, self.members, xi, strict=True):
            p = fam.probabilities(x, self.theta)
            with np.errstate(divide="ignore"):
                out[cols, : p.shape[1]] = np.maximum(np.log(p), LOG_FLOOR)
        return out

    def probabilities(self, theta: Array, xi: Sequence[Array] | None = None) -> Array:
        """Category probabilities of every item at the points ``theta``, ``(J, C, n)``."""
        xi = self.xi if xi is None else xi
        out = np.zeros((self.design.n_items, self.design.max_categories, theta.size))
        for fam, cols, x in zip(self.families, self.members, xi, strict=True):
            p = fam.probabilities(x, theta)
            out[cols, : p.shape[1]] = p
        return out

    def log_prior_items(self, xi: Sequence[Array]) -> float:
        """Sum of the log priors of the estimated items."""
        return float(
            sum(
                fam.log_prior(x[est]).sum()
                for fam, x, est in zip(self.families, xi, self.estimate, strict=True)
            )
        )

    def low_rank(self, xi: Sequence[Array]) -> tuple[Array, Array] | None:
        """Factors of the log-probability differences when every family's are linear."""
        design = self.design
        factors = np.zeros((design.col_item.size, 2))
        for fam, cols, x in zip(self.families, self.members, xi, strict=True):
            lin = fam.linear_logits(x)
            if lin is None:
                return None
            for k in range(lin.shape[1]):  # categories (a handful), not items
                factors[self.column_of[cols, k + 1]] = lin[:, k]
        return factors, np.vstack((self.theta, np.ones_like(self.theta)))

    def e_step(self, xi: Sequence[Array], mean: float, sd: float) -> EStepResult:
        """The E-step at the given parameters (over every person)."""
        return self.design.e_step(
            self.log_probabilities(xi), self.quadrature.log_weights(mean, sd), self.low_rank(xi)
        )

    def focus(self, moving: NDArray[np.bool_] | None) -> None:
        r"""Restrict the next EM steps to the items ``moving`` (``None``: every item).

        Only those items are updated by the M-step, and with the sparse design the E-step
        runs over the persons who answered at least one of them: the other persons'
        likelihoods depend on frozen items only, so they change neither the moving items'
        expected counts nor the differences of the log-likelihood between EM iterates
        (with a fixed population). When the frozen items are a large share this makes
        an EM step cost the answers of the moving items' persons, not of everyone. When
        those persons are more than half, the frozen items' part of every person's
        log-likelihood is held fixed instead (:meth:`SparseDesign.hold`) and an E-step
        multiplies only the moving items' answers.
        """
        self._moving = moving
        self._focus_design = None
        self._holding = False
        if not isinstance(self.design, SparseDesign):
            return
        self.design.hold(None)
        if moving is None or self.estimate_mean or self.estimate_sd:
            return
        rows = self.design.persons_answering(np.flatnonzero(moving))
        if rows.size <= FOCUS_SHARE * self.design.n_patterns:
            self._focus_design = self.design.subset(rows, with_patterns=False)
        else:
            self._holding = self.design.hold(moving)

    def em_map(self, vector: Array) -> tuple[Array, float, float]:
        """One EM step from ``vector``.

        Returns the new vector, and the log-likelihood and log posterior *at* ``vector``
        (under :meth:`focus`, up to a constant that does not change until the next focus).
        """
        xi, mean, sd = self.unpack(vector)
        moving = None
        if self._moving is not None:
            moving = np.zeros(self.design.n_items, dtype=bool)
            moving[: self._moving.size] = self._moving
        if self._holding and isinstance(self.design, SparseDesign):
            result = self.design.e_step(
                self.log_probabilities(xi), self.quadrature.log_weights(mean, sd), held=True
            )
        else:
            design = self._focus_design or self.design
            result = design.e_step(
                self.log_probabilities(xi),
                self.quadrature.log_weights(mean, sd),
                self.low_rank(xi),
            )
        new = []
        for fam, cols, x, est in zip(self.families, self.members, xi, self.estimate, strict=True):
            updated = x.copy()
            rows = est if moving is None else est & moving[cols]
            if rows.any():
                updated[rows] = m_step(
                    fam, x[rows], result.counts[cols[rows]], self.theta, max_iter=M_STEP_ITER
                )
            new.append(updated)
        new_mean, new_sd = mean, sd
        if self.estimate_sd:
            new_mean, new_sd = self.quadrature.fit_latent(
                result.node_counts, mean, sd, estimate_mean=self.estimate_mean
            )
        log_post = result.loglik + self.log_prior_items(xi)
        return self.pack(new, new_mean, new_sd), result.loglik, log_post


@dataclass(frozen=True)
class EMTrace:
    """How the iterations went."""

    converged: bool
    em_steps: int
    cycles: int
    max_change: float
    history: tuple[float, ...]


def squarem(
    em_map: Callable[[Array], tuple[Array, float, float]],
    start: Array,
    *,
    tol: float,
    max_em_steps: int,
    accelerate: bool = True,
    progress: Progress | None = None,
    groups: NDArray[np.intp] | None = None,
    refocus: Callable[[NDArray[np.bool_] | None], None] | None = None,
) -> tuple[Array, EMTrace]:
    """Iterate an EM map to its fixed point with SQUAREM (S3) acceleration.

    Parameters
    ----------
    em_map
        ``x -> (F(x), loglik(x), log posterior(x))``.
    start
        Starting vector.
    tol
        Stop when ``max |F(x) - x| < tol``.
    groups
        Item of every element of ``x`` (``-1``: never frozen). Convergence is then also
        judged per item: an item none of whose parameters changed by ``tol`` or more in
        :data:`CALM_CYCLES` successive cycles is frozen (EM no longer moves it), so that
        items that have settled stop adding noise to the extrapolation. When the others meet the
        criterion, one EM step with every item free checks the frozen ones; the items that
        moved by ``tol`` or more in it are released and the iteration goes on, so the
        result meets the same criterion as without freezing.
    refocus
        Called with the items still moving (``None``: all) at the start of a SQUAREM
        cycle whenever that set changed (see :meth:`CalibrationModel.focus`); the three
        EM steps of a cycle share one focus, so their log posteriors compare.
    """
    x = start.copy()
    steps = 0
    cycles = 0
    step_max = 1.0
    change = math.inf
    history: list[float] = []
    frozen = np.zeros(x.size, dtype=bool)
    item_of = groups if groups is not None else np.full(x.size, -1, dtype=np.intp)
    tracked = item_of >= 0
    n_groups = int(item_of.max()) + 1 if tracked.any() else 0
    calm = np.zeros(n_groups, dtype=np.intp)
    is_item = np.zeros(n_groups, dtype=bool)
    is_item[item_of[tracked]] = True
    focused: tuple[int, ...] | None = None

    def set_focus(items: NDArray[np.bool_] | None) -> None:
        nonlocal focused
        key = None if items is None else tuple(np.flatnonzero(items).tolist())
        if refocus is not None and key != focused:
            refocus(items)
            focused = key

    def call(vec: Array) -> tuple[Array, float, float]:
        nonlocal steps
        steps += 1
        new, loglik, post = em_map(vec)
        if frozen.any():
            new = np.where(frozen, vec, new)
        return new, loglik, post

    if x.size == 0:
        return x, EMTrace(True, 0, 0, 0.0, ())
    while steps < max_em_steps:
        cycles += 1
        set_focus(((calm < CALM_CYCLES) & is_item) if frozen.any() else None)
        x1, loglik0, post0 = call(x)
        diff = np.abs(x1 - x)
        change = float(diff.max())
        if focused is not None:  # a part of the log-likelihood: not comparable, not shown
            loglik0 = math.nan
        else:
            history.append(loglik0)
        moving = None
        if n_groups:
            per_item = np.zeros(n_groups)
            np.maximum.at(per_item, item_of[tracked], diff[tracked])
            calm = np.where(per_item < tol, calm + 1, 0)
            frozen[tracked] = calm[item_of[tracked]] >= CALM_CYCLES
            moving = int(((calm < CALM_CYCLES) & is_item).sum())
        if progress is not None:
            progress(steps, change, loglik0, moving)
        if change < tol:
            if not frozen.any():
                return x1, EMTrace(True, steps, cycles, change, tuple(history))
            frozen[:] = False  # check the frozen items with one free step
            set_focus(None)
            x2, _, _ = call(x1)
            diff = np.abs(x2 - x1)
            change = float(diff.max())
            if change < tol:
                return x2, EMTrace(True, steps, cycles, change, tuple(history))
            # release only the items that moved; the others stay frozen
            per_item = np.zeros(n_groups)
            np.maximum.at(per_item, item_of[tracked], diff[tracked])
            calm = np.where(per_item < tol, CALM_CYCLES, 0)
            frozen[tracked] = calm[item_of[tracked]] >= CALM_CYCLES
            x = x2
            continue
        if not accelerate:
            x = x1
            continue
        x2, _, _ = call(x1)
        r = x1 - x
        v = x2 - x1 - r
        norm_v = float(np.linalg.norm(v))
        if norm_v == 0.0 or float(np.abs(x2 - x1).max()) < tol:
            x = x2
            continue
        alpha = min(max(float(np.linalg.norm(r)) / norm_v, 1.0), step_max)
        proposal = x + 2.0 * alpha * r + alpha * alpha * v
        x3, _, post_p = call(proposal)
        if math.isfinite(post_p) and post_p >= post0 - 1e-10 * abs(post0):
            x = x3
            if alpha >= step_max:
                step_max *= 4.0
        else:
            x = x2
            step_max = max(1.0, step_max / 4.0)
    return x, EMTrace(False, steps, cycles, change, tuple(history))


# --------------------------------------------------------------------------- set-up


@dataclass
class ItemPlan:
    """What happens to one data column."""

    column: int
    item_id: str
    model: ModelName
    n_categories: int
    fixed: IrtParameters | None = None
    start: IrtParameters | None = None
    excluded: str | None = None  # reason
    held: str | None = None  # held at its start (bank) values: reason
    weak_prior: bool = False  # few answers and no start value: weak slope prior


@dataclass
class FitResult:
    """The outcome of a calibration of one scale.

    ``items`` lists the calibrated items (estimated and anchors) in data order; parameters
    are in :attr:`xi` (internal form, one row per item) and :meth:`irt` (bank form).
    """

    item_ids: tuple[str, ...]
    models: tuple[ModelName, ...]
    n_categories: tuple[int, ...]
    estimated: tuple[bool, ...]
    xi: list[Array]
    family_of: list[tuple[int, int]]  # item -> (family index, row)
    model: CalibrationModel
    loglik: float
    log_posterior: float
    n_parameters: int
    n_persons: int
    latent_mean: float
    latent_sd: float
    trace: EMTrace
    excluded: dict[str, str]
    warnings: list[CalibrationWarning]
    data: ResponseData
    persons_used: NDArray[np.intp]
    final: EStepResult
    standard_errors: dict[str, Array] = field(default_factory=dict)
    se_internal: dict[str, Array] = field(default_factory=dict)
    latent_se: dict[str, float] = field(default_factory=dict)
    se_method: str = ""
    #: Items held at their bank values for having fewer than ``min_answers`` answers.
    held: dict[str, str] = field(default_factory=dict)

    @property
    def converged(self) -> bool:
        """Whether the convergence criterion was met."""
        return self.trace.converged

    @property
    def aic(self) -> float:
        r""":math:`-2\\log L + 2p` (Akaike, 1974)."""
        return -2.0 * self.loglik + 2.0 * self.n_parameters

    @property
    def bic(self) -> float:
        r""":math:`-2\\log L + p \\log N` (Schwarz, 1978)."""
        return -2.0 * self.loglik + self.n_parameters * math.log(max(self.n_persons, 1))

    def family(self, item: int) -> Family:
        """The family of item ``item`` (index into :attr:`item_ids`)."""
        return self.model.families[self.family_of[item][0]]

    def irt_vector(self, item: int) -> Array:
        """Bank-form parameters of one item (``[a, b, c, u]`` or ``[a, b_1..b_K]``)."""
        f, row = self.family_of[item]
        return np.asarray(self.model.families[f].irt_vector(self.model.xi[f][row : row + 1])[0])

    def slope_intercept(self, item: int) -> tuple[float, tuple[float, ...]]:
        """The slope ``a1`` and intercepts ``d`` of one item (R mirt's form)."""
        f, row = self.family_of[item]
        fam = self.model.families[f]
        x = self.model.xi[f][row : row + 1]
        slope = 1.0 if fam.model == "rasch" else float(x[0, 0])
        return slope, tuple(float(v) for v in fam.intercepts(x)[0])

    def irt(self, item: int) -> IrtParameters:
        """Bank parameters of one item, with standard errors when computed."""
        se = self.standard_errors.get(self.item_ids[item])
        return self.family(item).to_bank(self.irt_vector(item), se)


def _observed_codes(responses: NDArray[np.int8]) -> NDArray[np.int64]:
    """``(J, max code + 1)`` counts of each code per item."""
    top = int(responses.max()) if responses.size else 0
    width = max(top + 1, 2)
    out = np.zeros((responses.shape[1], width), dtype=np.int64)
    for code in range(width):  # loop over codes (a handful), not items
        out[:, code] = (responses == code).sum(axis=0)
    return out


def _plan(
    data: ResponseData,
    models: Sequence[ModelName],
    *,
    n_categories: Mapping[str, int],
    anchors: Mapping[str, IrtParameters],
    start: Mapping[str, IrtParameters],
    warnings: list[CalibrationWarning],
    min_answers: int = 0,
) -> list[ItemPlan]:
    codes = _observed_codes(data.responses)
    if int((codes.sum(axis=1) >= min_answers).sum()) < MIN_ANSWERS_ITEMS:
        min_answers = 0  # a small data set: every item is estimated as before
    problems: list[str] = []
    plans = []
    for j, item in enumerate(data.item_ids):
        model = models[j]
        anchor = anchors.get(item)
        if anchor is not None:
            model = anchor_model(anchor)
            cats = category_count(anchor)
        elif model in DICHOTOMOUS:
            cats = 2
        else:
            observed = np.flatnonzero(codes[j])
            cats = n_categories.get(item, int(observed.max()) + 1 if observed.size else 2)
        seen = np.flatnonzero(codes[j])
        wrong = seen[seen >= cats]
        for code in wrong:
            kind = "dichotomous " if model in DICHOTOMOUS else ""
            problems.append(
                f'{data.where(j, int(code))}: column response: item "{item}": code {code} is '
                f"not a category of the {kind}{model} model (categories 0..{cats - 1})"
            )
        if wrong.size:
            continue
        plan = ItemPlan(j, item, model, cats, fixed=anchor, start=start.get(item))
        n = int(codes[j].sum())
        if anchor is None:
            if n == 0:
                plan.excluded = "no responses (an empty column); not calibrated"
            else:
                present = codes[j, :cats] > 0
                if model in DICHOTOMOUS and present.sum() < 2:
                    only = int(np.flatnonzero(present)[0])
                    plan.excluded = (
                        f"every one of its {n} responses is {only}; "
                        "its parameters cannot be estimated from these data"
                    )
                elif not present.all():
                    missing = ", ".join(str(int(k)) for k in np.flatnonzero(~present))
                    plan.excluded = (
                        f"no response in category {missing} (of 0..{cats - 1}); "
                        "its thresholds cannot be estimated from these data"
                    )
                elif n < min_answers and model not in ("rasch", "1pl", "pcm"):
                    _few_answers(plan, n, min_answers, data, warnings)
                elif n < FEW_RESPONSES:
                    warnings.append(
                        CalibrationWarning(
                            kind="few_responses",
                            subject=f'item "{item}"',
                            message=f"only {n} responses; its estimates are unreliable",
                        )
                    )
        if plan.excluded is not None:
            warnings.append(
                CalibrationWarning(
                    kind="no_responses" if n == 0 else "not_estimable",
                    subject=f'item "{item}"',
                    message=plan.excluded,
                )
            )
        plans.append(plan)
    if problems:
        raise ModelError(problems)
    return plans


def _few_answers(
    plan: ItemPlan,
    n: int,
    min_answers: int,
    data: ResponseData,
    warnings: list[CalibrationWarning],
) -> None:
    """Hold an item with few answers at its start value, or give its slope a weak prior.

    Either way a located warning says so.
    """
    first = min((line for (i, _), line in data.locations.items() if i == plan.column), default=None)
    where = f"{data.source}: line {first}" if first is not None else data.source
    if plan.start is not None:
        plan.held = (
            f"only {n} answers (fewer than the minimum {min_answers}); held at its bank values"
        )
        message = plan.held
    else:
        plan.weak_prior = True
        message = (
            f"only {n} answers (fewer than the minimum {min_answers}) and no bank value; "
            "estimated with a weak log-normal(0, 0.5) prior on its slope, unreliable"
        )
    warnings.append(
        CalibrationWarning(
            kind="few_answers",
            subject=f'item "{plan.item_id}" (first answer at {where})',
            message=message,
        )
    )


def _classical_sparse(
    design: SparseDesign,
) -> tuple[list[Array], Array]:
    """:func:`_classical` from the answers alone (cost linear in answers)."""
    j = design.n_items
    cats = design.n_categories
    cmax = design.max_categories
    props = np.zeros(j * cmax)
    sums = np.zeros((6, j))
    for k, part in enumerate(design.slices):  # blocks of persons: memory stays bounded
        persons, items, codes = design.block_answers(k)
        local = persons - part.start
        w = design.counts[persons]
        props += np.bincount(items * cmax + codes, weights=w, minlength=j * cmax)
        x = codes.astype(np.float64)
        scaled = x / (cats[items] - 1)
        size = part.stop - part.start
        answered = np.bincount(local, minlength=size)
        total = np.bincount(local, weights=scaled, minlength=size)
        rest = (total[local] - scaled) / np.maximum(answered[local] - 1, 1)
        for row, v in enumerate((np.ones_like(x), x, x * x, rest, rest * rest, x * rest)):
            sums[row] += np.bincount(items, weights=w * v, minlength=j)
    return _classical_from_sums(props.reshape(j, cmax), sums, cats)


def _classical(
    patterns: NDArray[np.int8], counts: Array, n_categories: NDArray[np.intp]
) -> tuple[list[Array], Array]:
    """Smoothed category proportions and polyserial-corrected item-rest correlations."""
    j = patterns.shape[1]
    cmax = int(n_categories.max())
    props = np.zeros((j, cmax))
    sums = np.zeros((6, j))  # n, x, x2, rest, rest2, x*rest
    rows = patterns.shape[0]
    for start in range(0, rows, 8192):
        block = patterns[start : start + 8192]
        w = counts[start : start + 8192]
        mask = block >= 0
        x = np.where(mask, block, 0).astype(np.float64)
        scaled = x / (n_categories[None, :] - 1)
        answered = mask.sum(axis=1)
        total = scaled.sum(axis=1)
        for c in range(cmax):
            props[:, c] += w @ (block == c)
        others = np.maximum(answered[:, None] - 1, 1)
        rest = np.where(mask, (total[:, None] - scaled) / others, 0.0)
        mw = mask * w[:, None]
        sums[0] += mw.sum(axis=0)
        sums[1] += (x * mw).sum(axis=0)
        sums[2] += (x * x * mw).sum(axis=0)
        sums[3] += (rest * mw).sum(axis=0)
        sums[4] += (rest * rest * mw).sum(axis=0)
        sums[5] += (x * rest * mw).sum(axis=0)
    return _classical_from_sums(props, sums, n_categories)


def _classical_from_sums(
    props: Array, sums: Array, n_categories: NDArray[np.intp]
) -> tuple[list[Array], Array]:
    j = props.shape[0]
    n = np.maximum(sums[0], 1.0)
    mx, mr = sums[1] / n, sums[3] / n
    vx = np.maximum(sums[2] / n - mx * mx, 1e-12)
    vr = np.maximum(sums[4] / n - mr * mr, 1e-12)
    r = (sums[5] / n - mx * mr) / np.sqrt(vx * vr)
    proportions = []
    polyserial = np.zeros(j)
    for item in range(j):  # per-item set-up, once per calibration
        c = int(n_categories[item])
        p = (props[item, :c] + 0.5) / (props[item, :c].sum() + 0.5 * c)
        proportions.append(p)
        tau = ndtri(np.clip(np.cumsum(p)[:-1], 1e-6, 1 - 1e-6))
        density = np.exp(-0.5 * tau * tau).sum() / math.sqrt(2 * math.pi)
        polyserial[item] = r[item] * math.sqrt(vx[item]) / max(density, 1e-6)
    return proportions, np.clip(np.nan_to_num(polyserial, nan=0.3), -0.95, 0.95)


def _warm_start(cal: CalibrationModel, x0: Array, options: EMOptions) -> Array:
    """Start values from EM on a random fifth of the patterns (at least 5,000).

    Most of EM's early steps only move the parameters into the neighbourhood of the
    estimate, and a subsample gets there at a fraction of the cost; the full data then
    iterate from there to the same convergence criterion. The result agrees with a cold
    start within the precision that criterion implies (on 2PL 100,000 x 200, at most 0.003
    in any parameter, against standard errors of about 0.01-0.02).
    """
    design = cal.design
    size = min(max(5000, design.n_patterns // 5), WARM_START_MAX)
    rows = np.sort(np.random.default_rng(0).choice(design.n_patterns, size, replace=False))
    sub = CalibrationModel(
        design.subset(rows),
        cal.quadrature,
        families=cal.families,
        members=cal.members,
        xi=cal.xi,
        estimate=cal.estimate,
        latent_mean=cal.latent_mean,
        latent_sd=cal.latent_sd,
        estimate_mean=cal.estimate_mean,
        estimate_sd=cal.estimate_sd,
    )
    start, _ = squarem(
        sub.em_map,
        x0,
        tol=max(options.tol * 10.0, 1e-3),
        max_em_steps=max(options.max_em_steps // 4, 10),
        accelerate=options.accelerate == "squarem",
        groups=sub.item_groups(),
        refocus=sub.focus,
    )
    return start


def calibrate(
    data: ResponseData,
    model: ModelName | Sequence[ModelName] = "2pl",
    *,
    n_categories: Mapping[str, int] | None = None,
    anchors: Mapping[str, IrtParameters] | None = None,
    start: Mapping[str, IrtParameters] | None = None,
    options: EMOptions | None = None,
    weights: Array | None = None,
    progress: Progress | None = None,
) -> FitResult:
    """Calibrate the items of one scale by marginal maximum likelihood.

    Parameters
    ----------
    data
        Responses; ``-1`` means not administered.
    model
        One model for every item, or one per data column.
    n_categories
        Categories of polytomous items (e.g. from the bank); otherwise the largest observed
        code + 1.
    anchors
        Items held fixed at these parameters (fixed-parameter calibration): they put the
        estimated items and the population on the anchors' scale.
    start
        Start values for estimated items (e.g. the bank's current parameters).
    weights
        Optional person weights (frequency or survey weights), ``(n_persons,)``.

    Raises
    ------
    ModelError
        When a code is not a category of its item's model.
    CalibrationError
        When no item can be estimated.
    """
    options = options or EMOptions()
    anchors = dict(anchors or {})
    start = dict(start or {})
    n_categories = dict(n_categories or {})
    models = [model] * data.n_items if isinstance(model, str) else list(model)
    if len(models) != data.n_items:
        raise CalibrationError(f"need {data.n_items} models, got {len(models)}")
    for m in models:
        if m not in MODELS:
            raise CalibrationError(f"unknown model {m!r}; choose one of {', '.join(MODELS)}")
    warnings: list[CalibrationWarning] = list(data.warnings)
    plans = _plan(
        data,
        models,
        n_categories=n_categories,
        anchors=anchors,
        start=start,
        warnings=warnings,
        min_answers=options.min_answers,
    )
    kept = [p for p in plans if p.excluded is None]
    if not any(p.fixed is None and p.held is None for p in kept):
        raise CalibrationError(
            f"{data.source}: no item can be estimated from these data (see the warnings)"
        )
    columns = np.array([p.column for p in kept], dtype=np.intp)
    every_column = columns.size == data.n_items and bool((columns == np.arange(columns.size)).all())
    responses = data.responses if every_column else data.responses[:, columns]
    answered = (responses >= 0).sum(axis=1)
    persons = np.flatnonzero(answered > 0)
    dropped = data.n_persons - persons.size
    if dropped:
        first = ", ".join(f'"{data.person_ids[k]}"' for k in np.flatnonzero(answered == 0)[:5])
        warnings.append(
            CalibrationWarning(
                kind="no_responses",
                subject=f"{dropped} persons",
                message=f"answered none of the calibrated items and were left out ({first}...)",
            )
        )
    single = np.flatnonzero(answered == 1)
    if single.size:
        names = ", ".join(f'"{data.person_ids[k]}"' for k in single[:5])
        more = f" and {single.size - 5} more" if single.size > 5 else ""
        warnings.append(
            CalibrationWarning(
                kind="single_response",
                subject=f"{single.size} persons",
                message=f"answered one calibrated item only ({names}{more}); they are used, "
                "but add little information",
            )
        )
    person_weights = None if weights is None else np.asarray(weights, dtype=np.float64)[persons]
    cats = np.array([p.n_categories for p in kept], dtype=np.intp)
    used = responses if persons.size == responses.shape[0] else responses[persons]
    missing = 1.0 - float(answered.sum()) / max(responses.size, 1)
    sparse = options.sparse == "always" or (
        options.sparse == "auto"
        and missing >= SPARSE_MIN_MISSING
        and persons.size >= SPARSE_MIN_PERSONS
    )
    design: Design | SparseDesign
    if sparse:
        counts = np.ones(persons.size) if person_weights is None else person_weights
        design = SparseDesign(used, counts, cats, threads=options.threads)
        proportions, correlation = _classical_sparse(design)
        total_weight = float(counts.sum())
    else:
        collapsed = collapse(used, person_weights)
        design = Design(
            collapsed.patterns, collapsed.counts, cats, cache_bytes=options.cache_mb * 2**20
        )
        proportions, correlation = _classical(collapsed.patterns, collapsed.counts, cats)
        total_weight = float(collapsed.counts.sum())
    quadrature = Quadrature.grid(options.quadrature_points, *options.theta_range)

    keys: dict[tuple[ModelName, int, bool], int] = {}
    families: list[Family] = []
    member_lists: list[list[int]] = []
    family_of: list[tuple[int, int]] = []
    weak_priors = msgspec.structs.replace(options.priors, log_a=WEAK_SLOPE_PRIOR)
    for col, plan in enumerate(kept):
        key = (plan.model, plan.n_categories, plan.weak_prior)
        if key not in keys:
            keys[key] = len(families)
            priors = weak_priors if plan.weak_prior else options.priors
            families.append(Family(plan.model, plan.n_categories, priors))
            member_lists.append([])
        f = keys[key]
        family_of.append((f, len(member_lists[f])))
        member_lists[f].append(col)
    members = [np.array(m, dtype=np.intp) for m in member_lists]
    xi_list = []
    estimate = []
    for fam, cols in zip(families, members, strict=True):
        props = np.array([proportions[c] for c in cols])
        x = fam.start(props, correlation[cols])
        est = np.ones(cols.size, dtype=bool)
        for row, c in enumerate(cols):
            plan = kept[c]
            source = plan.fixed if plan.fixed is not None else plan.start
            if source is not None:
                converted = fam.from_bank(source)
                if converted is not None:
                    x[row] = converted
            if plan.fixed is not None or plan.held is not None:
                est[row] = False
        xi_list.append(fam.clamp(x) if est.all() else x)
        estimate.append(est)
    has_anchors = any(p.fixed is not None for p in kept)
    all_rasch = all(p.model in FIXED_SLOPE for p in kept if p.fixed is None)
    if options.latent == "estimate" and not has_anchors:
        raise CalibrationError(
            "the population mean and SD can only be estimated when anchor items fix the scale"
        )
    estimate_mean = options.latent != "fixed" and has_anchors
    estimate_sd = options.latent != "fixed" and (has_anchors or all_rasch)
    cal = CalibrationModel(
        design,
        quadrature,
        families=families,
        members=members,
        xi=xi_list,
        estimate=estimate,
        estimate_mean=estimate_mean,
        estimate_sd=estimate_sd,
    )
    x0 = cal.pack(cal.xi, cal.latent_mean, cal.latent_sd)
    if options.warm_start and design.n_patterns >= WARM_START_PATTERNS:
        x0 = _warm_start(cal, x0, options)
    x_hat, trace = squarem(
        cal.em_map,
        x0,
        tol=options.tol,
        max_em_steps=options.max_em_steps,
        accelerate=options.accelerate == "squarem",
        progress=progress,
        groups=cal.item_groups(),
        refocus=cal.focus,
    )
    cal.focus(None)
    xi_hat, mean_hat, sd_hat = cal.unpack(x_hat)
    cal.xi = xi_hat
    cal.latent_mean, cal.latent_sd = mean_hat, sd_hat
    final = cal.e_step(xi_hat, mean_hat, sd_hat)
    if not trace.converged:
        warnings.append(
            CalibrationWarning(
                kind="not_converged",
                subject=data.source,
                message=f"EM stopped after {trace.em_steps} steps without meeting the "
                f"criterion (largest change {trace.max_change:.2g} > {options.tol:g}); "
                "raise max_em_steps or check the flagged items",
            )
        )
    for fam, cols, x, est in zip(families, members, xi_hat, estimate, strict=True):
        for guard_row in np.flatnonzero(fam.at_guard(x) & est):
            plan = kept[int(cols[guard_row])]
            warnings.append(
                CalibrationWarning(
                    kind="out_of_range",
                    subject=f'item "{plan.item_id}"',
                    message="its estimate ran to the parameter bounds (|a| or |d| too large): "
                    "the data cannot pin it down",
                )
            )
    return FitResult(
        item_ids=tuple(p.item_id for p in kept),
        models=tuple(p.model for p in kept),
        n_categories=tuple(int(c) for c in cats),
        estimated=tuple(p.fixed is None and p.held is None for p in kept),
        xi=xi_hat,
        family_of=family_of,
        model=cal,
        loglik=final.loglik,
        log_posterior=final.loglik + cal.log_prior_items(xi_hat),
        n_parameters=cal.n_free,
        n_persons=int(persons.size if weights is None else total_weight),
        latent_mean=mean_hat,
        latent_sd=sd_hat,
        trace=trace,
        excluded={p.item_id: p.excluded for p in plans if p.excluded is not None},
        warnings=warnings,
        data=data if every_column else data.take_items(columns.tolist(), responses=responses),
        persons_used=persons,
        final=final,
        held={p.item_id: p.held for p in kept if p.held is not None},
    )
