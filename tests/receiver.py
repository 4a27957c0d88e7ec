"""A real local HTTP receiver for webhooks: aiohttp in a thread, recording every request, with
programmable answers per path (status, delay, Retry-After, redirect, connection reset, a body
trickled byte by byte or compressed as the client accepts). It also counts, per path and
webhook-id, how many requests were in flight at the same time (`most_at_once`): one delivery
sent twice at once shows as 2."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Hit:
    path: str
    at: float  # time.time()
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    delay: float = 0.0
    retry_after: str | None = None
    location: str | None = None
    reset: bool = False
    body: str = "ok"
    trickle: float = 0.0  # > 0: send `body` one byte every `trickle` seconds
    compress: bool = False  # compress `body` as the request's Accept-Encoding allows


@dataclass
class _Rule:
    answers: list[Answer] = field(default_factory=list)  # consumed in order; the last repeats


class Receiver:
    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.rules: dict[str, _Rule] = {}
        self.in_flight: dict[tuple[str, str], int] = {}
        self.most_at_once: dict[tuple[str, str], int] = {}
        self.lock = threading.Lock()
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    # --- control ---------------------------------------------------------------------------

    def start(self) -> Receiver:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("receiver did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, *answers: Answer) -> None:
        with self.lock:
            self.rules[path] = _Rule(list(answers))

    def clear(self) -> None:
        with self.lock:
            self.hits.clear()
            self.rules.clear()
            self.in_flight.clear()
            self.most_at_once.clear()

    def to(self, path: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 15) -> list[Hit]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hits = self.to(path)
            if len(hits) >= count:
                return hits
            time.sleep(0.02)
        raise AssertionError(f"{path}: {len(self.to(path))} of {count} requests in {timeout}s")

    def quiet(self, path: str, seconds: float) -> None:
        """Assert no new request reaches `path` for `seconds`."""
        before = len(self.to(path))
        time.sleep(seconds)
        assert len(self.to(path)) == before, f"{path} was called again"

    # --- serving ---------------------------------------------------------------------------

    def _next(self, path: str) -> Answer:
        with self.lock:
            rule = self.rules.get(path)
            if rule is None or not rule.answers:
                return Answer()
            return rule.answers.pop(0) if len(rule.answers) > 1 else rule.answers[0]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        key = (request.path, request.headers.get("webhook-id", ""))
        with self.lock:
            self.in_flight[key] = self.in_flight.get(key, 0) + 1
            self.most_at_once[key] = max(self.most_at_once.get(key, 0), self.in_flight[key])
        try:
            return await self._answer(request)
        finally:
            with self.lock:  # (a handler outliving its test finds the counts cleared)
                self.in_flight[key] = self.in_flight.get(key, 1) - 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        with self.lock:
            self.hits.append(Hit(request.path, time.time(), dict(request.headers), body))
        a = self._next(request.path)
        if a.delay:
            await asyncio.sleep(a.delay)
        if a.reset:
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError
        headers = {}
        if a.retry_after is not None:
            headers["Retry-After"] = a.retry_after
        if a.location is not None:
            headers["Location"] = a.location
        if a.trickle:
            resp = web.StreamResponse(status=a.status, headers=headers)
            resp.content_length = len(a.body.encode())
            await resp.prepare(request)
            for byte in a.body.encode():
                await resp.write(bytes([byte]))
                await asyncio.sleep(a.trickle)
            return resp
        resp = web.Response(status=a.status, text=a.body, headers=headers)
        if a.compress:
            resp.enable_compression()  # gzip or deflate, if the client accepts one
        return resp

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        app = web.Application(client_max_size=10 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        loop.run_forever()
        loop.close()


def running() -> Iterator[Receiver]:
    r = Receiver().start()
    try:
        yield r
    finally:
        r.stop()
