"""Who the client is, and which host was asked for.

`TrustedProxyMiddleware`: `X-Forwarded-For` is read only when the peer is one of
`RR_TRUSTED_PROXIES` (addresses or CIDRs; none by default), and the client is then the
right-most address of the chain that is not itself a trusted proxy. Anything to its left was
written by the client and proves nothing: taking it would let a client choose its own
rate-limit identity. Run uvicorn with `--no-proxy-headers` so that this is the only place the
header is read.

`TrustedHostMiddleware`: requests must name the host of `RR_PUBLIC_BASE_URL` (or one of
`RR_ALLOWED_HOSTS`). Absolute links never come from the `Host` header anyway; refusing unknown
hosts closes the door on cache poisoning and DNS rebinding against the pages. Probes
(`/healthz`, `/readyz`, `/metrics`) answer whatever the host, for orchestrators that call a
replica by its address."""

from __future__ import annotations

import ipaddress
import json
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> list[Network]:
    """`"10.0.0.1, 10.1.0.0/16, ::1"` as networks; ValueError names the bad item's position."""
    networks = []
    for i, item in enumerate(p.strip() for p in value.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"RR_TRUSTED_PROXIES: item {i + 1} is not an address or CIDR") \
                from None
    return networks


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def client_from_chain(peer: str, forwarded_for: list[str], trusted: list[Network]) -> str:
    """The client's address: the peer, unless it is a trusted proxy; then the right-most hop
    of `X-Forwarded-For` that is not trusted (or the left-most, if every hop is)."""

    def is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        return address is not None and any(address in n for n in trusted)

    if not is_trusted(_address(peer)):
        return peer
    hops = [h for header in forwarded_for for h in header.split(",") if h.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return peer  # garbage in the chain: trust none of it
        if not is_trusted(address):
            return str(address)
    first = _address(hops[0]) if hops else None
    return str(first) if first is not None else peer


class TrustedProxyMiddleware:
    def __init__(self, app: ASGIApp, trusted: list[Network]) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.trusted and scope.get("client"):
            headers = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
            if headers:
                host, port = scope["client"]
                scope["client"] = (client_from_chain(host, headers, self.trusted), port)
        await self.app(scope, receive, send)


_PROBES = ("/healthz", "/readyz", "/metrics")


_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def allowed_hosts(public_base_url: str, extra: str) -> frozenset[str]:
    hosts = {urlsplit(public_base_url).hostname or ""}
    if hosts & _LOOPBACK:  # a development install: any name of this machine's loopback
        hosts |= _LOOPBACK
    hosts |= {h.strip().lower() for h in extra.split(",") if h.strip()}
    return frozenset(h for h in hosts if h)


class TrustedHostMiddleware:
    def __init__(self, app: ASGIApp, hosts: frozenset[str]) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _PROBES:
            await self.app(scope, receive, send)
            return
        host = ""
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1")
                break
        try:
            hostname = urlsplit(f"//{host}").hostname if host else None
        except ValueError:  # "[::1" and the like
            hostname = None
        known = hostname is not None and hostname.lower() in self.hosts
        if known:
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "bad_request",
                           "detail": "this service does not answer for that host"}).encode()
        await send({"type": "http.response.start", "status": 400,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
