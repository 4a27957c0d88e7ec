"""Helpers for the propagation tests: subscribers, versions, remediations, signature checks."""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks import Webhook

from app.config import Settings
from tests.mail import Mailbox, body
from tests.receiver import Hit
from tests.support import TLS, run_async


@dataclass
class Sub:
    id: str
    token: str
    secrets: dict[str, str]  # url -> whsec_
    endpoints: dict[str, str]  # url -> endpoint id
    base_url: str
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def api(self) -> httpx.Client:
        if not self.clients:
            self.clients.append(httpx.Client(verify=TLS,
                base_url=self.base_url, headers={"Authorization": f"Bearer {self.token}"},
                timeout=30))
        return self.clients[0]


def subscribe(client: httpx.Client, mailbox: Mailbox, *, models: list[str],
              urls: list[str] = (), name: str = "Downstream Ltd",  # type: ignore[assignment]
              email: str | None = None) -> Sub:
    """Sign up through the public API and confirm with the emailed link, as a re-user would."""
    email = email or f"ops-{uuid.uuid4().hex[:8]}@downstream.example"
    r = client.post("/v1/public/subscribers", json={
        "name": name, "email": email, "models": models,
        "endpoints": [{"url": u} for u in urls]})
    assert r.status_code == 202, r.text
    msg = mailbox.wait_for(email, "Confirm your Rights Relay subscription")
    m = re.search(r"/s/confirm/(\S+)", body(msg))
    assert m, body(msg)
    r = client.post("/v1/public/subscribers/confirm", json={"token": m.group(1)})
    assert r.status_code == 200, r.text
    data = r.json()
    endpoints = {e["url"]: e["id"] for e in data["subscriber"]["endpoints"]}
    secrets = {url: next(s["secret"] for s in data["secrets"] if s["endpoint_id"] == eid)
               for url, eid in endpoints.items()}
    return Sub(id=data["subscriber"]["id"], token=data["token"], secrets=secrets,
               endpoints=endpoints, base_url=str(client.base_url))


def quick_subscriber(settings: Settings, base_url: str, models: list[str],
                     urls: list[str], name: str = "Bulk Re-user") -> Sub:
    """A confirmed subscriber made directly through the service (for large set-ups)."""
    from app.crypto import Keyring
    from app.delivery.ssrf import SystemResolver
    from app.subscribers import service
    from app.subscribers.schemas import SubscriberCreate

    keyring = Keyring.from_settings(settings)

    async def go(session: Any) -> Sub:
        body_ = SubscriberCreate(name=name, email=f"bulk-{uuid.uuid4().hex[:8]}@re.example",
                                 models=models, endpoints=[{"url": u} for u in urls])
        signup = await service.create(session, keyring, settings, SystemResolver(), body_)
        signup.subscriber.confirm_token_hash = None
        token = service.TOKEN_PREFIX + uuid.uuid4().hex
        from app.auth.tokens import digest
        from app.db import utcnow
        signup.subscriber.token_hash = digest(token)
        signup.subscriber.verified_at = utcnow()
        await session.flush()
        eps = await service.endpoints_of(session, signup.subscriber.id)
        return Sub(id=str(signup.subscriber.id), token=token,
                   secrets={e.url: service.endpoint_secrets(keyring, e).secret for e in eps},
                   endpoints={e.url: str(e.id) for e in eps}, base_url=base_url)

    return run_async(settings, go)


def model(org: Any, ref: str, **fields: Any) -> str:
    r = org.admin.post("/v1/models", json={"id": ref, "title": ref.upper(), **fields})
    assert r.status_code == 201, r.text
    return ref


def version(org: Any, ref: str, label: str, **fields: Any) -> dict[str, Any]:
    r = org.admin.post(f"/v1/models/{ref}/versions",
                       json={"label": label, "revision": f"rev-{label}", **fields})
    assert r.status_code == 201, r.text
    return r.json()


def remediate(settings: Settings, ref: str, old: str, new: str,
              deadline: timedelta = timedelta(days=30)) -> tuple[str, str]:
    """Supersede `old` by `new` because of a remediation (as issue 4's remediation API will),
    directly through app.models_registry.releases.supersede. Returns (event id, remediation id)."""
    from sqlalchemy import select

    from app.models_registry import releases
    from app.models_registry.models import Model, ModelVersion

    remediation_id = uuid.uuid4()
    namespace, name = ref.split("/")

    async def go(session: Any) -> str:
        m = await session.scalar(select(Model).where(Model.namespace == namespace,
                                                     Model.name == name))
        versions = {v.label: v for v in await session.scalars(
            select(ModelVersion).where(ModelVersion.model_id == m.id))}
        event = await releases.supersede(session, m, versions[old], versions[new],
                                         deadline=deadline, remediation_id=remediation_id)
        return str(event.id)

    return run_async(settings, go), str(remediation_id)


def keys(client: httpx.Client) -> list[str]:
    r = client.get("/.well-known/rights-relay/webhook-keys.json")
    assert r.status_code == 200, r.text
    return [k["public_key"] for k in r.json()["keys"]]


def check_signatures(hit: Hit, secret: str | list[str], public_keys: list[str]) -> dict[str, Any]:
    """Independent checks: the `standardwebhooks` library for v1, `cryptography` for v1a."""
    for s in [secret] if isinstance(secret, str) else secret:
        Webhook(s).verify(hit.body, hit.headers)
    content = (f"{hit.headers['webhook-id']}.{hit.headers['webhook-timestamp']}.".encode()
               + hit.body)
    v1a = [p.split(",", 1)[1] for p in hit.headers["webhook-signature"].split()
           if p.startswith("v1a,")]
    assert len(v1a) == 1
    verified = 0
    for k in public_keys:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(k.removeprefix("whpk_")))
        try:
            key.verify(base64.b64decode(v1a[0]), content)
            verified += 1
        except Exception:  # noqa: S112 (another published key may match)
            continue
    assert verified == 1, "the v1a signature matches no published key"
    payload: dict[str, Any] = json.loads(hit.body)
    return payload


def isolated_server(tmp_dir: str, smtp_port: int, resolver: Any = None, **overrides: Any):
    """A server on its own fresh database, so its worker alone sees its deliveries."""
    from app import migrate
    from tests.support import ServerThread, make_settings, new_database

    db = new_database(tmp_dir, "iso")
    settings = make_settings(db.url, tmp_dir, smtp_host="127.0.0.1", smtp_port=smtp_port,
                             **overrides)
    migrate.upgrade(settings)
    srv = ServerThread(settings)
    if resolver is not None:
        srv.app.state.webhook_resolver = resolver
    srv.start()

    def close() -> None:
        srv.stop()
        db.drop()

    return srv, close
