"""Which addresses an outgoing request may connect to, and an httpcore network backend that enforces it.

Shared by the feed fetcher (connectors/rss) and the alert webhooks (connectors/notify). A feed or webhook URL
comes from outside (an operator, an OPML file, a subscriber, a redirect chosen by a remote server), so neither
may become a way into the internal network (SSRF). Checking the URL's host before the request is
not enough: a redirect can point anywhere, and a name can resolve to a public address when checked and to
127.0.0.1 a moment later (DNS rebinding). So the check lives where the socket is opened: `GuardedBackend`
resolves the name itself, refuses the connection if *any* resolved address is not public, and connects to the
vetted IP (TLS SNI and the Host header still use the name, because httpcore takes them from the URL).
Every redirect hop opens its connection through the same backend, so every hop is checked.

Pure standard library plus httpcore/anyio (already httpx's own dependencies); knows nothing of settings.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import anyio
import httpcore

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Resolves (host, port) to IP address strings. Tests inject one to map a "public" name to any address.
Resolver = Callable[[str, int], Awaitable[list[str]]]

_SHARED_V4 = ipaddress.IPv4Network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # well-known NAT64 prefix: the low 32 bits are an IPv4 address
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # local-use NAT64 (RFC 8215)
# IANA special-purpose blocks that some Python versions' `is_global` still calls global.
_SPECIAL = (ipaddress.IPv4Network("192.0.0.0/24"), ipaddress.IPv4Network("192.88.99.0/24"),
            ipaddress.IPv6Network("3fff::/20"), ipaddress.IPv6Network("5f00::/16"))


class BlockedAddressError(Exception):
    """The request was refused before connecting: the destination is not a public internet address."""


def address_problem(ip: IPAddress) -> str | None:
    """None for a public unicast address; otherwise what kind of address it is (e.g. "loopback")."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded: ipaddress.IPv4Address | None = None
        kind = ""
        if ip.ipv4_mapped is not None:
            embedded, kind = ip.ipv4_mapped, "IPv4-mapped"
        elif ip in _NAT64:
            embedded, kind = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "NAT64"
        elif ip.sixtofour is not None:
            embedded, kind = ip.sixtofour, "6to4"
        if embedded is not None:
            problem = address_problem(embedded)
            return f"{kind} {problem}" if problem else None
        if ip in _NAT64_LOCAL:
            return "local-use NAT64"
        if ip.scope_id:
            return "scoped (link-local)"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED_V4:
        return "shared (carrier-grade NAT)"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "site-local"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global or any(ip in network for network in _SPECIAL if network.version == ip.version):
        return "special-purpose"
    return None


def ip_literal(host: str) -> IPAddress | None:
    """The address if `host` is an IP literal (brackets allowed), else None. "127.1" is not a literal."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def host_key(host: str, port: int) -> str:
    """The exact `host:port` form used by `allowed_hosts` (IPv6 literals in brackets, lower case)."""
    host = host.strip("[]").lower().rstrip(".")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, vets every address, then connects to a vetted IP. Unix sockets are refused."""

    def __init__(self, *, allow_private: bool = False, allowed_hosts: Iterable[str] = (),
                 resolver: Resolver | None = None, backend: httpcore.AsyncNetworkBackend | None = None,
                 purpose: str = "feeds") -> None:
        """`purpose` names what is refused in the error ("... not allowed for feeds")."""
        self.allow_private = allow_private
        self.purpose = purpose
        self.allowed_hosts = {normalise_allowed_host(h) for h in allowed_hosts}
        self.resolver = resolver or system_resolver
        self.backend = backend or httpcore.AnyIOBackend()

    def exempt(self, host: str, port: int) -> bool:
        return self.allow_private or host_key(host, port) in self.allowed_hosts

    async def resolve(self, host: str, port: int, timeout: float | None = None) -> list[str]:
        """The addresses to connect to, all of them vetted; raises BlockedAddressError or httpcore errors."""
        literal = ip_literal(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                with anyio.fail_after(timeout):
                    addresses = await self.resolver(host, port)
            except TimeoutError as exc:
                raise httpcore.ConnectTimeout(f"resolving {host!r} timed out") from exc
            except (OSError, UnicodeError, ValueError) as exc:
                raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from exc
            if not addresses:
                raise httpcore.ConnectError(f"cannot resolve {host!r}: no addresses")
        if self.exempt(host, port):
            return addresses
        for address in addresses:
            ip = ip_literal(address.split("%", 1)[0])
            problem = "unparseable" if ip is None else address_problem(ip)
            if problem:
                what = f"{host!r} resolves to {address}" if literal is None else f"{address}"
                raise BlockedAddressError(f"refused: {what} is a {problem} address, not a public one "
                                          f"(private addresses are not allowed for {self.purpose})")
        return addresses

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        last: Exception | None = None
        for address in await self.resolve(host, port, timeout):
            try:
                return await self.backend.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                      socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise BlockedAddressError(f"refused: unix sockets are not allowed for {self.purpose}")

    async def sleep(self, seconds: float) -> None:
        await self.backend.sleep(seconds)


def normalise_allowed_host(entry: str) -> str:
    """"Host:Port" / "[::1]:80" -> the `host_key` form; a missing port is an error (exact pairs only)."""
    entry = entry.strip()
    host, sep, port = entry.rpartition(":")
    if not sep or not port.isdigit() or not host or (":" in host and not host.startswith("[")):
        raise ValueError(f"allowed host {entry!r} must be an exact host:port pair (IPv6 as [addr]:port)")
    return host_key(host, int(port))
