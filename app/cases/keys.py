"""A case's data key: everything personal about one case is sealed under one key.

The key is the one that seals the subject's record (`cases.subject_wrapped_key`, wrapped by a
key-encryption key). Free text written about the case (notes, reasons, explanations, questions,
answers, probe targets and completions) is sealed under the same key with a purpose of its own
in the associated data, so destroying that one wrapped key at retention makes all of it
unreadable at once, wherever it is stored. Key rotation re-wraps one key per case."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from app.cases.models import Case
from app.crypto import Keyring


class CaseKeyErased(Exception):
    """The case's data key was destroyed (retention): nothing sealed under it can be read."""


def _aad(case: Case, purpose: str) -> bytes:
    return b"case:" + case.id.bytes + b":" + purpose.encode()


def ensure_case_key(keyring: Keyring, case: Case) -> bytes:
    """The case's data key, made (and its wrapped form stored on the case) if it has none yet.
    The case must have its id set."""
    if case.subject_wrapped_key is not None and case.subject_key_id is not None:
        return keyring.unwrap(case.subject_wrapped_key, case.subject_key_id)
    if case.subject_erased_at is not None:
        raise CaseKeyErased(f"case {case.reference}: its data key was destroyed")
    dek, wrapped, key_id = keyring.new_data_key()
    case.subject_wrapped_key, case.subject_key_id = wrapped, key_id
    return dek


def case_key(keyring: Keyring, case: Case) -> bytes | None:
    """The case's data key, or None once it was destroyed."""
    if case.subject_wrapped_key is None or case.subject_key_id is None:
        return None
    return keyring.unwrap(case.subject_wrapped_key, case.subject_key_id)


def seal_for_case(keyring: Keyring, case: Case, value: Any, purpose: str) -> bytes:
    """Seal `value` (any JSON value) under the case's key; `purpose` names what it is (e.g.
    `note`, `probe.target`) and must be given again to open it."""
    return Keyring.seal_with(ensure_case_key(keyring, case), value, _aad(case, purpose))


def open_for_case(keyring: Keyring, case: Case, blob: bytes | None, purpose: str) -> Any | None:
    """The value sealed by `seal_for_case`, or None when the blob or the case key is gone."""
    if blob is None:
        return None
    dek = case_key(keyring, case)
    if dek is None:
        return None
    return Keyring.open_with(dek, blob, _aad(case, purpose))


@dataclass(frozen=True)
class SealedText:
    """Free text about a case, kept out of the audit chain: the chain holds `digest`, the text
    itself is `blob`, sealed under the case key (so retention's key destruction erases it)."""

    digest: str
    blob: bytes


def seal_text(keyring: Keyring, case: Case, text: str, purpose: str) -> SealedText:
    """Seal `text` and digest it with a MAC keyed by the case's key: while the key lives, staff
    can check the text against the chain; once it is destroyed, the digest cannot be used to
    confirm a guess of what the text said (a plain hash of a short note could be)."""
    dek = ensure_case_key(keyring, case)
    mac = hmac.new(dek, _aad(case, purpose) + b"\x00" + text.encode(), hashlib.sha256)
    return SealedText(digest="hmac-sha256:" + mac.hexdigest(),
                      blob=Keyring.seal_with(dek, text, _aad(case, purpose)))


def extension_reason(keyring: Keyring, case: Case) -> str | None:
    """The extension's reason, or None once the case key was destroyed."""
    text = open_for_case(keyring, case, case.extension_reason_sealed, "extension.reason")
    return str(text) if text is not None else case.extension_reason  # rows before 0011
