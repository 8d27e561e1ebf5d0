"""Writes times.csv: 300 simulated persons x 12 items of the lognormal model, a third missing.

Run once from the repository root: ``python tests/calibration/data/response_times/make_data.py``.
The golden numbers in nlme_golden.csv come from make_golden.R on this file.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

rng = np.random.default_rng(20060401)
n_persons, n_items = 300, 12
alpha = rng.uniform(1.0, 2.5, n_items)
beta = rng.normal(3.3, 0.6, n_items)
tau = rng.normal(0.0, 0.35, n_persons)
here = Path(__file__).parent
with (here / "times.csv").open("w", newline="", encoding="utf-8") as handle:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(["person_id", "item_id", "seconds"])
    for i in range(n_persons):
        for j in range(n_items):
            if rng.random() < 1 / 3:
                continue
            log_t = beta[j] - tau[i] + rng.standard_normal() / alpha[j]
            writer.writerow([f"p{i + 1:03d}", f"i{j + 1:02d}", f"{np.exp(log_t):.3f}"])
