"""The public JSON API for data subjects (for intake forms embedded elsewhere)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from app.db import Session
from app.errors import ErrorRead
from app.requests import identify, service
from app.requests.deps import (
    AddressLimited,
    CurrentIntake,
    CurrentKeyring,
    CurrentSettings,
    TokenLimited,
)
from app.requests.schemas import (
    AnswerBody,
    CaseSummary,
    ConfirmBody,
    Confirmed,
    InformationBody,
    RequestCreate,
    RequestReceived,
    RequestStatus,
)

router = APIRouter(prefix="/v1/public", tags=["requests"],
                   responses={429: {"model": ErrorRead, "description": "Rate limited"}})

Token = Annotated[str, Path(min_length=10, max_length=200,
                            description="the secret from the status link")]


@router.post("/requests", name="file_request", response_model=RequestReceived,
             status_code=status.HTTP_202_ACCEPTED, dependencies=[AddressLimited])
async def file_request(body: RequestCreate, intake: CurrentIntake) -> RequestReceived:
    """File a request. It reaches the provider only once the emailed link is confirmed."""
    submitted = await intake.file(body)  # (and counts the attempt for the email address)
    return RequestReceived(
        message="We sent a confirmation link to the email address given.",
        confirmation_expires_at=submitted.expires_at)


@router.post("/confirmations", name="confirm_request", response_model=Confirmed,
             dependencies=[TokenLimited],
             responses={404: {"model": ErrorRead}, 409: {"model": ErrorRead},
                        410: {"model": ErrorRead, "description": "The link has expired"}})
async def confirm_request(body: ConfirmBody, intake: CurrentIntake) -> Confirmed:
    """Confirm the email address with the token from the confirmation link (single use)."""
    done = await intake.confirm(body.token)
    return Confirmed(
        cases=[CaseSummary(reference=c.case.reference, status=c.case.status,
                           duplicate_of=c.duplicate_of.reference if c.duplicate_of else None)
               for c in done],
        message="Confirmed. The receipt email holds the link to follow each case.")


@router.get("/requests/{token}", name="get_request_status", response_model=RequestStatus,
            dependencies=[TokenLimited], responses={404: {"model": ErrorRead}})
async def get_request_status(token: Token, session: Session, keyring: CurrentKeyring,
                             settings: CurrentSettings) -> RequestStatus:
    case = await service.case_by_status_token(session, token)
    return await service.status_view(session, keyring, case, case.language, settings)


@router.post("/requests/{token}/withdraw", name="withdraw_request", response_model=RequestStatus,
             dependencies=[TokenLimited],
             responses={404: {"model": ErrorRead}, 409: {"model": ErrorRead}})
async def withdraw_request(token: Token, session: Session, keyring: CurrentKeyring,
                           settings: CurrentSettings) -> RequestStatus:
    case = await service.case_by_status_token(session, token)
    await service.withdraw(session, keyring, case)
    return await service.status_view(session, keyring, case, case.language, settings)


@router.post("/requests/{token}/answer", name="answer_request", response_model=RequestStatus,
             dependencies=[TokenLimited],
             responses={404: {"model": ErrorRead}, 409: {"model": ErrorRead}})
async def answer_request(token: Token, body: AnswerBody, session: Session,
                         keyring: CurrentKeyring, settings: CurrentSettings) -> RequestStatus:
    """Answer the provider's request for more information (GDPR Art. 12(6))."""
    case = await service.case_by_status_token(session, token)
    await service.answer(session, keyring, settings, case, body.answer)
    return await service.status_view(session, keyring, case, case.language, settings)


@router.post("/requests/{token}/information", name="send_information",
             response_model=RequestStatus, dependencies=[TokenLimited],
             responses={404: {"model": ErrorRead},
                        409: {"model": ErrorRead, "description": "The request was not refused "
                              "for want of identification, or the window has closed"}})
async def send_information(token: Token, body: InformationBody, session: Session,
                           keyring: CurrentKeyring, settings: CurrentSettings) -> RequestStatus:
    """After a `cannot_identify` refusal, send what lets the provider identify you (GDPR
    Art. 11(2)), until `information_until`: the request goes back to review."""
    case = await service.case_by_status_token(session, token)
    await identify.send_information(session, keyring, settings, case, body.information)
    return await service.status_view(session, keyring, case, case.language, settings)
