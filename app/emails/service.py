"""Queue emails in the durable outbox. Rendering happens here; sending is the sender's job."""

from __future__ import annotations

import uuid
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.crypto import Keyring
from app.emails.models import OutboundEmail

TEMPLATES = Path(__file__).parent / "templates"
# Plain-text emails: markup a person typed stays inert text, nothing to escape.
_env = Environment(loader=FileSystemLoader(TEMPLATES),  # noqa: S701
                   undefined=StrictUndefined, keep_trailing_newline=True)
# `{% trans %}` blocks and `_()` take the recipient's language (i18n.use_language).
i18n.install(_env)
_env.globals["t"] = i18n.lazy_t  # key-style messages: t("state." ~ status)


@cache
def _templates(name: str) -> tuple[Template, Template]:
    """A template's first line, `Subject: ...`, and the rest, compiled apart: whatever a value
    holds, it cannot carry text from the subject into the body or the headers."""
    source, _, _ = _env.loader.get_source(_env, name)  # type: ignore[union-attr]
    first, _, rest = source.partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"email template {name} must start with 'Subject: '")
    return _env.from_string(first[len("Subject: "):]), _env.from_string(rest)


@cache  # looked up on disk once per kind and language, not at every email
def _template_name(kind: str, lang: str) -> str:
    """One template per kind, its texts in the catalogs. An `en/<kind>.txt` + `fr/<kind>.txt`
    pair (the layout before the catalogs, which a merged branch may still bring) is used until
    it is converted; tests/test_catalogs.py fails while such a pair exists."""
    if (TEMPLATES / f"{kind}.txt").exists():
        return f"{kind}.txt"
    legacy = TEMPLATES / lang / f"{kind}.txt"
    return f"{lang}/{kind}.txt" if legacy.exists() else f"en/{kind}.txt"


def render(kind: str, lang: str, context: dict[str, Any]) -> tuple[str, str]:
    """Returns (subject, body) in `lang`. The subject is always one line (no header
    injection)."""
    with i18n.use_language(lang) as lang:
        subject, body = _templates(_template_name(kind, lang))
        # split() also breaks on \r, \x85, \u2028...: every line break becomes one space.
        return " ".join(subject.render(**context).split()), body.render(**context).lstrip("\n")


def prepare(
    keyring: Keyring, *, to: str, kind: str, lang: str, context: dict[str, Any],
    case_id: uuid.UUID | None = None, org_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """The rendered, sealed email as the values of its row: a batch inserts many at once
    (`insert(OutboundEmail)` with a list), one email is `OutboundEmail(**values)`."""
    subject, body = render(kind, lang, context)
    sealed = keyring.seal({"to": to, "subject": subject, "body": body})
    return {"kind": kind, "case_id": case_id, "org_id": org_id, "ciphertext": sealed.ciphertext,
            "wrapped_key": sealed.wrapped_key, "key_id": sealed.key_id}


async def enqueue(
    session: AsyncSession, keyring: Keyring, *, to: str, kind: str, lang: str,
    context: dict[str, Any], case_id: uuid.UUID | None = None,
    org_id: uuid.UUID | None = None,
) -> OutboundEmail:
    email = OutboundEmail(**prepare(keyring, to=to, kind=kind, lang=lang, context=context,
                                    case_id=case_id, org_id=org_id))
    session.add(email)
    await session.flush()
    return email
