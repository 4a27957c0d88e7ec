"""GDPR Art. 11(2): a request refused because the provider could not identify the person is not
the end. The person may send more information on their status page for
`RR_IDENTIFY_WINDOW_DAYS`; doing so sends the case back to review, and the provider decides
again (the deadline keeps running from the receipt: Art. 12(3))."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import notify
from app.cases.lifecycle import Actor, transition
from app.cases.messages import add_message
from app.cases.models import Case, CaseStatus, MessageDirection, MessageKind, RejectionGround
from app.config import Settings
from app.crypto import Keyring
from app.db import utcnow
from app.errors import Conflict


def information_until(settings: Settings, case: Case) -> datetime | None:
    """Until when the person may send more information, or None when they may not (any more)."""
    if (case.status != CaseStatus.rejected
            or case.decision_ground != RejectionGround.cannot_identify
            or case.decided_at is None):
        return None
    until = case.decided_at + timedelta(days=settings.identify_window_days)
    return until if utcnow() < until else None


async def send_information(session: AsyncSession, keyring: Keyring, settings: Settings,
                           case: Case, text: str) -> Case:
    if information_until(settings, case) is None:
        raise Conflict(f"case {case.reference} is {case.status}; more information is taken only "
                       "within the window after the provider could not identify you")
    await add_message(session, keyring, case, kind=MessageKind.answer,
                      direction=MessageDirection.from_subject, author=Actor.subject().label,
                      content=text)
    # The refusal is answered: the provider decides again on what it now has.
    case.decision = case.decision_ground = case.decided_at = case.decided_by = None
    await transition(session, case, CaseStatus.in_review, Actor.subject(),
                     action="case.more_information")
    await notify.tell_staff(session, keyring, await notify.staff_for(session, case), case,
                            "subject_answered", {"link": notify.case_link(settings, case),
                                                 "due_at": case.due_at})
    await session.flush()
    return case
