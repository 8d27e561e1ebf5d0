"""A real webhook receiver on loopback that checks every delivery with ``standardwebhooks``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Plan:
    """How to answer the next requests: (status, delay seconds, headers), then 200."""

    answers: list[tuple[int, float, dict[str, str]]] = field(default_factory=list)


@dataclass
class Delivery:
    """One request as received."""

    webhook_id: str
    body: dict[str, Any]
    verified: bool
    status: int


class Receiver:
    """Records deliveries; answers by plan; verifies signatures when it knows the secret."""

    def __init__(self, port: int = 0) -> None:
        self.secret: str | None = None
        self.plan = Plan()
        self.deliveries: list[Delivery] = []
        self.arrivals: list[str] = []  # webhook-ids as they arrive, before any delay
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                raw = self.rfile.read(length)
                with receiver.lock:
                    receiver.arrivals.append(self.headers.get("webhook-id", ""))
                    status, delay, headers = (
                        receiver.plan.answers.pop(0) if receiver.plan.answers else (200, 0.0, {})
                    )
                if delay:
                    time.sleep(delay)
                verified = False
                if receiver.secret is not None:
                    try:
                        Webhook(receiver.secret).verify(raw, dict(self.headers.items()))
                        verified = True
                    except WebhookVerificationError:
                        verified = False
                with receiver.lock:
                    receiver.deliveries.append(
                        Delivery(
                            webhook_id=self.headers.get("webhook-id", ""),
                            body=json.loads(raw),
                            verified=verified,
                            status=status,
                        )
                    )
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender gave up (timeout)

            def log_message(self, format: str, *args: Any) -> None:
                del format, args

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # several workers connect at once

        self.server = Server(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def accepted(self) -> list[Delivery]:
        """Deliveries answered 2xx."""
        with self.lock:
            return [d for d in self.deliveries if 200 <= d.status < 300]


@contextmanager
def running_receiver(port: int = 0) -> Iterator[Receiver]:
    receiver = Receiver(port)
    receiver.thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
