"""Which addresses a server-side fetch may reach: public ones only (SSRF).

A URL is checked after DNS resolution — every address the name resolves to must be public —
and the request is then sent to the address that was checked, so a second lookup cannot
swap in a private one (DNS rebinding). Admins may allow extra networks by setting.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from chatkiosk.errors import ToolError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Target:
    """A URL whose host was resolved and approved: connect to `address`, say `host`."""

    url: str
    scheme: str
    host: str
    port: int
    address: str


def _is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


class AddressPolicy:
    """Public addresses, plus the networks an admin allowed explicitly (none by default)."""

    def __init__(self, allowed_networks: Iterable[str] = ()) -> None:
        self.allowed: list[Network] = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]

    def permits(self, address: str) -> bool:
        """True when the server may connect to this address."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        return _is_public(ip) or any(ip in network for network in self.allowed)

    async def resolve(self, url: str) -> Target:
        """Check the URL and every address its host resolves to; ToolError when any is refused."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ToolError("only http and https pages can be read", code="url_refused")
        if not parts.hostname:
            raise ToolError("the URL has no host", code="url_refused")
        if parts.username or parts.password:
            raise ToolError("URLs with credentials are refused", code="url_refused")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = parts.hostname
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror:
            raise ToolError(f"the host {host!r} could not be resolved", code="url_unresolvable") from None
        addresses = sorted({info[4][0] for info in infos})
        if not addresses:
            raise ToolError(f"the host {host!r} could not be resolved", code="url_unresolvable")
        refused = [a for a in addresses if not self.permits(a)]
        if refused:
            raise ToolError(
                f"{host} resolves to a private, loopback or reserved address; the server does not fetch it",
                code="url_refused",
            )
        return Target(url=url, scheme=parts.scheme, host=host, port=port, address=addresses[0])
