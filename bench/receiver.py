"""The webhook receiver of the fan-out benchmarks, run in its own process: verifies nothing and
answers 204 (after `--latency-ms`), except under `/dead/`, where it never answers.

`python -m bench.receiver --port P [--latency-ms N]`"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web


def make_app(latency: float) -> web.Application:
    async def ok(request: web.Request) -> web.Response:
        await request.read()
        if latency:
            await asyncio.sleep(latency)
        return web.Response(status=204)

    async def dead(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(3600)  # never answers within any timeout
        return web.Response(status=204)

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/dead/{n}", dead)
    app.router.add_post("/{tail:.*}", ok)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0)
    args = parser.parse_args()
    try:
        import uvloop
        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    web.run_app(make_app(args.latency_ms / 1000), host="127.0.0.1", port=args.port,
                print=None, access_log=None, backlog=4096)


if __name__ == "__main__":
    main()
