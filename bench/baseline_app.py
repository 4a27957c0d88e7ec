"""The intake baseline: a bare FastAPI endpoint doing one insert into the same database."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy import text

from app.config import to_async_url
from app.db import make_engine
from app.ops.runtime import tune_gc


def create_app() -> FastAPI:
    engine = make_engine(to_async_url(os.environ["RR_DATABASE_URL"]))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as conn:  # a scratch table of the benchmark's own
            await conn.execute(text("CREATE TABLE IF NOT EXISTS bench_baseline "
                                    "(id VARCHAR(36) PRIMARY KEY, body TEXT NOT NULL)"))
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/insert", status_code=202)
    async def insert(request: Request) -> dict[str, Any]:
        body = await request.json()
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO bench_baseline (id, body) VALUES (:id, :body)"),
                               {"id": str(uuid.uuid4()), "body": json.dumps(body)})
        return {"status": "ok"}

    tune_gc()  # the runtime the served app has (app.main.create_served_app): same footing
    return app
