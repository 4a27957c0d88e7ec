"""Encryption of personal data at rest, and blind indexes to find it without decrypting.

Each record gets its own random data key (DEK); the DEK is stored wrapped (AES-GCM) by a key-
encryption key (KEK) named by a key id, so KEKs can rotate and a record can be crypto-shredded
by deleting its wrapped DEK.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.config import Settings

_NONCE = 12


@dataclass(frozen=True)
class Sealed:
    ciphertext: bytes
    wrapped_key: bytes
    key_id: str


class Keyring:
    def __init__(self, keks: dict[str, bytes], current: str, index_key: bytes) -> None:
        self._keks = keks
        self.current = current
        self._index_key = index_key

    @classmethod
    def from_settings(cls, settings: Settings) -> Keyring:
        keks: dict[str, bytes] = {}
        current = ""
        if settings.data_encryption_keys is not None:
            for item in settings.data_encryption_keys.get_secret_value().split(","):
                kid, _, b64 = item.strip().partition(":")
                key = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
                if not kid or len(key) != 32:
                    raise ValueError("RR_DATA_ENCRYPTION_KEYS: use kid:base64(32 bytes),...")
                keks[kid] = key
                current = current or kid
        else:
            current = "k0"
            keks[current] = settings.subkey("data-encryption/k0")
        return cls(keks, current, settings.subkey("blind-index"))

    # --- sealing ---------------------------------------------------------------------------

    def seal(self, value: Any, aad: bytes = b"") -> Sealed:
        dek = AESGCM.generate_key(bit_length=256)
        plaintext = json.dumps(value, separators=(",", ":")).encode()
        return Sealed(ciphertext=_encrypt(dek, plaintext, aad),
                      wrapped_key=_encrypt(self._keks[self.current], dek, b"dek"),
                      key_id=self.current)

    def open(self, sealed: Sealed, aad: bytes = b"") -> Any:
        kek = self._keks.get(sealed.key_id)
        if kek is None:
            raise KeyError(f"no data-encryption key {sealed.key_id!r} is configured")
        dek = _decrypt(kek, sealed.wrapped_key, b"dek")
        return json.loads(_decrypt(dek, sealed.ciphertext, aad))

    def rewrap(self, sealed: Sealed) -> Sealed:
        """Re-wrap a record's DEK under the current KEK (key rotation without re-encrypting)."""
        dek = _decrypt(self._keks[sealed.key_id], sealed.wrapped_key, b"dek")
        return Sealed(sealed.ciphertext, _encrypt(self._keks[self.current], dek, b"dek"),
                      self.current)

    # --- data keys held by a record (one key per case: see app/cases/keys.py) ---------------

    def new_data_key(self) -> tuple[bytes, bytes, str]:
        """A fresh data key, and the same key wrapped under the current KEK: (dek, wrapped,
        key id). Store the wrapped key and the id; deleting them shreds whatever the key sealed."""
        dek = AESGCM.generate_key(bit_length=256)
        return dek, _encrypt(self._keks[self.current], dek, b"dek"), self.current

    def unwrap(self, wrapped_key: bytes, key_id: str) -> bytes:
        kek = self._keks.get(key_id)
        if kek is None:
            raise KeyError(f"no data-encryption key {key_id!r} is configured")
        return _decrypt(kek, wrapped_key, b"dek")

    @staticmethod
    def seal_with(dek: bytes, value: Any, aad: bytes) -> bytes:
        """Seal a value under a data key the caller holds (nonce + ciphertext + tag)."""
        return _encrypt(dek, json.dumps(value, separators=(",", ":")).encode(), aad)

    @staticmethod
    def open_with(dek: bytes, blob: bytes, aad: bytes) -> Any:
        return json.loads(_decrypt(dek, blob, aad))

    # --- blind index -----------------------------------------------------------------------

    def blind_index(self, purpose: str, value: str) -> str:
        """A keyed hash of a normalised value: equal inputs match, the value stays unknown."""
        normalised = " ".join(value.strip().lower().split())
        msg = purpose.encode() + b"\x00" + normalised.encode()
        return hmac.new(self._index_key, msg, hashlib.sha256).hexdigest()


def _encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes:
    return AESGCM(key).decrypt(blob[:_NONCE], blob[_NONCE:], aad)
