"""A platform's public keys (its JWKS), fetched by URL with httpx and cached for 5 minutes."""

from __future__ import annotations

import threading

from cachetools import TTLCache
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from web.lti.errors import LaunchRefusedError, PlatformUnreachableError
from web.lti.http import request

TTL_SECONDS = 300
_cache: TTLCache[str, KeySet] = TTLCache(maxsize=256, ttl=TTL_SECONDS)
_lock = threading.Lock()


def platform_keys(url: str, *, allow_private: bool, timeout: float, refresh: bool) -> KeySet:
    """The JWKS at ``url`` (cached unless ``refresh``); :class:`LaunchRefusedError` if none."""
    with _lock:
        cached = None if refresh else _cache.get(url)
    if cached is not None:
        return cached
    try:
        answer = request("GET", url, allow_private=allow_private, timeout=timeout)
        if answer.status_code != 200:
            raise PlatformUnreachableError(f"{url} answered HTTP {answer.status_code}")
        document = answer.json()
        keys = [
            k for k in document.get("keys", []) if isinstance(k, dict) and k.get("kty") == "RSA"
        ]
        keyset = KeySet.import_key_set({"keys": keys})
    except PlatformUnreachableError as exc:
        raise LaunchRefusedError(
            f"the platform's public keys could not be fetched ({exc.detail})"
        ) from None
    except (JoseError, ValueError, AttributeError, TypeError) as exc:
        raise LaunchRefusedError(f"the platform's JWKS at {url} is not valid ({exc})") from None
    with _lock:
        _cache[url] = keyset
    return keyset


def forget(url: str) -> None:
    """Drop a cached JWKS (tests, and a platform whose registration changed)."""
    with _lock:
        _cache.pop(url, None)
