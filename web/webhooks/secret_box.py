"""Endpoint secrets are stored encrypted (AES-256-GCM, key derived from the secret key).

The service must be able to read a secret back to sign each delivery, so it cannot store a
hash; encrypting it keeps a copy of the database alone from being enough to forge webhooks.
The key is HKDF-SHA256 of ``SKILLGAUGE_SECRET_KEY`` with a purpose label (RFC 5869).
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from web.errors import ConfigurationError

_PREFIX = "v1:"


def _key(secret_key: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"skillgauge webhook secrets"
    ).derive(secret_key.encode("utf-8"))


def seal(secret_key: str, plaintext: str) -> str:
    """Encrypt an endpoint secret for storage."""
    nonce = os.urandom(12)
    sealed = AESGCM(_key(secret_key)).encrypt(nonce, plaintext.encode("utf-8"), b"whsec")
    return _PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


def unseal(secret_key: str, stored: str) -> str:
    """Decrypt a stored endpoint secret.

    Raises
    ------
    ConfigurationError
        The secret key changed since the endpoint was created.
    """
    if not stored.startswith(_PREFIX):
        raise ConfigurationError("a stored webhook secret has an unknown format")
    raw = base64.b64decode(stored[len(_PREFIX) :])
    try:
        plain = AESGCM(_key(secret_key)).decrypt(raw[:12], raw[12:], b"whsec")
    except InvalidTag:
        raise ConfigurationError(
            "a webhook secret cannot be decrypted: SKILLGAUGE_SECRET_KEY changed since the "
            "endpoint was created; create the endpoint again"
        ) from None
    return plain.decode("utf-8")
