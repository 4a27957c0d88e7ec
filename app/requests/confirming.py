"""Confirming a request's email: its cases open, or are linked to an earlier case of the same
person, and the receipt (with each case's status link) is queued.

Written for a batch of confirmations at once (app/batching.py), like filing: one statement per
step for the whole batch, and the cases' updates written together (app/requests/intake.py
runs the batches; a lone confirmation is a batch of one)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.auth.tokens import digest, new_token
from app.cases.deadlines import org_zones
from app.cases.lifecycle import ACTIVE, Actor, ConcurrentChange, transition
from app.cases.models import Case, CaseModel, CaseStatus, Confirmation
from app.cases.subject import open_subject, seal_subject
from app.config import Settings
from app.crypto import Keyring
from app.db import utcnow
from app.emails import service as emails
from app.emails.models import OutboundEmail
from app.errors import Conflict, DomainError, NotFound
from app.i18n import translate
from app.models_registry.models import Model
from app.privacy import service as privacy
from app.privacy.schemas import FIELDS as NOTICE_FIELDS
from app.requests.filing import link

# Catalog keys of the notice labels (t("notice.controller"), ...).
NOTICE_KEYS = {f: "notice." + f for f in NOTICE_FIELDS}


class LinkExpired(DomainError):
    status_code = 410
    code = "link_expired"


def _used() -> Conflict:
    return Conflict("this request is already confirmed: the status link is in the receipt email")


@dataclass
class ConfirmedCase:
    case: Case
    duplicate_of: Case | None
    status_link: str


async def write(session: AsyncSession) -> None:
    """Write the batch's cases now; a case changed meanwhile by someone else refuses (409)."""
    try:
        await session.flush()
    except StaleDataError:
        raise ConcurrentChange("a case of this request was changed at the same time; "
                               "please try again") from None


@dataclass
class _Pool:
    """Active cases by (organisation, person), with their models: where an earlier case of
    the same person, same provider, sharing a model, is found (a duplicate)."""

    cases: dict[tuple[uuid.UUID, str], list[tuple[Case, set[uuid.UUID]]]] = field(
        default_factory=lambda: defaultdict(list))

    def add(self, case: Case, models: set[uuid.UUID]) -> None:
        self.cases[(case.org_id, case.subject_index)].append((case, models))

    def earliest(self, case: Case, models: set[uuid.UUID]) -> Case | None:
        shared = [c for c, theirs in self.cases.get((case.org_id, case.subject_index), [])
                  if c.id != case.id and theirs & models]
        return min(shared, key=lambda c: c.received_at, default=None)


async def confirm_many(
    session: AsyncSession, keyring: Keyring, settings: Settings, tokens: Sequence[str]
) -> list[list[ConfirmedCase] | DomainError]:
    """Confirm each token's submission, or say what refuses it (unknown, used, expired).
    The changes are made in the session, written by its next flush or commit."""
    now = utcnow()
    outcomes: list[list[ConfirmedCase] | DomainError] = []
    claiming: dict[uuid.UUID, Confirmation] = {}
    digests = [digest(t) for t in tokens]
    stored = {c.token_hash: c for c in await session.scalars(select(Confirmation).where(
        Confirmation.token_hash.in_(set(digests))))}
    for token_hash in digests:
        confirmation = stored.get(token_hash)
        if confirmation is None:
            outcomes.append(NotFound("this confirmation link is not valid"))
        elif confirmation.used_at is not None or confirmation.id in claiming:
            outcomes.append(_used())
        elif confirmation.expires_at <= now:
            outcomes.append(LinkExpired("this confirmation link has expired; please file the "
                                        "request again"))
        else:
            claiming[confirmation.id] = confirmation
            outcomes.append([])
    # Single use, even when two clicks race: only one update finds a link unused.
    claimed: set[uuid.UUID] = set()
    if claiming:
        claimed = set(await session.scalars(
            update(Confirmation).where(Confirmation.id.in_(list(claiming)),
                                       Confirmation.used_at.is_(None))
            .values(used_at=now).returning(Confirmation.id)
            .execution_options(synchronize_session=False)))
    submissions = {c.submission_id for c in claiming.values() if c.id in claimed}
    cases = await _pending_cases(session, submissions)
    every = [c for found in cases.values() for c in found]
    models = await _models_of(session, [c.id for c in every])
    pool = await _active_pool(session, {c.subject_index for c in every})
    zones = await org_zones(session, {c.org_id for c in every})
    notices: dict[str, dict[uuid.UUID, dict[str, Any]]] = {}
    receipts: list[dict[str, Any]] = []
    for i, token_hash in enumerate(digests):
        confirmation = stored.get(token_hash)
        if isinstance(outcomes[i], DomainError) or confirmation is None:
            continue
        if confirmation.id not in claimed:
            outcomes[i] = _used()
            continue
        done: list[ConfirmedCase] = []
        receipt: list[dict[str, Any]] = []
        email: str | None = None
        lang = "en"
        for case in cases.get(confirmation.submission_id, []):
            data = open_subject(keyring, case)
            if data is None:
                continue
            email, lang = data["email"], case.language
            mine = {model_id for model_id, _ in models[case.id]}
            confirmed = await _confirm_case(session, keyring, settings, case, data, mine, pool)
            done.append(confirmed)
            receipt.append({"reference": case.reference, "link": confirmed.status_link,
                            # The due day as the organisation's calendar has it.
                            "due_at": case.due_at.astimezone(zones[case.org_id]),
                            "models": sorted(ref for _, ref in models[case.id]),
                            "duplicate_of": confirmed.duplicate_of.reference
                            if confirmed.duplicate_of else None,
                            "org_id": case.org_id})
        outcomes[i] = done
        if email is None:
            continue
        if lang not in notices:
            notices[lang] = await privacy.notices_for(session, set(zones), lang)
        for line in receipt:
            line["notice"] = notices[lang].get(line["org_id"])  # Art. 13, in their language
        receipts.append(emails.prepare(
            keyring, to=email, kind="receipt", lang=lang,
            context={"cases": receipt, "notice_fields": NOTICE_FIELDS,
                     "labels": {f: translate(lang, key) for f, key in NOTICE_KEYS.items()}},
            case_id=done[0].case.id))
    if receipts:
        await write(session)  # the cases first (and a concurrent change refuses, 409)
        await session.execute(insert(OutboundEmail), receipts)
    return outcomes


async def _confirm_case(session: AsyncSession, keyring: Keyring, settings: Settings, case: Case,
                        data: dict[str, Any], models: set[uuid.UUID],
                        pool: _Pool) -> ConfirmedCase:
    earlier = pool.earliest(case, models)
    case.confirmed_at = utcnow()
    status_token = new_token()
    case.status_token_hash = digest(status_token)
    status_link = link(settings, "status", status_token)
    # Kept sealed with the person's data (and shredded with it), so that every later email
    # can carry their status link; only its digest is searchable.
    seal_subject(keyring, case, {**data, "status_link": status_link})
    # Not flushed one by one: the batch's cases are written together.
    if earlier is not None:
        case.duplicate_of_id = earlier.id
        await transition(session, case, CaseStatus.duplicate, Actor.subject(),
                         action="case.duplicate", details={"duplicate_of": earlier.reference},
                         flush=False)
    else:
        await transition(session, case, CaseStatus.open, Actor.subject(),
                         action="case.confirmed", flush=False)
        pool.add(case, models)  # a later case of the batch is its duplicate
    return ConfirmedCase(case, earlier, status_link)


async def _pending_cases(session: AsyncSession,
                         submissions: set[uuid.UUID]) -> dict[uuid.UUID, list[Case]]:
    found: dict[uuid.UUID, list[Case]] = defaultdict(list)
    if submissions:
        for case in await session.scalars(select(Case).where(
                Case.submission_id.in_(submissions),
                Case.status == CaseStatus.pending_verification).order_by(Case.reference)):
            found[case.submission_id].append(case)
    return found


async def _models_of(session: AsyncSession,
                     case_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[tuple[uuid.UUID, str]]]:
    """Each case's models: (id, reference)."""
    found: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = defaultdict(list)
    if case_ids:
        rows = await session.execute(
            select(CaseModel.case_id, Model.id, Model.namespace, Model.name)
            .join(Model, Model.id == CaseModel.model_id).where(CaseModel.case_id.in_(case_ids)))
        for case_id, model_id, namespace, name in rows:
            found[case_id].append((model_id, f"{namespace}/{name}"))
    return found


async def _active_pool(session: AsyncSession, people: set[str]) -> _Pool:
    pool = _Pool()
    if people:
        rows = await session.execute(
            select(Case, CaseModel.model_id).join(CaseModel, CaseModel.case_id == Case.id)
            .where(Case.subject_index.in_(people), Case.status.in_([s.value for s in ACTIVE])))
        models: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
        cases: dict[uuid.UUID, Case] = {}
        for case, model_id in rows:
            cases[case.id] = case
            models[case.id].add(model_id)
        for case_id, case in cases.items():
            pool.add(case, models[case_id])
    return pool
