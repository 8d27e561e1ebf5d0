"""The Standard Webhooks signing vector reproduces, and the reference verifier accepts ours."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.credentials.specs import spec_json
from web.webhooks.signing import new_message_id, new_secret, sign_headers


def test_standard_webhooks_vector() -> None:
    vector = spec_json("standard-webhooks/vector.json")
    moment = datetime.fromtimestamp(int(vector["webhook-timestamp"]), UTC)
    headers = sign_headers(
        vector["secret"], vector["webhook-id"], moment, vector["payload"].encode()
    )
    assert headers == {
        "webhook-id": vector["webhook-id"],
        "webhook-timestamp": vector["webhook-timestamp"],
        "webhook-signature": vector["webhook-signature"],
    }


def test_our_signatures_verify_with_the_reference_library_and_tampering_fails() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 24
    body = b'{"type":"credential.issued","data":{"x":"\xc3\xa9"}}'
    headers = sign_headers(secret, new_message_id(), datetime.now(UTC), body)
    assert Webhook(secret).verify(body, headers)["type"] == "credential.issued"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"issued", b"revoked"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
