"""Access grants as signed tokens: `rrg1.<claims>.<signature>` (base64url, no padding), signed
with the service's Ed25519 key, the one that signs webhooks (`v1a`) and is published at
/.well-known/rights-relay/webhook-keys.json.

The signed bytes are `rights-relay:access-grant:v1:` + the claims' base64url text. That prefix
separates the two uses of the key: webhook signatures cover `{id}.{timestamp}.{body}`, which
always holds dots, while a grant's signed bytes never do, so a signature of one kind can never
be passed off as the other. webhooks/grant.py checks grants with no access to the service."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.delivery.signing import ServiceKeys, SigningKey

PREFIX = "rrg1"
DOMAIN = b"rights-relay:access-grant:v1:"
TYPE = "rights-relay/access-grant"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: SigningKey, claims: dict[str, Any]) -> str:
    body = _b64(json.dumps({**claims, "typ": TYPE, "kid": key.kid}, sort_keys=True,
                           separators=(",", ":")).encode())
    return f"{PREFIX}.{body}.{_b64(key.private.sign(DOMAIN + body.encode()))}"


class BadGrant(Exception):
    pass


@dataclass(frozen=True)
class Verified:
    claims: dict[str, Any]


def verify(token: str, keys: ServiceKeys) -> Verified:
    """Check the signature against every published key; the claims are returned unchecked
    (expiry, model, revision are the caller's to judge)."""
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX or len(token) > 4000:
        raise BadGrant("not an access grant (rrg1.<claims>.<signature>)")
    try:
        signature = _unb64(parts[2])
    except (binascii.Error, ValueError):
        raise BadGrant("not an access grant (bad encoding)") from None
    content = DOMAIN + parts[1].encode()
    for key in keys.keys:
        try:
            Ed25519PublicKey.from_public_bytes(key.public_raw).verify(signature, content)
        except InvalidSignature:
            continue
        try:  # parsed only once the signature holds
            claims = json.loads(_unb64(parts[1]))
        except (binascii.Error, ValueError):
            raise BadGrant("not an access grant (bad encoding)") from None
        if not isinstance(claims, dict) or claims.get("typ") != TYPE:
            raise BadGrant("not an access grant")
        return Verified(claims)
    raise BadGrant("the signature does not verify with any of the service's keys")
