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

import numpy as np

from engine.aberrance import Aberrance, detection_study, most_exposed, study_bank
from engine.integrity import IntegrityChecker
from engine.policy import ContentConfig, ExposureConfig, Policy
from engine.pool import compile_pool
from engine.response_times import compile_timing
from engine.session import Session
from engine.stopping import FixedLength

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


if __name__ == "__main__":
    main()
