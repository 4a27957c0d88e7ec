"""The `rights-relay` command, run as a user would: a subprocess on a fresh database."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import TLS, free_port, new_database

CLI = [str(Path(sys.executable).parent / "rights-relay")]


@pytest.fixture
def fresh(tmp_path):
    db = new_database(str(tmp_path), "cli")
    env = {**os.environ, "RR_DATABASE_URL": db.url, "RR_DATA_DIR": str(tmp_path / "data"),
           "RR_LOG_LEVEL": "WARNING"}
    yield env, tmp_path
    db.drop()


def run(env, *args, ok=True):
    p = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=120)
    if ok:
        assert p.returncode == 0, p.stderr
    return p


def test_migrate_create_org_and_api_key(fresh):
    env, _ = fresh
    assert "database at" in run(env, "migrate").stdout
    out = run(env, "create-org", "--name", "Acme Lab", "--slug", "acme",
              "--admin-email", "boss@acme.example").stdout
    assert "organisation acme created" in out
    assert re.search(r"password: \S{10,}", out)
    key = run(env, "create-api-key", "--org", "acme", "--name", "ci", "--role", "pipeline"
              ).stdout.strip()
    assert re.fullmatch(r"rr_[a-z0-9]{10}_\S+", key)
    # A second org with the same slug is refused with a clear message.
    p = run(env, "create-org", "--name", "Other", "--slug", "acme",
            "--admin-email", "x@other.example", ok=False)
    assert p.returncode == 1 and "taken" in p.stderr


def test_cli_rejects_bad_input_clearly(fresh):
    env, _ = fresh
    run(env, "migrate")
    p = run(env, "create-org", "--name", "X", "--slug", "Not A Slug",
            "--admin-email", "nope", ok=False)
    assert p.returncode == 2 and "slug" in p.stderr and "email" in p.stderr
    p = run(env, "create-api-key", "--org", "missing", "--name", "k", ok=False)
    assert p.returncode == 1 and "not found" in p.stderr
    p = run(env, "create-api-key", "--org", "missing", "--name", "k", "--role", "root", ok=False)
    assert p.returncode == 2 and "role" in p.stderr


def _start_serve(env, port):
    proc = subprocess.Popen([*CLI, "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "API docs" in line:
            break
    out = "".join(lines)
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return proc, out
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("serve did not come up:\n" + out)


def _stop(proc, sig=signal.SIGTERM):
    """Stop it as a service manager does; it must end promptly and cleanly (its periodic
    jobs' runs under way used to hold the exit for 10 s and more)."""
    proc.send_signal(sig)
    start = time.monotonic()
    try:
        code = proc.wait(8)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("the server did not stop within 8 s of the signal") from None
    # Uvicorn shuts down gracefully, then ends by the signal it caught (as a service manager
    # expects: a clean stop by SIGTERM).
    assert code in (0, -sig), code
    return time.monotonic() - start


def test_serve_migrates_seeds_the_demo_and_prints_how_to_use_it(fresh):
    env, _ = fresh
    # Jobs every 0.2 s: a stop finds runs under way, which must not hold the exit.
    env = {**env, "RR_SEED_DEMO": "true", "RR_JOB_POLL_SECONDS": "0.2",
           "RR_HOUSEKEEPING_SECONDS": "0.5"}
    port = free_port()
    proc, out = _start_serve(env, port)
    try:
        assert f"http://127.0.0.1:{port}" in out
        email = re.search(r"email (\S+)", out).group(1)
        password = re.search(r"password (\S+)", out).group(1)
        key = re.search(r"demo API key:\s+(\S+)", out).group(1)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/readyz").json()["status"] == "ok"
        models = httpx.get(f"{base}/v1/models", headers={"Authorization": f"Bearer {key}"}).json()
        assert [m["id"] for m in models["items"]] == ["demo/chat-7b", "demo/chat-7b-instruct"]
        with httpx.Client(verify=TLS, base_url=base) as c:
            page = c.get("/signin").text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            r = c.post("/signin", data={"email": email, "password": password,
                                        "csrf_token": csrf})
            assert r.status_code == 303
            assert "Demo AI Lab" in c.get("/dashboard").text
    finally:
        assert _stop(proc) < 5
    # A restart does not seed twice and still shows the demo credentials.
    proc, out2 = _start_serve(env, port)
    try:
        assert key in out2
        models = httpx.get(f"http://127.0.0.1:{port}/v1/models",
                           headers={"Authorization": f"Bearer {key}"}).json()
        assert len(models["items"]) == 2
    finally:
        _stop(proc)
