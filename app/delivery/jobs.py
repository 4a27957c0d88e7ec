"""From claimed rows to what one send needs: the body (built once per event), the endpoint's
signing secrets (unsealed once per endpoint and secret), and the URL's IP-literal check (once
per host)."""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from app.acks.links import ack_key, ack_url
from app.config import Settings
from app.crypto import Keyring
from app.delivery.attempt import Job
from app.delivery.signing import secret_bytes
from app.delivery.ssrf import is_public, literal_ip
from app.delivery.store import Claimed, EventRow
from app.events.models import RequiredAction
from app.subscribers.service import signing_secrets

# Bounded caches: a fan-out to many endpoints must not grow the worker without limit.
EVENT_CACHE = 256
SECRET_CACHE = 20_000
HOST_CACHE = 20_000


def envelope(event_type: str, occurred_at: datetime, data: dict[str, Any]) -> bytes:
    """The webhook body, `{"type", "timestamp", "data"}`, as compact JSON."""
    stamp = occurred_at.isoformat().replace("+00:00", "Z")
    return json.dumps({"type": event_type, "timestamp": stamp, "data": data},
                      separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class _Sealed:
    """An endpoint's sealed secrets, as claimed (what `signing_secrets` reads)."""

    id: uuid.UUID
    secret_sealed: bytes
    previous_secret_sealed: bytes | None
    previous_secret_expires_at: datetime | None


class JobBuilder:
    def __init__(self, settings: Settings, keyring: Keyring) -> None:
        self.settings = settings
        self.keyring = keyring
        self.events: OrderedDict[uuid.UUID, tuple[bytes, str, bool]] = OrderedDict()
        self._secrets: OrderedDict[tuple[uuid.UUID, bytes, bytes | None, bool],
                                   list[str]] = OrderedDict()
        self._hosts: dict[str, bool] = {}
        self._ack_key = ack_key(settings)

    def known_events(self) -> set[uuid.UUID]:
        return set(self.events)

    def learn(self, events: list[EventRow]) -> None:
        for ev in events:
            body = envelope(ev.type, ev.occurred_at, ev.data)
            self.events[ev.id] = (body, ev.type, ev.action != RequiredAction.no_action)
            while len(self.events) > EVENT_CACHE:
                self.events.popitem(last=False)

    def build(self, rows: list[Claimed], owner: str, now: datetime) -> list[Job]:
        jobs: list[Job] = []
        for r in rows:
            usable = r.enabled and r.removed_at is None
            ack: str | None = None
            cached = self.events.get(r.event_id) if r.event_id is not None else None
            if cached is not None:
                body, msg_id = cached[0], str(r.event_id)
                if cached[2]:
                    ack = ack_url(self.settings, r.event_id,  # type: ignore[arg-type]
                                  r.subscriber_id, self._ack_key)
            else:
                payload = r.test_payload or {}
                body = envelope(r.event_type, r.created_at, payload)
                msg_id = str(payload.get("event_id", r.id))
            secrets = self._secrets_of(r, now) if usable else []
            jobs.append(Job(
                delivery_id=r.id, attempt=r.attempts + 1, endpoint_id=r.endpoint_id,
                subscriber_id=r.subscriber_id, url=r.url, secrets=secrets,
                failing=r.failing_since is not None, msg_id=msg_id, event_type=r.event_type,
                body=body, ack_url=ack, lease_owner=owner, usable=usable,
                blocked=usable and self._blocked(r.url),
                keys=tuple(secret_bytes(s) for s in secrets)))
        return jobs

    def _secrets_of(self, r: Claimed, now: datetime) -> list[str]:
        # Keyed by the sealed values themselves (a rotated secret is a new entry) and by
        # whether the previous secret is still in its grace period.
        grace = r.previous_secret_expires_at is not None and r.previous_secret_expires_at > now
        key = (r.endpoint_id, r.secret_sealed, r.previous_secret_sealed, grace)
        secrets = self._secrets.get(key)
        if secrets is None:
            secrets = self._secrets[key] = signing_secrets(self.keyring, _Sealed(
                r.endpoint_id, r.secret_sealed, r.previous_secret_sealed,
                r.previous_secret_expires_at))
            while len(self._secrets) > SECRET_CACHE:
                self._secrets.popitem(last=False)
        return secrets

    def _blocked(self, url: str) -> bool:
        """aiohttp does not resolve IP literals (the checking resolver never sees them): refuse
        non-public ones here, once per host."""
        if self.settings.allow_private_webhook_targets:
            return False
        # Cached by the URL's authority (cheap to cut out), checked on its parsed host.
        authority = url.split("/", 3)[2] if url.count("/") >= 2 else url
        blocked = self._hosts.get(authority)
        if blocked is None:
            if len(self._hosts) > HOST_CACHE:
                self._hosts.clear()
            ip = literal_ip(urlsplit(url).hostname or "")
            blocked = self._hosts[authority] = ip is not None and not is_public(ip)
        return blocked
