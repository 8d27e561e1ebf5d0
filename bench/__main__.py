"""``make bench``: every benchmark, side by side with its competitor, reported as ratios.

``python -m bench [engine] [calibration] [web]`` runs only the named groups;
``python -m bench cat-design`` runs the CAT design study (:mod:`bench.cat_design`) and
``python -m bench cml`` CML against R's psychotools and eRm (:mod:`bench.cml_bench`, needs
Rscript); ``make bench`` leaves both out.
"""

from __future__ import annotations

import sys

from bench import calibration_bench, cat_design, cml_bench, engine_bench, web_load


def main(argv: list[str]) -> None:
    """Run the benchmark groups and print one summary table."""
    groups = set(argv) or {"engine", "calibration", "web"}
    if "cat-design" in groups:
        cat_design.main()
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
