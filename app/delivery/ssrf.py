"""SSRF protection for webhook URLs: checked when an endpoint is registered, and again at
connect time (the resolver refuses private answers, and the connection goes to the address
that was checked), so a DNS name cannot be re-pointed at an internal address later."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from typing import Protocol
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges that `is_global` may let through, or that embed an IPv4 address to check.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class SSRFBlocked(OSError):
    """A webhook target resolves to an address that must not be reached."""


class Resolver(Protocol):
    """Turns a host name into IP addresses (injectable: tests script the answers)."""

    async def resolve(self, host: str, port: int) -> list[str]: ...


class SystemResolver:
    async def resolve(self, host: str, port: int) -> list[str]:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    # IPv4-compatible (deprecated) ::a.b.c.d
    if int(ip) >> 32 == 0 and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(address: str | IPAddress) -> bool:
    """True only for globally routable unicast addresses (embedded IPv4 checked too)."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return False
        inner = _embedded_v4(ip)
        if inner is not None and not is_public(inner):
            return False
    if ip in _METADATA or ip.is_multicast or ip.is_unspecified or ip.is_loopback:
        return False
    if ip.is_link_local or ip.is_private or ip.is_reserved:
        return False
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return False
    return ip.is_global


# Hosts that the C resolver reads as an IPv4 address although `ipaddress` does not:
# 2130706433, 0x7f.1, 0177.0.0.1, 127.1, and any of them with a trailing dot.
_NUMERIC_V4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.IGNORECASE)
# A numeric-looking host that is no valid address: refused as if it were a private one.
_INVALID = ipaddress.ip_address("0.0.0.0")  # noqa: S104 (never bound: a value to refuse)


def literal_ip(host: str) -> IPAddress | None:
    """The address a host names literally, in any notation a resolver would accept."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_V4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
        except OSError:
            return _INVALID
    return None


class UrlProblem(ValueError):
    pass


def check_url_shape(url: str, *, allow_http: bool) -> tuple[str, int]:
    """Scheme, host, no credentials; returns (host, port)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlProblem("is not a valid URL") from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise UrlProblem("must start with https://" if not allow_http
                         else "must start with https:// or http://")
    if not parts.hostname:
        raise UrlProblem("must name a host")
    if parts.username is not None or parts.password is not None:
        raise UrlProblem("must not contain a user name or password")
    if parts.fragment:
        raise UrlProblem("must not contain a #fragment")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def check_url(url: str, resolver: Resolver, *, allow_http: bool,
                    allow_private: bool) -> None:
    """Registration-time check. Raises UrlProblem with a message fit for the user."""
    host, port = check_url_shape(url, allow_http=allow_http)
    if allow_private:
        return
    ip = literal_ip(host)
    if ip is not None:
        addresses = [str(ip)]
    else:
        if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(
                (".localhost", ".local", ".internal")):
            raise UrlProblem("must be reachable on the public internet")
        try:
            addresses = await resolver.resolve(host, port)
        except (OSError, UnicodeError):
            raise UrlProblem("names a host that does not resolve") from None
        if not addresses:
            raise UrlProblem("names a host that does not resolve")
    if not all(is_public(a) for a in addresses):
        raise UrlProblem("must be reachable on the public internet (it points to a private, "
                         "loopback or reserved address)")


class CheckingResolver(AbstractResolver):
    """aiohttp resolver that refuses non-public answers at connect time (DNS rebinding)."""

    def __init__(self, resolver: Resolver, *, allow_private: bool) -> None:
        self.resolver = resolver
        self.allow_private = allow_private

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        try:
            addresses = await self.resolver.resolve(host, port)
        except SSRFBlocked:
            raise
        except (OSError, UnicodeError) as exc:
            raise OSError(f"cannot resolve: {type(exc).__name__}") from None
        if not addresses:
            raise OSError("cannot resolve: no address")
        if not self.allow_private and not all(is_public(a) for a in addresses):
            raise SSRFBlocked("resolves to a non-public address")
        return pinned(host, port, addresses)

    async def close(self) -> None:
        return None


def pinned(host: str, port: int, addresses: list[str]) -> list[ResolveResult]:
    """The checked addresses as aiohttp's resolver results: the connection goes to exactly
    these, never to a second lookup's answer."""
    out: list[ResolveResult] = []
    for a in addresses:
        ip = ipaddress.ip_address(a)
        out.append(ResolveResult(
            hostname=host, host=str(ip), port=port,
            family=socket.AF_INET6 if ip.version == 6 else socket.AF_INET,
            proto=0, flags=socket.AI_NUMERICHOST))
    return out
