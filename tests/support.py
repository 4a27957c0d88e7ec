"""Test helpers that talk to a real database and a real running server."""

from __future__ import annotations

import ast
import asyncio
import gc
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import sqlalchemy as sa
import uvicorn
from pydantic import SecretStr

from app.config import Settings, to_sync_url
from app.db import make_engine, make_sessionmaker

T = TypeVar("T")


def parse_source(source: str) -> ast.Module:
    """`ast.parse` with the collector paused. CPython 3.11 keeps the AST converter's recursion
    depth in global state; a collection during the parse can run finalizers that hand the GIL to
    a test server's thread, whose own compile then trips a spurious SystemError."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(source)
    finally:
        if was_enabled:
            gc.enable()


# Every test client would build its own TLS context from the CA bundle (60 ms each, thousands of
# clients a run); all test traffic is plain HTTP on loopback, so one context serves them all.
TLS = ssl.create_default_context()
CLI = str(Path(sys.executable).parent / "rights-relay")


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a `rights-relay` command run against a test server's database and
    keys; `extra` adds or overrides `RR_*` variables."""
    return {**os.environ, "RR_DATABASE_URL": settings.database_url,
            "RR_SECRET_KEY": settings.secret_key.get_secret_value(),
            "RR_DATA_DIR": str(settings.data_dir), "RR_LOG_LEVEL": "WARNING", **extra}


def audit_verify(settings: Settings, org_slug: str) -> subprocess.CompletedProcess[str]:
    """`rights-relay audit verify --org <slug>` on a test server's database."""
    return subprocess.run([CLI, "audit", "verify", "--org", org_slug], env=cli_env(settings),
                          capture_output=True, text=True, timeout=60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_url() -> str | None:
    url = os.environ.get("RR_TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    return url if url and url.startswith(("postgres", "postgresql")) else None


@dataclass
class TestDatabase:
    """A fresh database: an SQLite file, or a private schema in the PostgreSQL database."""

    url: str
    dialect: str
    _drop: Callable[[], None] | None = None

    def drop(self) -> None:
        if self._drop:
            self._drop()


def new_database(tmp_dir: str, name: str = "rr") -> TestDatabase:
    pg = postgres_url()
    if pg is None:
        return TestDatabase(url=f"sqlite:///{tmp_dir}/{name}-{uuid.uuid4().hex[:8]}.db",
                            dialect="sqlite")
    schema = f"rr_test_{uuid.uuid4().hex[:12]}"
    base = to_sync_url(pg.replace("postgresql://", "postgresql+psycopg://", 1)
                       if pg.startswith("postgresql://") else pg)
    admin = sa.create_engine(base, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in base else "?"
    # Tests need no durability across a crash of the database server: commits skip the wait
    # for the WAL flush (what tests mostly wait on), and nothing else changes.
    options = f"-csearch_path={schema} -csynchronous_commit=off"
    url = f"{base}{sep}options={quote(options)}"

    def drop() -> None:
        eng = sa.create_engine(base, poolclass=sa.pool.NullPool)
        with eng.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        eng.dispose()

    return TestDatabase(url=url, dialect="postgresql", _drop=drop)


def make_settings(db_url: str, data_dir: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "data_dir": data_dir,
        "secret_key": SecretStr("test-secret-key-" + "x" * 32),
        "environment": "test",
        "public_base_url": "http://127.0.0.1:0",
        "allow_private_webhook_targets": True,
        "allow_http_webhooks": True,
        "seed_demo": False,
        "log_level": "WARNING",
        "job_poll_seconds": 0.2,
        "housekeeping_seconds": 0.5,
        "retry_scale": 0.002,
        "delivery_poll_seconds": 0.05,
        "webhook_timeout_seconds": 3.0,
        # Tests play the proxy from 127.0.0.1 (X-Forwarded-For gives each simulated client an
        # address); a second loopback address (127.0.0.2) is an untrusted client.
        "trusted_proxies": "127.0.0.1",
        # The tests' inference server (tests/inference.py) listens on loopback.
        "probe_allowed_targets": "127.0.0.1",
        "probe_timeout_seconds": 5.0,
    }
    values.update(overrides)
    return Settings(**values)


class ServerThread:
    """A real uvicorn server on a free port, in a thread of the test process."""

    def __init__(self, settings: Settings) -> None:
        from app.main import create_app

        self.port = free_port()
        settings = settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{self.port}"})
        self.settings = settings
        self.app = create_app(settings)
        # A request still open at the end (a client's keep-alive, a long answer) is given two
        # seconds, not forever: module teardowns waited out stop()'s 10 s join under load.
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on", proxy_headers=False, timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def run_async(settings: Settings, fn: Callable[[Any], Awaitable[T]]) -> T:
    """Run `fn(session)` against the database in a fresh loop, committing at the end."""

    async def go() -> T:
        engine = make_engine(settings.sqlalchemy_url, poolclass=sa.pool.NullPool)
        try:
            async with make_sessionmaker(engine)() as session:
                result = await fn(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(go())


def run_job(settings: Settings, name: str) -> object:
    """Run one background job (by its name in app/jobs/registry.py) now, to completion, against
    the test database: tests call this instead of waiting for the scheduler."""
    from app.crypto import Keyring
    from app.jobs.registry import background_jobs

    async def go() -> object:
        engine = make_engine(settings.sqlalchemy_url, poolclass=sa.pool.NullPool)
        try:
            jobs = {n: job for n, job, _ in
                    background_jobs(make_sessionmaker(engine), settings,
                                    Keyring.from_settings(settings))}
            return await jobs[name]()
        finally:
            await engine.dispose()

    return asyncio.run(go())


@dataclass
class Org:
    """An organisation with an API client per role."""

    id: uuid.UUID
    slug: str
    keys: dict[str, str]
    admin_email: str
    admin_password: str
    base_url: str
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def client(self, role: str = "admin") -> httpx.Client:
        if role not in self.clients:
            self.clients[role] = httpx.Client(verify=TLS,
                base_url=self.base_url, headers={"Authorization": f"Bearer {self.keys[role]}"},
                timeout=30)
        return self.clients[role]

    @property
    def admin(self) -> httpx.Client:
        return self.client("admin")

    def close(self) -> None:
        for c in self.clients.values():
            c.close()


_ADMIN_HASH: list[str] = []


def create_org(settings: Settings, base_url: str, slug: str) -> Org:
    from app.auth import service
    from app.auth.models import Role, User

    password = "correct horse battery staple"
    email = f"admin@{slug}.example"

    async def go(session: Any) -> Org:
        org = await service.create_org(session, name=f"Org {slug}", slug=slug)
        if _ADMIN_HASH:
            # Argon2 is slow on purpose (0.2 s a hash): every test's organisation has the same
            # admin password, so the hash made for the first one serves them all.
            session.add(User(org_id=org.id, email=email, name="Admin", role=Role.admin,
                             language="en", password_hash=_ADMIN_HASH[0]))
            await session.flush()
        else:
            user = await service.create_user(session, org_id=org.id, email=email, name="Admin",
                                              role=Role.admin, password=password)
            _ADMIN_HASH.append(user.password_hash)
        keys = {}
        for role in Role:
            _, key = await service.create_api_key(session, org_id=org.id, name=f"{role} key",
                                                  role=role)
            keys[role.value] = key
        return Org(id=org.id, slug=slug, keys=keys, admin_email=email, admin_password=password,
                   base_url=base_url)

    return run_async(settings, go)


def wipe(sync_url: str) -> None:
    """Empty every table (but the migration marker) between tests."""
    from app.all_models import Base

    engine = sa.create_engine(sync_url, poolclass=sa.pool.NullPool)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    # DELETE, children first, rather than TRUNCATE: on tables this small it takes a fifth of
    # the time (30 ms against 165 ms on PostgreSQL, after every test). The server's background
    # jobs keep writing meanwhile: PostgreSQL may pick the DELETE as a deadlock victim, or a job
    # add a child row behind it; SQLite may report the file busy. Try again: jobs end quickly.
    deletes = [f'DELETE FROM "{t}"' for t in tables]  # noqa: S608 (our tables)
    for attempt in range(10):
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    conn.exec_driver_sql("; ".join(deletes))  # one round trip
                else:
                    for statement in deletes:
                        conn.exec_driver_sql(statement)
            break
        except (sa.exc.OperationalError, sa.exc.IntegrityError):
            if attempt == 9:
                raise
            time.sleep(0.1 * (attempt + 1))
    engine.dispose()


class IsolatedServer:
    """A server on a database of its own, for tests whose background jobs must not race the
    session server's (different retry timings, no SMTP, production mode...)."""

    def __init__(self, base: Settings, tmp_dir: str, **overrides: Any) -> None:
        from app import migrate

        self.database = new_database(tmp_dir, "isolated")
        settings = base.model_copy(update={"database_url": self.database.url, **overrides})
        migrate.upgrade(settings)
        self.server = ServerThread(settings)

    def __enter__(self) -> ServerThread:
        return self.server.start()

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
        self.database.drop()
