"""The detection study of the integrity checks (README "Integrity evidence").

``python -m bench integrity`` (not part of ``make bench``: about three minutes) runs 2,000
simulees per behaviour (normal, preknowledge, rapid guessing, random responding) through the
operational CAT on a 300-item 3PL bank with response-time parameters
(:func:`engine.aberrance.study_bank`): EAP, maximum information with randomesque 5, fixed
length 30 and, to show what a short CAT can and cannot see, 15. The compromised items are
the fifth of the bank a pilot of 500 normal simulees saw most often.

Printed: per CAT length and behaviour, the share of simulees each check flags at the
policy defaults (the false-alarm rate for normal simulees, the detection rate for the
others), and lz* at two more thresholds: -1.645, and the 5 % quantile of the normal
simulees' own lz* (a threshold calibrated by simulation, which matches the false-alarm rate
of every behaviour's column at 5 %).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import msgspec
import numpy as np

from calibration.drift import item_drift
from calibration.drift_simulation import START, simulate_drift
from engine.aberrance import Aberrance, detection_study, most_exposed, study_bank
from engine.integrity import IntegrityChecker
from engine.policy import ContentConfig, ExposureConfig, Policy
from engine.pool import compile_pool
from engine.response_times import compile_timing
from engine.session import Session
from engine.stopping import FixedLength
from engine.synthetic import synthetic_bank
from item_banks.model import TimeParameters

SIMULEES = 2000
PILOT = 500
LABELS = {
    "normal": "normal (false alarms)",
    "preknowledge": "preknowledge of 20 % of the bank",
    "rapid_guessing": "rapid guessing on 40 % of items",
    "random": "random responding",
}


def main(simulees: int = SIMULEES) -> None:
    """Run the study and print the README table (Markdown)."""
    bank = study_bank(300, seed=7)
    pool = compile_pool(bank)
    timing = compile_timing(bank, pool)
    print(
        "| CAT | behaviour | lz* < -2.326 | lz* < -1.645 | lz* < 5 % of normal | "
        "l_t p < .01 | rapid > 10 % | too fast to read > 10 % | any check |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for length in (30, 15):
        began = time.perf_counter()
        policy = Policy(
            exposure=ExposureConfig(method="randomesque", randomesque_size=5),
            content=ContentConfig(balance="none"),
            stopping=FixedLength(n=length),
        )
        session = Session(pool, policy)
        aberrance = Aberrance(compromised=most_exposed(session, timing, 0.2, PILOT, seed=3))
        rows = detection_study(
            IntegrityChecker(session, timing),
            simulees,
            11,
            aberrance,
            extra_lz_thresholds=(-1.645,),
        )
        calibrated = float(np.quantile(rows[0].lz_star, 0.05))
        for row in rows:
            r = row.rates
            print(
                f"| {length} | {LABELS[row.behaviour]} | {r['person_fit']:.3f} | "
                f"{r['person_fit@-1.645']:.3f} | {row.below(calibrated):.3f} | "
                f"{r['response_time_fit']:.3f} | {r['rapid_guessing']:.3f} | "
                f"{r['too_fast_to_read']:.3f} | {row.any_check:.3f} |"
            )
        mean_lz = ", ".join(f"{row.behaviour} {row.lz_star_mean:+.2f}" for row in rows)
        print(
            f"<!-- length {length}: {simulees} simulees per behaviour, "
            f"{time.perf_counter() - began:.0f} s; 5 % quantile of normal lz* "
            f"{calibrated:.3f}; mean lz*: {mean_lz} -->"
        )


def drift_study(replications: int = 20, learners: int = 2000) -> None:
    """Detection of one drifting item among 30 (README "Item drift and compromise")."""
    base = synthetic_bank(30, "2pl", 1, seed=5)
    bank = msgspec.structs.replace(
        base,
        items=tuple(
            msgspec.structs.replace(i, time=TimeParameters(alpha=2.0, beta=3.5)) for i in base.items
        ),
    )
    print()
    print(
        "| drift of item s05 from learner 1,000 on | flagged easier | flagged faster | "
        "median start found (learner) | stable items flagged (per item) |"
    )
    print("|---|---|---|---|---|")
    for label, shift, faster in (
        ("none (all 30 items stable)", 0.0, 0.0),
        ("b - 0.5", -0.5, 0.0),
        ("b - 1", -1.0, 0.0),
        ("b - 1, times / 2", -1.0, 0.69),
    ):
        easier = fast = 0
        starts: list[float] = []
        false_flags = 0
        for r in range(replications):
            data = simulate_drift(bank, learners, 100 + r, shift=shift, faster=faster)
            report = item_drift(data, bank, replicates=200, seed=r)
            drifted = next(i for i in report.items if i.item_id == "s05")
            stable = [i for i in report.items if i.item_id != "s05" or shift == 0.0]
            false_flags += sum(1 for i in stable if i.flags)
            easier += "easier" in drifted.flags
            fast += "faster" in drifted.flags
            if drifted.flags and drifted.change_at and shift != 0.0:
                moment = datetime.fromisoformat(drifted.change_at).astimezone(UTC).timestamp()
                starts.append((moment - START) / 60.0)
        n_stable = replications * (30 if shift == 0.0 else 29)
        found = f"{np.median(starts):.0f}" if starts else "-"
        print(
            f"| {label} | {easier / replications:.2f} | {fast / replications:.2f} | {found} | "
            f"{false_flags / n_stable:.3f} |"
        )
    print(
        f"<!-- {replications} replications of {learners} learners x 15 of 30 items, "
        "200 Monte Carlo runs, alpha 0.01, k 0.25 -->"
    )


if __name__ == "__main__":
    main()
    drift_study()
