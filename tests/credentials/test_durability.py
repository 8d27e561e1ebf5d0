"""Durability of the outbox: a server killed with SIGKILL between the award's commit and its
delivery delivers after restart, with the same webhook-id; on PostgreSQL two standalone
workers deliver 500 awards, each exactly once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import select

from engine.session import CompetencyResult, SessionResult
from tests.credentials.helpers import take
from tests.credentials.receiver import Receiver, running_receiver
from tests.credentials.test_award_flow import schema_validator
from tests.server import ServerProcess, start_server
from web.credentials import awards
from web.db.connection import Database
from web.db.migrate import migrate
from web.db.schema import webhook_attempts, webhook_messages
from web.demo import ensure_demo
from web.runtime import Runtime
from web.settings import load_settings
from web.store import authors as author_store
from web.store import sessions as session_store
from web.store import webhooks as webhook_store
from web.webhooks.secret_box import seal
from web.webhooks.signing import new_secret


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def add_endpoint(server: ServerProcess, receiver: Receiver) -> None:
    reply = httpx.post(
        server.base_url + "/api/v1/author/webhooks",
        json={"url": receiver.url},
        headers={"Authorization": f"Bearer {server.author_token}"},
        timeout=10,
    )
    assert reply.status_code == 201, reply.text
    receiver.secret = reply.json()["secret"]


def stored_messages(data_dir: Path) -> list[tuple[str, str]]:
    db = Database(f"sqlite:///{data_dir / 'skillgauge.db'}")
    try:
        with db.read() as conn:
            rows = conn.execute(select(webhook_messages.c.id, webhook_messages.c.status)).all()
        return [(r.id, r.status) for r in rows]
    finally:
        db.dispose()


FAST = {
    "SKILLGAUGE_WEBHOOK_ALLOW_PRIVATE": "1",
    "SKILLGAUGE_WEBHOOK_POLL_SECONDS": "0.1",
    "SKILLGAUGE_WEBHOOK_LEASE_SECONDS": "2",
    "SKILLGAUGE_WEBHOOK_TIMEOUT_SECONDS": "1",
}


def test_sigkill_after_commit_before_delivery_then_restart_delivers(tmp_path: Path) -> None:
    with running_receiver() as receiver:
        server = start_server(tmp_path, extra_env={**FAST, "SKILLGAUGE_WEBHOOK_WORKER": "off"})
        try:
            add_endpoint(server, receiver)
            with httpx.Client(base_url=server.base_url, timeout=10) as client:
                view = take(client, server.assessment_url.rsplit("/", 1)[1])
            assert view["result"]["passed"] is True
        finally:
            server.kill()  # committed, never delivered: no worker ran
        assert server.process.returncode == -signal.SIGKILL
        committed = stored_messages(tmp_path)
        assert sorted(status for _, status in committed) == ["pending", "pending"]
        assert receiver.deliveries == []
        restarted = start_server(tmp_path, port=server.port, extra_env=FAST)
        try:
            assert wait_for(lambda: len(receiver.accepted()) >= 2, 30)
        finally:
            restarted.stop()
        assert sorted(d.webhook_id for d in receiver.accepted()) == sorted(i for i, _ in committed)
        assert all(d.verified for d in receiver.deliveries)
        assert {s for _, s in stored_messages(tmp_path)} == {"delivered"}


def test_sigkill_during_delivery_redelivers_with_the_same_id(tmp_path: Path) -> None:
    """The attempt a SIGKILL cut short is logged as interrupted, then the message goes out."""
    with running_receiver() as receiver:
        server = start_server(tmp_path, extra_env=FAST)
        try:
            add_endpoint(server, receiver)
            receiver.plan.answers = [(200, 4.0, {})] * 2  # both first requests hang
            with httpx.Client(base_url=server.base_url, timeout=10) as client:
                take(client, server.assessment_url.rsplit("/", 1)[1])
            # Kill while the first deliveries are in flight (received, not yet answered).
            assert wait_for(lambda: len(receiver.plan.answers) == 0, 15)
        finally:
            server.kill()
        restarted = start_server(tmp_path, port=server.port, extra_env=FAST)
        try:
            assert wait_for(lambda: {s for _, s in stored_messages(tmp_path)} == {"delivered"}, 30)
            auth = {"Authorization": f"Bearer {restarted.author_token}"}
            with httpx.Client(base_url=restarted.base_url, headers=auth, timeout=10) as api:
                (endpoint,) = api.get("/api/v1/author/webhooks").json()
                for message_id, _ in stored_messages(tmp_path):
                    attempts = api.get(
                        f"/api/v1/author/webhooks/{endpoint['id']}/messages/{message_id}"
                    ).json()["attempts"]
                    states = [a["state"] for a in attempts]
                    assert states[0] == "interrupted", attempts  # the killed request
                    assert attempts[0]["status_code"] is None
                    assert "interrupted" in attempts[0]["error"]
                    assert states[-1] == "done" and attempts[-1]["status_code"] == 200
                    assert "sending" not in states
        finally:
            restarted.stop()
        ids = [i for i, _ in stored_messages(tmp_path)]
        seen: dict[str, int] = {}
        for webhook_id in receiver.arrivals:
            seen[webhook_id] = seen.get(webhook_id, 0) + 1
        assert sorted(seen) == sorted(ids)  # only these ids, each sent again after the kill
        assert all(n >= 2 for n in seen.values())
        assert all(d.verified for d in receiver.deliveries)


AWARDS = 500


def _passing() -> SessionResult:
    return SessionResult(
        competencies=tuple(
            CompetencyResult(
                competency=c,
                theta=1.5,
                se=0.3,
                items=6,
                cut_score=0.0,
                classification="pass",
                confidence=0.99,
            )
            for c in ("python-core", "pandas-wrangling", "numpy-stats", "data-cleaning")
        ),
        items=24,
        pretest_items=0,
        finished=True,
        stop_reason="every skill was measured precisely enough",
    )


def test_postgres_two_workers_deliver_500_awards_exactly_once(
    postgres_url: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        **FAST,
        "SKILLGAUGE_DATABASE_URL": postgres_url,
        "SKILLGAUGE_DATA_DIR": str(tmp_path / "var"),
        "SKILLGAUGE_SECRET_KEY": "pg-test-secret-" + "y" * 40,
        "SKILLGAUGE_WEBHOOK_LEASE_SECONDS": "60",
        "SKILLGAUGE_WEBHOOK_WORKER": "off",
    }
    settings = load_settings(env)
    db = Database(postgres_url)
    migrate(db)
    rt = Runtime(settings, db)
    info = ensure_demo(rt)
    assessment_id = info.assessment_url.rsplit("/", 1)[1]
    with running_receiver() as receiver:
        secret = new_secret()
        receiver.secret = secret
        with db.write() as conn:
            author = author_store.author_for_token(conn, info.author_token)
            assert author is not None
            webhook_store.create_endpoint(
                conn,
                owner_id=author.id,
                org_id=author.org_id,
                url=receiver.url,
                description="load",
                event_types=["credential.issued"],
                sealed_secret=seal(settings.secret_key, secret),
            )
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "skillgauge", "worker"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(2)
        ]
        try:
            for worker in workers:  # both polling before the first award: both get a share
                assert worker.stdout is not None
                assert worker.stdout.readline().startswith("delivering webhooks"), "no start"
            started = time.monotonic()
            with db.read() as conn:
                assessment = rt.assessment(conn, assessment_id)
                compiled = rt.compiled(conn, assessment.bank_hash)
            engine = rt.engine_session(compiled, assessment.policy)
            result = _passing()
            for n in range(AWARDS):
                with db.write() as conn:
                    sid = session_store.create_session(
                        conn,
                        assessment_id=assessment_id,
                        state=engine.start(n),
                        learner_name=f"Learner {n}",
                        learner_email=f"learner{n}@example.org",
                        deadline=None,
                    )
                    record = session_store.load_session(conn, sid)
                    assert record is not None
                    completion = awards.prepare(
                        rt,
                        conn,
                        assessment=assessment,
                        compiled=compiled,
                        record=record,
                        result=result,
                        now=datetime.now(UTC),
                    )
                    awards.write(conn, completion)
            issued = time.monotonic() - started
            assert wait_for(lambda: len(receiver.accepted()) >= AWARDS, 120)
            elapsed = time.monotonic() - started
            time.sleep(0.5)  # anything duplicated would arrive now
        finally:
            outputs = []
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
                out, _ = worker.communicate(timeout=30)
                outputs.append(out)
        attempts = [int(re.findall(r"stopped after (\d+) attempt", o)[-1]) for o in outputs]
        with db.read() as conn:
            failed = [
                (row.message_id, row.error or f"HTTP {row.status_code}")
                for row in conn.execute(
                    select(
                        webhook_attempts.c.message_id,
                        webhook_attempts.c.error,
                        webhook_attempts.c.status_code,
                    ).where(
                        (webhook_attempts.c.error.is_not(None))
                        | (webhook_attempts.c.status_code.is_(None))
                        | (webhook_attempts.c.status_code >= 300)
                    )
                )
            ]
        # Both workers claimed from the same outbox (SKIP LOCKED), between them once each: an
        # attempt beyond one per award is only ever the retry of a recorded failure (on a
        # saturated machine a reply can miss the sender's time limit; Standard Webhooks is
        # at-least-once, so that message may then arrive twice, under one webhook-id).
        assert min(attempts) > 0 and sum(attempts) == AWARDS + len(failed), (attempts, failed)
        ids = [d.webhook_id for d in receiver.deliveries]
        assert len(set(ids)) == AWARDS, "every award delivered"
        twice = {i for i in ids if ids.count(i) > 1}
        retried = {message_id for message_id, _ in failed}  # a message's id is its webhook-id
        assert twice <= retried, "only a retried message may arrive twice"
        assert all(d.verified for d in receiver.deliveries)
        validator = schema_validator()
        for delivery in receiver.deliveries:  # every issued credential passes the schema
            assert not list(validator.iter_errors(delivery.body["data"]["credential"]))
        with db.read() as conn:
            statuses = conn.execute(select(webhook_messages.c.status)).scalars().all()
        assert statuses.count("delivered") == AWARDS
        print(
            f"\n{AWARDS} awards issued (signed, committed) in {issued:.1f} s, all delivered "
            f"by 2 workers after {elapsed:.1f} s: {[o.splitlines()[-1] for o in outputs]}"
        )
    db.dispose()
