"""LTI 1.3 messages: checking a platform's id_token, and the JWTs the tool signs.

The id_token (1EdTech Security Framework 1.0, section 5.1.3; LTI Core 1.3, section 5) is
accepted only when, in this order:

1. its RS256 signature verifies with a key of the platform's JWKS (fetched by URL and
   cached; refetched once when the token names a key id the cache lacks);
2. ``iss`` is the registered issuer and ``aud`` holds the registered client id (with
   ``azp`` equal to it when there are several audiences);
3. ``exp`` has not passed and ``iat`` is not in the future (60 s leeway) nor more than a
   day ago;
4. ``nonce`` is the one this tool issued with the login ``state`` (and never seen before);
5. the deployment id is one registered for the platform, the version is ``1.3.0`` and the
   message type is a resource link or deep-linking request.

Each refusal says which check failed. Signing uses joserfc (no hand-made crypto).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from joserfc.jws import extract_compact

from web.lti.errors import LaunchRefusedError
from web.store.lti import Platform

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
LEEWAY = 60
#: The oldest id_token accepted (whatever its ``exp``): the nonce store forgets after two days.
MAX_AGE = 86_400


def _aud_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value or []]


def verify_id_token(
    token: str,
    *,
    platform: Platform,
    keys: Callable[[bool], KeySet],
    nonce: str,
    now: int | None = None,
) -> dict[str, Any]:
    """The claims of a valid id_token for ``platform``; :class:`LaunchRefusedError` otherwise.

    ``keys(refresh)`` gives the platform's JWKS (``refresh`` skips the cache).
    """
    if not token or len(token) > 64_000 or token.count(".") != 2:
        raise LaunchRefusedError("the launch carries no id_token")
    try:
        header = extract_compact(token.encode("ascii")).protected
    except (JoseError, ValueError, UnicodeError) as exc:
        raise LaunchRefusedError(f"the id_token is not a JWT ({exc})") from None
    keyset = keys(False)
    kid = header.get("kid")
    if kid and all(k.kid != kid for k in keyset.keys):
        keyset = keys(True)  # a key the cached JWKS lacks: the platform may have rotated keys
    try:
        decoded = jwt.decode(token, keyset, algorithms=["RS256"])
    except (JoseError, ValueError) as exc:
        raise LaunchRefusedError(
            f"the id_token's signature does not verify with the platform's keys ({exc})"
        ) from None
    claims = dict(decoded.claims)
    if claims.get("iss") != platform.issuer:
        raise LaunchRefusedError(f"the id_token's issuer {claims.get('iss')!r} is not registered")
    audiences = _aud_list(claims.get("aud"))
    if platform.client_id not in audiences:
        raise LaunchRefusedError(
            f"the id_token is for audience {audiences}, not this tool's client id "
            f"{platform.client_id!r}"
        )
    if len(audiences) > 1 and claims.get("azp") != platform.client_id:
        raise LaunchRefusedError("the id_token has several audiences and azp is not this tool")
    registry = jwt.JWTClaimsRegistry(
        now=now if now is not None else int(time.time()),
        leeway=LEEWAY,
        exp={"essential": True},
        iat={"essential": True},
        sub={"essential": True},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise LaunchRefusedError(f"the id_token is not valid now ({exc})") from None
    moment = now if now is not None else int(time.time())
    if not isinstance(claims["iat"], int | float) or claims["iat"] < moment - MAX_AGE:
        raise LaunchRefusedError("the id_token was issued more than a day ago")
    if claims.get("nonce") != nonce:
        raise LaunchRefusedError("the id_token's nonce is not the one issued at login")
    deployment = claims.get(LTI + "deployment_id")
    if deployment not in platform.deployment_ids:
        raise LaunchRefusedError(
            f"the deployment {deployment!r} is not registered for {platform.name}"
        )
    if claims.get(LTI + "version") != "1.3.0":
        raise LaunchRefusedError(f"LTI version {claims.get(LTI + 'version')!r} is not 1.3.0")
    kind = claims.get(LTI + "message_type")
    if kind not in (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST):
        raise LaunchRefusedError(f"the message type {kind!r} is not supported")
    return claims


def deep_linking_response(
    *,
    key: RSAKey,
    platform: Platform,
    deployment_id: str,
    data: str | None,
    items: list[dict[str, Any]],
    now: int | None = None,
) -> str:
    """The signed ``LtiDeepLinkingResponse`` JWT (Deep Linking 2.0, section 4.2)."""
    issued = now if now is not None else int(time.time())
    claims: dict[str, Any] = {
        "iss": platform.client_id,
        "aud": platform.issuer,
        "iat": issued,
        "exp": issued + 600,
        "nonce": secrets.token_urlsafe(16),
        LTI + "deployment_id": deployment_id,
        LTI + "message_type": "LtiDeepLinkingResponse",
        LTI + "version": "1.3.0",
        DL + "content_items": items,
    }
    if data is not None:
        claims[DL + "data"] = data
    return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key)


def client_assertion(*, key: RSAKey, platform: Platform, now: int | None = None) -> str:
    """The tool's signed JWT for the platform's token endpoint (RFC 7523 private_key_jwt)."""
    issued = now if now is not None else int(time.time())
    claims = {
        "iss": platform.client_id,
        "sub": platform.client_id,
        "aud": platform.token_url,
        "iat": issued,
        "exp": issued + 300,
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key)
