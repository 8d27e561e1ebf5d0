"""Soak with faults on PostgreSQL: two web processes, one delivery worker, concurrent learners.

Each simulated learner starts sessions on the demo assessment (named, so passing earns a
credential) and answers through either web process; when a request fails (a process is
down), it moves to the other process and reloads its session, as a browser retried by a
load balancer would. Mid-run one web process is killed with SIGKILL and started again; at
another moment (``drop_after``) PostgreSQL drops every connection of the service's processes
(``pg_terminate_backend``, what a database restart or failover does to them; the server
itself is not restarted, other users share it).

Counted at the end, from the replies and from the database:

* acknowledged answers missing from the database (must be 0);
* answers stored twice for one session position (must be 0);
* sessions that cannot go on (an open session whose next question does not load; must be 0);
* server errors (5xx) outside the kill window and the connection drop (must be 0),
  connection errors in the kill window, 5xx in the drop window (requests other than answers
  whose connection died under them; answers are retried on a new connection);
* answers acknowledged after the drop (the service recovered: must be more than 0);
* awards: every credential issued is delivered to the webhook receiver, exactly once without
  the connection drop. With it, a message the worker sent just before losing its connection
  (so its delivery was never recorded) is sent again, with the same ``webhook-id``: webhooks
  are at-least-once, and receivers drop repeats by that id (Standard Webhooks).

``python -m bench soak`` runs 100 learners for three minutes; ``tests/web/test_soak.py``
runs a short version in ``make test``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from engine.learner import raw_answer
from item_banks.model import Item, category_count
from item_banks.native import read_bank
from item_banks.sample import sample_bank_path
from tests.answers import shown_by_text
from tests.credentials.receiver import Receiver, running_receiver
from tests.server import ServerProcess, free_port, start_server
from web.db.connection import Database
from web.db.schema import credentials, learner_sessions, responses, webhook_messages

ITEMS: dict[str, Item] = {item.id: item for item in read_bank(sample_bank_path()).items}
FAST_WEBHOOKS = {
    "SKILLGAUGE_WEBHOOK_ALLOW_PRIVATE": "1",
    "SKILLGAUGE_WEBHOOK_POLL_SECONDS": "0.1",
    "SKILLGAUGE_WEBHOOK_LEASE_SECONDS": "5",
    "SKILLGAUGE_WEBHOOK_TIMEOUT_SECONDS": "2",
}


@dataclass
class SoakResult:
    """What the soak counted."""

    learners: int
    seconds: float
    answers: int = 0
    sessions: int = 0
    finished: int = 0
    server_errors: int = 0
    server_errors_outside_kill: int = 0
    server_errors_in_drop: int = 0
    connections_dropped: int = 0
    answers_after_drop: int = 0
    connection_errors: int = 0
    missing: int = 0
    duplicated: int = 0
    stuck: int = 0
    credentials: int = 0
    messages: int = 0
    delivered: int = 0
    delivered_once: int = 0
    delivered_twice: int = 0
    credentials_delivered: int = 0
    unverified: int = 0
    acked: set[tuple[str, int]] = field(default_factory=set)
    error_texts: list[str] = field(default_factory=list)
    server_logs: list[str] = field(default_factory=list)

    def rows(self) -> list[tuple[str, str]]:
        """The counts as README table rows."""
        return [
            ("learners x seconds", f"{self.learners} x {self.seconds:.0f}"),
            ("answers acknowledged", f"{self.answers:,} ({self.answers / self.seconds:.0f}/s)"),
            ("sessions started / finished", f"{self.sessions:,} / {self.finished:,}"),
            ("acknowledged answers missing", str(self.missing)),
            ("answers stored twice", str(self.duplicated)),
            ("sessions stuck", str(self.stuck)),
            ("5xx outside the kill and drop windows", str(self.server_errors_outside_kill)),
            ("connection errors (kill window)", str(self.connection_errors)),
            (
                "database connections dropped / 5xx in that window / answers after",
                f"{self.connections_dropped} / {self.server_errors_in_drop} / "
                f"{self.answers_after_drop:,}",
            ),
            (
                "credentials issued / their webhooks",
                f"{self.credentials} / {self.credentials_delivered}",
            ),
            (
                "webhook messages / delivered / exactly once / again (same id)",
                f"{self.messages} / {self.delivered} / {self.delivered_once} / "
                f"{self.delivered_twice}",
            ),
        ]


class _Learners:
    """The learners' shared counters and the kill window."""

    def __init__(self, urls: list[str], assessment_id: str, until: float) -> None:
        self.urls = urls
        self.assessment_id = assessment_id
        self.until = until
        self.lock = threading.Lock()
        self.result_acked: set[tuple[str, int]] = set()
        self.sessions = 0
        self.finished = 0
        self.server_errors: list[float] = []
        self.server_error_texts: list[str] = []
        self.connection_errors = 0
        self.kill_window: tuple[float, float] = (0.0, 0.0)
        self.drop_window: tuple[float, float] = (0.0, 0.0)
        self.answers_after_drop = 0

    def run(self, index: int) -> None:
        rng = random.Random(index)
        skill = rng.uniform(0.55, 0.95)
        server = index % len(self.urls)
        clients = [httpx.Client(base_url=url, timeout=30) for url in self.urls]
        try:
            while time.monotonic() < self.until:
                view = self._request(
                    clients,
                    server,
                    "POST",
                    f"/api/v1/assessments/{self.assessment_id}/sessions",
                    {"name": f"Learner {index}", "email": f"learner{index}@example.org"},
                )
                with self.lock:
                    self.sessions += 1
                while view["status"] == "in_progress":
                    view, server = self._answer(clients, server, view, rng, skill)
                with self.lock:
                    self.finished += 1
        finally:
            for client in clients:
                client.close()

    def _answer(
        self,
        clients: list[httpx.Client],
        server: int,
        view: dict[str, Any],
        rng: random.Random,
        skill: float,
    ) -> tuple[dict[str, Any], int]:
        item = ITEMS[view["item"]["id"]]
        top = category_count(item.irt) - 1
        category = top if rng.random() < skill else rng.randrange(top + 1)
        body = {
            "item_id": item.id,
            "position": view["item"]["position"],
            "answer": shown_by_text(item, view["item"], raw_answer(item, category, rng)),
        }
        path = f"/api/v1/sessions/{view['id']}"
        for _ in range(200):
            try:
                reply = clients[server].post(path + "/responses", json=body)
            except httpx.TransportError:
                self._connection_error()
                server = 1 - server
                time.sleep(0.05)
                view = self._reload(clients, server, path)
                if view["status"] != "in_progress" or view["item"]["position"] != body["position"]:
                    return view, server  # the answer was stored before the process died
                continue
            if reply.status_code >= 500:
                self._server_error(reply)
                server = 1 - server
                continue
            if reply.status_code == 409:  # stored by the request that lost its reply
                return self._reload(clients, server, path), server
            assert reply.status_code == 200, reply.text
            with self.lock:
                self.result_acked.add((view["id"], int(body["position"])))
                if 0.0 < self.drop_window[1] < time.monotonic():
                    self.answers_after_drop += 1
            outcome = reply.json()
            return outcome["session"], server
        raise AssertionError(f"no web process took the answer to {path}")

    def _reload(self, clients: list[httpx.Client], server: int, path: str) -> dict[str, Any]:
        return self._request(clients, server, "GET", path, None)

    def _request(
        self, clients: list[httpx.Client], server: int, method: str, path: str, body: Any
    ) -> dict[str, Any]:
        for _ in range(200):
            try:
                reply = clients[server].request(method, path, json=body)
            except httpx.TransportError:
                self._connection_error()
                server = 1 - server
                time.sleep(0.05)
                continue
            if reply.status_code >= 500:
                self._server_error(reply)
                server = 1 - server
                continue
            assert reply.status_code in (200, 201), reply.text
            data: dict[str, Any] = reply.json()
            return data
        raise AssertionError(f"no web process answered {method} {path}")

    def _connection_error(self) -> None:
        with self.lock:
            self.connection_errors += 1

    def _server_error(self, reply: httpx.Response) -> None:
        with self.lock:
            self.server_errors.append(time.monotonic())
            self.server_error_texts.append(f"{reply.request.url}: {reply.status_code} {reply.text}")


@contextmanager
def _processes(
    database_url: str, data_dir: Path, receiver: Receiver
) -> Iterator[tuple[list[ServerProcess], subprocess.Popen[str], dict[str, str]]]:
    env = {
        **FAST_WEBHOOKS,
        "SKILLGAUGE_DATABASE_URL": database_url,
        "SKILLGAUGE_SECRET_KEY": "soak-secret-" + "s" * 40,
        "SKILLGAUGE_WEBHOOK_WORKER": "off",
    }
    servers = [start_server(data_dir, extra_env=env)]  # the first one migrates and seeds
    servers.append(start_server(data_dir, port=free_port(), extra_env=env))
    reply = httpx.post(
        servers[0].base_url + "/api/v1/author/webhooks",
        json={"url": receiver.url},
        headers={"Authorization": f"Bearer {servers[0].author_token}"},
        timeout=10,
    )
    assert reply.status_code == 201, reply.text
    receiver.secret = reply.json()["secret"]
    worker = subprocess.Popen(
        [sys.executable, "-m", "skillgauge", "worker"],
        env={**os.environ, **env, "SKILLGAUGE_DATA_DIR": str(data_dir)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield servers, worker, env
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
        for server in servers:
            server.stop()


def soak(
    database_url: str,
    data_dir: Path,
    *,
    learners: int = 100,
    seconds: float = 180.0,
    kill_after: float = 60.0,
    drop_after: float | None = None,
) -> SoakResult:
    """Run the soak (see the module documentation) and count what it found.

    ``kill_after`` and ``drop_after`` (seconds from the start): when one web process is
    killed (and started again), when PostgreSQL drops the service's connections (``None``:
    never); in time order.
    """
    with (
        running_receiver() as receiver,
        _processes(database_url, data_dir, receiver) as (
            servers,
            _,
            env,
        ),
    ):
        assessment_id = servers[0].assessment_url.rsplit("/", 1)[1]
        started = time.monotonic()
        crowd = _Learners([s.base_url for s in servers], assessment_id, started + seconds)
        threads = [threading.Thread(target=crowd.run, args=(n,)) for n in range(learners)]
        for thread in threads:
            thread.start()
        dropped = 0

        def kill() -> None:
            victim = servers[1]
            kill_started = time.monotonic()
            victim.kill()
            servers[1] = start_server(data_dir, port=victim.port, extra_env=env)
            crowd.kill_window = (kill_started, time.monotonic() + 1.0)

        def drop() -> None:
            nonlocal dropped
            drop_started = time.monotonic()
            dropped = drop_connections(database_url)
            crowd.drop_window = (drop_started, time.monotonic() + 2.0)

        faults = [(kill_after, kill)] + ([] if drop_after is None else [(drop_after, drop)])
        for at, fault in sorted(faults, key=lambda f: f[0]):
            time.sleep(max(0.0, started + at - time.monotonic()))
            fault()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        result = SoakResult(learners=learners, seconds=elapsed)
        result.acked = crowd.result_acked
        result.answers = len(crowd.result_acked)
        result.sessions, result.finished = crowd.sessions, crowd.finished
        result.connection_errors = crowd.connection_errors
        result.server_errors = len(crowd.server_errors)
        result.error_texts = crowd.server_error_texts
        result.server_logs = [
            line
            for server in servers
            for line in server.output
            if "Error" in line or "Trace" in line
        ]
        low, high = crowd.kill_window
        drop_low, drop_high = crowd.drop_window
        result.server_errors_in_drop = sum(
            1 for t in crowd.server_errors if drop_low <= t <= drop_high
        )
        result.server_errors_outside_kill = sum(
            1
            for t in crowd.server_errors
            if not low <= t <= high and not drop_low <= t <= drop_high
        )
        result.connections_dropped = dropped
        result.answers_after_drop = crowd.answers_after_drop
        _count_storage(result, database_url, servers[0], receiver)
    return result


def drop_connections(database_url: str) -> int:
    """Terminate every connection to ``database_url``'s database but this one; how many."""
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
            )
    finally:
        admin.dispose()


def _count_storage(
    result: SoakResult, database_url: str, server: ServerProcess, receiver: Receiver
) -> None:
    db = Database(database_url)
    try:
        with db.read() as conn:
            stored = {
                (row.session_id, row.seq)
                for row in conn.execute(select(responses.c.session_id, responses.c.seq))
            }
            result.missing = len(result.acked - stored)
            twice = (
                select(responses.c.session_id, responses.c.seq)
                .group_by(responses.c.session_id, responses.c.seq)
                .having(func.count() > 1)
            )
            result.duplicated = len(conn.execute(twice).all())
            open_sessions = (
                conn.execute(
                    select(learner_sessions.c.id).where(learner_sessions.c.finished_at.is_(None))
                )
                .scalars()
                .all()
            )
            result.credentials = conn.execute(
                select(func.count()).select_from(credentials)
            ).scalar_one()
            result.messages = conn.execute(
                select(func.count()).select_from(webhook_messages)
            ).scalar_one()
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            for sid in open_sessions:  # orphaned by a lost reply: each must still go on
                view = client.get(f"/api/v1/sessions/{sid}")
                if view.status_code != 200 or view.json().get("item") is None:
                    result.stuck += 1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with db.read() as conn:
                pending = conn.execute(
                    select(func.count())
                    .select_from(webhook_messages)
                    .where(webhook_messages.c.status != "delivered")
                ).scalar_one()
            if pending == 0 and len(receiver.accepted()) >= result.messages:
                break
            time.sleep(0.2)
        time.sleep(0.5)  # a duplicate would arrive now
        accepted = receiver.accepted()
        ids = [d.webhook_id for d in accepted]
        result.unverified = sum(1 for d in accepted if not d.verified)
        result.credentials_delivered = len(
            {d.webhook_id for d in accepted if d.body.get("type") == "credential.issued"}
        )
        result.delivered = len(set(ids))
        result.delivered_once = sum(1 for i in set(ids) if ids.count(i) == 1)
        result.delivered_twice = len(ids) - len(set(ids))
    finally:
        db.dispose()


def main() -> SoakResult:
    """``python -m bench soak``: 100 learners, three minutes; connections dropped at 30 s,
    a SIGKILL at one minute."""
    admin_url = os.environ.get(
        "SKILLGAUGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    name = f"sg_soak_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            result = soak(url, Path(data_dir), drop_after=30.0)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print("| soak on PostgreSQL (2 web processes, 1 worker) | |\n|---|---|")
    for label, value in result.rows():
        print(f"| {label} | {value} |")
    return result
