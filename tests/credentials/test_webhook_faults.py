"""Webhook delivery under faults, against a real receiver on loopback, with a fake clock.

The receiver verifies every signature with the reference ``standardwebhooks`` library;
retries keep the ``webhook-id``. Schedules are short and the clock is moved by hand: no test
sleeps through a backoff.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.credentials.helpers import take
from tests.credentials.receiver import running_receiver
from tests.server import free_port
from tests.web.conftest import Site, open_site
from web.db.connection import utcnow
from web.db.schema import webhook_endpoints, webhook_messages
from web.webhooks.worker import DeliveryWorker, wait_seconds

SETTINGS = {
    "SKILLGAUGE_WEBHOOK_WORKER": "off",
    "SKILLGAUGE_WEBHOOK_ALLOW_PRIVATE": "1",
    "SKILLGAUGE_WEBHOOK_RETRY_SCHEDULE": "2,4,8",
    "SKILLGAUGE_WEBHOOK_TIMEOUT_SECONDS": "0.5",
    "SKILLGAUGE_WEBHOOK_DISABLE_AFTER_HOURS": "0.01",
}


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def fault_site(sqlite_url: str, tmp_path: Path) -> Iterator[Site]:
    yield from open_site(sqlite_url, tmp_path, **SETTINGS)


def endpoint(site: Site, url: str, events: list[str] | None = None) -> tuple[str, str]:
    body: dict[str, Any] = {"url": url, "event_types": events or ["credential.issued"]}
    reply = site.client.post("/api/v1/author/webhooks", json=body, headers=site.auth())
    assert reply.status_code == 201, reply.text
    return reply.json()["endpoint"]["id"], reply.json()["secret"]


def messages(site: Site) -> list[Any]:
    with site.runtime.db.read() as conn:
        return list(conn.execute(select(webhook_messages)).all())


def log(site: Site, endpoint_id: str, message_id: str) -> list[dict[str, Any]]:
    reply = site.client.get(
        f"/api/v1/author/webhooks/{endpoint_id}/messages/{message_id}", headers=site.auth()
    )
    return reply.json()["attempts"]  # type: ignore[no-any-return]


def test_500_then_recovery_keeps_the_webhook_id(fault_site: Site) -> None:
    site = fault_site
    clock = Clock()
    with running_receiver() as receiver:
        ep, receiver.secret = endpoint(site, receiver.url)
        receiver.plan.answers = [(500, 0, {}), (500, 0, {})]
        take(site.client, site.assessment_id)
        clock.now = utcnow()
        work = DeliveryWorker(site.runtime.db, site.runtime.settings, clock=clock)
        assert work.run_once() == 1
        assert work.run_once() == 0  # not due yet: backoff
        clock.advance(2.5)
        assert work.run_once() == 1
        clock.advance(5)
        assert work.run_once() == 1
        assert [d.status for d in receiver.deliveries] == [500, 500, 200]
        assert len({d.webhook_id for d in receiver.deliveries}) == 1
        assert all(d.verified for d in receiver.deliveries)
        (message,) = messages(site)
        assert message.status == "delivered" and message.id == receiver.deliveries[0].webhook_id
        attempts = log(site, ep, message.id)
        assert [a["status_code"] for a in attempts] == [500, 500, 200]
        assert all(a["latency_ms"] >= 0 for a in attempts)
        assert attempts[0]["response_excerpt"] == "ok"


def test_timeout_then_delivery(fault_site: Site) -> None:
    site = fault_site
    clock = Clock()
    with running_receiver() as receiver:
        ep, receiver.secret = endpoint(site, receiver.url)
        receiver.plan.answers = [(200, 1.5, {})]  # answers too late the first time
        take(site.client, site.assessment_id)
        clock.now = utcnow()
        work = DeliveryWorker(site.runtime.db, site.runtime.settings, clock=clock)
        work.run_once()
        (message,) = messages(site)
        assert message.status == "pending" and "timed out" in message.last_error
        clock.advance(3)
        work.run_once()
        (message,) = messages(site)
        assert message.status == "delivered"
        ids = {d.webhook_id for d in receiver.deliveries}
        assert ids == {message.id}
        assert "timed out" in (log(site, ep, message.id)[0]["error"] or "")


def test_receiver_down_when_the_award_happens(fault_site: Site) -> None:
    site = fault_site
    clock = Clock()
    port = free_port()
    _, secret = endpoint(site, f"http://127.0.0.1:{port}/hooks")
    take(site.client, site.assessment_id)
    clock.now = utcnow()
    work = DeliveryWorker(site.runtime.db, site.runtime.settings, clock=clock)
    work.run_once()
    (message,) = messages(site)
    assert message.status == "pending" and "connection failed" in message.last_error
    with running_receiver(port) as receiver:
        receiver.secret = secret
        clock.advance(3)
        work.run_once()
        assert [d.webhook_id for d in receiver.accepted()] == [message.id]
        assert receiver.deliveries[0].verified
        assert receiver.deliveries[0].body["type"] == "credential.issued"


def test_410_disables_the_endpoint_and_re_enabling_sends_the_parked_message(
    fault_site: Site,
) -> None:
    site = fault_site
    clock = Clock()
    with running_receiver() as receiver:
        ep, receiver.secret = endpoint(site, receiver.url)
        receiver.plan.answers = [(410, 0, {})]
        take(site.client, site.assessment_id)
        clock.now = utcnow()
        work = DeliveryWorker(site.runtime.db, site.runtime.settings, clock=clock)
        work.run_once()
        detail = site.client.get(f"/api/v1/author/webhooks/{ep}", headers=site.auth()).json()
        assert detail["endpoint"]["status"] == "disabled"
        assert "410 Gone" in detail["endpoint"]["disabled_reason"]
        parked = detail["messages"][0]
        assert parked["status"] == "pending"  # parked, not failed: it waits for the endpoint
        assert "waits until the endpoint is enabled again" in parked["last_error"]
        page = site.client.get(f"/author/webhooks/{ep}")  # the author's page says so too
        assert page.status_code in (200, 303)
        take(site.client, site.assessment_id, seed=5)  # later awards wait while disabled
        clock.advance(3600)
        assert work.run_once() == 0
        assert len(receiver.deliveries) == 1
        assert len(messages(site)) == 2
        # The author fixes the receiver and enables the endpoint: nothing else to do.
        enabled = site.client.post(f"/api/v1/author/webhooks/{ep}/enable", headers=site.auth())
        assert enabled.status_code < 300, enabled.text
        clock.now = utcnow()
        work.drain()
        accepted = [d.webhook_id for d in receiver.accepted()]
        assert sorted(accepted) == sorted(m.id for m in messages(site))
        assert parked["id"] in accepted  # the message answered 410 went out too
        assert {m.status for m in messages(site)} == {"delivered"}
        assert [a["status_code"] for a in log(site, ep, parked["id"])] == [410, 200]


def test_a_message_failed_by_410_before_parking_existed_goes_out_on_enable(
    fault_site: Site,
) -> None:
    """Rows a 410 marked failed (before messages were parked) are re-queued by enabling."""
    site = fault_site
    with running_receiver() as receiver:
        ep, receiver.secret = endpoint(site, receiver.url)
        take(site.client, site.assessment_id)
        (message,) = messages(site)
        with site.runtime.db.write() as conn:
            conn.execute(
                update(webhook_messages)
                .where(webhook_messages.c.id == message.id)
                .values(status="failed", last_status=410, last_error="the receiver answered 410")
            )
            conn.execute(
                update(webhook_endpoints)
                .where(webhook_endpoints.c.id == ep)
                .values(status="disabled", disabled_reason="410")
            )
        site.client.post(f"/api/v1/author/webhooks/{ep}/enable", headers=site.auth())
        DeliveryWorker(site.runtime.db, site.runtime.settings).drain()
        assert [d.webhook_id for d in receiver.accepted()] == [message.id]


def test_retry_after_is_honoured(fault_site: Site) -> None:
    site = fault_site
    clock = Clock()
    with running_receiver() as receiver:
        _, receiver.secret = endpoint(site, receiver.url)
        receiver.plan.answers = [(503, 0, {"Retry-After": "120"})]
        take(site.client, site.assessment_id)
        clock.now = utcnow()
        work = DeliveryWorker(site.runtime.db, site.runtime.settings, clock=clock)
        work.run_once()
        (message,) = messages(site)
        wait = (
            message.next_attempt_at.replace(tzinfo=clock.now.tzinfo) - clock.now
        ).total_seconds()
        assert 119 <= wait <= 121  # the schedule said 2 s; the receiver asked for 120
        clock.advance(60)
        assert work.run_once() == 0
        clock.advance(61)
        assert work.run_once() == 1
        assert receiver.accepted()[0].webhook_id == message.id


def test_an_endpoint_failing_for_long_is_disabled(fault_site: Site) -> None:
    site = fault_site
    clock = Clock()
    with running_receiver() as receiver:
        ep, receiver.secret = endpoint(site, receiver.url)
        receiver.plan.answers = [(500, 0, {})] * 10
        take(site.client, site.assessment_id)
        clock.now = utcnow()
        work = DeliveryWorker(site.runtime.db, site.runtime.settings, clock=clock)
        work.run_once()
        clock.advance(40)  # past the 0.01 h (36 s) limit of this test's settings
        work.run_once()
        detail = site.client.get(f"/api/v1/author/webhooks/{ep}", headers=site.auth()).json()
        assert detail["endpoint"]["status"] == "disabled"
        assert "HTTP 500" in detail["endpoint"]["disabled_reason"]


def test_private_addresses_are_refused_unless_allowed(sqlite_url: str, tmp_path: Path) -> None:
    strict = {**SETTINGS, "SKILLGAUGE_WEBHOOK_ALLOW_PRIVATE": ""}
    for site in open_site(sqlite_url, tmp_path, **strict):
        refused = site.client.post(
            "/api/v1/author/webhooks",
            json={"url": "http://169.254.169.254/latest"},
            headers=site.auth(),
        )
        assert refused.status_code == 422
        # A name that resolves to loopback passes the form but every delivery is refused.
        ep, _ = endpoint(site, "http://localhost:9/hooks")
        take(site.client, site.assessment_id)
        DeliveryWorker(site.runtime.db, site.runtime.settings).run_once()
        (message,) = messages(site)
        assert message.status == "pending"
        assert message.last_error.startswith("refused:")
        assert log(site, ep, message.id)[0]["status_code"] is None


def test_redeliver_sends_a_delivered_message_again_with_its_id(fault_site: Site) -> None:
    site = fault_site
    with running_receiver() as receiver:
        ep, receiver.secret = endpoint(site, receiver.url)
        take(site.client, site.assessment_id)
        work = DeliveryWorker(site.runtime.db, site.runtime.settings)
        work.drain()
        (message,) = messages(site)
        again = site.client.post(
            f"/api/v1/author/webhooks/{ep}/messages/{message.id}/redeliver", headers=site.auth()
        )
        assert again.status_code == 202
        work.drain()
        assert [d.webhook_id for d in receiver.accepted()] == [message.id, message.id]


@pytest.mark.parametrize(
    ("due_in", "poll", "expected"),
    [
        (None, 1.0, 1.0),  # nothing waiting: look again after the poll interval
        (0.25, 1.0, 0.25),  # a retry due before the next poll: wake exactly then
        (5.0, 1.0, 1.0),  # due later: the poll interval bounds the sleep
        (-3.0, 1.0, 0.0),  # already due: no sleep
        (0.0, 30.0, 0.0),
        (12.5, 30.0, 12.5),
    ],
)
def test_wait_seconds_wakes_at_the_due_time(
    due_in: float | None, poll: float, expected: float
) -> None:
    now = utcnow()
    due = None if due_in is None else now + timedelta(seconds=due_in)
    assert wait_seconds(now, due, poll) == pytest.approx(expected, abs=1e-6)


class RecordingWake:
    """Stands in for the worker's wake event: records each sleep and stops the loop."""

    def __init__(self, worker: DeliveryWorker) -> None:
        self.worker = worker
        self.timeouts: list[float] = []

    def wait(self, timeout: float) -> bool:
        self.timeouts.append(timeout)
        self.worker.request_stop()
        return False

    def set(self) -> None:
        pass

    def clear(self) -> None:
        pass


def test_the_idle_worker_sleeps_until_the_retry_is_due(fault_site: Site) -> None:
    """After a failed attempt the loop sleeps exactly until the retry's time (not a poll)."""
    site = fault_site
    clock = Clock()
    with running_receiver() as receiver:
        _, receiver.secret = endpoint(site, receiver.url)
        receiver.plan.answers = [(500, 0, {})]
        take(site.client, site.assessment_id)
        clock.now = utcnow()
        work = DeliveryWorker(site.runtime.db, site.runtime.settings, clock=clock)
        assert work.run_once() == 1
        (message,) = messages(site)
        due = message.next_attempt_at.replace(tzinfo=clock.now.tzinfo)
        gap = (due - clock.now).total_seconds()
        assert 1.8 <= gap <= 2.2  # the schedule's 2 s, with +-10 % jitter
        clock.now = due - timedelta(seconds=0.3)  # 0.3 s before the retry is due
        recorder = RecordingWake(work)
        work.wake = recorder  # type: ignore[assignment]
        work.run_forever()  # one idle round: nothing due yet, so it sleeps
        assert recorder.timeouts == [pytest.approx(0.3, abs=1e-3)]
        assert work.settings.webhook_poll_seconds == 1.0  # the old behaviour slept 1 s
        clock.now = due
        assert work.idle_wait() == 0.0
        assert work.run_once() == 1  # due: sent at once
        assert [d.status for d in receiver.deliveries] == [500, 200]
