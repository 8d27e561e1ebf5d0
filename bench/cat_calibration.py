"""Calibrating a 500-item bank from its own CAT: 100,000 to 1,000,000 learners.

``python -m bench cat-calibration`` (not part of ``make bench``: the first run generates the
data, several minutes for the million, and caches it under ``bench/cache/``, which git
ignores) prints, for 2PL calibrations of CAT data (500-item 2PL bank ``synthetic_bank(500,
"2pl", 1, seed=3)``, N(0, 1) simulees, 30 items each by maximum information with item
eligibility at r_max = 0.1):

* the time to generate the data (reported separately, not part of the calibration);
* ``skillgauge calibrate --model 2pl`` on the long CSV, run as its own process: wall time,
  peak resident memory, CPU seconds per answer (flat when the cost is linear in answers),
  RMSE of a and b over the items with at least ``--min-answers`` (100) answers, and how
  many items were held at their bank values for having fewer;
* Python mirt 1.2 (``fit_mirt``, 2PL, EM) on the same 20,000 and 100,000-learner data,
  where it finishes within its budget.

``python -m bench cat-calibration 100000 200000`` runs only the listed sizes (without
Python mirt).
"""

from __future__ import annotations

import csv
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from engine.batch import run_batch
from engine.policy import ContentConfig, ExposureConfig, Policy, SelectionConfig
from engine.pool import ItemPool, compile_pool
from engine.session import Session
from engine.stopping import FixedLength
from engine.synthetic import synthetic_bank
from item_banks.native import write_bank

CACHE = Path(__file__).resolve().parent / "cache" / "cat-calibration"
CHUNK = 50_000
SIZES = (20_000, 100_000, 200_000, 1_000_000)
LENGTH = 30
#: Seconds of wall time Python mirt may take on one data set before it is reported as
#: not finishing.
MIRT_BUDGET = 600.0


def bank_and_pool() -> tuple[Any, ItemPool]:
    """The 500-item 2PL bank (``bank synth --items 500 --model 2pl --seed 3``)."""
    bank = synthetic_bank(500, "2pl", 1, seed=3)
    return bank, compile_pool(bank)


def policy() -> Policy:
    """Maximum information with item eligibility at r_max = 0.1, 30 items."""
    return Policy(
        selection=SelectionConfig(method="max_info"),
        exposure=ExposureConfig(method="eligibility", r_max=0.1),
        content=ContentConfig(balance="none"),
        stopping=FixedLength(n=LENGTH),
    )


def _chunk(pool: ItemPool, k: int) -> dict[str, np.ndarray]:
    """Simulees ``k * CHUNK ... (k + 1) * CHUNK - 1`` (cached)."""
    path = CACHE / f"chunk-{k:03d}.npz"
    if path.exists():
        with np.load(path) as saved:
            return {name: saved[name] for name in saved.files}
    began = time.perf_counter()
    theta = np.random.default_rng(10_000 + k).standard_normal(CHUNK)
    run = run_batch(Session(pool, policy()), theta, seed=20_000 + k)
    out: dict[str, np.ndarray] = {
        "theta": theta,
        "items": run.items.astype(np.int16),
        "categories": run.categories,
        "seconds": np.array([time.perf_counter() - began]),
    }
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        theta=out["theta"],
        items=out["items"],
        categories=out["categories"],
        seconds=out["seconds"],
    )
    return out


def generate(pool: ItemPool, persons: int) -> tuple[Path, np.ndarray, float]:
    """The long CSV of the first ``persons`` simulees, their abilities, and the seconds the
    simulation took (when it ran: a cached chunk reports its original cost, prorated)."""
    csv_path = CACHE / f"responses-{persons}.csv"
    chunks = [_chunk(pool, k) for k in range(-(-persons // CHUNK))]
    seconds = sum(float(c["seconds"][0]) if "seconds" in c else math.nan for c in chunks)
    seconds *= persons / (len(chunks) * CHUNK)
    theta = np.concatenate([c["theta"] for c in chunks])[:persons]
    if not csv_path.exists():
        items = np.concatenate([c["items"] for c in chunks])[:persons]
        cats = np.concatenate([c["categories"] for c in chunks])[:persons]
        rows, steps = np.nonzero(items >= 0)
        ids = np.array(pool.item_ids, dtype=object)
        width = len(str(persons))
        person_names = np.char.add("p", np.char.zfill(np.arange(1, persons + 1).astype(str), width))
        table = pa.table(
            {
                "person_id": pa.array(person_names[rows]),
                "item_id": pa.array(ids[items[rows, steps]], type=pa.string()),
                "response": pa.array(cats[rows, steps].astype(np.int64)),
            }
        )
        tmp = csv_path.with_suffix(".tmp")
        pacsv.write_csv(table, tmp, pacsv.WriteOptions(quoting_style="none"))
        tmp.replace(csv_path)
    return csv_path, theta, seconds


def _run_ours(bank_path: Path, csv_path: Path, out_dir: Path) -> dict[str, float]:
    """``skillgauge calibrate`` in its own process: wall seconds, CPU seconds, peak RSS."""
    cmd = [
        sys.executable,
        "-c",
        "import sys; from skillgauge.cli import main; sys.exit(main(sys.argv[1:]))",
        "calibrate",
        str(csv_path),
        "--bank",
        str(bank_path),
        "--model",
        "2pl",
        "--out",
        str(out_dir / "bank.json"),
        "--quiet",
    ]
    began = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 2):
        raise RuntimeError(f"calibrate failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return {
        "wall": wall,
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "rss_mb": after.ru_maxrss / 1024.0,
    }


def _recovery(
    pool: ItemPool, theta: np.ndarray, params_csv: Path, minimum: int
) -> tuple[float, float, int, int]:
    """RMSE of a and b over the items estimated from at least ``minimum`` answers (truth on
    the sample's scale), their number, and how many such items were not written (an
    estimate out of the bank's range)."""
    with params_csv.open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if int(r["n"]) >= minimum]
    good = [r for r in rows if r["status"] == "estimated"]
    index = np.array([pool.index[r["item_id"]] for r in good])
    a_true = pool.dichotomous.a[index] * theta.std()
    b_true = (pool.dichotomous.b[index] - theta.mean()) / theta.std()
    a_hat = np.array([float(r["a"]) for r in good])
    b_hat = np.array([float(r["b"]) for r in good])
    return (
        float(np.sqrt(np.mean((a_hat - a_true) ** 2))),
        float(np.sqrt(np.mean((b_hat - b_true) ** 2))),
        len(good),
        len(rows) - len(good),
    )


def _answers_per_item(pool: ItemPool, persons: int) -> np.ndarray:
    chunks = [_chunk(pool, k) for k in range(-(-persons // CHUNK))]
    items = np.concatenate([c["items"] for c in chunks])[:persons]
    return np.bincount(items[items >= 0], minlength=pool.n_items)


def run_mirt(pool: ItemPool, persons: int, theta: np.ndarray) -> str:
    """Python mirt 1.2's 2PL fit on the same data, in its own process with a time budget."""
    script = f"""
import resource, sys, time, numpy as np
sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
from bench.cat_calibration import _chunk, bank_and_pool, CHUNK
_, pool = bank_and_pool()
chunks = [_chunk(pool, k) for k in range(-(-{persons} // CHUNK))]
items = np.concatenate([c["items"] for c in chunks])[:{persons}]
cats = np.concatenate([c["categories"] for c in chunks])[:{persons}]
matrix = np.full(({persons}, pool.n_items), -1, dtype=np.int64)
rows, steps = np.nonzero(items >= 0)
matrix[rows, items[rows, steps]] = cats[rows, steps]
used = np.flatnonzero((matrix >= 0).any(axis=0))
from mirt import fit_mirt
began = time.perf_counter()
cpu = time.process_time()
result = fit_mirt(matrix[:, used], model="2PL", n_quadpts=61, tol=1e-4, max_iter=2000,
                  accelerate="squarem", se_method="crossprod")
wall = time.perf_counter() - began
cpu = time.process_time() - cpu
est = np.full((pool.n_items, 2), np.nan)
est[used, 0] = np.asarray(result.model.discrimination).reshape(-1)
est[used, 1] = np.asarray(result.model.difficulty).reshape(-1)
print("RESULT", wall, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
np.save(sys.argv[1], est)
"""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "est.npy"
        try:
            proc = subprocess.run(
                [sys.executable, "-c", script, str(out)],
                capture_output=True,
                text=True,
                timeout=MIRT_BUDGET,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"did not finish in {MIRT_BUDGET:.0f} s"
        line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT")]
        if proc.returncode != 0 or not line:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return f"failed: {tail[:120]}"
        _, wall, cpu, rss = line[0].split()
        est = np.load(out)
    answers = _answers_per_item(pool, persons)
    keep = np.flatnonzero(answers >= 100)
    a_true = pool.dichotomous.a[keep] * theta.std()
    b_true = (pool.dichotomous.b[keep] - theta.mean()) / theta.std()
    ra = float(np.sqrt(np.mean((est[keep, 0] - a_true) ** 2)))
    rb = float(np.sqrt(np.mean((est[keep, 1] - b_true) ** 2)))
    return (
        f"{float(wall):7.1f} s wall, {float(cpu):7.1f} s CPU, {float(rss):6.0f} MB; "
        f"RMSE a {ra:.3f}, b {rb:.3f} on the {keep.size} items with >= 100 answers"
    )


def main(argv: list[str] | None = None) -> None:
    """Generate (or load) the data and print the table."""
    sizes = tuple(int(a) for a in (argv or [])) or SIZES
    bank, pool = bank_and_pool()
    CACHE.mkdir(parents=True, exist_ok=True)
    bank_path = CACHE / "bank.json"
    if not bank_path.exists():
        write_bank(bank, bank_path)
    print(f"2PL calibration of CAT data: {pool.n_items}-item bank, {LENGTH} items each")
    print(
        f"{'learners':>10} {'answers':>11} {'simulate':>9} {'calibrate':>10} {'CPU':>8} "
        f"{'peak RSS':>9} {'CPU us/answer':>14} {'items>=100':>10} {'RMSE a':>7} "
        f"{'RMSE b':>7} {'not written':>11}"
    )
    for persons in sizes:
        csv_path, theta, gen = generate(pool, persons)
        answers = _answers_per_item(pool, persons)
        with tempfile.TemporaryDirectory() as tmp:
            run = _run_ours(bank_path, csv_path, Path(tmp))
            ra, rb, n_items, out = _recovery(pool, theta, Path(tmp) / "bank.params.csv", 100)
        total = int(answers.sum())
        print(
            f"{persons:>10,} {total:>11,} "
            + (f"{gen:>8.1f}s" if math.isfinite(gen) else f"{'cached':>9}")
            + f" {run['wall']:>9.1f}s "
            f"{run['cpu']:>7.1f}s {run['rss_mb']:>7.0f}MB {1e6 * run['cpu'] / total:>14.2f} "
            f"{n_items:>10} {ra:>7.3f} {rb:>7.3f} {out:>11}",
            flush=True,
        )
    if argv:
        return  # listed sizes: ours only
    print()
    for persons in (20_000, 100_000):
        theta = generate(pool, persons)[1]
        mirt = run_mirt(pool, persons, theta)
        print(f"Python mirt 1.2 fit_mirt 2PL, {persons:,} learners: {mirt}")


if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    main(sys.argv[1:])
