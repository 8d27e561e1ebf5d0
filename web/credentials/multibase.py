"""Multibase base58btc and the Multikey encoding of Ed25519 public keys.

A Multikey ``publicKeyMultibase`` is ``z`` + base58btc(multicodec prefix + raw key); the
multicodec prefix of an Ed25519 public key is the varint of 0xed, ``0xed 0x01``
(W3C Controlled Identifiers 1.0, section 2.2.2; multicodec table).
"""

from __future__ import annotations

import base58

ED25519_PUB = b"\xed\x01"


class MultibaseError(ValueError):
    """A value is not base58btc multibase, or not the expected key type."""


def encode_base58btc(data: bytes) -> str:
    """``z`` + base58btc(data) (Bitcoin alphabet)."""
    return "z" + base58.b58encode(data).decode("ascii")


def decode_base58btc(value: str) -> bytes:
    """Inverse of :func:`encode_base58btc`."""
    if not value.startswith("z"):
        raise MultibaseError("not base58btc multibase (it must start with 'z')")
    try:
        return base58.b58decode(value[1:])
    except ValueError as exc:
        raise MultibaseError(f"not base58btc: {exc}") from None


def ed25519_multikey(raw_public: bytes) -> str:
    """The ``publicKeyMultibase`` of a 32-byte Ed25519 public key (``z6Mk...``)."""
    if len(raw_public) != 32:
        raise MultibaseError("an Ed25519 public key has 32 bytes")
    return encode_base58btc(ED25519_PUB + raw_public)


def ed25519_from_multikey(value: str) -> bytes:
    """The raw 32-byte Ed25519 public key of a ``publicKeyMultibase``."""
    data = decode_base58btc(value)
    if not data.startswith(ED25519_PUB) or len(data) != 34:
        raise MultibaseError("not an Ed25519 Multikey")
    return data[2:]
