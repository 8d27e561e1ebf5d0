"""Outgoing HTTP to platforms (JWKS, token, score), under the webhooks' address policy.

Platform URLs are typed in by authors, so they get the same SSRF guard as webhook URLs
(:mod:`web.webhooks.ssrf`): the host is resolved and checked, and the request goes to the
checked address (``SKILLGAUGE_WEBHOOK_ALLOW_PRIVATE=1`` allows loopback, for tests and
development). No redirects are followed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from web.lti.errors import PlatformUnreachableError
from web.webhooks.ssrf import AddressRefusedError, resolve

USER_AGENT = "Skillgauge-LTI/1"
MAX_BODY = 256 * 1024


@dataclass(frozen=True)
class Answer:
    """A platform's answer: status, headers, body."""

    status_code: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        """The body as JSON (:class:`PlatformUnreachableError` if it is not)."""
        try:
            return msgspec.json.decode(self.body)
        except msgspec.DecodeError:
            raise PlatformUnreachableError(
                f"the platform answered HTTP {self.status_code} without JSON"
            ) from None


def request(
    method: str,
    url: str,
    *,
    allow_private: bool,
    timeout: float,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    data: dict[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Answer:
    """Send one request to a platform URL; raise :class:`PlatformUnreachableError` on failure.

    The answer (any status) is returned with its body (at most 256 KiB).
    """
    try:
        target = resolve(url, allow_private)
    except AddressRefusedError as exc:
        raise PlatformUnreachableError(f"{url}: {exc}") from None
    extensions: dict[str, Any] = {}
    if target.scheme == "https":
        extensions["sni_hostname"] = target.host
    with httpx.Client(
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        transport=transport,
        headers={"user-agent": USER_AGENT},
    ) as client:
        try:
            built = client.build_request(
                method,
                target.connect_url(),
                headers={**(headers or {}), "host": target.host_header},
                content=content,
                data=data,
                extensions=extensions,
            )
            response = client.send(built, stream=True)
            try:
                body = b""
                for part in response.iter_bytes():
                    body += part
                    if len(body) > MAX_BODY:
                        raise PlatformUnreachableError(f"{url}: the answer is too large")
            finally:
                response.close()
        except httpx.HTTPError as exc:
            raise PlatformUnreachableError(f"{url}: {exc or type(exc).__name__}") from None
    return Answer(status_code=response.status_code, headers=response.headers, body=body)
