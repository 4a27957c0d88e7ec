"""Helpers for tests that play the data subject: filing, confirming, following a request."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import sqlalchemy as sa

from tests.mail import Mailbox, body, link

# Distinctive values, so a scan of the database or the logs can look for each of them.
PERSON: dict[str, Any] = {
    "name": "Jeanne Testperson-Dupont",
    "email": "jeanne.testperson@example.org",
    "description": "My home address at 12 rue des Lilas-Zyxwv appears in the model's answers",
    "identifiers": ["J. Testperson-Dupont", "https://blog.example.org/jeanne-zyxwv"],
    "probe_prompts": ["Where does Jeanne Testperson-Dupont live? (zyxwv)"],
}


def personal_strings(person: dict[str, Any] = PERSON) -> list[str]:
    values = [person["name"], person["email"], person["description"],
              *person["identifiers"], *person["probe_prompts"]]
    return [v for v in values if v]


def open_model(org: Any, ref: str = "acme/chat", **fields: Any) -> dict[str, Any]:
    r = org.admin.post("/v1/models", json={"id": ref, "title": f"Model {ref}", **fields})
    assert r.status_code == 201, r.text
    return dict(r.json())


SITUATION = "I am a private person and the model's answers expose where I live (zyxwv)."


def request_body(models: list[str], kind: str = "erasure", **overrides: Any) -> dict[str, Any]:
    # An objection gives the person's particular situation (Art. 21(1)).
    situation = {"particular_situation": SITUATION} if kind == "objection" else {}
    return {"models": models, "kind": kind, **PERSON, **situation, **overrides}


def file(client: httpx.Client, models: list[str], kind: str = "erasure",
         headers: dict[str, str] | None = None, **overrides: Any) -> httpx.Response:
    return client.post("/v1/public/requests", json=request_body(models, kind, **overrides),
                       headers=headers)


def confirmation_token(mailbox: Mailbox, email: str = PERSON["email"]) -> str:
    msg = mailbox.wait_for(email, "onfirm")
    return link(msg, "confirm").rsplit("/", 1)[1]


def status_token(status_link: str) -> str:
    return status_link.rsplit("/", 1)[1]


RECEIPT_WORDS = ("Receipt", "Accusé")  # the receipt's subject, in English and French


def receipt_links(mailbox: Mailbox, email: str = PERSON["email"]) -> dict[str, str]:
    """reference -> status link, from the receipt email (not from a later email of an earlier
    request, which carries its own status link too)."""
    def is_receipt(m: Any) -> bool:
        return "/r/status/" in body(m) and any(w in str(m["Subject"]) for w in RECEIPT_WORDS)

    msg = wait_until(lambda: next((m for m in mailbox.to(email) if is_receipt(m)), None))
    text = body(msg)
    found: dict[str, str] = {}
    start = 0
    for m in re.finditer(r"https?://\S+/r/status/\S+", text):
        # Each case's block opens with its own reference, before its link.
        ref = re.search(r"RR-[0-9A-Z]{4}-[0-9A-Z]{4}", text[start:m.start()])
        assert ref, "a status link without its reference"
        found[ref.group(0)] = m.group(0)
        start = m.end()
    return found


def file_and_confirm(client: httpx.Client, mailbox: Mailbox, models: list[str],
                     kind: str = "erasure", **overrides: Any) -> dict[str, str]:
    """File a request, confirm it through the API; returns reference -> status token."""
    email = overrides.get("email", PERSON["email"])
    mailbox.clear()
    r = file(client, models, kind, **overrides)
    assert r.status_code == 202, r.text
    r = client.post("/v1/public/confirmations",
                    json={"token": confirmation_token(mailbox, email)})
    assert r.status_code == 200, r.text
    links = receipt_links(mailbox, email)
    return {ref: status_token(url) for ref, url in links.items()}


def db_rows(sync_url: str, sql: str, **params: Any) -> list[dict[str, Any]]:
    engine = sa.create_engine(sync_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.text(sql), params).mappings()]
    finally:
        engine.dispose()


def db_execute(sync_url: str, sql: str, **params: Any) -> None:
    engine = sa.create_engine(sync_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql), params)
    finally:
        engine.dispose()


def all_stored_text(sync_url: str) -> str:
    """Every value of every row of every table, as text (bytes decoded leniently)."""
    from app.all_models import Base

    parts: list[str] = []
    engine = sa.create_engine(sync_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                for row in conn.execute(sa.select(table)):
                    for value in row:
                        if isinstance(value, bytes | memoryview):
                            parts.append(bytes(value).decode("latin-1"))
                        elif isinstance(value, dict | list):
                            parts.append(json.dumps(value, ensure_ascii=False))
                        else:
                            parts.append(str(value))
    finally:
        engine.dispose()
    return "\n".join(parts)


def wait_until(predicate: Any, timeout: float = 15, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)
