"""What every benchmark needs: a fresh database, the real app in its own process, timing and
the results table. Figures are ratios against a baseline measured in the same run."""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-key-" + "b" * 32
POSTGRES_URL = os.environ.get("RR_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Database:
    dialect: str
    url: str  # sync URL (the app converts it)
    _cleanup: list[object] = field(default_factory=list)

    def engine(self) -> sa.Engine:
        return sa.create_engine(self.url.replace("postgresql://", "postgresql+psycopg://", 1),
                                poolclass=sa.pool.NullPool)


@contextmanager
def database(dialect: str) -> Iterator[Database]:
    """A fresh, migrated database: an SQLite file, or a private schema on PostgreSQL."""
    from pydantic import SecretStr

    from app import migrate
    from app.config import Settings

    if dialect == "sqlite":
        tmp = tempfile.mkdtemp(prefix="rr-bench-")
        db = Database("sqlite", f"sqlite:///{tmp}/bench.db")
    else:
        schema = f"rr_bench_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1),
                                 poolclass=sa.pool.NullPool)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in POSTGRES_URL else "?"
        db = Database("postgresql",
                      f"{POSTGRES_URL}{sep}options={quote(f'-csearch_path={schema}')}")
    migrate.upgrade(Settings(database_url=db.url, secret_key=SecretStr(SECRET),
                             environment="test"))
    try:
        yield db
    finally:
        if dialect == "postgresql":
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()


def app_env(db: Database, **settings: object) -> dict[str, str]:
    env = {**os.environ, "RR_DATABASE_URL": db.url, "RR_SECRET_KEY": SECRET,
           "RR_ENVIRONMENT": "test", "RR_LOG_LEVEL": "WARNING", "RR_SEED_DEMO": "false",
           "RR_RATE_LIMIT_IP_PER_HOUR": "1000000000", "RR_RATE_LIMIT_EMAIL_PER_DAY": "1000000000",
           "RR_RATE_LIMIT_TOKEN_PER_MINUTE": "1000000000", "RR_ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
           "RR_ALLOW_HTTP_WEBHOOKS": "true"}
    env.pop("DATABASE_URL", None)
    env.update({f"RR_{k.upper()}": str(v) for k, v in settings.items()})
    return env


def wait_until_up(url: str, proc: subprocess.Popen[bytes], what: str, seconds: float) -> None:
    """Wait until `url`/healthz answers 200; fail if `proc` exits or `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.1)


@contextmanager
def serve(factory: str, env: dict[str, str], port: int | None = None) -> Iterator[str]:
    """Run `uvicorn --factory <factory>` in its own process; yields its base URL."""
    port = port or free_port()
    # RR_BENCH_PROFILE=<dir>: each served app writes a cProfile of its whole run there.
    profile = os.environ.get("RR_BENCH_PROFILE")
    prefix = ["-m", "cProfile", "-o", f"{profile}/{factory.split(':')[0]}-{port}.prof"] \
        if profile else []
    proc = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [sys.executable, *prefix, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, proc, factory, seconds=120)  # a loaded machine imports slowly
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


@dataclass
class Result:
    """One row of the table. `ratio` is ours/baseline; `target` says which way is good."""

    benchmark: str
    figure: str
    ours: float
    baseline: float | None
    unit: str
    target: str
    met: bool | None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.ours / self.baseline


def table(results: list[Result]) -> str:
    header = ["benchmark", "figure", "ours", "baseline", "ratio", "target", "met"]
    rows = [header]
    for r in results:
        rows.append([r.benchmark, r.figure, f"{r.ours:,.2f} {r.unit}",
                     "—" if r.baseline is None else f"{r.baseline:,.2f} {r.unit}",
                     "—" if r.ratio is None else f"{r.ratio:.2f}", r.target,
                     {True: "yes", False: "NO", None: "—"}[r.met]])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
             for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    notes = [f"  {r.benchmark} / {r.figure}: {r.note}" for r in results if r.note]
    return "\n".join(lines + (["", "notes:", *notes] if notes else []))
