"""``python -m bench sandbox``: latency of sandboxed runs and runs per second at saturation.

A trivial Python program and a SQL query on a small fixture, run one at a time (p50/p99
latency, from the request to the result), then as many at once as the pool has slots
(runs per second on this machine's cores). Short: about 200 runs in all.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import wait

import numpy as np

from grading import RunPool, Sandbox, SqlFixture, run_sql

TRIVIAL = "print(sum(range(10)))\n"
FIXTURE = SqlFixture(
    schema="CREATE TABLE sales (region TEXT, amount REAL);",
    data="".join(f"INSERT INTO sales VALUES ('r{i % 7}', {i});\n" for i in range(500)),
)
QUERY = "SELECT region, SUM(amount) FROM sales GROUP BY region ORDER BY region"


def _latencies(run: Callable[[], object], count: int) -> np.ndarray:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return np.array(times) * 1000


def main(count: int = 60, saturation_runs: int = 80) -> None:
    """Print p50/p99 of a Python run and a SQL run, then runs/s with every slot busy."""
    slots = os.cpu_count() or 2
    sandbox = Sandbox(slots=slots, uid_base=63000)
    sandbox.check()
    python = _latencies(lambda: sandbox.run(TRIVIAL), count)
    sql = _latencies(lambda: run_sql(sandbox, FIXTURE, QUERY), count)
    pool = RunPool(sandbox, queue=saturation_runs)
    start = time.perf_counter()
    futures = [pool.submit(TRIVIAL) for _ in range(saturation_runs)]
    wait(futures)
    elapsed = time.perf_counter() - start
    pool.close()
    assert all(f.result().stdout == "45\n" for f in futures)
    print(f"sandbox ({slots} slots, load average {os.getloadavg()[0]:.1f} at the end)")
    for name, ms in (("trivial Python run", python), ("SQL run (500-row fixture)", sql)):
        p50, p99 = np.percentile(ms, [50, 99])
        print(f"  {name:<28} p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   ({count} runs)")
    print(f"  saturation: {saturation_runs / elapsed:.1f} trivial runs/s on {slots} slots")
