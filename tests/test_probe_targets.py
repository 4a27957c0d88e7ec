"""Where probes may go: the SSRF rules of webhooks, with `RR_PROBE_ALLOWED_TARGETS` opening
private targets, checked at registration and again at connect time (a name re-pointed at a
private address later is refused then)."""

from __future__ import annotations

import asyncio

import pytest

from app.delivery.ssrf import SSRFBlocked, UrlProblem
from app.probes.client import AllowList, ProbeResolver, check_endpoint_url


class Scripted:
    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers

    async def resolve(self, host: str, port: int) -> list[str]:
        return self.answers.get(host, [])


DNS = Scripted({"infer.example.org": ["93.184.216.34"], "gpu.internal.example": ["10.0.0.7"],
                "rebound.example.org": ["10.0.0.9"]})


def check(url: str, allow: str = "") -> None:
    asyncio.run(check_endpoint_url(url, AllowList.parse(allow), DNS))


def test_public_https_needs_no_listing_private_and_http_need_it():
    check("https://infer.example.org/v1")
    for url in ("https://gpu.internal.example/v1", "http://10.0.0.7:8000/v1",
                "http://infer.example.org/v1", "https://[::1]/v1", "https://2130706433/v1"):
        with pytest.raises(UrlProblem):
            check(url)
    check("http://gpu.internal.example:8000/v1", allow="10.0.0.0/24")
    check("http://gpu.internal.example:8000/v1", allow="gpu.internal.example")
    check("http://10.0.0.7:8000/v1", allow="10.0.0.7")
    with pytest.raises(UrlProblem):
        check("http://10.0.1.7:8000/v1", allow="10.0.0.0/24")


def test_connect_time_refuses_an_unlisted_private_answer():
    async def resolve(host: str, allow: str) -> list[str]:
        results = await ProbeResolver(AllowList.parse(allow), DNS).resolve(host, 443)
        return [r["host"] for r in results]

    assert asyncio.run(resolve("infer.example.org", "")) == ["93.184.216.34"]
    with pytest.raises(SSRFBlocked):
        asyncio.run(resolve("rebound.example.org", ""))
    assert asyncio.run(resolve("rebound.example.org", "10.0.0.0/8")) == ["10.0.0.9"]
    with pytest.raises(OSError):
        asyncio.run(resolve("nowhere.example.org", ""))
