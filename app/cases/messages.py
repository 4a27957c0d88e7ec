"""Texts exchanged about a case (questions, answers, decision explanations, closure probe
results), sealed like the subject's data: they may hold personal data."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import Case, CaseMessage, MessageDirection, MessageKind
from app.crypto import Keyring, Sealed


def message_aad(case_id: uuid.UUID) -> bytes:
    """Binds a sealed text to its case (the associated data app/requests/service.py uses)."""
    return b"case:" + case_id.bytes


async def add_message(
    session: AsyncSession, keyring: Keyring, case: Case, *, kind: MessageKind,
    direction: MessageDirection, author: str, content: Any,
) -> CaseMessage:
    sealed = keyring.seal(content, message_aad(case.id))
    message = CaseMessage(case_id=case.id, kind=kind, direction=direction, author=author,
                          ciphertext=sealed.ciphertext, wrapped_key=sealed.wrapped_key,
                          key_id=sealed.key_id)
    session.add(message)
    await session.flush()
    return message


def open_message(keyring: Keyring, message: CaseMessage) -> Any | None:
    """The text, or None once it has been erased."""
    if message.ciphertext is None or message.wrapped_key is None or message.key_id is None:
        return None
    return keyring.open(Sealed(message.ciphertext, message.wrapped_key, message.key_id),
                        message_aad(message.case_id))


async def list_messages(session: AsyncSession, case_id: uuid.UUID) -> list[CaseMessage]:
    rows = await session.scalars(select(CaseMessage).where(CaseMessage.case_id == case_id)
                                 .order_by(CaseMessage.created_at, CaseMessage.id))
    return list(rows)


async def latest_message(session: AsyncSession, case_id: uuid.UUID,
                         kind: MessageKind) -> CaseMessage | None:
    return await session.scalar(
        select(CaseMessage).where(CaseMessage.case_id == case_id, CaseMessage.kind == kind)
        .order_by(CaseMessage.created_at.desc()).limit(1))


async def exchange(session: AsyncSession, keyring: Keyring,
                   case_id: uuid.UUID) -> list[tuple[str, Any, str]]:
    """The questions put to the subject and their answers, in order, for their status page:
    (kind, when, text); erased texts are left out."""
    rows = await session.scalars(
        select(CaseMessage).where(CaseMessage.case_id == case_id, CaseMessage.kind.in_(
            [MessageKind.question.value, MessageKind.answer.value]))
        .order_by(CaseMessage.created_at, CaseMessage.id))
    opened = [(m.kind, m.created_at, open_message(keyring, m)) for m in rows]
    return [(kind, at, text) for kind, at, text in opened if isinstance(text, str)]
