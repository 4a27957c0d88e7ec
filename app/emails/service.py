"""Queue emails in the durable outbox. Rendering happens here; sending is the sender's job."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.ext.asyncio import AsyncSession

from app.crypto import Keyring
from app.emails.models import OutboundEmail

LANGUAGES = ("en", "fr")
# Plain-text emails: markup a person typed stays inert text, nothing to escape.
_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),  # noqa: S701
                   undefined=StrictUndefined, keep_trailing_newline=True)


def render(kind: str, lang: str, context: dict[str, Any]) -> tuple[str, str]:
    """Returns (subject, body). A template's first line is `Subject: ...`."""
    lang = lang if lang in LANGUAGES else "en"
    text = _env.get_template(f"{lang}/{kind}.txt").render(**context)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"email template {lang}/{kind} must start with 'Subject: '")
    return first[len("Subject: "):].strip(), body.lstrip("\n")


async def enqueue(
    session: AsyncSession, keyring: Keyring, *, to: str, kind: str, lang: str,
    context: dict[str, Any], case_id: uuid.UUID | None = None,
    org_id: uuid.UUID | None = None,
) -> OutboundEmail:
    subject, body = render(kind, lang, context)
    sealed = keyring.seal({"to": to, "subject": subject, "body": body})
    email = OutboundEmail(kind=kind, case_id=case_id, org_id=org_id,
                          ciphertext=sealed.ciphertext, wrapped_key=sealed.wrapped_key,
                          key_id=sealed.key_id)
    session.add(email)
    await session.flush()
    return email
