"""Correlated competencies: the multidimensional CAT and calibration, side by side.

``python -m bench multidim`` runs all four parts; ``multidim-step``, ``multidim-length``,
``multidim-recovery`` and ``multidim-mirt`` run one each.

1. CAT step (select + update + SE), 4 competencies, 1000-item 2PL bank, 20 items given:
   the independent step (max information, EAP per competency), the correlated step
   (D-optimality, joint EAP and joint MAP) and Python mirt 1.2's ``MCATEngine``
   (D-optimality, EAP) on the same bank, prior and answers.
2. Test length: every competency to SE <= 0.3 (max 200 items), correlated vs independent,
   the same simulees, at correlation 0.6 and 0; mean items, RMSE per competency. The
   theoretical bound (information needed under the Laplace approximation) is printed next
   to it.
3. Recovery: 20,000 persons x 200 items on 4 competencies with correlation 0.6, complete
   data and data from the correlated CAT (eligibility at the bank's average rate); time,
   correlation errors and item RMSE. The CAT data come from the length study's design
   (part 2: maximum information at the joint estimates, content targets, every competency
   to SE <= 0.3) capped at :data:`CAT_LENGTH` items, about the length study's mean test
   length (``multidim-recovery``), or from the first design, D-optimal with 40 items each
   (``multidim-recovery-40``).
4. Python mirt 1.2's confirmatory fit on the complete data of part 3 (two EM iterations,
   timed) and on a small data set both fit to convergence (``multidim-mirt``).
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

import numpy as np
from mirt import fit_mirt
from mirt.cat import MCATEngine
from mirt.models.multidimensional import MultidimensionalModel

from calibration.correlated import fit_correlated
from calibration.data import from_array
from calibration.em import FitResult, calibrate
from calibration.simulate import simulate_adaptive, simulate_responses
from engine.policy import decode_policy
from engine.pool import ItemPool, compile_pool
from engine.session import Session, SessionState
from engine.simulation import run
from engine.stopping import length_bound
from engine.synthetic import synthetic_bank

K = 4
RHO = 0.6
#: Budget for Python mirt's confirmatory fit (seconds of wall time, per data set).
MIRT_BUDGET = 1800.0
#: Cap of the recovery's CAT (the length study's design): about its mean test length at
#: correlation 0.6 (79-95 items), 40 % of the 200-item bank.
CAT_LENGTH = 80


def equicorrelation(k: int, rho: float) -> np.ndarray:
    r = np.full((k, k), rho)
    np.fill_diagonal(r, 1.0)
    return r


def abilities(n: int, rho: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, K)) @ np.linalg.cholesky(equicorrelation(K, rho)).T


# --------------------------------------------------------------------------- 1. CAT step


def _given(session: Session, truth: np.ndarray, n: int, seed: int) -> SessionState:
    rng = np.random.default_rng(seed)
    state = session.start(seed)
    for _ in range(n):
        state = session.next_item(state)
        assert state.pending is not None
        item = state.pending
        p = session.pool.response_probabilities(item, float(truth[session.pool.competency[item]]))
        state = session.record(state, item, int(rng.random() < p[1]))
    return state


def _ours(session: Session, state: SessionState, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        chosen = session.next_item(state)
        assert chosen.pending is not None
        session.record(chosen, chosen.pending, 1)
        out.append((time.perf_counter_ns() - t0) / 1000.0)
    return out


def mirt_model(pool: ItemPool) -> MultidimensionalModel:
    """The pool as Python mirt's confirmatory 2PL: slope a on its competency, d = -a b."""
    fam = pool.dichotomous
    pattern = np.zeros((pool.n_items, K))
    pattern[np.arange(pool.n_items), pool.competency] = 1.0
    model = MultidimensionalModel(
        pool.n_items, K, model_type="confirmatory", loading_pattern=pattern
    )
    model.set_parameters(slopes=pattern * fam.a[:, None], intercepts=-fam.a * fam.b)
    # Known parameters stand for a fit (mirt marks its own models so after a fit or a link).
    model._is_fitted = True
    return model


def _mirt_steps(pool: ItemPool, truth: np.ndarray, repeats: int) -> list[float]:
    model = mirt_model(pool)
    out = []
    for rep in range(repeats):
        rng = np.random.default_rng(rep)
        engine = MCATEngine(
            model,
            item_selection="D-optimality",
            scoring_method="EAP",
            initial_covariance=equicorrelation(K, RHO),
            max_items=60,
            trace_threshold=1e-6,
        )
        for _ in range(20):
            item = engine.select_next_item()
            p = 1.0 / (
                1.0
                + math.exp(
                    -pool.dichotomous.a[item]
                    * (truth[pool.competency[item]] - pool.dichotomous.b[item])
                )
            )
            engine.administer_item(int(rng.random() < p))
        t0 = time.perf_counter_ns()
        item = engine.select_next_item()
        engine.administer_item(1)
        out.append((time.perf_counter_ns() - t0) / 1000.0)
    return out


def cat_step(repeats: int = 2000, mirt_repeats: int = 60) -> list[tuple[str, float]]:
    """Median microseconds of one CAT step for each contender."""
    pool = compile_pool(synthetic_bank(1000, "2pl", K, seed=1, correlation=RHO))
    truth = np.array([0.5, -0.2, 0.3, 0.0])
    base: dict[str, Any] = {
        "content": {"balance": "none"},
        "exposure": {"method": "none"},
        "stopping": {"rule": "fixed_length", "n": 60},
    }
    contenders: list[tuple[str, dict[str, Any]]] = [
        ("independent: max info, EAP per competency", {"model": "independent"}),
        (
            "correlated: D-optimal, joint EAP",
            {"model": "correlated", "selection": {"method": "d_optimal"}},
        ),
        (
            "correlated: D-optimal, joint MAP",
            {
                "model": "correlated",
                "selection": {"method": "d_optimal"},
                "estimator": {"method": "map"},
            },
        ),
    ]
    rows = []
    for name, extra in contenders:
        session = Session(pool, decode_policy({**base, **extra}))
        state = _given(session, truth, 20, seed=3)
        rows.append((name, statistics.median(_ours(session, state, repeats))))
    rows.append(
        (
            "Python mirt 1.2 MCATEngine: D-optimality, EAP",
            statistics.median(_mirt_steps(pool, truth, mirt_repeats)),
        )
    )
    print("CAT step, 4 competencies, 1000-item 2PL bank, 20 items given (median of one step):")
    for name, value in rows:
        print(f"  {name:<50}{value:>10.0f} us")
    ours = rows[1][1]
    print(
        f"  correlated EAP step vs independent: {ours / rows[0][1]:.1f}x the time; "
        f"vs Python mirt: {rows[3][1] / ours:.0f}x faster; target <= 200 us: "
        f"{'met' if ours <= 200 else 'NOT met'}"
    )
    return rows


# --------------------------------------------------------------------------- 2. test length


def information_bound(rho: float, se: float = 0.3) -> tuple[float, float]:
    """Test information per competency needed for SE ``se``, independent vs correlated.

    Laplace approximation with equal information :math:`I` on each of the :math:`K`
    competencies: independent needs :math:`1/se^2 - 1`; correlated the :math:`I` with
    :math:`[(R^{-1} + I\\,\\mathrm{Id})^{-1}]_{kk} = se^2` (bisection).
    """
    independent = 1.0 / se**2 - 1.0
    precision = np.linalg.inv(equicorrelation(K, rho))
    lo, hi = 0.0, independent
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        v = np.linalg.inv(precision + mid * np.eye(K))[0, 0]
        lo, hi = (mid, hi) if v > se**2 else (lo, mid)
    return independent, hi


def se_stopping(max_items: int) -> dict[str, Any]:
    """The length study's stopping rule: every competency to SE <= 0.3, or ``max_items``."""
    return {
        "rule": "all",
        "rules": [
            {"rule": "min_items", "n": 4},
            {
                "rule": "any",
                "rules": [
                    {"rule": "standard_error", "max_se": 0.3},
                    {"rule": "max_items", "n": max_items},
                ],
            },
        ],
    }


def test_length(
    n: int = 500, rho_values: tuple[float, ...] = (RHO, 0.0, 0.8)
) -> list[dict[str, Any]]:
    """Items to SE <= 0.3 on every competency, correlated vs independent, same simulees."""
    stopping = se_stopping(200)
    designs: list[tuple[str, dict[str, Any]]] = [
        ("independent, max info, targets", {"model": "independent"}),
        ("correlated, max info, targets", {"model": "correlated"}),
        (
            "correlated, D-optimal",
            {
                "model": "correlated",
                "selection": {"method": "d_optimal"},
                "content": {"balance": "none"},
            },
        ),
    ]
    out = []
    print(
        f"\nTest length to SE <= 0.3 on every competency, {n} simulees, "
        "800-item 2PL bank (200 per competency):"
    )
    print(
        f"  {'rho':>4} {'design':<34}{'items':>7}{'SD':>6}{'RMSE per competency':>34}{'max SE':>8}"
    )
    for rho in rho_values:
        pool = compile_pool(synthetic_bank(800, "2pl", K, seed=5, correlation=rho))
        truth = abilities(n, rho, seed=7)
        base_items = None
        for name, extra in designs:
            policy = decode_policy({"exposure": {"method": "none"}, "stopping": stopping, **extra})
            result = run(Session(pool, policy), truth, seed=11)
            rmse = np.sqrt(np.mean((result.estimate - truth) ** 2, axis=0))
            mean_items = float(result.lengths.mean())
            base_items = mean_items if base_items is None else base_items
            saving = 1.0 - mean_items / base_items
            print(
                f"  {rho:>4.1f} {name:<34}{mean_items:>7.1f}{result.lengths.std():>6.1f}"
                f"{' '.join(f'{r:.3f}' for r in rmse):>34}{result.se.max():>8.3f}"
                + (
                    f"   {100 * abs(saving):.1f} % {'fewer' if saving >= 0 else 'more'} items"
                    if name != designs[0][0]
                    else ""
                )
            )
            out.append(
                {
                    "rho": rho,
                    "design": name,
                    "items": mean_items,
                    "rmse": rmse.tolist(),
                    "saving": saving,
                }
            )
        independent, correlated = information_bound(rho)
        print(
            f"       information needed per competency (Laplace): independent {independent:.2f}, "
            f"correlated {correlated:.2f} -> at most "
            f"{100 * (1 - correlated / independent):.1f} % fewer items"
        )
    return out


# --------------------------------------------------------------------------- 3. recovery


def _rmse(
    fits: list[FitResult], a: np.ndarray, b: np.ndarray, dim: np.ndarray, ids: list[str]
) -> tuple[float, float]:
    index = {item: j for j, item in enumerate(ids)}
    err_a, err_d = [], []
    for fit in fits:
        for i, item in enumerate(fit.item_ids):
            j = index[item]
            slope, intercepts = fit.slope_intercept(i)
            err_a.append(slope - a[j])
            err_d.append(intercepts[0] - (-a[j] * b[j]))
    return float(np.sqrt(np.mean(np.square(err_a)))), float(np.sqrt(np.mean(np.square(err_d))))


def _ours_fit(x: np.ndarray, ids: list[str], dim: np.ndarray) -> tuple[Any, float, float]:
    data = from_array(x, item_ids=ids)
    began = time.perf_counter()
    fits = [calibrate(data.take_items(np.flatnonzero(dim == k).tolist()), "2pl") for k in range(K)]
    start = time.perf_counter() - began
    result = fit_correlated(fits, [f"c{k + 1}" for k in range(K)])
    return result, start, time.perf_counter() - began


def _mirt_fit(
    x: np.ndarray, dim: np.ndarray, *, quadpts: int, max_iter: int
) -> tuple[Any, np.ndarray, float]:
    """Python mirt's confirmatory fit (items ordered by competency, COV between all)."""
    order = np.argsort(dim, kind="stable")
    spec_lines = []
    start = 1
    for k in range(K):
        count = int((dim == k).sum())
        spec_lines.append(f"F{k + 1} = {start}-{start + count - 1}")
        start += count
    spec = "\n".join(spec_lines) + "\nCOV = " + "*".join(f"F{k + 1}" for k in range(K))
    began = time.perf_counter()
    result = fit_mirt(
        x[:, order].astype(np.int64),
        model="2PL",
        n_factors=K,
        spec=spec,
        n_quadpts=quadpts,
        max_iter=max_iter,
        compute_standard_errors=False,
    )
    return result, order, time.perf_counter() - began


def _mirt_summary(
    result: Any, order: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, float, float]:
    cov = np.asarray(result.latent_covariance)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    slopes = np.asarray(result.model.slopes).max(axis=1)
    intercepts = np.asarray(result.model.intercepts).reshape(-1)
    rmse_a = float(np.sqrt(np.mean((slopes - a[order]) ** 2)))
    rmse_d = float(np.sqrt(np.mean((intercepts - (-a * b)[order]) ** 2)))
    return corr, rmse_a, rmse_d


def versus_mirt(n: int = 2000, n_items: int = 40, quadpts: int = 7) -> dict[str, float]:
    """The same small data set through ours and Python mirt's confirmatory EM."""
    pool = compile_pool(synthetic_bank(n_items, "2pl", K, seed=11, correlation=RHO))
    a, b, dim, ids = pool.dichotomous.a, pool.dichotomous.b, pool.competency, list(pool.item_ids)
    truth = abilities(n, RHO, seed=4)
    rng = np.random.default_rng(6)
    x = np.empty((n, n_items), dtype=np.int8)
    for k in range(K):
        cols = np.flatnonzero(dim == k)
        x[:, cols] = simulate_responses(pool, truth[:, k], rng, items=cols)
    ours, _, seconds = _ours_fit(x, ids, dim)
    rmse_a, rmse_d = _rmse(ours.scales, a, b, dim, ids)
    mres, order, mirt_seconds = _mirt_fit(x, dim, quadpts=quadpts, max_iter=500)
    corr, ma, md = _mirt_summary(mres, order, a, b)
    off = ~np.eye(K, dtype=bool)
    ours_a = np.empty(n_items)
    ours_d = np.empty(n_items)
    index = {item: j for j, item in enumerate(ids)}
    for fit in ours.scales:
        for i, item in enumerate(fit.item_ids):
            slope, intercepts = fit.slope_intercept(i)
            ours_a[index[item]], ours_d[index[item]] = slope, intercepts[0]
    slopes = np.asarray(mres.model.slopes).max(axis=1)
    intercepts = np.asarray(mres.model.intercepts).reshape(-1)
    print(
        f"\nSame data, ours vs Python mirt 1.2 ({n:,} x {n_items}, {K} competencies, "
        f"correlation {RHO}; mirt: EM on {quadpts}^{K} = {quadpts**K} quadrature points, "
        f"{mres.n_iterations} iterations):"
    )
    print(
        f"  ours: {seconds:.1f} s, RMSE a {rmse_a:.3f}, d {rmse_d:.3f}, correlations "
        f"{ours.correlation[off].min():.3f}-{ours.correlation[off].max():.3f}"
    )
    print(
        f"  mirt: {mirt_seconds:.1f} s, RMSE a {ma:.3f}, d {md:.3f}, correlations "
        f"{corr[off].min():.3f}-{corr[off].max():.3f}; time ratio {mirt_seconds / seconds:.1f}x"
    )
    print(
        f"  largest difference ours - mirt: a {np.abs(ours_a[order] - slopes).max():.3f}, "
        f"d {np.abs(ours_d[order] - intercepts).max():.3f}, "
        f"r {np.abs(ours.correlation - corr)[off].max():.3f}"
    )
    return {"ours_seconds": seconds, "mirt_seconds": mirt_seconds, "ratio": mirt_seconds / seconds}


def _recovery_data(
    n: int, n_items: int
) -> tuple[ItemPool, np.ndarray, np.ndarray, np.ndarray, list[str], np.ndarray, np.ndarray]:
    """The recovery's bank, true abilities and complete data (the same in every part)."""
    pool = compile_pool(synthetic_bank(n_items, "2pl", K, seed=11, correlation=RHO))
    a, b, dim, ids = pool.dichotomous.a, pool.dichotomous.b, pool.competency, list(pool.item_ids)
    truth = abilities(n, RHO, seed=3)
    rng = np.random.default_rng(5)
    x_complete = np.empty((n, n_items), dtype=np.int8)
    for k in range(K):
        cols = np.flatnonzero(dim == k)
        x_complete[:, cols] = simulate_responses(pool, truth[:, k], rng, items=cols)
    return pool, a, b, dim, ids, truth, x_complete


def recovery_cat_policy(n_items: int, cat_length: int | None) -> tuple[str, dict[str, Any]]:
    """The recovery's CAT: the length study's design capped at ``cat_length`` items.

    ``None`` is the first design: D-optimal, no content targets, 40 items each. Either runs
    item eligibility at the bank's average exposure rate (test length / bank size), which
    spreads the responses over the whole bank.
    """
    if cat_length is None:
        length = 40
        label = f"correlated CAT, D-optimal, {length} items each"
        extra: dict[str, Any] = {
            "selection": {"method": "d_optimal"},
            "content": {"balance": "none"},
            "stopping": {"rule": "fixed_length", "n": length},
        }
    else:
        length = cat_length
        label = (
            "correlated CAT, the length study's design (max info, content targets, every "
            f"competency to SE <= 0.3) capped at {length} items"
        )
        extra = {"stopping": se_stopping(length)}
    policy = {
        "model": "correlated",
        "exposure": {"method": "eligibility", "r_max": length / n_items},
        **extra,
    }
    return label, policy


def recovery(
    n: int = 20_000, n_items: int = 200, *, cat_length: int | None = CAT_LENGTH
) -> list[dict[str, Any]]:
    """Recovery of items and correlations from complete and from CAT data (module notes)."""
    pool, a, b, dim, ids, truth, x_complete = _recovery_data(n, n_items)
    sample = np.corrcoef(truth.T)
    off = ~np.eye(K, dtype=bool)
    label, raw_policy = recovery_cat_policy(n_items, cat_length)
    session = Session(pool, decode_policy(raw_policy))
    began = time.perf_counter()
    x_cat = simulate_adaptive(session, truth, seed=9)
    cat_seconds = time.perf_counter() - began
    lengths = (x_cat >= 0).sum(axis=1)
    per_item = (x_cat >= 0).sum(axis=0)
    cap = length_bound(session.policy.stopping)
    rows = []
    print(
        f"\nRecovery, {n:,} x {n_items} items on {K} competencies, correlation {RHO} "
        f"(sample correlations of the true abilities "
        f"{sample[off].min():.3f}-{sample[off].max():.3f}):"
    )
    print(
        f"  CAT data: {label}, eligibility r_max = {raw_policy['exposure']['r_max']:.2f} "
        f"({cat_seconds:.0f} s to simulate, {1e6 * cat_seconds / lengths.sum():.0f} us per "
        f"item given); items per person mean {lengths.mean():.1f} (min {lengths.min()}, max "
        f"{lengths.max()}), {100 * np.mean(lengths < (cap or n_items)):.1f} % stopped before "
        f"the cap; responses per item {int(per_item.min())}-{int(per_item.max())} "
        f"(mean {per_item.mean():.0f})"
    )
    for data, x in (("complete", x_complete), ("CAT", x_cat)):
        result, start_s, total_s = _ours_fit(x, ids, dim)
        corr_err = np.abs(result.correlation - RHO)[off].max()
        corr_err_sample = np.abs(result.correlation - sample)[off].max()
        rmse_a, rmse_d = _rmse(result.scales, a, b, dim, ids)
        row = {
            "data": data,
            "seconds": total_s,
            "start_seconds": start_s,
            "em_steps": result.em_steps,
            "corr_error": float(corr_err),
            "corr_error_sample": float(corr_err_sample),
            "rmse_a": rmse_a,
            "rmse_d": rmse_d,
            "se_corr": float(np.mean(result.correlation_se[off])),
        }
        verdict = "met" if max(rmse_a, rmse_d) <= 0.05 else "NOT met"
        print(
            f"  ours, {data:<8}: {total_s:7.1f} s ({start_s:.1f} s of it the per-competency "
            f"start), {result.em_steps} QMC-EM steps; max |r - 0.6| {corr_err:.3f} (vs sample "
            f"{corr_err_sample:.3f}, mean SE {row['se_corr']:.3f}); RMSE a {rmse_a:.3f}, "
            f"d {rmse_d:.3f} (goal <= 0.05: {verdict})"
        )
        rows.append(row)
    return rows


def mirt_on_recovery(n: int = 20_000, n_items: int = 200) -> float:
    """Seconds per EM iteration of Python mirt's fit of the recovery's complete data."""
    _, _, _, dim, _, _, x_complete = _recovery_data(n, n_items)
    _, _, seconds = _mirt_fit(x_complete, dim, quadpts=7, max_iter=2)
    print(
        f"\nPython mirt 1.2 on the recovery's complete data ({n:,} x {n_items}): 2 EM "
        f"iterations on 7^4 quadrature points took {seconds:.0f} s ({seconds / 2:.0f} s each); "
        "its fit of the small data set below converges in about 30, so a full fit would take "
        f"about {15 * seconds / 60:.0f} min (projected, not measured)"
    )
    return seconds / 2


def main(parts: set[str]) -> None:
    """Run the named parts (``step``, ``length``, ``recovery``, ``recovery-40``, ``mirt``)."""
    if "step" in parts:
        cat_step()
    if "length" in parts:
        test_length()
    if "recovery" in parts:
        recovery()
    if "recovery-40" in parts:
        recovery(cat_length=None)
    if "mirt" in parts:
        mirt_on_recovery()
        versus_mirt()
