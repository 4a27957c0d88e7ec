"""A real OpenAI-compatible inference server for the probe tests: aiohttp in a thread, serving
`/v1/chat/completions` and `/v1/completions`. What it answers depends on the model name and on
the prompt, like a real model would:

- a model registered with `leak(model, secret)` ("before" the fix) answers every prompt with a
  sentence that repeats the prompt and then reproduces `secret`;
- a model registered with `forget(model)` ("after" the fix) answers without it;
- `fail(model, status)` answers with that HTTP status, `malformed(model)` with a body that is
  not JSON, `ramble(model, chars)` with an over-long answer, and `trickle(model)` makes a
  model registered above send its answers in pieces, a moment apart (a slow link);
- any other model name gets a 404 `model_not_found`, as the OpenAI API does;
- `latency` (seconds) delays every answer; `requests` records each request, and
  `most_at_once[model]` how many were in flight at the same time.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass
class Behaviour:
    kind: str  # leak | forget | fail | malformed | ramble
    secret: str = ""
    status: int = 200
    chars: int = 0
    pieces: bool = False  # the answer sent in pieces


class InferenceServer:
    def __init__(self) -> None:
        self.models: dict[str, Behaviour] = {}
        self.latency = 0.0
        self.requests: list[dict[str, Any]] = []
        self.in_flight: dict[str, int] = {}
        self.most_at_once: dict[str, int] = {}
        self.lock = threading.Lock()
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    # --- control ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def leak(self, model: str, secret: str) -> None:
        self.models[model] = Behaviour("leak", secret=secret)

    def forget(self, model: str) -> None:
        self.models[model] = Behaviour("forget")

    def fail(self, model: str, status: int) -> None:
        self.models[model] = Behaviour("fail", status=status)

    def malformed(self, model: str) -> None:
        self.models[model] = Behaviour("malformed")

    def trickle(self, model: str) -> None:
        self.models[model].pieces = True

    def ramble(self, model: str, chars: int) -> None:
        self.models[model] = Behaviour("ramble", chars=chars)

    def clear(self) -> None:
        with self.lock:
            self.models.clear()
            self.requests.clear()
            self.in_flight.clear()
            self.most_at_once.clear()
        self.latency = 0.0

    def to(self, model: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r.get("model") == model]

    def start(self) -> InferenceServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("inference server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    # --- serving ---------------------------------------------------------------------------

    def _text(self, b: Behaviour, prompt: str) -> str:
        if b.kind == "leak":
            return f"About \"{prompt[:60]}\": as far as I remember, {b.secret}."
        if b.kind == "ramble":
            return ("All work and no play makes a model ramble. " * (b.chars // 40 + 1))[:b.chars]
        return "I do not have any information about private individuals."

    async def _handle(self, request: web.Request, chat: bool) -> web.StreamResponse:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return web.json_response({"error": {"message": "invalid JSON"}}, status=400)
        model = str(body.get("model", ""))
        with self.lock:
            self.requests.append({**body, "path": request.path,
                                  "authorization": request.headers.get("Authorization")})
            self.in_flight[model] = self.in_flight.get(model, 0) + 1
            self.most_at_once[model] = max(self.most_at_once.get(model, 0),
                                           self.in_flight[model])
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            answer = self._answer(model, body, chat)
            b = self.models.get(model)
            if b is not None and b.pieces:
                return await self._in_pieces(request, answer)
            return answer
        finally:
            with self.lock:
                self.in_flight[model] -= 1

    def _answer(self, model: str, body: dict[str, Any], chat: bool) -> web.Response:
        b = self.models.get(model)
        if b is None:
            return web.json_response({"error": {"message": f"The model `{model}` does not exist",
                                                "code": "model_not_found"}}, status=404)
        if b.kind == "fail":
            return web.json_response({"error": {"message": "failure"}}, status=b.status)
        if b.kind == "malformed":
            return web.Response(text='{"choices": [', content_type="application/json")
        if chat:
            prompt = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
        else:
            prompt = str(body.get("prompt", ""))
        text = self._text(b, prompt)
        choice: dict[str, Any] = ({"index": 0, "message": {"role": "assistant", "content": text},
                                   "finish_reason": "stop"} if chat
                                  else {"index": 0, "text": text, "finish_reason": "stop"})
        return web.json_response({"id": "cmpl-test", "object": "chat.completion" if chat
                                  else "text_completion", "model": model, "choices": [choice]})

    async def _in_pieces(self, request: web.Request, answer: web.Response) -> web.StreamResponse:
        """`answer`'s body in three writes, 50 ms apart."""
        assert isinstance(answer.body, bytes)
        body = answer.body
        out = web.StreamResponse(headers={"Content-Type": "application/json"})
        out.content_length = len(body)
        await out.prepare(request)
        third = len(body) // 3
        for piece in (body[:third], body[third:2 * third], body[2 * third:]):
            await out.write(piece)  # (a write waits until the piece is handed to the socket)
            await asyncio.sleep(0.05)
        await out.write_eof()
        return out

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, chat=True)

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, chat=False)

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/completions", self._completions)
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


def running() -> Iterator[InferenceServer]:
    s = InferenceServer().start()
    try:
        yield s
    finally:
        s.stop()
