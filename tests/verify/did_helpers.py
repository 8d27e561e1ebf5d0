"""A learner's did:key and the JWS that answers a challenge of the service."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from joserfc import jws
from joserfc.jwk import ECKey, OKPKey

from web.did_key import did_of

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey


def new_key(kind: str) -> PrivateKey:
    """A fresh Ed25519 or P-256 private key."""
    if kind == "Ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


def did_for(key: PrivateKey) -> str:
    return did_of(key.public_key())


def sign(
    challenge: Mapping[str, Any],
    key: PrivateKey,
    *,
    header: Mapping[str, Any] | None = None,
    payload: Mapping[str, Any] | None = None,
) -> str:
    """The compact JWS answering ``challenge`` (as the API returned it), signed by ``key``."""
    alg = "EdDSA" if isinstance(key, ed25519.Ed25519PrivateKey) else "ES256"
    protected = {"alg": alg, "kid": challenge["kid"], **(header or {})}
    claims = {
        "nonce": challenge["nonce"],
        "aud": challenge["aud"],
        "sub": challenge["sub"],
        **(payload or {}),
    }
    jwk: OKPKey | ECKey = (
        OKPKey.import_key(key)
        if isinstance(key, ed25519.Ed25519PrivateKey)
        else ECKey.import_key(key)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc: RFC 9864 deprecates the name "EdDSA"
        return jws.serialize_compact(
            protected, msgspec.json.encode(claims), jwk, algorithms=[protected["alg"]]
        )
