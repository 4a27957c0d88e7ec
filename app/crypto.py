"""Encryption of personal data at rest, and blind indexes to find it without decrypting.

Each record gets its own random data key (DEK); the DEK is stored wrapped (AES-GCM) by a key-
encryption key (KEK) named by a key id, so KEKs can rotate and a record can be crypto-shredded
by deleting its wrapped DEK.

Where KEKs come from: `RR_DATA_ENCRYPTION_KEYS`, or `k0` derived from `RR_SECRET_KEY`; and the
ones `rights-relay keys rotate` made, stored in the `key_encryption_keys` table wrapped under a
root key derived from `RR_SECRET_KEY` (so every replica finds them, and the database alone
opens nothing). The newest stored KEK that is not retired seals new data. A replica re-reads the
table when it meets a key id it does not know, and at least every `REFRESH` seconds before it
seals, so a rotation needs no restart (see app/keys/service.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.config import Settings

log = logging.getLogger(__name__)
_NONCE = 12
# How stale a replica's idea of the current KEK may get before it seals something.
REFRESH = timedelta(seconds=60)


@dataclass(frozen=True)
class StoredKek:
    kid: str
    key: bytes | None  # None once retired
    created_at: datetime
    retired: bool


Loader = Callable[[], list[StoredKek]]


@dataclass(frozen=True)
class Sealed:
    ciphertext: bytes
    wrapped_key: bytes
    key_id: str


class Keyring:
    def __init__(self, keks: dict[str, bytes], current: str, index_key: bytes,
                 loader: Loader | None = None) -> None:
        self._static = dict(keks)
        self._static_current = current
        self._keks = dict(keks)
        self._current = current
        self._index_key = index_key
        self._loader = loader
        self._loaded_at: datetime | None = None
        self._lock = threading.Lock()
        self._ciphers: dict[bytes, AESGCM] = {}  # by KEK: see _kek_cipher

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
        ring = cls(keks, current, settings.subkey("blind-index"),
                   loader=_database_loader(settings))
        ring.reload()
        return ring

    # --- key-encryption keys ---------------------------------------------------------------

    @property
    def current(self) -> str:
        """The id of the KEK that seals new data (re-read from the database when stale)."""
        if self._loader is not None and (
                self._loaded_at is None or _now() - self._loaded_at > REFRESH):
            self.reload()
        return self._current

    def key_ids(self) -> list[str]:
        return sorted(self._keks)

    def reload(self) -> None:
        """Take in the KEKs stored in the database (made by `keys rotate`, or retired)."""
        if self._loader is None:
            return
        try:
            stored = self._loader()
        except Exception as exc:  # no table yet, database away: keep what we have
            text = str(exc).lower()
            if not any(m in text for m in ("no such table", "does not exist", "unable to open")):
                log.warning("could not read the stored key-encryption keys (%s)",
                            type(exc).__name__)
            stored = None
        with self._lock:
            self._loaded_at = _now()
            if stored is None:
                return
            retired = {k.kid for k in stored if k.retired}
            keks = {kid: key for kid, key in self._static.items() if kid not in retired}
            current = self._static_current if self._static_current in keks else ""
            for k in sorted((k for k in stored if not k.retired and k.key), key=lambda k: (
                    k.created_at, k.kid)):
                assert k.key is not None
                keks[k.kid] = k.key
                current = k.kid
            if current:
                self._keks, self._current = keks, current

    def _kek_cipher(self, key_id: str) -> AESGCM:
        """The KEK's cipher, made once per key (a delivery worker opens thousands of endpoint
        secrets, each under a data key wrapped by the same KEK)."""
        kek = self._kek(key_id)
        cipher = self._ciphers.get(kek)
        if cipher is None:
            cipher = self._ciphers[kek] = AESGCM(kek)
        return cipher

    def _kek(self, key_id: str) -> bytes:
        kek = self._keks.get(key_id)
        if kek is None and self._loader is not None:
            self.reload()  # another replica rotated: the new KEK is in the database
            kek = self._keks.get(key_id)
        if kek is None:
            raise KeyError("a data-encryption key is not configured (see `rights-relay keys list`)")
        return kek

    # --- sealing ---------------------------------------------------------------------------

    def seal(self, value: Any, aad: bytes = b"") -> Sealed:
        dek = AESGCM.generate_key(bit_length=256)
        plaintext = json.dumps(value, separators=(",", ":")).encode()
        current = self.current
        return Sealed(ciphertext=_encrypt(dek, plaintext, aad),
                      wrapped_key=_encrypt(self._kek(current), dek, b"dek"), key_id=current)

    def open(self, sealed: Sealed, aad: bytes = b"") -> Any:
        dek = self.unwrap(sealed.wrapped_key, sealed.key_id)
        return json.loads(_decrypt(dek, sealed.ciphertext, aad).decode())  # str: no sniffing

    def rewrap_key(self, wrapped_key: bytes, key_id: str) -> tuple[bytes, str]:
        """A data key re-wrapped under the current KEK (rotation without re-encrypting)."""
        current = self.current
        return _encrypt(self._kek(current), self.unwrap(wrapped_key, key_id), b"dek"), current

    # --- data keys held by a record (one key per case: see app/cases/keys.py) ---------------

    def new_data_key(self) -> tuple[bytes, bytes, str]:
        """A fresh data key, and the same key wrapped under the current KEK: (dek, wrapped,
        key id). Store the wrapped key and the id; deleting them shreds whatever the key sealed."""
        dek = AESGCM.generate_key(bit_length=256)
        current = self.current
        return dek, _encrypt(self._kek(current), dek, b"dek"), current

    def unwrap(self, wrapped_key: bytes, key_id: str) -> bytes:
        return self._kek_cipher(key_id).decrypt(wrapped_key[:_NONCE], wrapped_key[_NONCE:],
                                                b"dek")

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


# --- KEKs stored in the database -------------------------------------------------------------


def _now() -> datetime:
    from app.clock import now

    return now()


def root_key(settings: Settings) -> bytes:
    """Wraps the KEKs stored in the database."""
    return settings.subkey("key-encryption-keys/root")


def wrap_kek(settings: Settings, kid: str, kek: bytes) -> bytes:
    return _encrypt(root_key(settings), kek, b"kek:" + kid.encode())


def _database_loader(settings: Settings) -> Loader:
    import sqlalchemy as sa

    engine: list[sa.Engine] = []

    def load() -> list[StoredKek]:
        if not engine:
            engine.append(sa.create_engine(settings.sync_url, poolclass=sa.pool.NullPool))
        with engine[0].connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT kid, wrapped_key, created_at, retired_at FROM key_encryption_keys"))
            stored = []
            for kid, wrapped, created_at, retired_at in rows:
                key = None if wrapped is None or retired_at is not None else _decrypt(
                    root_key(settings), bytes(wrapped), b"kek:" + kid.encode())
                stored.append(StoredKek(kid, key, _as_datetime(created_at),
                                        retired_at is not None))
            return stored

    return load


def _as_datetime(value: Any) -> datetime:
    # SQLite hands back text through a raw query; PostgreSQL a datetime.
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
