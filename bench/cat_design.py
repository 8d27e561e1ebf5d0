"""How the design of an operational CAT decides whether its data calibrate its bank.

``python -m bench cat-design`` (not part of ``make bench``: about five minutes) prints the
figures behind the design of the suite's recovery test (docs/architecture.md, "Calibrating a
bank from its own CAT"):

1. Exposure control, 20,000 N(0, 1) simulees x 30 items of the 200-item 2PL bank, seed 1:
   responses per item and RMSE of a and b for each way of choosing items.
2. Size: simulees x test length with item eligibility at r_max = length / 200, five seeds
   of simulees each.
3. The operational design with and without a log-normal(0, 0.5) prior on the slopes.
4. The operational design on five other synthetic banks (seed 1 of simulees).

RMSEs are over all 200 items, against the truth on the sample's scale; "n/a" means some
items were never given and cannot be calibrated at all.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.calibration_bench import rmse
from calibration.data import from_array
from calibration.em import EMOptions, calibrate
from calibration.priors import LogNormalPrior, Priors
from calibration.simulate import simulate_adaptive_batch
from engine.policy import ContentConfig, ExposureConfig, Policy, SelectionConfig
from engine.pool import ItemPool, compile_pool
from engine.session import Session
from engine.stopping import FixedLength
from engine.synthetic import synthetic_bank

POOL = compile_pool(synthetic_bank(200, "2pl", 1, seed=11))


def design(selection: str, exposure: str, length: int = 30, **options: Any) -> Policy:
    """A fixed-length policy on the single-competency bank."""
    return Policy(
        selection=SelectionConfig(method=selection),  # type: ignore[arg-type]
        exposure=ExposureConfig(method=exposure, **options),  # type: ignore[arg-type]
        content=ContentConfig(balance="none"),
        stopping=FixedLength(n=length),
    )


def recovery(
    policy: Policy,
    simulees: int,
    seed: int,
    options: EMOptions | None = None,
    pool: ItemPool = POOL,
) -> tuple[float, float, Any]:
    """RMSE of a and b over the whole bank (NaN when an item was never given), counts."""
    theta = np.random.default_rng(seed).standard_normal(simulees)
    matrix = simulate_adaptive_batch(Session(pool, policy), theta, seed=1000 + seed)
    counts = (matrix >= 0).sum(axis=0)
    if counts.min() == 0:
        return float("nan"), float("nan"), counts
    fit = calibrate(from_array(matrix, item_ids=pool.item_ids), "2pl", options=options)
    est = np.array([fit.irt_vector(i) for i in range(len(fit.item_ids))])
    rows = np.array([pool.index[i] for i in fit.item_ids])
    a = pool.dichotomous.a[rows] * theta.std()
    b = (pool.dichotomous.b[rows] - theta.mean()) / theta.std()
    return rmse(est[:, 0], a), rmse(est[:, 1], b), counts


def _fmt(value: float) -> str:
    return "  n/a" if np.isnan(value) else f"{value:.3f}"


def other_banks() -> None:
    """Study 4: the operational design on other synthetic banks."""
    print("4. Other banks (20,000 x 30, eligibility 0.15, seed 1)")
    policy = design("max_info", "eligibility", r_max=0.15)
    for bank_seed in (1, 2, 3, 4, 5):
        pool = compile_pool(synthetic_bank(200, "2pl", 1, seed=bank_seed))
        ra, rb, counts = recovery(policy, 20_000, 1, pool=pool)
        a = pool.dichotomous.a
        print(
            f"  bank seed {bank_seed} (a {a.min():.2f}-{a.max():.2f}): RMSE a {ra:.3f}, "
            f"b {rb:.3f}; responses per item {counts.min()}-{counts.max()}"
        )


def main() -> None:
    """Print the four studies."""
    print("1. Exposure control (20,000 x 30 of 200, seed 1)")
    for label, policy in (
        ("max_info, none", design("max_info", "none")),
        ("max_info, randomesque 10", design("max_info", "randomesque", randomesque_size=10)),
        (
            "a_stratified, randomesque 10",
            design("a_stratified", "randomesque", randomesque_size=10),
        ),
        ("max_info, eligibility 0.20", design("max_info", "eligibility", r_max=0.2)),
        ("max_info, eligibility 0.16", design("max_info", "eligibility", r_max=0.16)),
        ("max_info, eligibility 0.15", design("max_info", "eligibility", r_max=0.15)),
        ("a_stratified, eligibility 0.15", design("a_stratified", "eligibility", r_max=0.15)),
    ):
        ra, rb, counts = recovery(policy, 20_000, 1)
        print(
            f"  {label:32s} RMSE a {_fmt(ra)}, b {_fmt(rb)}; responses per item min "
            f"{counts.min()}, median {int(np.median(counts))}, max {counts.max()}; "
            f"never given {int((counts == 0).sum())}, under 100: {int((counts < 100).sum())}"
        )
    print("2. Size (max_info, eligibility at r_max = length / 200), seeds 1-5")
    for simulees, length in ((15_000, 30), (20_000, 30), (25_000, 30), (12_000, 40), (15_000, 40)):
        policy = design("max_info", "eligibility", length=length, r_max=length / 200)
        results = [recovery(policy, simulees, seed)[:2] for seed in range(1, 6)]
        worst = np.max(results, axis=0)
        cells = " ".join(f"{a:.3f}/{b:.3f}" for a, b in results)
        print(
            f"  {simulees:>6} x {length}: a/b per seed {cells}; "
            f"worst a {worst[0]:.3f}, b {worst[1]:.3f}"
        )
    print("3. Slope prior on the operational design (20,000 x 30, seed 1)")
    policy = design("max_info", "eligibility", r_max=0.15)
    for label, options in (
        ("none (the default)", None),
        ("log a ~ N(0, 0.5^2)", EMOptions(priors=Priors(log_a=LogNormalPrior(mean=0.0, sd=0.5)))),
    ):
        ra, rb, _ = recovery(policy, 20_000, 1, options)
        print(f"  {label:24s} RMSE a {ra:.3f}, b {rb:.3f}")
    other_banks()
