"""Engine benchmarks, side by side with catsim on the same bank, items and responses.

1. CAT step (select + update + SE) on a 1000-item 3PL bank with 20 items administered.
2. 1000 simulated examinees x 30 items on that bank.
3. Precision: 300-item 2PL bank, 500 simulees from N(0, 1), 20 items; RMSE of our EAP with
   maximum information and of catsim's MLE with maximum information, same simulees.
4. The lockstep batch CAT (:mod:`engine.batch`) against the per-simulee Session loop of
   item 2 (same bank, policy and simulees; then 20,000 simulees), and on the calibration
   suite's operational CAT (200-item 2PL bank, item eligibility).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np
from catsim import irt as catsim_irt
from catsim.estimation import NumericalSearchEstimator
from catsim.item_bank import ItemBank
from catsim.selection import MaxInfoSelector

from engine.batch import run_batch
from engine.policy import ContentConfig, ExposureConfig, Policy
from engine.pool import ItemPool, compile_pool
from engine.session import Session, SessionState
from engine.simulation import run as run_simulation
from engine.stopping import FixedLength
from engine.synthetic import synthetic_bank

POLICY = Policy(content=ContentConfig(balance="none"), stopping=FixedLength(n=30))


@dataclass
class Row:
    """One line of the benchmark table."""

    name: str
    ours: float
    theirs: float
    unit: str
    better: str  # "lower" or "higher"

    def ratio(self) -> float:
        """How many times better we are (>1 means better)."""
        if self.better == "lower":
            return self.theirs / self.ours if self.ours > 0 else float("inf")
        return self.ours / self.theirs if self.theirs > 0 else float("inf")


def item_matrix(pool: ItemPool) -> np.ndarray:
    """The pool's 4PL parameters as catsim's (n, 4) matrix [a, b, c, d]."""
    fam = pool.dichotomous
    return np.column_stack((fam.a, fam.b, fam.c, fam.d))


def _administered_state(session: Session, theta: float, n: int, seed: int) -> SessionState:
    rng = np.random.default_rng(seed)
    state = session.start(seed)
    for _ in range(n):
        state = session.next_item(state)
        assert state.pending is not None
        p = session.pool.response_probabilities(state.pending, theta)[1]
        state = session.record(state, state.pending, int(rng.random() < p))
    return state


def cat_step(repeats: int = 3000) -> tuple[Row, dict[str, float]]:
    """Median time of one CAT step for us (EAP) and catsim (MLE), same state."""
    pool = compile_pool(synthetic_bank(1000, "3pl", 1, seed=1))
    session = Session(pool, POLICY)
    state = _administered_state(session, 0.5, 20, seed=3)
    # Ours: select the 21st item, record a correct answer (EAP update + SE).
    ours = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        chosen = session.next_item(state)
        assert chosen.pending is not None
        session.record(chosen, chosen.pending, 1)
        ours.append(time.perf_counter_ns() - t0)
    # catsim: same administered items and responses, same current estimate.
    bank = ItemBank(item_matrix(pool))
    selector = MaxInfoSelector()
    estimator = NumericalSearchEstimator()
    administered = list(state.items)
    responses = [bool(c) for c in state.categories]
    theta = float(state.theta[0])
    theirs = []
    for _ in range(max(200, repeats // 10)):
        t0 = time.perf_counter_ns()
        item = selector.select(item_bank=bank, administered_items=administered, est_theta=theta)
        assert item is not None
        items = [*administered, item]
        new_theta = estimator.estimate(
            item_bank=bank,
            administered_items=items,
            response_vector=[*responses, True],
            est_theta=theta,
        )
        catsim_irt.see(new_theta, bank.items[items])
        theirs.append(time.perf_counter_ns() - t0)
    median_ours = statistics.median(ours) / 1000.0
    median_theirs = statistics.median(theirs) / 1000.0
    extra = {
        "ours_p90_us": float(np.percentile(ours, 90)) / 1000.0,
        "ours_min_us": min(ours) / 1000.0,
    }
    return Row(
        "CAT step, 1000-item 3PL, 20 given (median)", median_ours, median_theirs, "us", "lower"
    ), extra


def _catsim_run(items_matrix: np.ndarray, thetas: np.ndarray, length: int, seed: int) -> np.ndarray:
    """catsim's max-info selector and numerical-search MLE driven item by item."""
    bank = ItemBank(items_matrix)
    selector = MaxInfoSelector()
    estimator = NumericalSearchEstimator()
    rng = np.random.default_rng(seed)
    estimates = np.empty(thetas.size)
    for j, true in enumerate(thetas):
        administered: list[int] = []
        responses: list[bool] = []
        theta = 0.0
        for _ in range(length):
            item = selector.select(item_bank=bank, administered_items=administered, est_theta=theta)
            assert item is not None
            a, b, c, d = items_matrix[item]
            p = catsim_irt.icc(float(true), a, b, c, d)
            administered.append(int(item))
            responses.append(bool(rng.random() < p))
            theta = float(
                estimator.estimate(
                    item_bank=bank,
                    administered_items=administered,
                    response_vector=responses,
                    est_theta=theta,
                )
            )
        estimates[j] = theta
    return estimates


def simulation_speed(examinees: int = 1000, catsim_examinees: int = 100) -> tuple[Row, str]:
    """Seconds for 1000 examinees x 30 items; catsim timed on a subset, scaled per examinee."""
    pool = compile_pool(synthetic_bank(1000, "3pl", 1, seed=1))
    session = Session(pool, POLICY)
    thetas = np.random.default_rng(11).normal(size=(examinees, 1))
    t0 = time.perf_counter()
    run_simulation(session, thetas, seed=12)
    ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    _catsim_run(item_matrix(pool), thetas[:catsim_examinees, 0], 30, seed=13)
    theirs_subset = time.perf_counter() - t0
    theirs = theirs_subset * examinees / catsim_examinees
    note = (
        f"catsim timed on {catsim_examinees} examinees ({theirs_subset:.1f} s), "
        f"scaled to {examinees}"
    )
    return Row(f"{examinees} examinees x 30 items", ours, theirs, "s", "lower"), note


def operational_batch_speed(examinees: int = 2000) -> Row:
    """The batch CAT against the Session loop on the calibration suite's operational CAT."""
    pool = compile_pool(synthetic_bank(200, "2pl", 1, seed=11))
    policy = Policy(
        exposure=ExposureConfig(method="eligibility", r_max=0.15),
        content=ContentConfig(balance="none"),
        stopping=FixedLength(n=30),
    )
    session = Session(pool, policy)
    thetas = np.random.default_rng(1).normal(size=(examinees, 1))
    t0 = time.perf_counter()
    run_simulation(session, thetas, seed=1)
    loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_batch(session, thetas, seed=1)
    batch = time.perf_counter() - t0
    print(
        f"  batch CAT, 200-item 2PL, eligibility 0.15: {examinees} x 30 in {batch:.2f} s "
        f"(Session loop {loop:.2f} s, {loop / batch:.1f}x)"
    )
    return Row(f"{examinees} x 30 of 200, eligibility: batch vs loop", batch, loop, "s", "lower")


def batch_speed(examinees: int = 1000) -> list[Row]:
    """The batch CAT against the Session loop (item 2's run), then at 20,000 simulees."""
    pool = compile_pool(synthetic_bank(1000, "3pl", 1, seed=1))
    session = Session(pool, POLICY)
    thetas = np.random.default_rng(11).normal(size=(examinees, 1))
    t0 = time.perf_counter()
    run_simulation(session, thetas, seed=12)
    loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_batch(session, thetas, seed=12)
    batch = time.perf_counter() - t0
    many = np.random.default_rng(12).normal(size=(20_000, 1))
    t0 = time.perf_counter()
    run_batch(session, many, seed=13)
    batch_many = time.perf_counter() - t0
    print(
        f"  batch CAT: {examinees} x 30 in {batch:.2f} s (Session loop {loop:.2f} s, "
        f"{loop / batch:.1f}x); 20,000 x 30 in {batch_many:.1f} s "
        f"({batch_many / 20_000 / 30 * 1e6:.1f} us a simulee-step)"
    )
    return [
        Row(f"{examinees} x 30 items: batch vs Session loop", batch, loop, "s", "lower"),
        operational_batch_speed(),
    ]


def precision(examinees: int = 500) -> Row:
    """RMSE on a 300-item 2PL bank, 20 items, same simulees: our EAP vs catsim's MLE."""
    pool = compile_pool(synthetic_bank(300, "2pl", 1, seed=5))
    thetas = np.random.default_rng(21).normal(size=examinees)
    session = Session(
        pool, Policy(content=ContentConfig(balance="none"), stopping=FixedLength(n=20))
    )
    ours = run_simulation(session, thetas[:, None], seed=22).estimate[:, 0]
    theirs = _catsim_run(item_matrix(pool), thetas, 20, seed=23)
    rmse_ours = float(np.sqrt(np.mean((ours - thetas) ** 2)))
    finite = np.isfinite(theirs)
    rmse_theirs = float(np.sqrt(np.mean((theirs[finite] - thetas[finite]) ** 2)))
    return Row("RMSE, 300-item 2PL, 500 simulees, 20 items", rmse_ours, rmse_theirs, "", "lower")


def main() -> list[Row]:
    """Run the engine benchmarks and print the table."""
    print("Engine benchmarks: Skillgauge vs catsim 0.21 (same bank, items and responses)")
    step, extra = cat_step()
    print(
        f"  CAT step: ours median {step.ours:.1f} us (p90 {extra['ours_p90_us']:.1f}, "
        f"min {extra['ours_min_us']:.1f}); catsim median {step.theirs:.1f} us"
    )
    sim, note = simulation_speed()
    print(f"  simulation: ours {sim.ours:.2f} s; catsim {sim.theirs:.1f} s ({note})")
    prec = precision()
    print(f"  precision: ours (EAP) RMSE {prec.ours:.3f}; catsim (MLE) RMSE {prec.theirs:.3f}")
    return [step, sim, prec, *batch_speed()]
