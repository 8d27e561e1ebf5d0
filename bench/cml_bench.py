"""CML side by side with R's psychotools and eRm on their own data sets (needs Rscript).

``python -m bench cml``: for VerbalAggression (Rasch, PCM; PCM with 8 % missing) and
MathExam14W (Rasch, PCM), the median wall time of five fits with standard errors: ours
(:func:`calibration.cml.cml`, in this process) against ``psychotools::raschmodel`` /
``pcmodel`` and ``eRm::RM`` / ``PCM`` (in one R process, timed inside R, so R's start-up is
not counted), all at their default tolerances. The ratio is R's time over ours; the
agreement of the estimates is checked in the test suite, not here.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from bench.engine_bench import Row
from calibration.cml import cml
from calibration.data import read_wide

GOLDEN = Path(__file__).parents[1] / "tests" / "calibration" / "golden"
SETS = [
    ("verbal_aggression_dich", "rasch"),
    ("mathexam14w_solved", "rasch"),
    ("verbal_aggression_poly", "pcm"),
    ("verbal_aggression_poly_na", "pcm"),
    ("mathexam14w_credits", "pcm"),
]
REPEATS = 5
R_SCRIPT = """
suppressPackageStartupMessages({library(psychotools); library(eRm); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
out <- list()
for (spec in strsplit(args, ":")) {
  y <- as.matrix(read.csv(file.path("%s", paste0(spec[1], ".csv")))[, -1])
  poly <- spec[2] == "pcm"
  time <- function(f) median(replicate(%d, system.time(f())[["elapsed"]]))
  out[[spec[1]]] <- list(
    psychotools = time(function() if (poly) pcmodel(y) else raschmodel(y)),
    eRm = time(function() if (poly) PCM(y) else RM(y))
  )
}
cat(toJSON(out, auto_unbox = TRUE, digits = NA))
"""


def r_times() -> dict[str, dict[str, float]]:
    """Median seconds per data set for psychotools and eRm, timed inside one R process."""
    script = R_SCRIPT % (GOLDEN, REPEATS)
    done = subprocess.run(
        ["Rscript", "-e", script, *(f"{name}:{model}" for name, model in SETS)],
        capture_output=True,
        text=True,
        check=True,
    )
    times: dict[str, dict[str, float]] = json.loads(done.stdout)
    return times


def ours(name: str, model: str) -> float:
    data = read_wide(GOLDEN / f"{name}.csv")
    samples = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        cml(data, "rasch" if model == "rasch" else "pcm")
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def main() -> list[Row]:
    """Print and return the rows (competitor time / our time)."""
    if shutil.which("Rscript") is None:
        print("cml: Rscript is not installed (apt-get install r-cran-psychotools r-cran-erm)")
        return []
    theirs = r_times()
    rows = []
    for name, model in SETS:
        mine = ours(name, model)
        for competitor in ("psychotools", "eRm"):
            rows.append(
                Row(
                    f"CML {model} {name} vs {competitor}",
                    mine,
                    theirs[name][competitor],
                    "s",
                    "lower",
                )
            )
            print(
                f"{name:<28}{model:<6}ours {mine:8.3f} s   {competitor:<12}"
                f"{theirs[name][competitor]:8.3f} s"
            )
    return rows
