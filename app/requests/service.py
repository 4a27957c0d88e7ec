"""Data subjects' side of a case: filing, confirming the email, following and withdrawing."""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import service as audit
from app.auth.tokens import digest, new_token
from app.cases import notify
from app.cases.deadlines import first_due, org_zone
from app.cases.lifecycle import ACTIVE, Actor, allowed_targets, transition
from app.cases.models import (
    Case,
    CaseKind,
    CaseMessage,
    CaseModel,
    CaseStatus,
    Confirmation,
    MessageDirection,
    MessageKind,
    ObjectionBasis,
)
from app.cases.outcome import INTERNAL_ACTIONS, subject_outcome
from app.cases.subject import erase_subject, open_subject, seal_subject, subject_aad
from app.config import Settings
from app.crypto import Keyring, Sealed
from app.db import utcnow
from app.emails import service as emails
from app.errors import Conflict, DomainError, InvalidInput, NotFound
from app.i18n import has_message, translate
from app.models_registry.models import Model
from app.models_registry.service import split_ref
from app.privacy import service as privacy
from app.privacy.schemas import FIELDS as NOTICE_FIELDS
from app.requests.identify import information_until
from app.requests.schemas import RequestCreate, RequestStatus, TimelineEntry

_REF_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U

# Catalog keys of the notice labels (t("notice.controller"), ...).
NOTICE_KEYS = {f: "notice." + f for f in NOTICE_FIELDS}


class LinkExpired(DomainError):
    status_code = 410
    code = "link_expired"


def _reference() -> str:
    chars = [secrets.choice(_REF_ALPHABET) for _ in range(8)]
    return f"RR-{''.join(chars[:4])}-{''.join(chars[4:])}"


def _link(settings: Settings, kind: str, token: str) -> str:
    return f"{settings.public_base_url}/r/{kind}/{token}"


@dataclass
class Submitted:
    submission_id: uuid.UUID
    cases: list[Case]
    expires_at: datetime


async def _open_models(session: AsyncSession, refs: list[str]) -> list[Model]:
    unique = list(dict.fromkeys(refs))
    found: list[Model] = []
    missing: list[str] = []
    for ref in unique:
        namespace, name = split_ref(ref)
        model = await session.scalar(select(Model).where(
            Model.namespace == namespace, Model.name == name, Model.intake_open.is_(True)))
        if model is None:
            missing.append(ref)
        else:
            found.append(model)
    if missing:
        raise InvalidInput.field("models", "not accepting requests: " + ", ".join(missing))
    return found


async def submit(
    session: AsyncSession, keyring: Keyring, settings: Settings, body: RequestCreate
) -> Submitted:
    models = await _open_models(session, body.models)
    now = utcnow()
    submission_id = uuid.uuid4()
    personal = {"name": body.name, "email": str(body.email), "description": body.description,
                "identifiers": body.identifiers, "probe_prompts": body.probe_prompts,
                "particular_situation": body.particular_situation}
    by_org: dict[uuid.UUID, list[Model]] = defaultdict(list)
    for model in models:
        by_org[model.org_id].append(model)
    cases = []
    for org_id, org_models in by_org.items():
        case = Case(
            id=uuid.uuid4(), org_id=org_id, reference=await _unique_reference(session),
            submission_id=submission_id, kind=body.kind, status=CaseStatus.pending_verification,
            objection_basis=body.objection_basis,
            language=body.language, received_at=now, due_at=first_due(now, await org_zone(session, org_id)),
            subject_index=keyring.blind_index("email", str(body.email)),
            # Replaced by a real status token once the email is confirmed.
            status_token_hash=digest(new_token()),
        )
        seal_subject(keyring, case, personal)
        session.add(case)
        await session.flush()
        for model in org_models:
            session.add(CaseModel(case_id=case.id, model_id=model.id))
        await audit.append(session, org_id=org_id, case_id=case.id, actor=Actor.subject().label,
                           action="case.received", to_status=CaseStatus.pending_verification,
                           details={"reference": case.reference, "kind": case.kind,
                                    "models": [m.ref for m in org_models]})
        cases.append(case)
    token = new_token()
    expires_at = now + timedelta(hours=settings.confirmation_ttl_hours)
    session.add(Confirmation(submission_id=submission_id, token_hash=digest(token),
                             expires_at=expires_at))
    await emails.enqueue(
        session, keyring, to=str(body.email), kind="confirm_request", lang=body.language,
        context={"link": _link(settings, "confirm", token), "expires_at": expires_at,
                 "references": [c.reference for c in cases], "kind": body.kind,
                 "models": [m.ref for m in models]},
        case_id=cases[0].id,
    )
    await session.flush()
    return Submitted(submission_id=submission_id, cases=cases, expires_at=expires_at)


async def _unique_reference(session: AsyncSession) -> str:
    while True:
        ref = _reference()
        if await session.scalar(select(Case.id).where(Case.reference == ref)) is None:
            return ref


async def model_refs(session: AsyncSession, case_id: uuid.UUID) -> list[str]:
    rows = await session.execute(
        select(Model.namespace, Model.name).join(CaseModel, CaseModel.model_id == Model.id)
        .where(CaseModel.case_id == case_id).order_by(Model.namespace, Model.name))
    return [f"{ns}/{name}" for ns, name in rows]


async def _earlier_duplicate(session: AsyncSession, case: Case) -> Case | None:
    """An active case of the same provider, same person, sharing a model."""
    mine = select(CaseModel.model_id).where(CaseModel.case_id == case.id)
    return await session.scalar(
        select(Case).join(CaseModel, CaseModel.case_id == Case.id)
        .where(Case.org_id == case.org_id, Case.subject_index == case.subject_index,
               Case.id != case.id, Case.status.in_([s.value for s in ACTIVE]),
               CaseModel.model_id.in_(mine))
        .order_by(Case.received_at).limit(1))


@dataclass
class ConfirmedCase:
    case: Case
    duplicate_of: Case | None
    status_link: str


async def confirm(
    session: AsyncSession, keyring: Keyring, settings: Settings, token: str
) -> list[ConfirmedCase]:
    """Confirm a submission's email: its cases open (or are linked to an earlier case)."""
    confirmation = await session.scalar(
        select(Confirmation).where(Confirmation.token_hash == digest(token)))
    if confirmation is None:
        raise NotFound("this confirmation link is not valid")
    if confirmation.used_at is not None:
        raise Conflict("this request is already confirmed: the status link is in the receipt email")
    if confirmation.expires_at <= utcnow():
        raise LinkExpired("this confirmation link has expired; please file the request again")
    # Single use, even when two clicks race: only one update finds it unused.
    claimed = await session.execute(
        update(Confirmation).where(Confirmation.id == confirmation.id,
                                   Confirmation.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False))
    if getattr(claimed, "rowcount", 1) != 1:
        raise Conflict("this request is already confirmed: the status link is in the receipt email")
    cases = list(await session.scalars(
        select(Case).where(Case.submission_id == confirmation.submission_id,
                           Case.status == CaseStatus.pending_verification)
        .order_by(Case.reference)))
    results: list[ConfirmedCase] = []
    receipt: list[dict[str, Any]] = []
    email: str | None = None
    lang = "en"
    for case in cases:
        data = open_subject(keyring, case)
        if data is None:
            continue
        email, lang = data["email"], case.language
        # Looked up before the case changes, and every change made before the transition
        # writes it: one UPDATE of the case, not one per step (each query flushed the last).
        earlier = await _earlier_duplicate(session, case)
        case.confirmed_at = utcnow()
        status_token = new_token()
        case.status_token_hash = digest(status_token)
        link = _link(settings, "status", status_token)
        # Kept sealed with the person's data (and shredded with it), so that every later email
        # can carry their status link; only its digest is searchable.
        seal_subject(keyring, case, {**data, "status_link": link})
        if earlier is not None:
            case.duplicate_of_id = earlier.id
            await transition(session, case, CaseStatus.duplicate, Actor.subject(),
                             action="case.duplicate",
                             details={"duplicate_of": earlier.reference})
        else:
            await transition(session, case, CaseStatus.open, Actor.subject(),
                             action="case.confirmed")
        results.append(ConfirmedCase(case, earlier, link))
        receipt.append({"reference": case.reference, "link": link,
                        # The due day as the organisation's calendar has it.
                        "due_at": case.due_at.astimezone(await org_zone(session, case.org_id)),
                        "models": await model_refs(session, case.id),
                        "duplicate_of": earlier.reference if earlier else None,
                        "org_id": case.org_id})
    if email is not None:
        texts = await privacy.notices_for(session, {c.org_id for c in cases}, lang)
        for line in receipt:
            line["notice"] = texts.get(line["org_id"])  # Art. 13, in the person's language
        await emails.enqueue(session, keyring, to=email, kind="receipt", lang=lang,
                             context={"cases": receipt, "notice_fields": NOTICE_FIELDS,
                                      "labels": {f: translate(lang, key)
                                                 for f, key in NOTICE_KEYS.items()}},
                             case_id=cases[0].id)
    await session.flush()
    return results


async def case_by_status_token(session: AsyncSession, token: str) -> Case:
    case = await session.scalar(select(Case).where(Case.status_token_hash == digest(token)))
    if case is None or case.status == CaseStatus.pending_verification:
        raise NotFound("this status link is not valid")
    return case


async def latest_question(session: AsyncSession, keyring: Keyring, case: Case) -> str | None:
    if case.status != CaseStatus.awaiting_subject:
        return None
    msg = await session.scalar(
        select(CaseMessage).where(CaseMessage.case_id == case.id,
                                  CaseMessage.kind == MessageKind.question)
        .order_by(CaseMessage.created_at.desc()).limit(1))
    if msg is None or msg.ciphertext is None:
        return None
    assert msg.wrapped_key is not None and msg.key_id is not None
    text: str = keyring.open(Sealed(msg.ciphertext, msg.wrapped_key, msg.key_id), subject_aad(case.id))
    return text


def can(case: Case, to: CaseStatus) -> bool:
    return to in allowed_targets(CaseStatus(case.status), Actor.subject().kind)


async def withdraw(session: AsyncSession, keyring: Keyring, case: Case) -> Case:
    await transition(session, case, CaseStatus.withdrawn, Actor.subject(), action="case.withdrawn")
    data = open_subject(keyring, case)
    if data is not None:
        await emails.enqueue(session, keyring, to=data["email"], kind="withdrawn",
                             lang=case.language, context={"reference": case.reference,
                                                          "status_link": data.get("status_link")},
                             case_id=case.id, org_id=case.org_id)
    await session.flush()
    return case


async def answer(session: AsyncSession, keyring: Keyring, settings: Settings, case: Case,
                 text: str) -> Case:
    if case.status != CaseStatus.awaiting_subject:
        raise Conflict(f"case {case.reference} is {case.status}; no information was asked for")
    sealed = keyring.seal(text, subject_aad(case.id))
    session.add(CaseMessage(case_id=case.id, direction=MessageDirection.from_subject,
                            kind=MessageKind.answer, author=Actor.subject().label,
                            ciphertext=sealed.ciphertext, wrapped_key=sealed.wrapped_key,
                            key_id=sealed.key_id))
    await transition(session, case, CaseStatus.in_review, Actor.subject(),
                     action="case.subject_answered")
    # The assignee (and the admins) hear that the case is theirs to move again; the answer
    # itself stays on the dashboard.
    await notify.tell_staff(session, keyring, await notify.staff_for(session, case), case,
                            "subject_answered", {"link": notify.case_link(settings, case),
                                                 "due_at": case.due_at})
    await session.flush()
    return case


async def expire_unconfirmed(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Requests never confirmed in time expire, and their personal data is erased at once."""
    now = utcnow()
    expired = 0
    async with sessionmaker() as session:
        stale = select(Confirmation.submission_id).where(
            Confirmation.used_at.is_(None), Confirmation.expires_at <= now)
        cases = list(await session.scalars(
            select(Case).where(Case.status == CaseStatus.pending_verification,
                               Case.submission_id.in_(stale)).limit(500)
            .with_for_update(skip_locked=True)))
        for case in cases:
            await transition(session, case, CaseStatus.expired, Actor.system("expiry"),
                             action="case.expired")
            erase_subject(case)
            expired += 1
        await session.commit()
    return expired


async def status_view(
    session: AsyncSession, keyring: Keyring, case: Case, lang: str, settings: Settings
) -> RequestStatus:
    from app.probes.reads import subject_probe_notice

    trail = await audit.case_trail(session, case.id)
    timeline = []
    for e in trail:
        if e.action in INTERNAL_ACTIONS:
            continue
        key = f"step.{e.action}"
        text = translate(lang, key) if has_message(key) else translate(lang, "step.other")
        timeline.append(TimelineEntry(at=e.created_at, step=e.action, text=text))
    return RequestStatus(
        reference=case.reference, kind=CaseKind(case.kind), status=CaseStatus(case.status),
        objection_basis=ObjectionBasis(case.objection_basis) if case.objection_basis else None,
        models=await model_refs(session, case.id), received_at=case.received_at,
        due_at=case.due_at, time_zone=(await org_zone(session, case.org_id)).key,
        timeline=timeline, information_requested=await latest_question(session, keyring, case),
        can_withdraw=can(case, CaseStatus.withdrawn),
        can_answer=case.status == CaseStatus.awaiting_subject,
        information_until=information_until(settings, case),
        restricted_since=case.restricted_at,
        probes=await subject_probe_notice(session, case, lang),
        **await subject_outcome(session, keyring, case),
    )
