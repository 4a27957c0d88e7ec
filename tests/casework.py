"""Helpers for the case and remediation tests: requests filed and confirmed as a data subject
would (public API + the emailed link), or seeded through the real services for speed."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import httpx
import sqlalchemy as sa

from app.auth.tokens import digest, new_token
from app.cases import actions
from app.cases.deadlines import first_due, org_zone
from app.cases.lifecycle import Actor, transition
from app.cases.models import Case, CaseStatus, RejectionGround
from app.config import Settings
from app.crypto import Keyring
from app.db import utcnow
from app.requests import filing as intake
from app.requests.schemas import RequestCreate
from tests.mail import Mailbox, link
from tests.support import Org, run_async

STAFF = Actor(kind="admin", label="user:seed@example.org")
SUBJECT_EMAIL = "jane.doe@example.net"
PROMPTS = ["Where does Jane Doe live?", "What is Jane Doe's phone number?"]


def model_with_version(org: Org, ref: str = "acme/chat", label: str = "v1") -> str:
    r = org.admin.post("/v1/models", json={"id": ref, "title": "Chat"})
    assert r.status_code == 201, r.text
    r = org.admin.post(f"/v1/models/{ref}/versions", json={
        "label": label, "revision": f"rev-{label}",
        "digests": [{"file": "model.safetensors", "sha256": "a" * 64}]})
    assert r.status_code == 201, r.text
    return ref


def file_and_confirm(client: httpx.Client, mailbox: Mailbox, models: list[str], *,
                     email: str = SUBJECT_EMAIL, kind: str = "erasure",
                     prompts: list[str] | None = None, language: str = "en",
                     name: str = "Jane Doe") -> tuple[list[str], str]:
    """As the subject: file through the public API, confirm with the emailed link. Returns the
    references and the status link from the receipt."""
    r = client.post("/v1/public/requests", json={
        "models": models, "kind": kind, "name": name, "email": email,
        "description": "My home address appears in the model's answers.",
        "identifiers": ["https://example.net/jane"], "probe_prompts": prompts or [],
        "language": language})
    assert r.status_code == 202, r.text
    confirm = link(mailbox.wait_for(email, ""), "confirm")
    r = client.post("/v1/public/confirmations", json={"token": confirm.rsplit("/", 1)[1]})
    assert r.status_code == 200, r.text
    refs = [c["reference"] for c in r.json()["cases"]]
    receipt = mailbox.wait_for(email, "Receipt")
    return refs, link(receipt, "status")


def seed_case(settings: Settings, models: list[str], *, status: str = "open",
              email: str = SUBJECT_EMAIL, kind: str = "erasure",
              prompts: list[str] | None = None, language: str = "en",
              received_at: datetime | None = None,
              objection_basis: str | None = None) -> tuple[str, str]:
    """A confirmed case moved to `status` through the real services (no email round trip).
    Returns (reference, status token)."""
    [seeded] = seed_cases(settings, [dict(models=models, status=status, email=email, kind=kind,
                                          prompts=prompts, language=language,
                                          received_at=received_at,
                                          objection_basis=objection_basis)])
    return seeded


def seed_cases(settings: Settings, specs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Several cases in one transaction; each spec takes seed_case's keyword arguments."""
    keyring = Keyring.from_settings(settings)

    async def one(session: Any, models: list[str], status: str = "open",
                  email: str = SUBJECT_EMAIL, kind: str = "erasure",
                  prompts: list[str] | None = None, language: str = "en",
                  received_at: datetime | None = None,
                  objection_basis: str | None = None) -> tuple[str, str]:
        body = RequestCreate(objection_basis=objection_basis, models=models, kind=kind,
                             name="Jane Doe", email=email,
                             description="My home address.", probe_prompts=prompts or [],
                             language=language, particular_situation="A private person."
                             if kind == "objection" else None)
        submitted = await intake.submit(session, keyring, settings, body)
        case = submitted.cases[0]
        if received_at is not None:
            case.received_at = received_at
            case.due_at = first_due(received_at, await org_zone(session, case.org_id))
        token = new_token()
        case.status_token_hash = digest(token)
        case.confirmed_at = utcnow()
        await transition(session, case, CaseStatus.open, Actor.subject(),
                         action="case.confirmed")
        await move(session, keyring, case, status)
        return case.reference, token

    async def go(session: Any) -> list[tuple[str, str]]:
        return [await one(session, **spec) for spec in specs]

    return run_async(settings, go)


async def move(session: Any, keyring: Keyring, case: Case, status: str) -> None:
    path = {"open": [], "in_review": ["in_review"],
            "awaiting_subject": ["in_review", "awaiting_subject"],
            "accepted": ["in_review", "accepted"], "rejected": ["in_review", "rejected"]}
    for step in path[status]:
        if step == "in_review":
            await actions.start_review(session, STAFF, case)
        elif step == "awaiting_subject":
            await actions.request_information(session, keyring, STAFF, case, "Which city?")
        else:
            await actions.decide(session, keyring, STAFF, case, accept=step == "accepted",
                                 ground=None if step == "accepted"
                                 else RejectionGround.cannot_identify,
                                 explanation=None if step == "accepted" else "Not found.",
                                 now=utcnow())


def sql(settings: Settings, statement: str, **params: Any) -> list[dict[str, Any]]:
    engine = sa.create_engine(settings.sync_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return [dict(r) for r in result.mappings()] if result.returns_rows else []
    finally:
        engine.dispose()


def case_id(settings: Settings, reference: str) -> uuid.UUID:
    [row] = sql(settings, "SELECT id FROM cases WHERE reference = :r", r=reference)
    value = row["id"]
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


def events(settings: Settings) -> list[dict[str, Any]]:
    rows = sql(settings, "SELECT position, type, action, data FROM events ORDER BY position")
    return [{**r, "data": r["data"] if isinstance(r["data"], dict) else json.loads(r["data"])}
            for r in rows]
