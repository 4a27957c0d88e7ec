"""Re-users check their own copies: webhooks/check_copies.py (standard library only) hashes
local model files and asks the public digest lookup which model and version each belongs to,
telling current, superseded, withdrawn and unknown apart, with a non-zero exit when a copy
must be replaced. Run here as a subprocess on files the test writes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from tests.propagation import model, version
from tests.support import free_port

CONTENT = {"old.safetensors": b"weights of v1" * 1000,
           "current.gguf": bytes(range(256)) * 10_000,  # 2.5 MB: several 1 MiB chunks
           "gone.bin": b"weights of the withdrawn v3",
           "stranger.pt": b"a file no provider released"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def releases(org_a):
    model(org_a, "acme/chat")
    files = {name: sha(data) for name, data in CONTENT.items()}
    version(org_a, "acme/chat", "v1", digests=[{"file": "model.safetensors",
                                                "sha256": files["old.safetensors"]}])
    version(org_a, "acme/chat", "v2", supersedes=["v1"],
            digests=[{"file": "model.gguf", "sha256": files["current.gguf"]}])
    version(org_a, "acme/chat", "v3", digests=[{"file": "model.bin",
                                                "sha256": files["gone.bin"]}])
    r = org_a.admin.patch("/v1/models/acme/chat/versions/v3", json={"status": "withdrawn"})
    assert r.status_code == 200, r.text
    return files


@pytest.fixture
def copies(tmp_path):
    folder = tmp_path / "models"
    (folder / "sub").mkdir(parents=True)
    for name, data in CONTENT.items():
        (folder / ("sub" if name == "gone.bin" else "") / name).write_bytes(data)
    (folder / "notes.txt").write_text("not a model file")
    return folder


def check(repo_root, url, *args):
    return subprocess.run([sys.executable, str(repo_root / "webhooks" / "check_copies.py"),
                           "--url", url, *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def test_the_checker_tells_current_superseded_withdrawn_and_unknown_apart(
        releases, copies, server, repo_root):
    r = check(repo_root, server.url, "--json", "--chunk-mib", "1", copies)
    assert r.returncode == 1, r.stderr
    report = json.loads(r.stdout)
    by_name = {f["path"].rsplit("/", 1)[-1]: f for f in report["files"]}
    assert sorted(by_name) == ["current.gguf", "gone.bin", "old.safetensors", "stranger.pt"]
    assert {n: f["status"] for n, f in by_name.items()} == {
        "current.gguf": "current", "old.safetensors": "superseded", "gone.bin": "withdrawn",
        "stranger.pt": "unknown"}
    assert {n: f["sha256"] for n, f in by_name.items()} == {n: releases[n] for n in by_name}
    [old] = by_name["old.safetensors"]["matches"]
    assert (old["model"], old["label"], old["action"]) == ("acme/chat", "v1", "replace")
    assert old["replacement"] == {"label": "v2", "revision": "rev-v2"} and old["deadline_at"]
    [gone] = by_name["gone.bin"]["matches"]
    assert (gone["action"], gone["replacement"]) == ("delete", None)
    assert gone["latest"] == {"label": "v2", "revision": "rev-v2"}
    assert by_name["stranger.pt"]["matches"] == []
    assert "cannot be checked" in by_name["stranger.pt"]["action"]
    # Progress went to stderr, chunk by chunk for the large file.
    assert "hashing" in r.stderr and "done (2.6 MB)" in r.stderr

    table = check(repo_root, server.url, "--quiet", copies)
    assert table.returncode == 1 and table.stderr == ""
    lines = {line.split()[0].rsplit("/", 1)[-1]: line for line in table.stdout.splitlines()
             if "/" in line.split(" ")[0]}
    assert "SUPERSEDED" in lines["old.safetensors"]
    assert "replace with v2 (rev-v2) before 20" in lines["old.safetensors"]
    assert "WITHDRAWN" in lines["gone.bin"] and "delete" in lines["gone.bin"]
    assert "UNKNOWN" in lines["stranger.pt"]
    assert " current " in lines["current.gguf"]
    assert "1 current, 1 unknown, 1 superseded, 1 withdrawn" in table.stdout


def test_exit_status_is_zero_only_when_every_copy_is_current(releases, copies, server,
                                                             repo_root):
    assert check(repo_root, server.url, copies / "current.gguf").returncode == 0
    # Unknown is never fine, unless the caller says so.
    unknown = check(repo_root, server.url, copies / "current.gguf", copies / "stranger.pt")
    assert unknown.returncode == 3
    assert check(repo_root, server.url, "--allow-unknown", copies / "current.gguf",
                 copies / "stranger.pt").returncode == 0
    # A file outside the model extensions is checked when named, or with --all-files.
    assert check(repo_root, server.url, copies / "notes.txt").returncode == 3
    r = check(repo_root, server.url, "--json", "--all-files", copies)
    assert any(f["path"].endswith("notes.txt") for f in json.loads(r.stdout)["files"])
    # The service cannot be reached: 4, not "fine".
    down = check(repo_root, f"http://127.0.0.1:{free_port()}", copies / "current.gguf")
    assert down.returncode == 4 and "could not ask" in down.stderr
    assert check(repo_root, server.url, copies / "missing.bin").returncode == 2


def test_the_public_lookup_answers_by_digest(releases, client):
    r = client.get(f"/v1/public/digests/{releases['old.safetensors'].upper()}")
    assert r.status_code == 200, r.text
    assert r.json()["known"] is True
    [match] = r.json()["matches"]
    assert (match["status"], match["file"], match["organization"]) == (
        "superseded", "model.safetensors", "org-a")
    r = client.get(f"/v1/public/digests/{releases['stranger.pt']}")
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
    batch = client.post("/v1/public/digests", json={"sha256": [
        releases["current.gguf"], releases["stranger.pt"], releases["current.gguf"]]})
    assert batch.status_code == 200, batch.text
    assert [(x["sha256"], x["known"]) for x in batch.json()["results"]] == [
        (releases["current.gguf"], True), (releases["stranger.pt"], False)]


@pytest.mark.parametrize("bad", ["abc", "e" * 63, "e" * 65, "g" * 64, "e" * 63 + "-",
                                 "e" * 64 + "%00"])
def test_a_digest_that_is_not_64_hex_characters_is_a_422(client, bad):
    r = client.get(f"/v1/public/digests/{bad}")
    assert (r.status_code, r.json()["error"]) == (422, "validation_error"), r.text
    r = client.post("/v1/public/digests", json={"sha256": ["e" * 64, bad]})
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "sha256.1", r.text


def test_a_batch_holds_one_to_a_thousand_digests(client):
    assert client.post("/v1/public/digests", json={"sha256": []}).status_code == 422
    assert client.post("/v1/public/digests",
                       json={"sha256": ["e" * 64] * 1001}).status_code == 422
    r = client.post("/v1/public/digests", json={"sha256": [f"{i:064x}" for i in range(1000)]})
    assert r.status_code == 200 and len(r.json()["results"]) == 1000
