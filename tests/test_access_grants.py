"""Gated access: a confirmed subscriber obtains a short-lived grant signed with the service's
Ed25519 key, naming model, revision, subscriber and expiry; a hosting server checks it offline
with webhooks/grant.py (run here as a separate process, and as the README's ASGI middleware);
every grant is in the provider's register; revoking a subscriber stops new grants."""

from __future__ import annotations

import asyncio
import base64
import csv
import importlib.util
import io
import json
import re
import subprocess
import sys
from datetime import timedelta

import httpx
import pytest

from app.access import service as access
from tests.propagation import model, quick_subscriber, subscribe, version
from tests.support import TLS, run_async


@pytest.fixture
def gated(org_a, server, receiver):
    model(org_a, "acme/chat", gated=True, licence="apache-2.0")
    version(org_a, "acme/chat", "v1")
    version(org_a, "acme/chat", "v2", supersedes=["v1"])
    sub = quick_subscriber(server.settings, server.url, ["acme/chat"], [receiver.url("/g")],
                           name="Hosting Re-user")
    return sub


@pytest.fixture
def keys_file(client, tmp_path):
    path = tmp_path / "webhook-keys.json"
    path.write_text(client.get("/.well-known/rights-relay/webhook-keys.json").text)
    return path


def grant_of(sub, **body):
    r = sub.api.post("/v1/subscriber/grants", json={"model": "acme/chat", **body})
    assert r.status_code == 201, r.text
    return r.json()


def check_offline(repo_root, keys_file, token, *args):
    return subprocess.run(
        [sys.executable, str(repo_root / "webhooks" / "grant.py"), token, "--keys-file",
         str(keys_file), *args], capture_output=True, text=True, timeout=60)


def tamper(token: str, **changes) -> str:
    prefix, claims, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    data.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return f"{prefix}.{forged}.{signature}"


def test_a_grant_is_verified_offline_and_refused_after_tampering(gated, repo_root, keys_file):
    g = grant_of(gated)
    assert (g["model"], g["label"], g["revision"]) == ("acme/chat", "v2", "rev-v2")
    assert g["subscriber"] == gated.id
    ok = check_offline(repo_root, keys_file, g["grant"], "--model", "acme/chat",
                       "--revision", "rev-v2")
    assert ok.returncode == 0, ok.stderr
    claims = json.loads(ok.stdout)
    assert (claims["model"], claims["revision"], claims["sub"], claims["sub_name"]) == (
        "acme/chat", "rev-v2", gated.id, "Hosting Re-user")
    assert claims["exp"] - claims["iat"] == 900
    # The version label names the revision too.
    assert check_offline(repo_root, keys_file, g["grant"], "--revision", "v2").returncode == 0

    for forged in (tamper(g["grant"], revision="rev-v1"), tamper(g["grant"], exp=2**40),
                   tamper(g["grant"], sub="someone-else"), g["grant"][:-3] + "AAA"):
        refused = check_offline(repo_root, keys_file, forged)
        assert refused.returncode == 1 and "REFUSED: forged" in refused.stderr, refused.stderr
    other = check_offline(repo_root, keys_file, g["grant"], "--revision", "rev-v1")
    assert other.returncode == 1 and "another revision" in other.stderr
    other = check_offline(repo_root, keys_file, g["grant"], "--model", "acme/other")
    assert other.returncode == 1 and "another model" in other.stderr
    junk = check_offline(repo_root, keys_file, "not-a-grant")
    assert junk.returncode == 1 and "not an access grant" in junk.stderr


def test_an_expired_grant_is_refused_offline_and_online(gated, repo_root, client, clock):
    g = grant_of(gated)
    spec = importlib.util.spec_from_file_location("grant_checker", repo_root / "webhooks/grant.py")
    checker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checker)
    keys = [k["public_key"] for k in
            client.get("/.well-known/rights-relay/webhook-keys.json").json()["keys"]]
    claims = checker.verify_grant(g["grant"], keys, now=json.loads(
        base64.urlsafe_b64decode(g["grant"].split(".")[1] + "==="))["iat"])
    with pytest.raises(checker.GrantError, match="expired"):
        checker.verify_grant(g["grant"], keys, now=claims["exp"] + 31)

    assert client.post("/v1/public/grants/check", json={"grant": g["grant"], "model": "acme/chat",
                                                        "revision": "rev-v2"}).status_code == 200
    clock.advance(timedelta(minutes=16))
    r = client.post("/v1/public/grants/check", json={"grant": g["grant"]})
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant"), r.text
    assert "expired" in r.json()["detail"]


def test_the_online_check_refuses_forged_and_misdirected_grants(gated, client):
    g = grant_of(gated)
    cases = [({"grant": tamper(g["grant"], revision="rev-v1")}, "signature"),
             ({"grant": g["grant"], "revision": "rev-v1"}, "another revision"),
             ({"grant": g["grant"], "model": "acme/other"}, "another model"),
             ({"grant": "rrg1.e30.AAAA"}, "signature"), ({"grant": "garbage"}, "not an access")]
    for body, why in cases:
        r = client.post("/v1/public/grants/check", json=body)
        assert (r.status_code, r.json()["error"]) == (400, "invalid_grant"), r.text
        assert why in r.json()["detail"]


def test_a_webhook_signature_never_passes_for_a_grant(client, org_a, mailbox, receiver,
                                                      repo_root, keys_file):
    """Same key, two uses: the signed bytes of one can never be those of the other."""
    model(org_a, "acme/chat")
    subscribe(client, mailbox, models=["acme/chat"], urls=[receiver.url("/w")])
    version(org_a, "acme/chat", "v1")
    [hit] = receiver.wait_for("/w")
    v1a = next(p.split(",", 1)[1] for p in hit.headers["webhook-signature"].split()
               if p.startswith("v1a,"))
    content = f"{hit.headers['webhook-id']}.{hit.headers['webhook-timestamp']}.".encode() \
        + hit.body
    sig = base64.urlsafe_b64encode(base64.b64decode(v1a)).decode().rstrip("=")
    body = base64.urlsafe_b64encode(content).decode().rstrip("=")
    r = check_offline(repo_root, keys_file, f"rrg1.{body}.{sig}")
    assert r.returncode == 1 and "forged" in r.stderr
    r = client.post("/v1/public/grants/check", json={"grant": f"rrg1.{body}.{sig}"})
    assert r.status_code == 400


def test_the_readme_middleware_serves_only_grant_holders(gated, repo_root, client, tmp_path):
    readme = (repo_root / "webhooks" / "README.md").read_text()
    code = re.search(r"<!-- asgi-middleware -->\n```python\n(.*?)```", readme, re.S).group(1)
    assert len(code.strip().splitlines()) <= 14
    (tmp_path / "grant.py").write_text((repo_root / "webhooks" / "grant.py").read_text())
    (tmp_path / "hosting.py").write_text(code)
    sys.path.insert(0, str(tmp_path))
    try:
        import hosting
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("grant", None)

    async def files(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"weights"})

    keys = [k["public_key"] for k in
            client.get("/.well-known/rights-relay/webhook-keys.json").json()["keys"]]
    token = grant_of(gated)["grant"]
    app = hosting.require_grant(files, keys)

    async def get(path, token=None):
        headers = {"authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://hosting") as c:
            return await c.get(path, headers=headers)

    async def go():
        good = await get("/acme/chat/resolve/rev-v2/model.safetensors", token)
        assert (good.status_code, good.content) == (200, b"weights")
        assert (await get("/acme/chat/resolve/rev-v2/model.safetensors")).status_code == 403
        old = await get("/acme/chat/resolve/rev-v1/model.safetensors", token)
        assert old.status_code == 403 and b"another revision" in old.content
        forged = await get("/acme/chat/resolve/rev-v2/model.safetensors",
                           tamper(token, sub="x"))
        assert forged.status_code == 403

    asyncio.run(go())


def test_grants_only_for_confirmed_followers_of_current_versions(gated, org_a, server, client,
                                                                 receiver):
    # A current version by label; a superseded one is refused.
    assert grant_of(gated, version="v2")["label"] == "v2"
    r = gated.api.post("/v1/subscriber/grants", json={"model": "acme/chat", "version": "v1"})
    assert (r.status_code, r.json()["error"]) == (409, "conflict"), r.text
    assert gated.api.post("/v1/subscriber/grants", json={"model": "acme/chat",
                                                         "version": "v9"}).status_code == 404
    # A model not followed, a model not gated.
    model(org_a, "acme/open")
    other = quick_subscriber(server.settings, server.url, ["acme/open"], [receiver.url("/o")])
    assert other.api.post("/v1/subscriber/grants",
                          json={"model": "acme/chat"}).status_code == 404
    assert other.api.post("/v1/subscriber/grants",
                          json={"model": "acme/open"}).status_code == 409
    # No token, no grant.
    assert client.post("/v1/subscriber/grants", json={"model": "acme/chat"}).status_code == 401
    # An update clause must be accepted first.
    r = org_a.admin.post("/v1/models/acme/chat/clause", json={"url": "https://acme.example/c"})
    assert r.status_code == 201
    r = gated.api.post("/v1/subscriber/grants", json={"model": "acme/chat"})
    assert r.status_code == 409 and "update clause" in r.json()["detail"]
    assert gated.api.post("/v1/subscriber/clauses/accept",
                          json={"model": "acme/chat", "version": 1}).status_code == 200
    grant_of(gated)


def test_every_grant_is_in_the_register_and_revoking_stops_new_ones(gated, org_a, server,
                                                                    settings):
    first, second = grant_of(gated), grant_of(gated)
    register = org_a.admin.get("/v1/models/acme/chat/grants")
    assert register.status_code == 200, register.text
    assert [(g["grant_id"], g["subscriber_id"], g["subscriber_name"], g["label"], g["revision"])
            for g in register.json()] == [
        (first["grant_id"], gated.id, "Hosting Re-user", "v2", "rev-v2"),
        (second["grant_id"], gated.id, "Hosting Re-user", "v2", "rev-v2")]
    assert register.json()[0]["issued_at"][:19] == first["issued_at"][:19]
    exported = org_a.admin.get("/v1/models/acme/chat/grants", params={"format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["subscriber_name"], r["revision"]) for r in rows] == [
        ("Hosting Re-user", "rev-v2")] * 2

    # The service function other features read (Art. 19 recipients of a gated model).
    async def recipients(session):
        from sqlalchemy import select

        from app.models_registry.models import Model
        m = await session.scalar(select(Model).where(Model.name == "chat"))
        return await access.recipients(session, [m.id])

    [who] = run_async(settings, recipients)
    assert (str(who.subscriber_id), who.name, who.revisions, who.grants) == (
        gated.id, "Hosting Re-user", ("rev-v2",), 2)

    r = org_a.admin.post(f"/v1/models/acme/chat/subscribers/{gated.id}/revocation")
    assert r.status_code == 200 and r.json()["revoked_at"], r.text
    refused = gated.api.post("/v1/subscriber/grants", json={"model": "acme/chat"})
    assert (refused.status_code, refused.json()["error"]) == (403, "forbidden"), refused.text
    assert len(org_a.admin.get("/v1/models/acme/chat/grants").json()) == 2
    assert org_a.client("reviewer").post(
        f"/v1/models/acme/chat/subscribers/{gated.id}/revocation").status_code == 403
    r = org_a.admin.delete(f"/v1/models/acme/chat/subscribers/{gated.id}/revocation")
    assert r.status_code == 200 and r.json()["revoked_at"] is None
    grant_of(gated)


def test_the_management_page_hands_out_a_grant(gated, server, repo_root, keys_file):
    from tests.test_web_signin import HTML, csrf_of

    with httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30) as web:
        manage = f"/s/manage/{gated.token}"
        page = web.get(manage)
        assert "Get an access grant" in page.text
        r = web.post(manage, data={"csrf_token": csrf_of(page), "action": "grant",
                                   "model": "acme/chat"})
        assert r.status_code == 200 and "no-store" in r.headers["cache-control"]
        token = re.search(r"(rrg1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)", r.text).group(1)
        assert check_offline(repo_root, keys_file, token, "--model", "acme/chat").returncode == 0
        r = web.post(manage, data={"csrf_token": csrf_of(page), "action": "grant",
                                   "model": "acme/nothing"})
        assert r.status_code == 422 and "not found" in r.text
