"""Subscriber secrets at rest: a contact email and endpoint signing secrets, sealed with the
keyring into one column (`key_id:` + wrapped key + ciphertext)."""

from __future__ import annotations

import uuid

from app.crypto import Keyring, Sealed

_WRAPPED = 12 + 32 + 16  # nonce + 256-bit key + GCM tag


def seal(keyring: Keyring, value: str, owner: uuid.UUID, purpose: str) -> bytes:
    s = keyring.seal(value, _aad(owner, purpose))
    return s.key_id.encode() + b":" + s.wrapped_key + s.ciphertext


def unseal(keyring: Keyring, blob: bytes, owner: uuid.UUID, purpose: str) -> str:
    kid, _, rest = blob.partition(b":")
    value = keyring.open(Sealed(rest[_WRAPPED:], rest[:_WRAPPED], kid.decode()),
                         _aad(owner, purpose))
    assert isinstance(value, str)
    return value


def _aad(owner: uuid.UUID, purpose: str) -> bytes:
    return purpose.encode() + b":" + owner.bytes
