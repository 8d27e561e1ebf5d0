"""The credential as a VC-JWT signed with ES256 (joserfc).

Following "Securing Verifiable Credentials using JOSE and COSE" (W3C, for VC Data Model 2.0)
and Open Badges 3.0 section 8.2: the JWT payload is the credential itself (without a Data
Integrity proof), plus the registered claims Open Badges 3.0 maps from it: ``iss``
(issuer.id), ``jti`` (id), ``nbf`` (validFrom), ``exp`` (validUntil) and ``sub``
(credentialSubject.id, when the learner gave a DID). The protected header carries
``alg: ES256`` (1EdTech's validator accepts RS256 or ES256 only), ``typ: vc+jwt``,
``cty: vc``, the ``kid`` URL of the public key, and the public ``jwk`` itself.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.jws import extract_compact

REGISTERED = ("iss", "jti", "nbf", "exp", "sub", "iat")


def _epoch(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def claims_for(credential: Mapping[str, Any]) -> dict[str, Any]:
    """The JWT claims: the credential without ``proof`` plus the registered claims."""
    claims = {k: copy.deepcopy(v) for k, v in credential.items() if k != "proof"}
    issuer = credential.get("issuer")
    claims["iss"] = issuer.get("id") if isinstance(issuer, dict) else issuer
    claims["jti"] = credential.get("id")
    if isinstance(credential.get("validFrom"), str):
        claims["nbf"] = _epoch(credential["validFrom"])
    if isinstance(credential.get("validUntil"), str):
        claims["exp"] = _epoch(credential["validUntil"])
    subject = credential.get("credentialSubject")
    if isinstance(subject, dict) and isinstance(subject.get("id"), str):
        claims["sub"] = subject["id"]
    return claims


def encode(credential: Mapping[str, Any], key: ec.EllipticCurvePrivateKey, kid: str) -> str:
    """The compact JWS of the credential, signed with ES256."""
    private = ECKey.import_key(key)
    public = ECKey.import_key(key.public_key()).as_dict(private=False)
    header = {"alg": "ES256", "typ": "vc+jwt", "cty": "vc", "kid": kid, "jwk": public}
    return jwt.encode(header, claims_for(credential), private, algorithms=["ES256"])


class JwtError(ValueError):
    """The token is malformed, unsigned by a trusted key, or inconsistent with its claims."""


@dataclass(frozen=True)
class DecodedJwt:
    """A verified VC-JWT."""

    header: dict[str, Any]
    credential: dict[str, Any]
    kid: str


def unverified_header(token: str) -> dict[str, Any]:
    """The protected header, before any check (to find which key to use)."""
    try:
        header = extract_compact(token.strip().encode("ascii")).protected
    except (JoseError, ValueError, UnicodeError) as exc:
        raise JwtError(f"not a compact JWS: {exc}") from None
    return dict(header)


def decode(token: str, resolve: Callable[[str], ec.EllipticCurvePublicKey | None]) -> DecodedJwt:
    """Verify the ES256 signature with the key its ``kid`` names, and return the credential.

    The header's own ``jwk`` is never trusted: the key must be one ``resolve`` knows.
    """
    header = unverified_header(token)
    if header.get("alg") != "ES256":
        raise JwtError(f"algorithm {header.get('alg')!r} is not ES256")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise JwtError("the token's header names no key (kid)")
    public = resolve(kid)
    if public is None:
        raise JwtError(f"the signing key {kid} is not one of this issuer's keys")
    try:
        verified = jwt.decode(token.strip(), ECKey.import_key(public), algorithms=["ES256"])
    except JoseError as exc:
        raise JwtError(
            f"the signature does not match the content: it was changed after signing ({exc})"
        ) from None
    claims = dict(verified.claims)
    credential = {k: v for k, v in claims.items() if k not in REGISTERED}
    expected = claims_for(credential)
    for name in ("iss", "jti", "nbf", "exp", "sub"):
        if claims.get(name) != expected.get(name):
            raise JwtError(f"the JWT claim {name} disagrees with the credential")
    return DecodedJwt(header=dict(verified.header), credential=credential, kid=kid)
