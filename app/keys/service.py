"""Key rotation: `rights-relay keys rotate` adds a key-encryption key (KEK) and re-wraps every
data key under it; `rights-relay keys retire <kid>` then drops an old KEK once nothing uses it.

Without downtime, with several replicas running:
1. The new KEK is stored in `key_encryption_keys`, wrapped under the root key derived from
   `RR_SECRET_KEY`. Replicas read it there: at once when they meet its key id on a record, and
   within `app.crypto.REFRESH` (a minute) before they seal anything, from when on new data is
   sealed under it.
2. Every data key is re-wrapped under it, in small batches, each its own transaction, with a
   guarded UPDATE (the row still holds what was read), so requests go on meanwhile and a row
   changed concurrently is simply taken again on the next pass. Only data keys are re-wrapped:
   ciphertext never changes.
3. `retire` re-wraps what replicas sealed under the old KEK in the meantime, refuses while any
   record still uses it, and deletes its key material (for a key from the environment or the
   derived `k0`, it records it as retired so no replica loads it again; remove it from
   `RR_DATA_ENCRYPTION_KEYS` afterwards). Retire no sooner than a minute after rotating.

Coverage follows the key hierarchy: a case's data key (`cases.subject_wrapped_key`) seals the
subject's record and everything sealed with `app.cases.keys.seal_for_case` (notes, messages,
probes...), so re-wrapping that one key per case covers all of it. Records sealed with
`Keyring.seal` carry their own wrapped key and are listed in `SEALED` below; a test checks that
every column holding a wrapped key or a sealed blob is listed, so a new one cannot be missed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.crypto import Keyring, wrap_kek
from app.db import utcnow
from app.errors import Conflict, NotFound
from app.keys.models import KeyEncryptionKey

BATCH = 200
_WRAPPED_LEN = 12 + 32 + 16  # nonce + 256-bit key + GCM tag (app/subscribers/sealing.py)


@dataclass(frozen=True)
class WrappedKeyColumns:
    """A table whose rows hold a wrapped data key and its KEK id in two columns."""

    table: str
    wrapped: str
    key_id: str


@dataclass(frozen=True)
class SealedBlobColumn:
    """A column holding `key_id:` + wrapped key + ciphertext (app/subscribers/sealing.py)."""

    table: str
    column: str


SEALED: list[WrappedKeyColumns | SealedBlobColumn] = [
    WrappedKeyColumns("cases", "subject_wrapped_key", "subject_key_id"),  # the case key
    WrappedKeyColumns("case_messages", "wrapped_key", "key_id"),
    WrappedKeyColumns("outbound_emails", "wrapped_key", "key_id"),
    SealedBlobColumn("subscribers", "email_sealed"),
    SealedBlobColumn("webhook_endpoints", "secret_sealed"),
    SealedBlobColumn("webhook_endpoints", "previous_secret_sealed"),
    SealedBlobColumn("users", "totp_secret_sealed"),
    WrappedKeyColumns("probe_endpoints", "key_wrapped", "key_id"),  # an inference API key
]

# Bytes that are not wrapped by a KEK themselves: ciphertext under a data key kept in a
# column above (a case's data key seals `cases.subject_ciphertext` and whatever
# `seal_for_case` sealed), or KEKs under the root key. Re-wrapping the key covers them.
UNDER_ANOTHER_KEY: set[tuple[str, str]] = {
    ("cases", "subject_ciphertext"),
    ("cases", "extension_reason_sealed"),
    ("audit_events", "note_sealed"),
    ("case_messages", "ciphertext"),
    ("outbound_emails", "ciphertext"),
    ("key_encryption_keys", "wrapped_key"),
    ("probe_endpoints", "key_ciphertext"),
    # Probe sets, run results and override reasons: sealed with `seal_for_case`.
    ("probe_sets", "ciphertext"),
    ("probe_runs", "results_ciphertext"),
    ("probe_overrides", "reason_ciphertext"),
}


def _table(name: str, *columns: str) -> sa.TableClause:
    return sa.table(name, sa.column("id"), *(sa.column(c) for c in columns))


def _split(blob: bytes) -> tuple[str, bytes, bytes]:
    kid, _, rest = bytes(blob).partition(b":")
    return kid.decode(), rest[:_WRAPPED_LEN], rest[_WRAPPED_LEN:]


async def _rewrap_spec(sessionmaker: async_sessionmaker[AsyncSession], keyring: Keyring,
                       spec: WrappedKeyColumns | SealedBlobColumn) -> int:
    done = 0
    last: Any = None
    while True:
        current = keyring.current
        async with sessionmaker() as session:
            if isinstance(spec, WrappedKeyColumns):
                t = _table(spec.table, spec.wrapped, spec.key_id)
                query = sa.select(t.c.id, t.c[spec.wrapped], t.c[spec.key_id]).where(
                    t.c[spec.key_id].is_not(None), t.c[spec.wrapped].is_not(None),
                    t.c[spec.key_id] != current)
            else:
                t = _table(spec.table, spec.column)
                query = sa.select(t.c.id, t.c[spec.column]).where(t.c[spec.column].is_not(None))
            if last is not None:
                query = query.where(t.c.id > last)
            rows = (await session.execute(query.order_by(t.c.id).limit(BATCH))).all()
            if not rows:
                return done
            last = rows[-1][0]
            for row in rows:
                if isinstance(spec, WrappedKeyColumns):
                    row_id, wrapped, kid = row
                    new_wrapped, new_kid = keyring.rewrap_key(bytes(wrapped), kid)
                    result = await session.execute(
                        sa.update(t).where(t.c.id == row_id, t.c[spec.key_id] == kid,
                                           t.c[spec.wrapped] == wrapped)
                        .values({spec.wrapped: new_wrapped, spec.key_id: new_kid}))
                else:
                    row_id, blob = row[0], row[1]
                    kid, wrapped, ciphertext = _split(blob)
                    if kid == current:
                        continue
                    new_wrapped, new_kid = keyring.rewrap_key(wrapped, kid)
                    result = await session.execute(
                        sa.update(t).where(t.c.id == row_id, t.c[spec.column] == blob)
                        .values({spec.column: new_kid.encode() + b":" + new_wrapped + ciphertext}))
                done += result.rowcount  # type: ignore[attr-defined]
            await session.commit()


async def rewrap_all(sessionmaker: async_sessionmaker[AsyncSession],
                     keyring: Keyring) -> dict[str, int]:
    """Re-wrap every data key not under the current KEK; counts per table and column."""
    counts: dict[str, int] = {}
    for spec in SEALED:
        name = f"{spec.table}.{spec.wrapped if isinstance(spec, WrappedKeyColumns) else spec.column}"
        counts[name] = await _rewrap_spec(sessionmaker, keyring, spec)
    return counts


async def usage(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """How many records each KEK id wraps, across every sealed column."""
    used: dict[str, int] = {}
    async with sessionmaker() as session:
        for spec in SEALED:
            if isinstance(spec, WrappedKeyColumns):
                t = _table(spec.table, spec.wrapped, spec.key_id)
                rows = await session.execute(
                    sa.select(t.c[spec.key_id], sa.func.count()).where(
                        t.c[spec.wrapped].is_not(None)).group_by(t.c[spec.key_id]))
                for kid, n in rows:
                    if kid is not None:
                        used[kid] = used.get(kid, 0) + n
            else:
                t = _table(spec.table, spec.column)
                for (blob,) in await session.execute(
                        sa.select(t.c[spec.column]).where(t.c[spec.column].is_not(None))):
                    kid = _split(blob)[0]
                    used[kid] = used.get(kid, 0) + 1
    return used


async def rotate(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                 keyring: Keyring) -> tuple[str, dict[str, int]]:
    """Add a KEK (it becomes current) and re-wrap every data key under it."""
    kid = f"k{utcnow():%Y%m%d%H%M%S}{os.urandom(2).hex()}"
    kek = AESGCM.generate_key(bit_length=256)
    async with sessionmaker() as session:
        session.add(KeyEncryptionKey(kid=kid, wrapped_key=wrap_kek(settings, kid, kek)))
        await session.commit()
    keyring.reload()
    assert keyring.current == kid
    return kid, await rewrap_all(sessionmaker, keyring)


async def retire(sessionmaker: async_sessionmaker[AsyncSession], keyring: Keyring,
                 kid: str) -> dict[str, int]:
    """Re-wrap stragglers, then drop `kid`: refused for the current KEK or while in use."""
    keyring.reload()
    if kid not in keyring.key_ids():
        raise NotFound("no such key-encryption key is in use")
    if kid == keyring.current:
        raise Conflict("that is the current key-encryption key: rotate first")
    counts = await rewrap_all(sessionmaker, keyring)
    left = (await usage(sessionmaker)).get(kid, 0)
    if left:
        raise Conflict(f"{left} records still use that key; run `keys retire` again")
    async with sessionmaker() as session:
        row = await session.get(KeyEncryptionKey, kid)
        if row is None:  # from the environment, or the derived k0: recorded as retired
            session.add(KeyEncryptionKey(kid=kid, wrapped_key=None, retired_at=utcnow()))
        else:
            row.wrapped_key = None
            row.retired_at = utcnow()
        await session.commit()
    keyring.reload()
    return counts
