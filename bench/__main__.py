"""``make bench``: every benchmark, side by side with its competitor, reported as ratios.

``python -m bench [engine] [calibration] [web] [multidim]`` runs only the named groups;
``python -m bench cat-design`` runs the CAT design study (:mod:`bench.cat_design`),
``python -m bench cat-calibration [N ...]`` the large CAT calibrations
(:mod:`bench.cat_calibration`: 100,000 to 1,000,000 learners, side by side with Python
mirt) and
``python -m bench integrity`` the detection study of the integrity checks
(:mod:`bench.integrity_study`) and ``python -m bench cml`` CML against R's psychotools and
eRm (:mod:`bench.cml_bench`, needs Rscript), which ``make bench`` leaves out; ``multidim-step``,
``multidim-length``, ``multidim-recovery`` (``multidim-recovery-40``: its first, 40-item
CAT design) and ``multidim-mirt`` run one part of the correlated-competencies benchmarks
(:mod:`bench.multidim_bench`); ``python -m bench soak`` the soak with faults on PostgreSQL
(:mod:`bench.soak`); ``python -m bench sandbox`` the code sandbox's latency and
throughput (:mod:`bench.sandbox_bench`); ``python -m bench answer-profile`` where one
answer's time goes, per database (:mod:`bench.answer_profile`).
"""

from __future__ import annotations

import os
import sys

# Small matrix products are many times slower with OpenBLAS's threads on a shared 2-core
# machine (threads spin while the other core is busy); every contender runs single-threaded.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from bench import (
    answer_profile,
    calibration_bench,
    cat_calibration,
    cat_design,
    cml_bench,
    engine_bench,
    integrity_study,
    multidim_bench,
    sandbox_bench,
    soak,
    web_load,
)


def main(argv: list[str]) -> None:
    """Run the benchmark groups and print one summary table."""
    groups = set(argv) or {"engine", "calibration", "web", "multidim"}
    if "soak" in groups:
        soak.main()
    if "sandbox" in groups:
        sandbox_bench.main()
    if "answer-profile" in groups:
        answer_profile.main()
    if "cat-design" in groups:
        cat_design.main()
    if "cat-calibration" in groups:
        cat_calibration.main([g for g in argv if g.isdigit()])
    if "integrity" in groups:
        integrity_study.main()
        integrity_study.drift_study()
    parts = {"step", "length", "recovery", "mirt"} if "multidim" in groups else set()
    parts |= {g.removeprefix("multidim-") for g in groups if g.startswith("multidim-")}
    if parts:
        multidim_bench.main(parts)
        print()
    rows = []
    if "engine" in groups:
        rows += engine_bench.main()
        print()
    if "calibration" in groups:
        rows += calibration_bench.main()
        print()
    if "cml" in groups:
        rows += cml_bench.main()
        print()
    if rows:
        print(f"{'benchmark':<48}{'ours':>12}{'competitor':>12}  ratio (x better)")
        for row in rows:
            print(
                f"{row.name:<48}{row.ours:>10.3f}{row.unit:>2}{row.theirs:>10.3f}{row.unit:>2}"
                f"  {row.ratio():.2f}"
            )
    if "web" in groups:
        print()
        saturation, paced = web_load.main()
        print(
            f"web goal: >= 1500 answers/s and p99 <= 50 ms; reached {saturation.rate:.0f}/s at "
            f"saturation, p99 {paced.percentile(99):.1f} ms at {paced.rate:.0f}/s paced"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
