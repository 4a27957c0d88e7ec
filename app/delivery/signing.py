"""Standard Webhooks signatures: `v1` (HMAC-SHA256, per-endpoint `whsec_` secret) and `v1a`
(Ed25519 with the service's key, whose public keys are published with key ids)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.config import Settings

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
PUBLIC_KEY_PREFIX = "whpk_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode() + body


def sign_v1(secret: str, content: bytes) -> str:
    mac = hmac.new(secret_bytes(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def sign_v1a(self, content: bytes) -> str:
        return "v1a," + base64.b64encode(self.private.sign(content)).decode()


class ServiceKeys:
    """The service's Ed25519 keys: the first signs; all are published (rotation)."""

    def __init__(self, keys: list[SigningKey]) -> None:
        if not keys:
            raise ValueError("at least one webhook signing key is needed")
        self.keys = keys

    @property
    def current(self) -> SigningKey:
        return self.keys[0]

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceKeys:
        keys: list[SigningKey] = []
        if settings.webhook_signing_keys is not None:
            for item in settings.webhook_signing_keys.get_secret_value().split(","):
                kid, _, b64 = item.strip().partition(":")
                seed = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
                if not kid or len(seed) != 32:
                    raise ValueError("RR_WEBHOOK_SIGNING_KEYS: use kid:base64(32 bytes),...")
                keys.append(SigningKey(kid, Ed25519PrivateKey.from_private_bytes(seed)))
        else:
            private = Ed25519PrivateKey.from_private_bytes(settings.subkey("webhook-signing/ed25519"))
            raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            keys.append(SigningKey("rr-" + hashlib.sha256(raw).hexdigest()[:12], private))
        return cls(keys)

    def published(self) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for i, key in enumerate(self.keys):
            raw = key.public_raw
            out.append({
                "kid": key.kid, "alg": "Ed25519", "current": i == 0,
                "public_key": PUBLIC_KEY_PREFIX + base64.b64encode(raw).decode(),
                "jwk": {"kty": "OKP", "crv": "Ed25519", "use": "sig", "kid": key.kid,
                        "x": base64.urlsafe_b64encode(raw).decode().rstrip("=")},
            })
        return out


def signature_header(content: bytes, secrets_: list[str], key: SigningKey) -> str:
    """Every live endpoint secret signs (`v1,` each), then the service key (`v1a,`)."""
    return " ".join([*(sign_v1(s, content) for s in secrets_), key.sign_v1a(content)])
