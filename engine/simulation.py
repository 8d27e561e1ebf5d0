r"""Simulated adaptive testing: how a policy performs on a bank.

Simulees with known abilities take the test through the same :class:`~engine.session.Session`
the service uses; their answers are drawn from the model's category probabilities. The summary
reports, overall and by ability band:

* bias and RMSE of the estimates, per competency: :math:`\overline{\hat\theta - \theta}` and
  :math:`\sqrt{\overline{(\hat\theta - \theta)^2}}`;
* test length (operational items): mean, SD, min, max;
* exposure rates :math:`r_i` = share of simulees given item *i*, and the maximum;
* test overlap (Chen, Ankenmann & Spray, 2003): the expected number of items two simulees
  share divided by the mean test length, computed exactly from the item counts :math:`c_i`
  as :math:`\sum_i c_i (c_i - 1) / (N (N - 1)\,\bar L)`.

References
----------
Chen, S.-Y., Ankenmann, R. D., & Spray, J. A. (2003). The relationship between item exposure
and test overlap in computerized adaptive testing. *Journal of Educational Measurement*,
40(2), 129-145.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass

import msgspec
import numpy as np
from numpy.typing import NDArray

from engine.exposure import update_eligibility
from engine.irt.generic import Array
from engine.policy import ExposureConfig, Policy
from engine.pool import ItemPool
from engine.session import Session

BAND_EDGES = (-np.inf, -2.0, -1.0, 0.0, 1.0, 2.0, np.inf)
BAND_LABELS = ("below -2", "-2 to -1", "-1 to 0", "0 to 1", "1 to 2", "above 2")


class CompetencyAccuracy(msgspec.Struct, frozen=True, kw_only=True):
    """Recovery of one competency's abilities."""

    competency: str
    n: int
    bias: float
    rmse: float
    mean_se: float
    correlation: float | None = None


class BandSummary(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the summary reports, restricted to one band of true ability."""

    band: str
    examinees: int
    accuracy: tuple[CompetencyAccuracy, ...]
    mean_length: float
    max_exposure: float
    overlap: float


class SimulationSummary(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of a simulation study."""

    bank: str
    examinees: int
    seed: int
    accuracy: tuple[CompetencyAccuracy, ...]
    mean_length: float
    sd_length: float
    min_length: int
    max_length: int
    max_exposure: float
    mean_exposure: float
    unused_items: int
    overlap: float
    stop_reasons: dict[str, int]
    bands: tuple[BandSummary, ...]
    exposure_rates: tuple[float, ...]


@dataclass(frozen=True)
class SimulationRun:
    """Raw outcome per simulee, kept for reports and further analysis."""

    pool: ItemPool
    true_theta: Array  # (N, K)
    estimate: Array  # (N, K)
    se: Array  # (N, K)
    lengths: NDArray[np.intp]  # (N,) operational items
    administered: list[tuple[int, ...]]
    refused: list[tuple[int, ...]]
    stop_reasons: list[str]
    paths: list[list[tuple[int, float, float]]]  # per simulee: (competency, theta, se) steps


def draw_abilities(
    n: int, n_competencies: int, rng: np.random.Generator, correlation: float = 0.0
) -> Array:
    """Standard normal abilities with a common correlation between competencies."""
    if not 0.0 <= correlation < 1.0:
        raise ValueError("correlation must be in [0, 1)")
    cov = np.full((n_competencies, n_competencies), correlation)
    np.fill_diagonal(cov, 1.0)
    return rng.multivariate_normal(np.zeros(n_competencies), cov, size=n)


def run(
    session: Session,
    true_theta: Array,
    seed: int,
    *,
    keep_paths: bool = False,
) -> SimulationRun:
    """Administer the test to every simulee (row of ``true_theta``).

    With ``exposure.method = "eligibility"`` the eligibility probabilities are updated after
    every simulee from the running exposure rates (van der Linden & Veldkamp, 2004).
    """
    pool = session.pool
    n = true_theta.shape[0]
    rng = np.random.default_rng(seed)
    estimate = np.empty_like(true_theta)
    se = np.empty_like(true_theta)
    lengths = np.zeros(n, dtype=np.intp)
    administered: list[tuple[int, ...]] = []
    refused: list[tuple[int, ...]] = []
    reasons: list[str] = []
    paths: list[list[tuple[int, float, float]]] = []
    exposure_cfg = session.policy.exposure
    eligibility = np.ones(pool.n_items) if exposure_cfg.method == "eligibility" else None
    counts = np.zeros(pool.n_items)
    seeds = [int(s) for s in rng.integers(0, 2**31 - 1, size=(n,))]
    for j in range(n):
        state = session.start(seeds[j], eligibility=eligibility)
        path: list[tuple[int, float, float]] = []
        while True:
            state = session.next_item(state)
            if state.finished or state.pending is None:
                break
            item = state.pending
            k = int(pool.competency[item])
            probs = pool.response_probabilities(item, float(true_theta[j, k]))
            draw = rng.random()
            category = 0
            total = probs[0]
            while draw >= total and category < len(probs) - 1:
                category += 1
                total += probs[category]
            state = session.record(state, item, category)
            if keep_paths and pool.operational[item]:
                path.append((k, state.theta[k], state.se[k]))
            if state.finished:
                break
        estimate[j] = state.theta
        se[j] = state.se
        operational = [i for i in state.items if pool.operational[i]]
        lengths[j] = len(operational)
        administered.append(tuple(operational))
        refused.append(state.excluded)
        reasons.append(state.stop_reason)
        paths.append(path)
        if eligibility is not None:
            counts[list(operational)] += 1
            eligibility = update_eligibility(eligibility, counts / (j + 1), exposure_cfg.r_max)
    return SimulationRun(
        pool=pool,
        true_theta=true_theta,
        estimate=estimate,
        se=se,
        lengths=lengths,
        administered=administered,
        refused=refused,
        stop_reasons=reasons,
        paths=paths,
    )


def _accuracy(
    run_: SimulationRun, rows: NDArray[np.bool_] | None = None
) -> tuple[CompetencyAccuracy, ...]:
    out = []
    for k, cid in enumerate(run_.pool.competency_ids):
        mask = np.ones(run_.true_theta.shape[0], dtype=bool) if rows is None else rows[:, k]
        true = run_.true_theta[mask, k]
        est = run_.estimate[mask, k]
        if true.size == 0:
            continue
        error = est - true
        corr = (
            float(np.corrcoef(true, est)[0, 1])
            if true.size > 2 and np.std(true) > 0 and np.std(est) > 0
            else None
        )
        out.append(
            CompetencyAccuracy(
                competency=cid,
                n=int(true.size),
                bias=float(error.mean()),
                rmse=float(np.sqrt((error**2).mean())),
                mean_se=float(run_.se[mask, k].mean()),
                correlation=corr,
            )
        )
    return tuple(out)


def _exposure(run_: SimulationRun, rows: NDArray[np.bool_]) -> tuple[Array, float]:
    n = int(rows.sum())
    counts = np.zeros(run_.pool.n_items)
    for j in np.flatnonzero(rows):
        counts[list(run_.administered[j])] += 1
    if n == 0:
        return counts, 0.0
    rates = counts / n
    mean_length = float(run_.lengths[rows].mean())
    if n < 2 or mean_length == 0:
        return rates, 0.0
    overlap = float((counts * (counts - 1)).sum() / (n * (n - 1)) / mean_length)
    return rates, overlap


def summarize(run_: SimulationRun, seed: int) -> SimulationSummary:
    """Summarise a run overall and by band of true ability."""
    pool = run_.pool
    n = run_.true_theta.shape[0]
    everyone = np.ones(n, dtype=bool)
    rates, overlap = _exposure(run_, everyone)
    operational_rates = rates[pool.operational]
    overall_band = np.digitize(run_.true_theta.mean(axis=1), BAND_EDGES[1:-1])
    per_comp_band = np.digitize(run_.true_theta, BAND_EDGES[1:-1])
    bands = []
    for b, label in enumerate(BAND_LABELS):
        rows = overall_band == b
        comp_rows = per_comp_band == b
        if not rows.any() and not comp_rows.any():
            continue
        band_rates, band_overlap = _exposure(run_, rows)
        bands.append(
            BandSummary(
                band=label,
                examinees=int(rows.sum()),
                accuracy=_accuracy(run_, comp_rows),
                mean_length=float(run_.lengths[rows].mean()) if rows.any() else 0.0,
                max_exposure=float(band_rates.max()) if rows.any() else 0.0,
                overlap=band_overlap,
            )
        )
    return SimulationSummary(
        bank=pool.bank_id,
        examinees=n,
        seed=seed,
        accuracy=_accuracy(run_),
        mean_length=float(run_.lengths.mean()),
        sd_length=float(run_.lengths.std()),
        min_length=int(run_.lengths.min()),
        max_length=int(run_.lengths.max()),
        max_exposure=float(operational_rates.max()),
        mean_exposure=float(operational_rates.mean()),
        unused_items=int((operational_rates == 0).sum()),
        overlap=overlap,
        stop_reasons=dict(Counter(run_.stop_reasons).most_common()),
        bands=tuple(bands),
        exposure_rates=tuple(float(r) for r in rates),
    )


def simulate(
    pool: ItemPool,
    policy: Policy,
    *,
    examinees: int,
    seed: int,
    correlation: float = 0.0,
    keep_paths: bool = False,
) -> tuple[SimulationRun, SimulationSummary]:
    """Simulate ``examinees`` simulees with N(0, 1) abilities and summarise."""
    if examinees < 1:
        raise ValueError("need at least one examinee")
    session = Session(pool, policy)
    rng = np.random.default_rng(seed)
    thetas = draw_abilities(examinees, pool.n_competencies, rng, correlation)
    result = run(session, thetas, seed + 1, keep_paths=keep_paths)
    return result, summarize(result, seed)


class SympsonHetterResult(msgspec.Struct, frozen=True, kw_only=True):
    """Exposure parameters found by the Sympson-Hetter procedure and its iterations."""

    exposure: tuple[float, ...]
    max_exposure: tuple[float, ...]
    converged: bool


def sympson_hetter(
    pool: ItemPool,
    policy: Policy,
    *,
    r_max: float,
    examinees: int = 1000,
    iterations: int = 12,
    seed: int = 1,
    tolerance: float = 0.01,
) -> SympsonHetterResult:
    r"""Set Sympson-Hetter exposure parameters :math:`K_i` by iterated simulation.

    Each iteration simulates ``examinees`` with the current :math:`K` and counts how often
    each item was *selected* (administered or refused), :math:`P(S_i)`; then
    :math:`K_i \leftarrow r_{max} / P(S_i)` if :math:`P(S_i) > r_{max}`, else 1. It stops
    when the largest observed exposure rate is within ``tolerance`` of :math:`r_{max}`.

    References
    ----------
    Sympson, J. B., & Hetter, R. D. (1985). Controlling item-exposure rates in computerized
    adaptive testing. *Proceedings of the 27th annual meeting of the Military Testing
    Association*, 973-977.
    """
    if not 0.0 < r_max <= 1.0:
        raise ValueError("r_max must be in (0, 1]")
    sh_policy = msgspec.structs.replace(
        policy, exposure=ExposureConfig(method="sympson_hetter", r_max=r_max)
    )
    k = np.ones(pool.n_items)
    history: list[float] = []
    rng = np.random.default_rng(seed)
    thetas = draw_abilities(examinees, pool.n_competencies, rng)
    converged = False
    for it in range(iterations):
        trial = dataclasses.replace(pool, exposure=k.copy())
        result = run(Session(trial, sh_policy), thetas, seed + 1 + it)
        selected = np.zeros(pool.n_items)
        given = np.zeros(pool.n_items)
        for items, refused in zip(result.administered, result.refused, strict=True):
            given[list(items)] += 1
            selected[list(items)] += 1
            selected[list(refused)] += 1
        p_selected = selected / examinees
        max_rate = float((given / examinees).max())
        history.append(max_rate)
        if max_rate <= r_max + tolerance:
            converged = True
            break
        k = np.where(p_selected > r_max, r_max / np.maximum(p_selected, 1e-12), 1.0)
    return SympsonHetterResult(
        exposure=tuple(float(x) for x in k), max_exposure=tuple(history), converged=converged
    )
