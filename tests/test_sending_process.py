"""`rights-relay worker` sends from a process of its own (app/delivery/remote.py): the worker
claims and records, its sending process posts. Every result comes back and is recorded; a
sending process that dies is replaced and what it held is sent again at once (not after the
lease); a worker that dies takes its sending process with it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests import crash
from tests.propagation import check_signatures, keys, quick_subscriber
from tests.receiver import Answer
from tests.subjects import wait_until as until
from tests.support import CLI, TLS, IsolatedServer, create_org

MODULE = "app.delivery.sending_process"


@pytest.fixture
def iso(settings, tmp_path):
    # The server records the events; only the worker process of the test delivers them.
    with IsolatedServer(settings, str(tmp_path), run_delivery_worker=False) as srv:
        yield srv


@pytest.fixture
def org(iso):
    o = create_org(iso.settings, iso.url, "sender")
    assert o.admin.post("/v1/models", json={"id": "sp/m", "title": "M"}).status_code == 201
    yield o
    o.close()


def start(settings, lease_seconds: float = 60.0, group: bool = False) -> subprocess.Popen[str]:
    """The worker, once it says it started (its sending process is up by then); `group`: in a
    process group of its own, as under a terminal or a service manager."""
    env = crash.worker_env(settings, lease_seconds, concurrency=8)
    proc = subprocess.Popen([CLI, "worker", "--no-jobs"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=group)
    assert proc.stdout is not None
    assert "delivery worker started" in proc.stdout.readline()
    return proc


def sending_processes(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            if MODULE in Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace"):
                found.append(int(child))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def subscribe(iso, receiver, paths: list[str]) -> dict[str, str]:
    """Subscribers (ten endpoints each) to the model; each endpoint's URL -> its secret."""
    secrets: dict[str, str] = {}
    for i in range(0, len(paths), 10):
        secrets |= quick_subscriber(iso.settings, iso.url, ["sp/m"],
                                    [receiver.url(p) for p in paths[i:i + 10]]).secrets
    return secrets


def publish(org, label: str) -> None:
    r = org.admin.post("/v1/models/sp/m/versions", json={"label": label, "revision": label})
    assert r.status_code == 201, r.text


def test_the_worker_sends_from_its_own_process_and_records_every_result(iso, org, receiver):
    ok = [f"/sp/ok/{i}" for i in range(12)]
    failing = [f"/sp/fail/{i}" for i in range(4)]
    for path in failing:
        receiver.answer(path, Answer(500, body="down"))
    secrets = subscribe(iso, receiver, ok + failing)
    proc = start(iso.settings)
    try:
        [child] = sending_processes(proc.pid)
        publish(org, "v1")
        for path in ok:
            receiver.wait_for(path, 1)
        for path in failing:  # retried: their results came back and were recorded
            receiver.wait_for(path, 2)
        with httpx.Client(verify=TLS, base_url=iso.url) as client:
            public_keys = keys(client)
        for path in ok:
            [hit] = receiver.to(path)
            check_signatures(hit, secrets[receiver.url(path)], public_keys)
        engine = sa.create_engine(iso.settings.sync_url, poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            def statuses() -> Counter[str]:
                return Counter(s for (s,) in conn.execute(sa.text(
                    "SELECT status FROM deliveries")))
            until(lambda: statuses()["succeeded"] == len(ok), 20)
            codes = Counter((a.status_code, a.error_class) for a in conn.execute(sa.text(
                "SELECT status_code, error_class FROM delivery_attempts")))
        engine.dispose()
        assert codes[(200, None)] == len(ok)
        assert codes[(500, "http_status")] >= 2 * len(failing)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "delivery worker stopped" in out
    until(lambda: not alive(child), 5)  # stopping the worker stopped its sending process


def test_a_killed_sending_process_is_replaced_and_what_it_held_is_sent_again_at_once(
        iso, org, receiver):
    paths = [f"/sp/slow/{i}" for i in range(40)]
    for path in paths:  # slow, so that the kill lands with sends in flight
        receiver.answer(path, Answer(200, delay=0.3))
    subscribe(iso, receiver, paths)
    # A 60 s lease: delivered well before it could run out, so what the dead process held was
    # given back, not left to expire.
    proc = start(iso.settings, lease_seconds=60)
    try:
        [first] = sending_processes(proc.pid)
        publish(org, "v2")
        until(lambda: len(receiver.hits) >= 5, 20)
        engine = sa.create_engine(iso.settings.sync_url, poolclass=sa.pool.NullPool)
        held = crash.held(engine)
        subprocess.run(["kill", "-KILL", str(first)], check=True)
        started = time.monotonic()
        until(lambda: {h.path for h in receiver.hits} >= set(paths), 20)
        until(lambda: crash.left_over(engine) == {}, 10)
        assert time.monotonic() - started < 15
        engine.dispose()
        assert proc.poll() is None  # the worker carried on
        [second] = sending_processes(proc.pid)
        assert second != first
        counts = Counter(h.path for h in receiver.hits)
        assert sum(counts.values()) - len(paths) <= len(held)  # resent: only what it held
        with receiver.lock:
            assert max(receiver.most_at_once.values()) == 1  # never two sends at once
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert "the sending process ended" in err


def test_a_killed_worker_takes_its_sending_process_with_it(iso, org):
    proc = start(iso.settings)
    [child] = sending_processes(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    until(lambda: not alive(child), 5)


def test_ctrl_c_to_the_whole_process_group_stops_the_worker_cleanly(iso, org, receiver):
    """The terminal (or systemd) signals every process of the group: the sending process
    leaves its stopping to the worker, which still finishes and says so."""
    proc = start(iso.settings, group=True)
    [child] = sending_processes(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "delivery worker stopped" in out
    assert "ended unexpectedly" not in err
    until(lambda: not alive(child), 5)
