r"""Item drift and compromise from live answers: CUSUM charts of residuals, and exposure.

An item whose key has leaked becomes easier than its parameters say, and is answered faster;
an item that has drifted is easier or harder. For every answer, in the order the answers
were given, the item's standardised residual is taken against what the learner's *other*
answers predict (a leave-one-out, posterior-predictive residual, so the answer under study
does not pull the ability estimate towards itself):

.. math:: w_q \propto \pi(\theta_q) \prod_{j' \ne j} P_{j' x_{j'}}(\theta_q), \qquad
          E_j = \sum_q w_q \sum_k k P_{jk}(\theta_q), \qquad
          z_j = \frac{x_j - E_j}{\sqrt{\sum_q w_q \sum_k k^2 P_{jk}(\theta_q) - E_j^2}},

with the bank's parameters, the engine's grid and the learner's answers on the same
competency. With response-time parameters (bank field ``time``), the log-time residual
against the learner's speed from the other timed answers is

.. math:: z^t_j = \frac{\ln t_j - \beta_j + \hat\tau_{(-j)}}
                       {\sqrt{\alpha_j^{-2} + (\sum_{j' \ne j} \alpha_{j'}^2)^{-1}}},

exactly N(0, 1) under the lognormal model (van der Linden, 2006).

Per item, one-sided CUSUM charts (Page, 1954) over its answers in time order,

.. math:: C^+_t = \max(0, C^+_{t-1} + z_t - k), \qquad C^-_t = \max(0, C^-_{t-1} - z_t - k),

detect a shift towards *easier* (:math:`C^+` of :math:`z`), *harder* (:math:`C^-` of
:math:`z`) and *faster* (:math:`C^-` of :math:`z^t`). The reference value ``k`` = 0.25 is
tuned to a mean shift of half a residual SD (a CUSUM is most sensitive to shifts of
:math:`2k`): a one-logit change of difficulty moves a hard, flat item's residuals by only
about 0.3 SD, which ``k`` = 0.5 would never accumulate. As Veerkamp & Glas (2000) do for
items in adaptive testing, the statistic is the chart's maximum; its p-value is found by
simulating the answers and times from the model (``replicates`` parametric-bootstrap runs
of every item's chart, the same learners and order), so it holds for items with few answers and for
dichotomous residuals, whose distribution is far from normal. The charts use the identity
:math:`C_t = S_t - \min_{s \le t} S_s` of the partial sums :math:`S_t = \sum (z - k)`, so
each run is a cumulative sum and a running minimum over all items at once.

Exposure: an item given to more than the policy's ``r_max`` share of the learners, judged by
the one-sided binomial test of :math:`r \le r_{max}` (sampling noise alone does not flag it).

References
----------
Page, E. S. (1954). Continuous inspection schemes. *Biometrika*, 41(1/2), 100-115.
Veerkamp, W. J. J., & Glas, C. A. W. (2000). Detection of known items in adaptive testing
with a statistical quality control method. *Journal of Educational and Behavioral
Statistics*, 25(4), 373-389.
van Krimpen-Stoop, E. M. L. A., & Meijer, R. R. (2001). CUSUM-based person-fit statistics
for adaptive testing. *Journal of Educational and Behavioral Statistics*, 26(2), 199-217.
van der Linden, W. J. (2006). A lognormal model for response times on test items. *Journal
of Educational and Behavioral Statistics*, 31(2), 181-204.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import msgspec
import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.stats import binom

from calibration.errors import DataProblem, ResponseDataError
from calibration.timed_data import TimedResponses
from engine.estimation import Grid
from engine.pool import ItemPool, compile_pool
from engine.response_times import compile_timing
from item_banks.model import Bank

Array = NDArray[np.float64]
DriftFlag = Literal["easier", "harder", "faster", "overexposed"]
_CHUNK = 20_000


class ItemDrift(msgspec.Struct, frozen=True, kw_only=True):
    """The evidence about one item.

    Attributes
    ----------
    answers, persons_share
        Answers to the item, and the share of all learners in the data who got it.
    observed, expected
        Mean score, and the mean the other answers predict (leave-one-out).
    easier_p, harder_p, faster_p
        Monte Carlo p-values of the CUSUM maxima (``None`` when not computed).
    change_at
        When the strongest signal's run began (ISO time of the answer, or its position).
    exposure_p
        One-sided binomial p-value of the exposure exceeding ``r_max``.
    flags
        What is flagged at the chosen significance level.
    """

    item_id: str
    answers: int
    persons_share: float
    observed: float | None
    expected: float | None
    easier_cusum: float
    easier_p: float | None
    harder_cusum: float
    harder_p: float | None
    faster_cusum: float | None = None
    faster_p: float | None = None
    change_at: str | None = None
    exposure_p: float | None = None
    flags: tuple[DriftFlag, ...] = ()


class DriftReport(msgspec.Struct, frozen=True, kw_only=True):
    """Drift and exposure evidence for every item, flagged items first."""

    source: str
    persons: int
    answers: int
    k: float
    alpha: float
    replicates: int
    r_max: float | None
    items: tuple[ItemDrift, ...]
    warnings: tuple[str, ...] = ()

    @property
    def flagged(self) -> tuple[ItemDrift, ...]:
        """The items with at least one flag."""
        return tuple(item for item in self.items if item.flags)


@dataclass(frozen=True)
class _Residuals:
    """Per answer: leave-one-out predictive mean and SD of the score, log-time residual."""

    expected: Array
    sd: Array
    categories: list[Array]  # per answer: the predictive category probabilities (chunked)
    time_z: Array  # NaN where untimed


def _locate(data: TimedResponses, message: str, answer: int | None = None) -> ResponseDataError:
    line = int(data.line[answer]) if answer is not None else None
    return ResponseDataError([DataProblem(source=data.source, line=line, message=message)])


def _map_items(data: TimedResponses, pool: ItemPool, bank: Bank) -> NDArray[np.intp]:
    to_pool = np.full(len(data.item_ids), -1, dtype=np.intp)
    for k, item in enumerate(data.item_ids):
        to_pool[k] = pool.index.get(item, -1)
    unknown = np.flatnonzero(to_pool[data.item] < 0)
    if unknown.size:
        first = int(unknown[0])
        raise _locate(
            data,
            f'item "{data.item_ids[data.item[first]]}" is not a scored item of bank "{bank.id}" '
            f"version {bank.version}",
            first,
        )
    return to_pool[data.item]


def _residuals(
    data: TimedResponses, pool: ItemPool, bank: Bank, items: NDArray[np.intp], grid: Grid
) -> _Residuals:
    cats = data.response.astype(np.intp)
    top = pool.n_categories[items] - 1
    bad = np.flatnonzero(cats > top)
    if bad.size:
        first = int(bad[0])
        raise _locate(
            data,
            f'response {cats[first]} is not a category of item "{pool.item_ids[items[first]]}" '
            f"(0..{top[first]})",
            first,
        )
    width = pool.max_categories
    q = grid.points.size
    probs = pool.probabilities(grid.points)  # (n_items, C, Q)
    log_p = np.log(np.maximum(probs, 1e-300)).reshape(-1, q)
    # one likelihood per (learner, competency)
    group = data.person * pool.n_competencies + pool.competency[items]
    n_groups = len(data.person_ids) * pool.n_competencies
    cell = items * width + cats
    indicator = sparse.csr_matrix(
        (np.ones(items.size), (group, cell)), shape=(n_groups, log_p.shape[0])
    )
    total = np.asarray(indicator @ log_p)  # (groups, Q)
    scores = np.arange(width, dtype=np.float64)
    expected = np.empty(items.size)
    sd = np.empty(items.size)
    chunks: list[Array] = []
    for start in range(0, items.size, _CHUNK):
        part = slice(start, min(start + _CHUNK, items.size))
        loo = total[group[part]] - log_p[cell[part]] + grid.log_prior
        loo -= loo.max(axis=1, keepdims=True)
        w = np.exp(loo)
        w /= w.sum(axis=1, keepdims=True)
        predictive = np.einsum("ecq,eq->ec", probs[items[part]], w)  # (e, C)
        mean = predictive @ scores
        var = predictive @ scores**2 - mean**2
        expected[part] = mean
        sd[part] = np.sqrt(np.maximum(var, 1e-12))
        chunks.append(predictive)
    timing = compile_timing(bank, pool)
    alpha = timing.alpha[items]
    beta = timing.beta[items]
    use = np.isfinite(alpha) & np.isfinite(data.seconds) & (data.seconds > 0)
    log_t = np.log(np.where(use, data.seconds, 1.0))
    weight = np.where(use, alpha, 0.0) ** 2
    n_people = len(data.person_ids)
    precision = np.bincount(data.person, weights=weight, minlength=n_people)
    top_sum = np.bincount(
        data.person, weights=weight * np.where(use, beta - log_t, 0.0), minlength=n_people
    )
    others = precision[data.person] - weight
    with np.errstate(invalid="ignore", divide="ignore"):
        tau_loo = (top_sum[data.person] - weight * np.where(use, beta - log_t, 0.0)) / others
        time_z = (log_t - beta + tau_loo) / np.sqrt(1.0 / weight + 1.0 / others)
    time_z = np.where(use & (others > 0), time_z, np.nan)
    return _Residuals(expected, sd, chunks, time_z)


class CusumLayout:
    """Where each answer goes in the per-item charts (computed once, used for every run).

    Parameters
    ----------
    item
        ``(E,)`` item of each answer, the answers in time order.
    n_items
        Number of items.
    """

    def __init__(self, item: NDArray[np.intp], n_items: int) -> None:
        self.n_items = n_items
        self.by_item = np.argsort(item, kind="stable").astype(np.intp)
        sorted_items = item[self.by_item]
        counts = np.bincount(sorted_items, minlength=n_items)
        self.starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.intp)
        self.rows = sorted_items
        self.columns = np.arange(item.size) - self.starts[sorted_items] + 1
        self.width = int(counts.max()) + 1 if counts.size else 1

    def maxima(self, values: Array, k: float) -> tuple[Array, NDArray[np.intp]]:
        r"""Maximum of the CUSUM :math:`C_t = \max(0, C_{t-1} + v_t - k)` of every item.

        ``values`` are per answer, in time order. With partial sums :math:`S_t = \sum_{s \le t}
        (v_s - k)`, :math:`S_0 = 0`, the chart is :math:`C_t = S_t - \min_{s \le t} S_s`.
        Returns the maxima and, per item, the position among its answers (0-based) where
        the run reaching the maximum began.
        """
        table = np.zeros((self.n_items, self.width))
        table[self.rows, self.columns] = values[self.by_item] - k
        partial = np.cumsum(table, axis=1)
        lowest = np.minimum.accumulate(partial, axis=1)
        chart = partial - lowest
        best = np.argmax(chart, axis=1)
        floor = lowest[np.arange(self.n_items), best]
        column = np.arange(self.width)[None, :]
        at_floor = (partial <= floor[:, None] + 1e-12) & (column <= best[:, None])
        began = np.where(at_floor, column, -1).max(axis=1).astype(np.intp)
        return chart.max(axis=1), began

    def answer(self, item: int, position: int) -> int:
        """Index (in time order) of the item's answer at ``position``."""
        return int(self.by_item[self.starts[item] + position])


def item_drift(
    data: TimedResponses,
    bank: Bank,
    *,
    r_max: float | None = None,
    k: float = 0.25,
    alpha: float = 0.01,
    replicates: int = 500,
    seed: int = 1,
    grid: Grid | None = None,
) -> DriftReport:
    """CUSUM evidence of drift or compromise, and exposure, for every item in ``data``.

    Parameters
    ----------
    data
        Answers with their scores (``response``), times and order (``answered_at``).
    bank
        The bank version the answers were given on (its parameters are the reference).
    r_max
        The policy's largest exposure rate; ``None`` skips the exposure check.
    k
        CUSUM reference value (in residual SDs).
    alpha
        Significance level of every flag (per item and chart).
    replicates
        Monte Carlo runs for the CUSUM p-values.

    Raises
    ------
    ResponseDataError
        Located: an item not in the bank, a score that is not a category of its item, or
        a file without scores.
    """
    if not (data.response >= 0).any():
        raise _locate(data, "the file has no scores (a response column): nothing to compare")
    pool = compile_pool(bank)
    scored = data.response >= 0
    chosen = _subset(data, scored)
    items = _map_items(chosen, pool, bank)
    res = _residuals(chosen, pool, bank, items, grid or Grid.normal())
    order = chosen.chronological()
    local = np.unique(items, return_inverse=True)
    item_list, item_index = local[0], local[1].astype(np.intp)
    n = item_list.size
    z = (chosen.response.astype(np.float64) - res.expected) / res.sd
    layout = CusumLayout(item_index[order], n)
    up, up_start = layout.maxima(z[order], k)
    down, down_start = layout.maxima(-z[order], k)
    timed = np.isfinite(res.time_z)
    has_time = np.bincount(item_index[timed], minlength=n) >= 2
    zt = np.where(timed, res.time_z, 0.0)
    fast, fast_start = layout.maxima(-zt[order], k)
    rng = np.random.default_rng(seed)
    exceed = np.zeros((3, n))
    predictive_cdf = np.cumsum(np.concatenate(res.categories), axis=1)[:, :-1]
    for _ in range(replicates):
        u = rng.random(items.size)
        draw = (u[:, None] > predictive_cdf).sum(axis=1)
        z_sim = ((draw - res.expected) / res.sd)[order]
        exceed[0] += layout.maxima(z_sim, k)[0] >= up - 1e-9
        exceed[1] += layout.maxima(-z_sim, k)[0] >= down - 1e-9
        if has_time.any():
            t_sim = np.where(timed, rng.standard_normal(items.size), 0.0)[order]
            exceed[2] += layout.maxima(-t_sim, k)[0] >= fast - 1e-9
    p_values = (exceed + 1.0) / (replicates + 1.0)
    answers = np.bincount(item_index, minlength=n)
    persons = len(chosen.person_ids)
    observed = np.bincount(item_index, weights=chosen.response, minlength=n) / answers
    expected = np.bincount(item_index, weights=res.expected, minlength=n) / answers
    results = []
    for j in range(n):  # assembling the report: one Struct per item
        flags: list[DriftFlag] = []
        if p_values[0, j] < alpha:
            flags.append("easier")
        if p_values[1, j] < alpha:
            flags.append("harder")
        if has_time[j] and p_values[2, j] < alpha:
            flags.append("faster")
        exposure_p = None
        if r_max is not None:
            exposure_p = float(binom.sf(int(answers[j]) - 1, persons, r_max))
            if answers[j] / persons > r_max and exposure_p < alpha:
                flags.append("overexposed")
        strongest = {"easier": up_start[j], "harder": down_start[j], "faster": fast_start[j]}
        signal = next((f for f in flags if f in strongest), None)
        change = (
            _label(chosen, int(order[layout.answer(j, int(strongest[signal]))]))
            if signal is not None
            else None
        )
        results.append(
            ItemDrift(
                item_id=pool.item_ids[item_list[j]],
                answers=int(answers[j]),
                persons_share=float(answers[j] / persons),
                observed=float(observed[j]),
                expected=float(expected[j]),
                easier_cusum=float(up[j]),
                easier_p=float(p_values[0, j]),
                harder_cusum=float(down[j]),
                harder_p=float(p_values[1, j]),
                faster_cusum=float(fast[j]) if has_time[j] else None,
                faster_p=float(p_values[2, j]) if has_time[j] else None,
                change_at=change,
                exposure_p=exposure_p,
                flags=tuple(flags),
            )
        )
    results.sort(key=lambda r: (not r.flags, min(r.easier_p or 1, r.faster_p or 1), r.item_id))
    warnings = [str(w) for w in data.warnings]
    if (~scored).any():
        warnings.append(f"{int((~scored).sum())} answers without a score were left out")
    if not timed.any():
        warnings.append(
            "no answer has a time and an item with response-time parameters: "
            "the 'faster' chart is not computed"
        )
    return DriftReport(
        source=data.source,
        persons=persons,
        answers=int(items.size),
        k=k,
        alpha=alpha,
        replicates=replicates,
        r_max=r_max,
        items=tuple(results),
        warnings=tuple(warnings),
    )


def _subset(data: TimedResponses, keep: NDArray[np.bool_]) -> TimedResponses:
    return TimedResponses(
        source=data.source,
        person_ids=data.person_ids,
        item_ids=data.item_ids,
        person=data.person[keep],
        item=data.item[keep],
        response=data.response[keep],
        seconds=data.seconds[keep],
        answered_at=data.answered_at[keep],
        line=data.line[keep],
        warnings=(),
    )


def _label(data: TimedResponses, answer: int) -> str:
    """When an answer was given: its ISO time, or its line in the file."""
    stamp = data.answered_at[answer]
    if math.isfinite(stamp):
        return datetime.fromtimestamp(stamp, UTC).isoformat()
    return f"the answer on line {int(data.line[answer])}"
