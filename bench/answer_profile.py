"""Profile of the learner answer path in one process, without HTTP: where an answer's time goes.

``python -m bench answer-profile`` answers the demo assessment sequentially (one thread, so
the figures are per answer, not queueing) through :func:`web.learning.submit_answer` on
SQLite and on a fresh PostgreSQL database, and reports per answer:

* wall time, and on PostgreSQL the part of it spent waiting for the database (every
  blocking wait of the driver: psycopg's ``Connection.wait``);
* the CPU time of this process (Python, the driver, and on SQLite the database itself),
  which, unlike wall time, other work on a shared machine does not inflate;
* the CPU time of the PostgreSQL server processes serving the database (from /proc);
* round trips to the server (from libpq's trace: each run of messages sent, then waited
  for), statements sent (the trace's queries and executes, BEGIN and COMMIT included; and, by
  kind, the driver calls: ``;`` is the pool's ping, a ROLLBACK on an idle connection sends
  nothing) and transactions (``pg_stat_database`` commits + rollbacks);
* on PostgreSQL, the same with ``synchronous_commit = off`` for the session (not a setting
  the service uses: it would acknowledge answers a server crash can lose; measured only to
  show what the commit's WAL flush costs).

The answers start at the second question of each session (starting a session is not the
answer path); sessions are started before the timed loop.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import psycopg
from sqlalchemy import event, text

from bench.web_load import _database, choose_answer
from web import learning
from web.db.connection import Database
from web.db.migrate import migrate
from web.demo import ensure_demo
from web.runtime import Runtime
from web.settings import load_settings

SESSIONS = int(os.environ.get("SKILLGAUGE_PROFILE_SESSIONS", "40"))


@dataclass
class Profile:
    """Per-answer figures of one run."""

    label: str
    answers: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    db_wait: float = 0.0
    round_trips: int = 0
    waits: int = 0
    sent: int = 0
    backend_cpu: float = 0.0
    transactions: int = 0
    statements: Counter[str] = field(default_factory=Counter)

    def row(self) -> str:
        n = max(self.answers, 1)
        statements = self.sent / n
        return (
            f"| {self.label} | {self.answers} | {1000 * self.wall / n:.2f} ms | "
            f"{1000 * self.db_wait / n:.2f} ms | {1000 * self.cpu / n:.2f} ms | "
            f"{1000 * self.backend_cpu / n:.2f} ms | "
            f"{self.round_trips / n:.1f} | {statements:.1f} | {self.transactions / n:.1f} |"
        )


class _Meter:
    """Counts and times the driver's blocking work while active."""

    def __init__(self) -> None:
        self.active = False
        self.wait = 0.0
        self.trips = 0
        self.statements: Counter[str] = Counter()

    def timed(self, original: Callable[..., Any], *, trip: bool) -> Callable[..., Any]:
        meter = self

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not meter.active:
                return original(*args, **kwargs)
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                meter.wait += time.perf_counter() - started
                meter.trips += trip

        return wrapper


@contextmanager
def _metered_psycopg(meter: _Meter) -> Iterator[None]:
    original_wait = psycopg.Connection.wait
    original_execute = psycopg.Cursor.execute
    original_commit = psycopg.Connection.commit
    original_rollback = psycopg.Connection.rollback

    def execute(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        if meter.active:
            meter.statements[str(query).split(None, 1)[0].upper()] += 1
        return original_execute(cursor, query, *args, **kwargs)

    def commit(conn: Any) -> Any:
        if meter.active:
            meter.statements["COMMIT"] += 1
        return original_commit(conn)

    def rollback(conn: Any) -> Any:
        if meter.active:
            meter.statements["ROLLBACK"] += 1
        return original_rollback(conn)

    psycopg.Connection.wait = meter.timed(original_wait, trip=True)  # type: ignore[method-assign]
    psycopg.Cursor.execute = execute  # type: ignore[method-assign,assignment]
    psycopg.Connection.commit = commit  # type: ignore[method-assign,assignment]
    psycopg.Connection.rollback = rollback  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        psycopg.Connection.wait = original_wait  # type: ignore[method-assign]
        psycopg.Cursor.execute = original_execute  # type: ignore[method-assign]
        psycopg.Connection.commit = original_commit  # type: ignore[method-assign]
        psycopg.Connection.rollback = original_rollback  # type: ignore[method-assign]


def _round_trips(trace: bytes) -> tuple[int, int]:
    """Round trips (runs of messages sent, then answered) and statements in a libpq trace."""
    trips = statements = 0
    sending = False
    for line in trace.splitlines():
        parts = line.split(b"\t", 4)
        frontend = parts[1:2] == [b"F"]
        if frontend and not sending:
            trips += 1
        if frontend and parts[3:4] in ([b"Query"], [b"Execute"]):
            statements += 1
        sending = frontend
    return trips, statements


def _backend_cpu(rt: Runtime, before: dict[int, float] | None = None) -> Any:
    """CPU seconds of this database's server processes (Linux /proc); with ``before``, the
    seconds used since then."""
    if rt.db.is_sqlite:
        return {}
    with rt.db.engine.connect() as conn:
        pids = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).scalars()
        now = {}
        tick = os.sysconf("SC_CLK_TCK")
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            now[pid] = (int(fields[11]) + int(fields[12])) / tick
        conn.rollback()
    if before is None:
        return now
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in now.items())


def _transactions(rt: Runtime) -> int:
    if rt.db.is_sqlite:
        return 0
    with rt.db.engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        row = conn.execute(
            text(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database "
                "WHERE datname = current_database()"
            )
        ).one()
        conn.rollback()
    return int(row[0])


def profile(url: str, data_dir: Path, label: str, *, async_commit: bool = False) -> Profile:
    """Answer :data:`SESSIONS` demo sessions to the end on ``url``; per-answer figures."""
    env = {
        "SKILLGAUGE_DATA_DIR": str(data_dir),
        "SKILLGAUGE_DATABASE_URL": url,
        "SKILLGAUGE_SECRET_KEY": "profile-" + "x" * 40,
        "SKILLGAUGE_SESSIONS_PER_MINUTE": "100000",
    }
    db = Database(url)
    trace_path = data_dir / "libpq.trace"
    trace_fd = os.open(trace_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    if not db.is_sqlite:
        event.listen(db.engine, "connect", lambda dbapi, _record: dbapi.pgconn.trace(trace_fd))
    if async_commit:
        event.listen(
            db.engine,
            "connect",
            lambda dbapi, _record: dbapi.execute("SET synchronous_commit = off") or dbapi.commit(),
        )
    migrate(db)
    rt = Runtime(load_settings(env), db)
    assessment = ensure_demo(rt).assessment_url.rsplit("/", 1)[1]
    sessions = [
        learning.start_session(rt, assessment, client=f"10.0.0.{i % 250}") for i in range(SESSIONS)
    ]
    views = [learning.view_session(rt, s) for s in sessions]
    # Warm the caches (compiled bank, assessment, engine session, connections).
    first = views.pop()
    learning.submit_answer(
        rt,
        first.id,
        item_id=first.item.id,  # type: ignore[union-attr]
        position=first.item.position,  # type: ignore[union-attr]
        answer=choose_answer(msgspec_dict(first.item)),
    )
    meter = _Meter()
    result = Profile(label)
    before = _transactions(rt)
    cpu_before = _backend_cpu(rt)
    trace_start = trace_path.stat().st_size
    with _metered_psycopg(meter):
        started = time.perf_counter()
        cpu_started = time.process_time()
        meter.active = True
        for started_view in views:
            view = started_view
            while view.status == "in_progress" and view.item is not None:
                outcome = learning.submit_answer(
                    rt,
                    view.id,
                    item_id=view.item.id,
                    position=view.item.position,
                    answer=choose_answer(msgspec_dict(view.item)),
                )
                result.answers += 1
                view = outcome.session
        meter.active = False
        result.wall = time.perf_counter() - started
        result.cpu = time.process_time() - cpu_started
    result.backend_cpu = _backend_cpu(rt, cpu_before) if not rt.db.is_sqlite else 0.0
    with trace_path.open("rb") as trace:
        trace.seek(trace_start)
        result.round_trips, result.sent = _round_trips(trace.read())
    result.transactions = _transactions(rt) - before
    result.db_wait = meter.wait
    result.waits = meter.trips
    result.statements = meter.statements
    db.dispose()
    os.close(trace_fd)
    return result


def msgspec_dict(item: Any) -> dict[str, Any]:
    """The item view as the JSON the API sends (what :func:`choose_answer` reads)."""
    decoded: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(item))
    return decoded


def main() -> list[Profile]:
    """Profile SQLite and PostgreSQL (and PostgreSQL without the commit flush); print a table."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(profile(f"sqlite:///{Path(tmp) / 'profile.db'}", Path(tmp), "SQLite"))
    for label, async_commit in (
        ("PostgreSQL", False),
        ("PostgreSQL, synchronous_commit=off", True),
    ):
        with tempfile.TemporaryDirectory() as tmp, _database("postgresql", Path(tmp)) as url:
            results.append(profile(url, Path(tmp), label, async_commit=async_commit))
    print(
        "Answer path, one thread, per answer:\n"
        "| database | answers | wall | waiting on the database | our CPU | server CPU | "
        "round trips | statements | transactions |\n|---|---|---|---|---|---|---|---|---|"
    )
    for r in results:
        print(r.row())
    for r in results:
        if r.statements:
            n = max(r.answers, 1)
            parts = ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(r.statements.items()))
            print(f"{r.label}, driver calls per answer: {parts}")
    return results
