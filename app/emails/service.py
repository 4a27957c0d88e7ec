"""Queue emails in the durable outbox. Rendering happens here; sending is the sender's job."""

from __future__ import annotations

import uuid
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.crypto import Keyring
from app.emails.models import OutboundEmail

LANGUAGES = ("en", "fr")
# Plain-text emails: markup a person typed stays inert text, nothing to escape.
_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),  # noqa: S701
                   undefined=StrictUndefined, keep_trailing_newline=True)


@cache
def _templates(name: str) -> tuple[Template, Template]:
    """A template's first line, `Subject: ...`, and the rest, compiled apart: whatever a value
    holds, it cannot carry text from the subject into the body or the headers."""
    source, _, _ = _env.loader.get_source(_env, name)  # type: ignore[union-attr]
    first, _, rest = source.partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"email template {name} must start with 'Subject: '")
    return _env.from_string(first[len("Subject: "):]), _env.from_string(rest)


def render(kind: str, lang: str, context: dict[str, Any]) -> tuple[str, str]:
    """Returns (subject, body). The subject is always one line (no header injection)."""
    lang = lang if lang in LANGUAGES else "en"
    subject, body = _templates(f"{lang}/{kind}.txt")
    # split() also breaks on \r, \x85, \u2028...: every line break becomes one space.
    return " ".join(subject.render(**context).split()), body.render(**context).lstrip("\n")


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
