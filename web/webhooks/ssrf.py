"""Which addresses webhooks may be sent to.

A webhook URL is chosen by an author, so without a policy the service could be made to send
requests into its own network. Each delivery resolves the host, refuses it unless every
address is globally routable (no private, loopback, link-local, shared, reserved,
multicast or unspecified addresses, IPv4-mapped IPv6 included), and then connects to the
address it checked, so a DNS answer that changes between check and connection (DNS
rebinding) cannot redirect it. ``SKILLGAUGE_WEBHOOK_ALLOW_PRIVATE=1`` lifts the address rule
(development and tests, which use loopback); multicast and unspecified addresses stay
refused.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefusedError(ValueError):
    """The URL or its address is not one webhooks may reach."""


@dataclass(frozen=True)
class Target:
    """Where one delivery goes: the URL's parts and the checked address to connect to."""

    scheme: str
    host: str
    port: int
    path: str
    address: IPAddress

    def connect_url(self) -> str:
        """The URL with the checked address in place of the host name."""
        literal = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{self.scheme}://{literal}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        """The ``Host`` header the receiver expects."""
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def check_url(url: str) -> tuple[str, str, int, str]:
    """Scheme, host, port and path of a webhook URL (no credentials, http or https)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise AddressRefusedError("a webhook URL must start with https:// or http://")
    if not parts.hostname:
        raise AddressRefusedError("a webhook URL needs a host")
    if parts.username or parts.password:
        raise AddressRefusedError("a webhook URL may not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise AddressRefusedError("the webhook URL's port is not a number") from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port, path


def address_allowed(address: IPAddress, allow_private: bool) -> bool:
    """Whether a delivery may connect to ``address``."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_multicast or address.is_unspecified:
        return False
    return allow_private or address.is_global


def resolve(url: str, allow_private: bool) -> Target:
    """Resolve and check a webhook URL's host; the first allowed address is the target.

    Raises
    ------
    AddressRefusedError
        A bad URL, a host that does not resolve, or an address the policy refuses (every
        resolved address must be allowed, so one public record cannot smuggle in a private
        one).
    """
    scheme, host, port, path = check_url(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressRefusedError(f"the host {host} does not resolve ({exc})") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    refused = [a for a in addresses if not address_allowed(a, allow_private)]
    if refused or not addresses:
        raise AddressRefusedError(
            f"{host} resolves to {refused[0] if refused else 'nothing'}, an address webhooks "
            "may not reach (private, loopback, link-local or reserved)"
        )
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])
