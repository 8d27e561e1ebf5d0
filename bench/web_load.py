"""Load test: 200 concurrent simulated learners over HTTP on loopback, SQLite and PostgreSQL.

Each learner starts a session on the demo assessment, answers until the result, and starts
again, for a fixed duration. The client speaks plain HTTP/1.1 keep-alive over asyncio streams
(so the load generator costs little CPU next to the server). Two runs:

* **saturation**: no think time; shows the most answers per second the server sustains
  (latency is then queueing: 200 learners / throughput, by Little's law);
* **paced**: the 200 learners together offer a fixed rate (1,500 answers/s by default, each
  learner answering at Poisson times); shows the latency at that load.

``SKILLGAUGE_SERVER=granian`` runs the server with granian instead of uvicorn
(``skillgauge serve --server``). Each database gets both runs with two web processes
(``--workers 2``): SQLite (WAL) in the
data directory, PostgreSQL on a database of its own at ``SKILLGAUGE_TEST_POSTGRES_URL``'s
server. Reported: offered and achieved answers per second, p50/p95/p99 latency per answer,
errors, the acknowledged answers missing from the database (each acknowledged
``(session, position)`` looked up; must be 0), and the CPU time per answer of the service's
processes and of the PostgreSQL server processes serving its database (from /proc; unlike
throughput on a shared machine, these hardly depend on what else runs).
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from tests.server import ServerProcess, start_server
from web.db.connection import Database
from web.db.schema import responses

POSTGRES_ADMIN_URL = os.environ.get(
    "SKILLGAUGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


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
    database: str = "sqlite"
    offered: float | None = None
    missing: int = 0
    acked: set[tuple[str, int]] = field(default_factory=set)
    service_cpu_ms: float = 0.0
    database_cpu_ms: float = 0.0

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
                result.acked.add((view["id"], int(item["position"])))
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
    learners: int = 200,
    seconds: float = 20.0,
    workers: int = 2,
    offered: float | None = None,
    database: str = "sqlite",
) -> LoadResult:
    """Start a server on ``database``, warm it up, load it, and look up every answer."""
    with tempfile.TemporaryDirectory() as tmp, _database(database, Path(tmp)) as url:
        server: ServerProcess = start_server(
            Path(tmp), workers=workers, extra_env={"SKILLGAUGE_DATABASE_URL": url}
        )
        try:
            assessment = server.assessment_url.rsplit("/", 1)[1]
            asyncio.run(drive(server.port, assessment, 20, 2.0))  # warm the caches
            before = _stored(url)
            service = _process_tree(server.process.pid)
            cpu_before = _cpu(service), _cpu(_database_pids(url))
            result = asyncio.run(drive(server.port, assessment, learners, seconds, offered))
            cpu_after = _cpu(service), _cpu(_database_pids(url))
            answers = max(result.answers, 1)
            result.service_cpu_ms = 1000 * _used(cpu_before[0], cpu_after[0]) / answers
            result.database_cpu_ms = 1000 * _used(cpu_before[1], cpu_after[1]) / answers
            stored = _stored(url)
            result.stored = len(stored) - len(before)
            result.missing = len(result.acked - stored)
        finally:
            server.stop()
        result.workers, result.database, result.offered = workers, database, offered
        return result


@contextmanager
def _database(kind: str, data_dir: Path) -> Iterator[str]:
    """The URL of an empty database of ``kind`` for one run (PostgreSQL: created, dropped)."""
    if kind == "sqlite":
        yield f"sqlite:///{data_dir / 'skillgauge.db'}"
        return
    name = f"sg_load_{os.getpid()}_{int(time.time() * 1000)}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _process_tree(root: int) -> list[int]:
    """``root`` and its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def _database_pids(url: str) -> list[int]:
    """The PostgreSQL server processes serving ``url``'s database (none for SQLite)."""
    if not url.startswith("postgresql"):
        return []
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid()"
                    )
                ).scalars()
            )
    finally:
        engine.dispose()


def _cpu(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) used so far by each of ``pids`` still alive."""
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def _used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two :func:`_cpu` readings (a process new since: all of it)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _stored(url: str) -> set[tuple[str, int]]:
    db = Database(url)
    try:
        with db.read() as conn:
            rows = conn.execute(select(responses.c.session_id, responses.c.seq)).all()
        return {(row.session_id, int(row.seq)) for row in rows}
    finally:
        db.dispose()


def _row(label: str, result: LoadResult) -> str:
    offered = f"{result.offered:,.0f}" if result.offered else "as fast as served"
    return (
        f"| {result.database} | {label} | {offered} | {result.rate:,.0f} | "
        f"{result.percentile(50):.0f} ms | {result.percentile(95):.0f} ms | "
        f"{result.percentile(99):.0f} ms | {result.errors} | {result.missing} | "
        f"{result.service_cpu_ms:.2f} ms | {result.database_cpu_ms:.2f} ms |"
    )


def main() -> tuple[LoadResult, LoadResult]:
    """Run the saturation and paced load tests on both databases and print one table."""
    learners = int(os.environ.get("SKILLGAUGE_BENCH_LEARNERS", "200"))
    seconds = float(os.environ.get("SKILLGAUGE_BENCH_SECONDS", "20"))
    workers = int(os.environ.get("SKILLGAUGE_BENCH_WORKERS", "2"))
    offered = float(os.environ.get("SKILLGAUGE_BENCH_OFFERED", "1500"))
    databases = os.environ.get("SKILLGAUGE_BENCH_DATABASES", "sqlite,postgresql").split(",")
    server = os.environ.get("SKILLGAUGE_SERVER", "uvicorn")
    print(
        f"Web load: {learners} concurrent learners, {workers} web processes ({server}), "
        f"{seconds:.0f} s"
    )
    print(
        "| database | run | offered/s | achieved/s | p50 | p95 | p99 | errors | "
        "acknowledged but missing | service CPU per answer | database server CPU per answer |"
        "\n|---|---|---|---|---|---|---|---|---|---|---|"
    )
    results: dict[str, tuple[LoadResult, LoadResult]] = {}
    for database in databases:
        saturation = run(learners, seconds, workers, database=database)
        print(_row("saturation", saturation), flush=True)
        paced = run(learners, seconds, workers, offered, database=database)
        print(_row("paced", paced), flush=True)
        results[database] = (saturation, paced)
    return results.get("sqlite", next(iter(results.values())))
