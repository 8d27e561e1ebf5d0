"""W3C Bitstring Status List v1.0: the revocation list credentials point into.

A list is a bitstring of at least 131,072 entries (16 KB, the minimum the specification
sets for herd privacy); bit ``i`` is 1 when the credential with ``statusListIndex`` ``i`` is
revoked. Index 0 is the left-most (most significant) bit of the first byte. The published
``encodedList`` is the multibase base64url (``u`` prefix, no padding) of the GZIP-compressed
bitstring (specification section 3.2). Indexes are handed out at random, as section 6.4 (herd
privacy) recommends, so a credential's index says nothing about when it was issued.
"""

from __future__ import annotations

import base64
import gzip
import zlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from web.credentials.data_integrity import xsd_datetime
from web.credentials.documents import CREDENTIALS_V2

LIST_SIZE = 131_072
# A list takes new credentials until this share of it is used; then a new list starts,
# so random indexes keep finding a free slot in a couple of tries.
FILL_LIMIT = LIST_SIZE // 2
MAX_COMPRESSED = 4 * 1024 * 1024


class StatusListError(ValueError):
    """An encoded list that cannot be decoded."""


def encode(revoked: Iterable[int], size: int = LIST_SIZE) -> str:
    """``u`` + base64url(gzip(bitstring)) with the given indexes set."""
    bits = bytearray(size // 8)
    for index in revoked:
        if not 0 <= index < size:
            raise StatusListError(f"index {index} is outside the list (size {size})")
        bits[index // 8] |= 0x80 >> (index % 8)
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def decode(encoded: str) -> bytes:
    """The bitstring of an ``encodedList`` (refusing decompression bombs)."""
    if not encoded.startswith("u"):
        raise StatusListError("encodedList is not multibase base64url (it must start with 'u')")
    body = encoded[1:]
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError as exc:
        raise StatusListError(f"encodedList is not base64url: {exc}") from None
    if len(packed) > MAX_COMPRESSED:
        raise StatusListError("encodedList is too large")
    try:
        inflater = zlib.decompressobj(wbits=31)
        bits = inflater.decompress(packed, 64 * LIST_SIZE)
    except zlib.error as exc:
        raise StatusListError(f"encodedList is not GZIP data: {exc}") from None
    if inflater.unconsumed_tail:
        raise StatusListError("encodedList is larger than this service accepts")
    return bits


def bit(bits: bytes, index: int) -> int:
    """The status bit at ``index``.

    Raises
    ------
    StatusListError
        The index is outside the list.
    """
    if not 0 <= index < 8 * len(bits):
        raise StatusListError(f"statusListIndex {index} is outside the list")
    return (bits[index // 8] >> (7 - index % 8)) & 1


def list_credential(
    *, url: str, issuer: dict[str, Any], encoded: str, valid_from: datetime
) -> dict[str, Any]:
    """The unsigned ``BitstringStatusListCredential`` (revocation purpose)."""
    return {
        "@context": [CREDENTIALS_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer["id"],
        "validFrom": xsd_datetime(valid_from),
        "credentialSubject": {
            "id": url + "#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded,
        },
    }


def entry(list_url: str, index: int) -> dict[str, Any]:
    """The ``credentialStatus`` of the credential at ``index`` of the list at ``list_url``."""
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }
