"""Intake: requests filed, then confirmed, through the public JSON API by 50 concurrent clients,
against a bare FastAPI endpoint doing one insert into the same database."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
from pydantic import SecretStr

from bench.load import post_all
from bench.support import SECRET, Database, Result, app_env, percentile, serve

CONCURRENCY = 50
P95_TARGET_MS = 300


def _person(i: int) -> dict[str, Any]:
    return {"models": ["bench/intake"], "kind": "erasure", "name": f"Person {i}",
            "email": f"person{i}@example.org",
            "description": f"Personal data number {i} appears in the model's outputs.",
            "probe_prompts": [f"Who is person {i}?"], "language": "en"}


def _seed(url: str) -> None:
    from app.auth import service as auth
    from app.auth.models import Role

    async def go() -> str:
        from app.config import Settings
        from app.db import make_engine, make_sessionmaker

        settings = Settings(database_url=_DB.url, secret_key=SecretStr(SECRET), environment="test")
        engine = make_engine(settings.sqlalchemy_url)
        async with make_sessionmaker(engine)() as session:
            org = await auth.create_org(session, name="Bench", slug="bench")
            _, key = await auth.create_api_key(session, org_id=org.id, name="bench", role=Role.admin)
            await session.commit()
        await engine.dispose()
        return key

    key = asyncio.run(go())
    r = httpx.post(f"{url}/v1/models", json={"id": "bench/intake", "title": "Intake bench"},
                   headers={"Authorization": f"Bearer {key}"})
    r.raise_for_status()


def _confirmation_tokens(db: Database) -> list[str]:
    """The tokens the confirmation emails carry (opened with the service's own key)."""
    from app.config import Settings
    from app.crypto import Keyring, Sealed

    keyring = Keyring.from_settings(Settings(secret_key=SecretStr(SECRET), environment="test"))
    tokens = []
    with db.engine().connect() as conn:
        rows = conn.execute(__import__("sqlalchemy").text(
            "SELECT ciphertext, wrapped_key, key_id FROM outbound_emails "
            "WHERE kind = 'confirm_request'")).all()
    for ciphertext, wrapped, kid in rows:
        message = keyring.open(Sealed(bytes(ciphertext), bytes(wrapped), kid))
        m = re.search(r"/r/confirm/(\S+)", message["body"])
        assert m
        tokens.append(m.group(1))
    return tokens


_DB: Database


def run(db: Database, requests: int = 1000) -> list[Result]:
    global _DB
    _DB = db
    env = app_env(db, run_jobs="false")
    bodies = [_person(i) for i in range(requests)]
    with serve("bench.baseline_app:create_app", env) as base_url:
        post_all(f"{base_url}/insert", bodies[:200], CONCURRENCY)  # warm-up
        baseline = post_all(f"{base_url}/insert", bodies, CONCURRENCY)
    with serve("app.main:create_served_app", env) as url:
        _seed(url)
        post_all(f"{url}/v1/public/requests", [_person(-i - 1) for i in range(200)], CONCURRENCY)
        filed = post_all(f"{url}/v1/public/requests", bodies, CONCURRENCY)
        tokens = _confirmation_tokens(db)[: requests]
        confirmed = post_all(f"{url}/v1/public/confirmations",
                             [{"token": t} for t in tokens], CONCURRENCY)
    ok = filed.statuses.get(202, 0) == requests and confirmed.statuses.get(200, 0) == len(tokens)
    note = "" if ok else f"statuses: filed {dict(filed.statuses)}, confirmed {dict(confirmed.statuses)}"
    name = f"intake ({db.dialect})"
    return [
        Result(name, "filed requests/s (50 clients)", filed.per_second, baseline.per_second,
               "req/s", "ratio >= 0.5", ok and filed.per_second / baseline.per_second >= 0.5, note),
        Result(name, "confirmations/s (50 clients)", confirmed.per_second, baseline.per_second,
               "req/s", "ratio >= 0.5", ok and confirmed.per_second / baseline.per_second >= 0.5),
        _p95(name, "filing", filed.latencies, baseline.latencies),
        _p95(name, "confirming", confirmed.latencies, baseline.latencies),
    ]


def _p95(name: str, what: str, ours: list[float], baseline: list[float]) -> Result:
    p95 = percentile(ours, 95) * 1000
    return Result(name, f"p95 latency, {what}", p95, percentile(baseline, 95) * 1000, "ms",
                  f"< {P95_TARGET_MS} ms", p95 < P95_TARGET_MS)
