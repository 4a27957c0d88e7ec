"""Signed acknowledgement links: `/a/<token>` names one event and one subscriber, and is
unforgeable (HMAC with a key derived from the master secret). Put in webhook headers and emails."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

from app.config import Settings

_MAC = 16


def ack_key(settings: Settings) -> bytes:
    return settings.subkey("ack-link")


def ack_token(settings: Settings, event_id: uuid.UUID, subscriber_id: uuid.UUID,
              key: bytes | None = None) -> str:
    """`key`: `ack_key(settings)`, when the caller keeps it (the delivery worker does)."""
    raw = event_id.bytes + subscriber_id.bytes
    mac = hmac.digest(key or ack_key(settings), raw, "sha256")[:_MAC]
    return base64.urlsafe_b64encode(raw + mac).decode().rstrip("=")


def parse_ack_token(settings: Settings, token: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    if len(token) > 100:
        return None
    try:
        blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, UnicodeEncodeError):
        return None
    if len(blob) != 32 + _MAC:
        return None
    raw, mac = blob[:32], blob[32:]
    expected = hmac.new(settings.subkey("ack-link"), raw, hashlib.sha256).digest()[:_MAC]
    if not hmac.compare_digest(mac, expected):
        return None
    return uuid.UUID(bytes=raw[:16]), uuid.UUID(bytes=raw[16:])


def ack_url(settings: Settings, event_id: uuid.UUID, subscriber_id: uuid.UUID,
            key: bytes | None = None) -> str:
    return f"{settings.public_base_url}/a/{ack_token(settings, event_id, subscriber_id, key)}"
