"""Filings and confirmations that arrive together are written together (app/batching.py): each
request still gets its own answer, refused ones write nothing, limits count every attempt, and
duplicates and single-use links hold inside a batch as they did one request at a time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from app.audit import service as audit
from tests.mail import body, link
from tests.subjects import PERSON, db_rows, file, open_model, wait_until
from tests.support import run_async


def at_once(calls: list[Any]) -> list[httpx.Response]:
    """Every call started together (one thread each), their answers in order."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def address(i: int) -> dict[str, str]:
    return {"x-forwarded-for": f"198.51.100.{i + 1}"}  # one simulated client each


def test_filings_at_once_each_get_their_own_answer_and_refused_ones_write_nothing(
        client, mailbox, settings, org_a):
    open_model(org_a, "acme/batch")
    closed = open_model(org_a, "acme/closed", intake_open=False)["id"]
    calls = [(lambda i=i: file(client, ["acme/batch"] if i % 4 else [closed],
                               headers=address(i), email=f"batch{i}@example.org"))
             for i in range(16)]
    answers = at_once(calls)
    for i, r in enumerate(answers):
        if i % 4:
            assert r.status_code == 202, r.text
            assert r.json()["status"] == "pending_verification"
        else:
            assert r.status_code == 422, r.text
            assert r.json()["fields"][0]["field"] == "models"
            assert closed in r.json()["fields"][0]["message"]
    rows = db_rows(settings.sync_url, "SELECT c.reference, c.status FROM cases c")
    assert len(rows) == 12 and {r["status"] for r in rows} == {"pending_verification"}
    assert len({r["reference"] for r in rows}) == 12
    # One confirmation link each for the accepted, none for the refused.
    for i in range(16):
        if i % 4:
            mailbox.wait_for(f"batch{i}@example.org", "onfirm")
    assert not any(mailbox.to(f"batch{i}@example.org") for i in range(0, 16, 4))
    trail = db_rows(settings.sync_url, "SELECT seq FROM audit_events WHERE action = "
                                       "'case.received' ORDER BY seq")
    assert len(trail) == 12
    assert run_async(settings, lambda s: audit.verify_chain(s, org_a.id)) == []


def test_filings_at_once_for_one_email_stop_at_its_limit(client, mailbox, settings, org_a):
    open_model(org_a, "acme/batch")
    limit = settings.rate_limit_email_per_day
    answers = at_once([(lambda i=i: file(client, ["acme/batch"], headers=address(i)))
                       for i in range(limit + 3)])
    codes = sorted(r.status_code for r in answers)
    assert codes == [202] * limit + [429] * 3
    for r in answers:
        if r.status_code == 429:
            assert r.json()["error"] == "rate_limited" and int(r.headers["retry-after"]) > 0
            assert PERSON["email"] not in r.text
    assert len(db_rows(settings.sync_url, "SELECT id FROM cases")) == limit
    # The refused attempts were counted: one more, later, is refused too.
    assert file(client, ["acme/batch"], headers=address(99)).status_code == 429


def confirm_tokens(mailbox, email: str, count: int) -> list[str]:
    messages = wait_until(lambda: len(found := [m for m in mailbox.to(email)
                                               if "/r/confirm/" in body(m)]) >= count and found)
    return [link(m, "confirm").rsplit("/", 1)[1] for m in messages]


def test_confirmations_at_once_open_one_case_and_link_the_others_to_it(
        client, mailbox, settings, org_a):
    open_model(org_a, "acme/batch")
    email = "same.person@batch.example.org"  # no other test's late email can match it
    for i in range(3):  # the same person, three times, about the same model
        assert file(client, ["acme/batch"], headers=address(i), email=email).status_code == 202
    tokens = confirm_tokens(mailbox, email, 3)
    answers = at_once([(lambda t=t: client.post("/v1/public/confirmations", json={"token": t}))
                       for t in tokens])
    assert [r.status_code for r in answers] == [200] * 3
    summaries = [r.json()["cases"][0] for r in answers]
    opened = [s for s in summaries if s["status"] == "open"]
    assert len(opened) == 1 and opened[0]["duplicate_of"] is None
    others = [s for s in summaries if s["status"] == "duplicate"]
    assert [s["duplicate_of"] for s in others] == [opened[0]["reference"]] * 2
    stored = {r["reference"]: r for r in db_rows(
        settings.sync_url, "SELECT reference, status, confirmed_at FROM cases")}
    assert {ref: r["status"] for ref, r in stored.items()} == {
        s["reference"]: s["status"] for s in summaries}
    assert all(r["confirmed_at"] is not None for r in stored.values())
    # A receipt each, with its own status link.
    receipts = wait_until(lambda: len(found := [m for m in mailbox.to(email)
                                               if "/r/status/" in body(m)]) >= 3 and found)
    assert len({link(m, "status") for m in receipts}) == 3
    assert run_async(settings, lambda s: audit.verify_chain(s, org_a.id)) == []


def test_one_link_clicked_many_times_at_once_confirms_once(client, mailbox, settings, org_a):
    open_model(org_a, "acme/batch")
    email = "one.link@batch.example.org"
    assert file(client, ["acme/batch"], email=email).status_code == 202
    [token] = confirm_tokens(mailbox, email, 1)
    answers = at_once([(lambda: client.post("/v1/public/confirmations", json={"token": token}))
                       for _ in range(6)])
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] + [409] * 5
    assert sum(r.json().get("error") == "conflict" for r in answers) == 5
    trail = db_rows(settings.sync_url, "SELECT action FROM audit_events WHERE action = "
                                       "'case.confirmed'")
    assert len(trail) == 1
    assert len(wait_until(lambda: [m for m in mailbox.to(email)
                                   if "/r/status/" in body(m)])) == 1
