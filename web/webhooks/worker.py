"""The delivery worker: sends outbox messages, retries with backoff, disables dead endpoints.

Each round claims due messages (see :func:`web.store.webhooks.claim_due`), sends them
concurrently, and records every attempt (time, status, latency, a response excerpt).

- A 2xx answer delivers the message.
- ``410 Gone`` disables the endpoint at once, saying so to its author, and parks the message:
  it stays pending and goes out, with the endpoint's other waiting messages, when the
  author enables the endpoint again.
- The request as a whole has ``SKILLGAUGE_WEBHOOK_TIMEOUT_SECONDS`` (15 s), however slowly
  the receiver trickles its answer.
- Anything else (another status, a timeout, a refused connection, an address the policy
  refuses) schedules the next attempt after the next delay of the retry schedule (default
  5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 10 h: about a day and a half), with +-10 %
  jitter so retries of many messages do not arrive together; a ``Retry-After`` header
  (seconds or an HTTP date, capped at a day) is honoured when it asks for longer. After the
  last delay the message is marked failed; the author can redeliver it.
- An endpoint with no success for ``SKILLGAUGE_WEBHOOK_DISABLE_AFTER_HOURS`` (5 days) is
  disabled, with the last error as the reason.

Every attempt of a message carries the same ``webhook-id``; the timestamp and signature are
those of the attempt (receivers reject signatures older than five minutes). An attempt is
logged when its message is claimed and completed with its outcome; one whose worker was
killed mid-request shows as ``interrupted`` once the message is claimed again.

An idle worker sleeps until the next message falls due (:func:`wait_seconds`), at most
``SKILLGAUGE_WEBHOOK_POLL_SECONDS`` (for messages other processes enqueue), and wakes at
once when its own process commits one; retries go out on their schedule, not up to a
polling interval late.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from web.db.connection import Database, utcnow
from web.errors import ConfigurationError
from web.lti.scores import ScorePoster
from web.settings import Settings
from web.store import webhooks as store
from web.webhooks.retry import retry_delay
from web.webhooks.secret_box import unseal
from web.webhooks.signing import sign_headers
from web.webhooks.ssrf import AddressRefusedError, resolve

log = logging.getLogger("skillgauge.webhooks")

EXCERPT_BYTES = 1024
MAX_RETRY_AFTER = 24 * 3600.0
USER_AGENT = "Skillgauge-Webhooks/1"


@dataclass(frozen=True)
class Outcome:
    """What one attempt got."""

    status_code: int | None
    latency_ms: int
    error: str | None = None
    excerpt: str | None = None
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        """A 2xx answer."""
        return self.status_code is not None and 200 <= self.status_code < 300


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (RFC 9110, section 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return min(max(0.0, (moment - now).total_seconds()), MAX_RETRY_AFTER)


def wait_seconds(now: datetime, due: datetime | None, poll: float) -> float:
    """How long an idle worker sleeps: until ``due`` (the next message's time), at most ``poll``.

    ``due`` None (nothing waiting) sleeps ``poll``; a message already due sleeps 0.
    """
    if due is None:
        return poll
    return min(poll, max(0.0, (due - now).total_seconds()))


class _Deadline:
    """A whole-request time limit: httpx's timeouts bound each read, not the request.

    A receiver that trickles its response one byte a second never trips a per-read timeout.
    When the limit passes, the request's socket is shut down from a timer thread, which
    wakes the blocked read with an error; the socket is learnt from httpcore's ``trace``
    events as the connection is made (and again when TLS wraps it).
    """

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """Serve as httpcore's ``trace`` extension: remember each new connection's socket."""
        if event in {"connection.connect_tcp.complete", "connection.start_tls.complete"}:
            with self._lock:
                self._socket = info["return_value"].get_extra_info("socket")
                if self.expired:
                    self._shut()

    def cancel(self) -> None:
        """The request finished in time."""
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shut()

    def _shut(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):  # already closed: nothing to wake
                self._socket.shutdown(socket.SHUT_RDWR)


class Sender:
    """Sends one signed request, to the address the SSRF policy checked.

    Each request has its own connection (no keep-alive), so the whole-request deadline
    always knows the socket to shut.
    """

    def __init__(
        self,
        *,
        timeout: float,
        allow_private: bool,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.timeout = timeout
        self.allow_private = allow_private
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_keepalive_connections=0),
            follow_redirects=False,
            transport=transport,
            headers={"user-agent": USER_AGENT},
        )

    def close(self) -> None:
        """Close pooled connections."""
        self.client.close()

    def send(self, url: str, headers: dict[str, str], body: bytes, now: datetime) -> Outcome:
        """POST ``body`` to ``url``; never raises for network trouble."""
        started = time.monotonic()

        def elapsed() -> int:
            return int(1000 * (time.monotonic() - started))

        try:
            target = resolve(url, self.allow_private)
        except AddressRefusedError as exc:
            return Outcome(None, elapsed(), error=f"refused: {exc}")
        request_headers = {
            **headers,
            "content-type": "application/json",
            "host": target.host_header,
        }
        deadline = _Deadline(self.timeout)
        extensions: dict[str, Any] = {"trace": deadline.trace}
        if target.scheme == "https":
            extensions["sni_hostname"] = target.host
        try:
            request = self.client.build_request(
                "POST",
                target.connect_url(),
                content=body,
                headers=request_headers,
                extensions=extensions,
            )
            response = self.client.send(request, stream=True)
            try:
                chunk = b""
                for part in response.iter_bytes():
                    chunk += part
                    if len(chunk) >= EXCERPT_BYTES:
                        break
            finally:
                response.close()
        except httpx.HTTPError as exc:
            if deadline.expired or isinstance(exc, httpx.TimeoutException):
                return Outcome(None, elapsed(), error=f"timed out after {self.timeout:g} s")
            return Outcome(None, elapsed(), error=f"connection failed: {exc}")
        finally:
            deadline.cancel()
        if deadline.expired:  # the body was cut short: the receiver did not answer in time
            return Outcome(None, elapsed(), error=f"timed out after {self.timeout:g} s")
        excerpt = chunk[:EXCERPT_BYTES].decode("utf-8", errors="replace")[:500] or None
        return Outcome(
            response.status_code,
            elapsed(),
            excerpt=excerpt,
            retry_after=parse_retry_after(response.headers.get("retry-after"), now),
        )


class DeliveryWorker:
    """Claims and sends due messages; one per process (thread) or ``skillgauge worker``."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        sender: Sender | None = None,
        rng: random.Random | None = None,
        concurrency: int = 8,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.sender = sender or Sender(
            timeout=settings.webhook_timeout_seconds,
            allow_private=settings.webhook_allow_private,
        )
        self.rng = rng or random.Random()
        # A round claims no more than it sends at once, so every claimed message is sent
        # within one timeout of its claim: well inside the lease (see Settings).
        self.batch = concurrency
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="webhook")
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent_total = 0
        # LTI scores (AGS) share this worker's rounds, retry schedule and address policy.
        self.scores = ScorePoster(db, settings, clock=clock, rng=self.rng)

    # -- one round -----------------------------------------------------------------------

    def run_once(self) -> int:
        """One round of webhooks and LTI scores; return how many were sent."""
        return self._webhooks_once() + self.scores.run_once()

    def _webhooks_once(self) -> int:
        """Claim due messages, send them, record the outcomes; return how many were sent."""
        lease = timedelta(seconds=self.settings.webhook_lease_seconds)
        with self.db.read() as conn:
            if not store.has_due(conn, self.clock()):
                return 0
        with self.db.write() as conn:
            claimed = store.claim_due(conn, now=self.clock(), limit=self.batch, lease=lease)
        if not claimed:
            return 0
        attempts = {self.pool.submit(self._attempt, message): message for message in claimed}
        for done in as_completed(attempts):  # record each as soon as it is known
            attempted_at, outcome = done.result()
            self._record(attempts[done], attempted_at, outcome)
        self.sent_total += len(claimed)
        return len(claimed)

    def drain(self, limit: int = 10_000) -> int:
        """Run rounds until nothing is due (tests and the standalone worker's first pass)."""
        total = 0
        while total < limit:
            sent = self.run_once()
            if sent == 0:
                break
            total += sent
        return total

    def _attempt(self, message: store.Claimed) -> tuple[datetime, Outcome]:
        attempted_at = self.clock()
        try:
            secret = unseal(self.settings.secret_key, message.sealed_secret)
        except ConfigurationError as exc:
            return attempted_at, Outcome(None, 0, error=str(exc))
        headers = sign_headers(secret, message.id, attempted_at, message.payload)
        return attempted_at, self.sender.send(message.url, headers, message.payload, attempted_at)

    def _record(self, message: store.Claimed, attempted_at: datetime, outcome: Outcome) -> None:
        now = self.clock()
        schedule = self.settings.webhook_retry_schedule
        with self.db.write() as conn:
            store.log_attempt(
                conn,
                attempt_id=message.attempt_id,
                attempted_at=attempted_at,
                status_code=outcome.status_code,
                latency_ms=outcome.latency_ms,
                error=outcome.error,
                response_excerpt=outcome.excerpt,
            )
            if outcome.delivered:
                store.finish_claim(
                    conn,
                    message,
                    status="delivered",
                    next_attempt_at=now,
                    retry_step=message.retry_step,
                    last_status=outcome.status_code,
                    last_error=None,
                    delivered_at=now,
                )
                store.endpoint_succeeded(conn, message.endpoint_id)
                return
            problem = outcome.error or f"HTTP {outcome.status_code}"
            if outcome.status_code == 410:
                store.finish_claim(  # parked: it goes out when the endpoint is enabled again
                    conn,
                    message,
                    status="pending",
                    next_attempt_at=now,
                    retry_step=message.retry_step,
                    last_status=410,
                    last_error="the receiver answered 410 Gone; the message waits until the "
                    "endpoint is enabled again",
                    delivered_at=None,
                )
                store.set_endpoint_status(
                    conn,
                    message.endpoint_id,
                    "disabled",
                    f"the receiver answered 410 Gone on {now:%Y-%m-%d %H:%M} UTC, which "
                    "means it no longer wants these messages",
                )
                return
            delay = retry_delay(schedule, message.retry_step, self.rng)
            if delay is None:
                store.finish_claim(
                    conn,
                    message,
                    status="failed",
                    next_attempt_at=now,
                    retry_step=message.retry_step,
                    last_status=outcome.status_code,
                    last_error=f"gave up after {message.retry_step + 1} attempts: {problem}",
                    delivered_at=None,
                )
            else:
                if outcome.retry_after is not None:
                    delay = max(delay, outcome.retry_after)
                store.finish_claim(
                    conn,
                    message,
                    status="pending",
                    next_attempt_at=now + timedelta(seconds=delay),
                    retry_step=message.retry_step + 1,
                    last_status=outcome.status_code,
                    last_error=problem,
                    delivered_at=None,
                )
            since = store.endpoint_failed(conn, message.endpoint_id, now)
            limit = timedelta(hours=self.settings.webhook_disable_after_hours)
            if now - since >= limit:
                store.set_endpoint_status(
                    conn,
                    message.endpoint_id,
                    "disabled",
                    f"every delivery since {since:%Y-%m-%d %H:%M} UTC failed (the last: "
                    f"{problem}); fix the receiver, then enable the endpoint again",
                )

    # -- running -------------------------------------------------------------------------

    def start(self) -> None:
        """Run in a background thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self.run_forever, name="webhook-worker", daemon=True)
        self._thread.start()

    def idle_wait(self) -> float:
        """Seconds to sleep now: until the next message is due, at most the poll interval."""
        poll = self.settings.webhook_poll_seconds
        try:
            with self.db.read() as conn:
                due = store.next_due(conn)
            scores_due = self.scores.next_due()
            if scores_due is not None and (due is None or scores_due < due):
                due = scores_due
        except Exception:  # the database is away: look again after the poll interval
            log.exception("webhook worker could not read the next due time")
            return poll
        return wait_seconds(self.clock(), due, poll)

    def run_forever(self) -> None:
        """Deliver until stopped; when nothing is due, sleep until the next message is."""
        while not self._stop.is_set():
            try:
                sent = self.run_once()
            except Exception:  # keep delivering after a database hiccup
                log.exception("webhook delivery round failed")
                sent = 0
            if sent == 0:
                self.wake.wait(self.idle_wait())
                self.wake.clear()

    def request_stop(self) -> None:
        """Ask the loop to stop after the current round (safe in a signal handler)."""
        self._stop.set()
        self.wake.set()

    def stop(self) -> None:
        """Stop the loop and release connections."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.webhook_timeout_seconds + 5)
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.sender.close()
