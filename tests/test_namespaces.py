"""Namespaces have owners: the organisation that registered a model in one first (or the one a
service administrator gave it to); another organisation gets 409, and the public list shows
which organisation owns each model."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

from tests.support import CLI, cli_env


def test_another_organisation_cannot_register_in_a_taken_namespace(org_a, org_b, client):
    assert org_a.admin.post("/v1/models", json={"id": "acme/one", "title": "One"}).status_code == 201
    r = org_b.admin.post("/v1/models", json={"id": "acme/two", "title": "Squatter"})
    assert r.status_code == 409 and r.json()["error"] == "conflict"
    assert "namespace belongs to another organisation" in r.json()["detail"]
    assert org_b.admin.get("/v1/models").json()["items"] == []
    assert org_b.admin.post("/v1/models", json={"id": "beta/two", "title": "Two"}).status_code == 201
    # The owner keeps registering there.
    assert org_a.admin.post("/v1/models", json={"id": "acme/two", "title": "Two"}).status_code == 201
    listed = {m["id"]: m["organization"] for m in client.get("/v1/public/models").json()["items"]}
    assert listed == {"acme/one": "org-a", "acme/two": "org-a", "beta/two": "org-b"}
    assert "(org-b)" in client.get("/").text


def test_two_organisations_racing_for_a_new_namespace_one_wins(org_a, org_b):
    def register(pair):
        org, name = pair
        return org.admin.post("/v1/models", json={"id": f"fresh/{name}", "title": name}).status_code

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(register, [(org_a, "a"), (org_b, "b")]))
    assert statuses == [201, 409]


def test_a_service_administrator_assigns_a_namespace(org_a, org_b, settings):
    out = subprocess.run([CLI, "namespaces", "assign", "--namespace", "gamma", "--org", "org-b"],
                         env=cli_env(settings), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert org_a.admin.post("/v1/models", json={"id": "gamma/x", "title": "X"}).status_code == 409
    assert org_b.admin.post("/v1/models", json={"id": "gamma/x", "title": "X"}).status_code == 201
    out = subprocess.run([CLI, "namespaces", "assign", "--namespace", "gamma", "--org", "nope"],
                         env=cli_env(settings), capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "not found" in out.stderr
