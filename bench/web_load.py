"""Load test: 200 concurrent simulated learners over HTTP on loopback, SQLite database.

Each learner starts a session on the demo assessment, answers until the result, and starts
again, for a fixed duration. The client speaks plain HTTP/1.1 keep-alive over asyncio streams
(so the load generator costs little CPU next to the server). Two runs:

* **saturation**: no think time; shows the most answers per second the server sustains
  (latency is then queueing: 200 learners / throughput, by Little's law);
* **paced**: the 200 learners together offer a fixed rate (1,500 answers/s by default, each
  learner answering at Poisson times); shows the latency at that load.

Reported: answers per second, p50/p99 latency per answer, and whether every answer
acknowledged was stored.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from tests.server import ServerProcess, start_server


@dataclass
class LoadResult:
    """What the load test measured."""

    learners: int
    duration: float
    answers: int
    sessions: int
    errors: int
    latencies_ms: list[float] = field(default_factory=list)
    stored: int = 0
    workers: int = 1

    @property
    def rate(self) -> float:
        """Answers per second."""
        return self.answers / self.duration

    def percentile(self, q: float) -> float:
        """Latency percentile in milliseconds."""
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else 0.0


class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        self.writer.write(
            b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        await self.writer.drain()
        status_line = await self.reader.readline()
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value.strip())
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def choose_answer(item: dict[str, Any]) -> Any:
    """A well-formed answer to any question (right or wrong does not matter here)."""
    kind = item["type"]
    if kind == "single_choice":
        return item["options"][0]["id"]
    if kind == "multiple_response":
        return [item["options"][0]["id"]]
    return "1"


async def learner(
    port: int, assessment: str, stop_at: float, result: LoadResult, rate: float | None = None
) -> None:
    """One simulated learner; with ``rate`` it answers at Poisson times of that rate."""
    conn = await Connection.open(port)
    rng = random.Random()
    next_at = time.perf_counter() + (rng.expovariate(rate) if rate else 0.0)
    try:
        while time.perf_counter() < stop_at:
            status, body = await conn.post(f"/api/v1/assessments/{assessment}/sessions", b"{}")
            if status != 201:
                result.errors += 1
                continue
            result.sessions += 1
            view = msgspec.json.decode(body)
            while view["status"] == "in_progress" and time.perf_counter() < stop_at:
                item = view["item"]
                if rate:
                    delay = next_at - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    next_at = max(next_at, time.perf_counter()) + rng.expovariate(rate)
                    if time.perf_counter() >= stop_at:
                        break
                payload = msgspec.json.encode(
                    {
                        "item_id": item["id"],
                        "position": item["position"],
                        "answer": choose_answer(item),
                    }
                )
                started = time.perf_counter()
                status, body = await conn.post(f"/api/v1/sessions/{view['id']}/responses", payload)
                elapsed = (time.perf_counter() - started) * 1000.0
                if status != 200:
                    result.errors += 1
                    break
                result.answers += 1
                result.latencies_ms.append(elapsed)
                view = msgspec.json.decode(body)["session"]
    finally:
        conn.close()


async def drive(
    port: int, assessment: str, learners: int, seconds: float, offered: float | None = None
) -> LoadResult:
    """Run ``learners`` concurrent learners for ``seconds`` (offering ``offered`` answers/s)."""
    result = LoadResult(learners=learners, duration=seconds, answers=0, sessions=0, errors=0)
    start = time.perf_counter()
    each = offered / learners if offered else None
    await asyncio.gather(
        *(learner(port, assessment, start + seconds, result, each) for _ in range(learners))
    )
    result.duration = time.perf_counter() - start
    return result


def run(
    learners: int = 200, seconds: float = 20.0, workers: int = 2, offered: float | None = None
) -> LoadResult:
    """Start a server on SQLite, warm it up, load it, and count the stored answers."""
    with tempfile.TemporaryDirectory() as tmp:
        server: ServerProcess = start_server(Path(tmp), workers=workers)
        try:
            assessment = server.assessment_url.rsplit("/", 1)[1]
            asyncio.run(drive(server.port, assessment, 20, 2.0))  # warm the caches
            before = _stored(Path(tmp))
            result = asyncio.run(drive(server.port, assessment, learners, seconds, offered))
            result.stored = _stored(Path(tmp)) - before
        finally:
            server.stop()
        result.workers = workers
        return result


def _stored(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "skillgauge.db") as db:
        return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])


def _report(label: str, result: LoadResult) -> None:
    p50, p99 = result.percentile(50), result.percentile(99)
    verdict = "yes" if result.stored == result.answers else "NO"
    print(
        f"  {label}: {result.answers} answers in {result.duration:.1f} s = {result.rate:.0f}/s, "
        f"{result.errors} errors; latency p50 {p50:.1f} ms, p99 {p99:.1f} ms; "
        f"every acknowledged answer stored: {verdict} ({result.stored} rows)"
    )


def main() -> tuple[LoadResult, LoadResult]:
    """Run the saturation and paced load tests and print their figures."""
    learners = int(os.environ.get("SKILLGAUGE_BENCH_LEARNERS", "200"))
    seconds = float(os.environ.get("SKILLGAUGE_BENCH_SECONDS", "20"))
    workers = int(os.environ.get("SKILLGAUGE_BENCH_WORKERS", "2"))
    offered = float(os.environ.get("SKILLGAUGE_BENCH_OFFERED", "1500"))
    print(f"Web load: {learners} concurrent learners, {workers} worker processes, SQLite (WAL)")
    saturation = run(learners, seconds, workers)
    _report("saturation (no think time)", saturation)
    paced = run(learners, seconds, workers, offered)
    _report(f"paced at {offered:.0f} answers/s offered", paced)
    return saturation, paced
