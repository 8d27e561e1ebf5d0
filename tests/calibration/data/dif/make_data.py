"""Writes responses.csv: 600 simulated persons x 8 dichotomous 2PL items with a group column.

The focal group ("F", 40 %) is 0.3 lower in ability; item i3 is 0.6 harder and item i6 0.5
easier for it at equal ability (uniform DIF). Run once from the repository root:
``python tests/calibration/data/dif/make_data.py``; then ``Rscript make_golden.R`` here.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

rng = np.random.default_rng(19880101)
n, j = 600, 8
a = rng.uniform(0.8, 1.8, j)
b = rng.normal(0.0, 0.8, j)
focal = rng.random(n) < 0.4
theta = rng.standard_normal(n) - 0.3 * focal
shift = np.zeros(j)
shift[2], shift[5] = 0.6, -0.5
difficulty = b[None, :] + focal[:, None] * shift[None, :]
p = 1.0 / (1.0 + np.exp(-a * (theta[:, None] - difficulty)))
x = (rng.random((n, j)) < p).astype(int)
with (Path(__file__).parent / "responses.csv").open("w", newline="", encoding="utf-8") as f:
    writer = csv.writer(f, lineterminator="\n")
    writer.writerow(["person_id", "group", *(f"i{k + 1}" for k in range(j))])
    for i in range(n):
        writer.writerow([f"p{i + 1:03d}", "F" if focal[i] else "R", *x[i]])
