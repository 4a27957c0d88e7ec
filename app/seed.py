"""First-run demo data, so a fresh `rights-relay serve` has something to show."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as auth
from app.auth.models import Organization, Role
from app.models_registry import releases
from app.models_registry import service as registry
from app.models_registry.schemas import Digest, ModelCreate, VersionCreate

DEMO_EMAIL = "admin@demo.example"


@dataclass
class DemoCredentials:
    email: str
    password: str
    api_key: str


async def seed_demo(session: AsyncSession) -> DemoCredentials | None:
    """Create the demo organisation, admin, API key and models, unless any organisation exists."""
    if await session.scalar(select(Organization.id).limit(1)) is not None:
        return None
    org = await auth.create_org(session, name="Demo AI Lab", slug="demo")
    password = secrets.token_urlsafe(12)
    await auth.create_user(session, org_id=org.id, email=DEMO_EMAIL, name="Demo Admin",
                           role=Role.admin, password=password)
    _, key = await auth.create_api_key(session, org_id=org.id, name="demo admin key",
                                       role=Role.admin)
    await registry.create_model(session, org.id, ModelCreate(
        id="demo/chat-7b", title="Demo Chat 7B", licence="apache-2.0",
        homepage="https://example.org/demo/chat-7b"))
    await releases.create_version(session, org.id, "demo/chat-7b", VersionCreate(
        label="v1.0", revision="4f2a9c1",
        digests=[Digest(file="model.safetensors", sha256="0" * 64)]), deadline=timedelta(days=30))
    await registry.create_model(session, org.id, ModelCreate(
        id="demo/chat-7b-instruct", title="Demo Chat 7B Instruct", licence="apache-2.0",
        derived_from=["demo/chat-7b"]))
    return DemoCredentials(email=DEMO_EMAIL, password=password, api_key=key)
