"""Calling an OpenAI-compatible inference server, and the SSRF rules for reaching it.

Inference servers usually sit on private networks, which webhook targets may never reach: a
probe target on a private, loopback or reserved address (or over plain http) is reached only
when `RR_PROBE_ALLOWED_TARGETS` lists it. The check runs at registration and again at connect
time (the resolver refuses unlisted private answers), as for webhooks."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from app.delivery.ssrf import (
    Resolver,
    SSRFBlocked,
    SystemResolver,
    UrlProblem,
    check_url,
    check_url_shape,
    is_public,
    literal_ip,
    pinned,
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class AllowList:
    names: frozenset[str]
    networks: tuple[Network, ...]

    @classmethod
    def parse(cls, value: str) -> AllowList:
        names: set[str] = set()
        networks: list[Network] = []
        for item in (v.strip().lower() for v in value.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                names.add(item.rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def lists_host(self, host: str) -> bool:
        ip = literal_ip(host)
        if ip is not None:
            return self.lists_address(str(ip))
        return host.lower().rstrip(".") in self.names

    def lists_address(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in n for n in self.networks)


@dataclass(frozen=True)
class ProbeNet:
    """Where probes may go: the allow-list and the resolver (tests script DNS answers)."""

    allow: AllowList
    resolver: Resolver


async def check_endpoint_url(url: str, allow: AllowList, resolver: Resolver) -> None:
    """Registration-time check; raises UrlProblem with a message fit for the user."""
    host, port = check_url_shape(url, allow_http=True)
    if urlsplit(url).query:
        raise UrlProblem("must not contain a query string")
    if allow.lists_host(host):
        return
    if url.startswith("http://"):
        addresses = await _resolve(resolver, host, port)
        if addresses and all(allow.lists_address(a) for a in addresses):
            return
        raise UrlProblem("must start with https:// unless its host is listed in "
                         "RR_PROBE_ALLOWED_TARGETS")
    try:
        await check_url(url, resolver, allow_http=False, allow_private=False)
    except UrlProblem as exc:
        if "public internet" not in str(exc):
            raise
        addresses = await _resolve(resolver, host, port)
        if addresses and all(allow.lists_address(a) for a in addresses):
            return
        raise UrlProblem("points to a private, loopback or reserved address; list it in "
                         "RR_PROBE_ALLOWED_TARGETS to probe it") from None


async def _resolve(resolver: Resolver, host: str, port: int) -> list[str]:
    ip = literal_ip(host)
    if ip is not None:
        return [str(ip)]
    try:
        return await resolver.resolve(host, port)
    except (OSError, UnicodeError):
        return []


class ProbeResolver(AbstractResolver):
    """Connect-time check: every answer is public, or listed (by host name or address)."""

    def __init__(self, allow: AllowList, resolver: Resolver | None = None) -> None:
        self.allow = allow
        self.resolver = resolver or SystemResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        addresses = await _resolve(self.resolver, host, port)
        if not addresses:
            raise OSError("cannot resolve")
        named = self.allow.lists_host(host)
        if not named and not all(is_public(a) or self.allow.lists_address(a)
                                 for a in addresses):
            raise SSRFBlocked("resolves to a non-public address that is not allowed")
        return pinned(host, port, addresses)

    async def close(self) -> None:
        return None


@dataclass(frozen=True)
class Call:
    """What one sample asks of the server."""

    base_url: str
    model: str
    api: str  # chat | completions
    api_key: str | None
    max_tokens: int
    temperature: float


@dataclass
class Answer:
    text: str | None
    reason: str | None  # why there is no usable text: timeout, http_503, malformed_json...
    seconds: float
    attempts: int


RETRYABLE = ("timeout", "unreachable", "http_429", "http_5")


def _retryable(reason: str) -> bool:
    return reason.startswith(RETRYABLE)


async def _read_whole(content: aiohttp.StreamReader, limit: int) -> bytes | None:
    """The whole body, or None once it is longer than `limit` bytes. One `read(n)` returns what
    has arrived so far, not n bytes: an answer that came in several pieces (a slow link, a
    proxy) was cut at the first and misread as malformed JSON."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await content.read(limit + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None
    return b"".join(chunks)


async def _once(http: aiohttp.ClientSession, call: Call, prompt: str, timeout: float,
                max_chars: int) -> tuple[str | None, str | None]:
    chat = call.api == "chat"
    url = call.base_url.rstrip("/") + ("/chat/completions" if chat else "/completions")
    body: dict[str, Any] = {"model": call.model, "max_tokens": call.max_tokens,
                            "temperature": call.temperature, "n": 1, "stream": False}
    if chat:
        body["messages"] = [{"role": "user", "content": prompt}]
    else:
        body["prompt"] = prompt
    headers = {"Authorization": f"Bearer {call.api_key}"} if call.api_key else {}
    try:
        async with http.post(url, json=body, headers=headers, allow_redirects=False,
                             timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            # A bounded amount: a server ignoring max_tokens must not fill our memory.
            raw = await _read_whole(resp.content, max_chars * 4 + 65_536)
            if resp.status == 404:
                return None, "unknown_model"
            if resp.status >= 300:
                return None, f"http_{resp.status}"
            if raw is None:
                return None, "too_long"
    except SSRFBlocked:
        return None, "blocked"
    except TimeoutError:
        return None, "timeout"
    except (aiohttp.ClientError, OSError):
        return None, "unreachable"
    try:
        data = json.loads(raw)
        choice = data["choices"][0]
        text = choice["message"]["content"] if chat else choice["text"]
    except (ValueError, UnicodeDecodeError):
        return None, "malformed_json"
    except (KeyError, IndexError, TypeError):
        return None, "malformed_answer"
    if not isinstance(text, str):
        return None, "malformed_answer"
    if len(text) > max_chars:
        return None, "too_long"
    return text, None


async def complete(http: aiohttp.ClientSession, call: Call, prompt: str, *, timeout: float,
                   retries: int, max_chars: int, backoff: float = 0.2) -> Answer:
    """One sample, retried on timeouts, unreachable servers, 429 and 5xx."""
    start = time.perf_counter()
    attempt = 0
    while True:
        attempt += 1
        text, reason = await _once(http, call, prompt, timeout, max_chars)
        if reason is None or not _retryable(reason) or attempt > retries:
            return Answer(text, reason, time.perf_counter() - start, attempt)
        await asyncio.sleep(backoff * 2 ** (attempt - 1))


def http_session(allow: AllowList, limit: int = 100) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(resolver=ProbeResolver(allow), limit=limit,
                                     limit_per_host=limit)
    return aiohttp.ClientSession(connector=connector, trust_env=False)
