"""Standard Webhooks signatures (spec v1.0.0), made with the reference ``standardwebhooks``.

Each delivery carries ``webhook-id`` (the message id, the same on every retry, so receivers
can drop duplicates), ``webhook-timestamp`` (seconds since the epoch, of this attempt) and
``webhook-signature: v1,<base64 HMAC-SHA256>`` over ``id.timestamp.body``, keyed with the
base64-decoded part of the endpoint's ``whsec_`` secret.
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A new endpoint secret: ``whsec_`` + base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def new_message_id() -> str:
    """A message id (``msg_`` + 128 random bits, URL-safe)."""
    return "msg_" + secrets.token_urlsafe(16)


def sign_headers(secret: str, message_id: str, timestamp: datetime, body: bytes) -> dict[str, str]:
    """The three headers of one delivery attempt."""
    moment = timestamp.astimezone(UTC)
    signature = Webhook(secret).sign(message_id, moment, body.decode("utf-8"))
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature,
    }
