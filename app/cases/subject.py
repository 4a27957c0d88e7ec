"""The subject's sealed record on a case: their name, email, description, identifiers and probe
prompts, under the case's data key. Kept below both the intake (app/requests) and the casework
(app/cases) so that neither has to import the other to read it."""

from __future__ import annotations

import uuid
from typing import Any

from app.cases.keys import ensure_case_key
from app.cases.models import Case
from app.crypto import Keyring, Sealed
from app.db import utcnow


def subject_aad(case_id: uuid.UUID) -> bytes:
    return b"case:" + case_id.bytes


def seal_subject(keyring: Keyring, case: Case, data: dict[str, Any]) -> None:
    """Seal the subject's record under the case's data key (made now if the case has none):
    sealing it again keeps the key, so what else was sealed under it stays readable."""
    case.subject_ciphertext = Keyring.seal_with(ensure_case_key(keyring, case), data,
                                                subject_aad(case.id))


def open_subject(keyring: Keyring, case: Case) -> dict[str, Any] | None:
    """The subject's personal data, or None once it has been erased."""
    if case.subject_ciphertext is None or case.subject_wrapped_key is None:
        return None
    assert case.subject_key_id is not None
    data: dict[str, Any] = keyring.open(
        Sealed(case.subject_ciphertext, case.subject_wrapped_key, case.subject_key_id),
        subject_aad(case.id))
    return data


def erase_subject(case: Case) -> None:
    """Crypto-shredding: without its wrapped key the ciphertext is unreadable; drop both."""
    case.subject_ciphertext = None
    case.subject_wrapped_key = None
    case.subject_key_id = None
    case.subject_erased_at = utcnow()
