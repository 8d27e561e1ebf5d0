"""did:key identifiers resolved locally: the public key is the identifier.

A ``did:key`` DID is ``did:key:`` + a Multikey: ``z`` + base58btc(multicodec prefix + raw
public key) (W3C CCG, "The did:key Method v0.7", section 3.1). Two key types are read:

- Ed25519: multicodec ``ed25519-pub`` 0xed, varint ``0xed 0x01``, then the 32-byte key
  (DIDs start ``did:key:z6Mk``); signatures are EdDSA (RFC 8037).
- P-256: multicodec ``p256-pub`` 0x1200, varint ``0x80 0x24``, then the 33-byte SEC 1
  compressed point (DIDs start ``did:key:zDn``); signatures are ES256 (RFC 7518).

The DID document's one verification method is ``<did>#<multikey>`` (section 3.1.2). Nothing
is fetched: other DID methods (``did:web`` and the rest) would need the network at run time
and are refused with :class:`DidKeyError`.
"""

from __future__ import annotations

from typing import Literal

import msgspec
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from joserfc.jwk import ECKey, OKPKey

from web.credentials.multibase import MultibaseError, decode_base58btc, encode_base58btc

ED25519_PUB = b"\xed\x01"  # varint(0xed)
P256_PUB = b"\x80\x24"  # varint(0x1200)
PREFIX = "did:key:"
MAX_LENGTH = 400

Algorithm = Literal["EdDSA", "ES256"]


class DidKeyError(ValueError):
    """A DID this service cannot resolve; the message names the part that is wrong."""


class ResolvedKey(msgspec.Struct, frozen=True, kw_only=True):
    """A did:key's public key and the names a signature refers to it by."""

    did: str
    verification_method: str
    algorithm: Algorithm
    multikey: str


def method_of(did: str) -> str:
    """The DID method (``key``, ``web``, ...), or "" when ``did`` is not ``did:<method>:...``."""
    parts = did.split(":", 2)
    return parts[1] if len(parts) == 3 and parts[0] == "did" else ""


def _raw(did: str) -> tuple[str, bytes]:
    if len(did) > MAX_LENGTH:
        raise DidKeyError(f"did: longer than {MAX_LENGTH} characters")
    method = method_of(did)
    if not method:
        raise DidKeyError("did: not a DID (did:method:identifier)")
    if method != "key":
        raise DidKeyError(
            f"did: the did:{method} method is not supported: only did:key (Ed25519 z6Mk... or "
            "P-256 zDn...) can be checked, because this service fetches nothing from other sites"
        )
    multikey = did[len(PREFIX) :]
    if "#" in multikey or "/" in multikey or "?" in multikey:
        raise DidKeyError("did: give the DID alone, without a path, query or #fragment")
    try:
        return multikey, decode_base58btc(multikey)
    except MultibaseError as exc:
        raise DidKeyError(f"did: the key part {multikey[:16]!r}... is {exc}") from None


def resolve(did: str) -> ResolvedKey:
    """The key of a ``did:key`` DID (:class:`DidKeyError` for anything else)."""
    multikey, data = _raw(did)
    if data.startswith(ED25519_PUB):
        if len(data) != 2 + 32:
            raise DidKeyError(f"did: an Ed25519 key has 32 bytes, this one has {len(data) - 2}")
        algorithm: Algorithm = "EdDSA"
    elif data.startswith(P256_PUB):
        if len(data) != 2 + 33:
            raise DidKeyError(
                f"did: a P-256 key is a 33-byte compressed point, this one has {len(data) - 2}"
            )
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), data[2:])
        except ValueError:
            raise DidKeyError("did: the P-256 key is not a point on the curve") from None
        algorithm = "ES256"
    else:
        raise DidKeyError(
            f"did: the key type (multicodec prefix 0x{data[:2].hex()}) is not supported: "
            "only Ed25519 (0xed01) and P-256 (0x1200) keys"
        )
    return ResolvedKey(
        did=did,
        verification_method=f"{did}#{multikey}",
        algorithm=algorithm,
        multikey=multikey,
    )


def public_key(resolved: ResolvedKey) -> OKPKey | ECKey:
    """The joserfc key that verifies signatures of ``resolved``."""
    raw = decode_base58btc(resolved.multikey)[2:]
    if resolved.algorithm == "EdDSA":
        return OKPKey.import_key(ed25519.Ed25519PublicKey.from_public_bytes(raw))
    return ECKey.import_key(ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw))


def did_of(key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey) -> str:
    """The did:key of an Ed25519 or P-256 public key (the inverse of :func:`resolve`)."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        data = ED25519_PUB + key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    elif isinstance(key.curve, ec.SECP256R1):
        data = P256_PUB + key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    else:
        raise DidKeyError(f"did: a {key.curve.name} key has no did:key here")
    return PREFIX + encode_base58btc(data)
