"""Data subjects file, confirm, follow and withdraw requests through the public JSON API."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.cases.deadlines import first_due
from tests.mail import body
from tests.subjects import (
    PERSON,
    confirmation_token,
    db_execute,
    db_rows,
    file,
    file_and_confirm,
    open_model,
    receipt_links,
    request_body,
    status_token,
    wait_until,
)


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
def chat(org_a):
    return open_model(org_a, "acme/chat")["id"]


def cases(settings) -> list[dict]:
    return db_rows(settings.sync_url, "SELECT reference, status, org_id, subject_ciphertext, "
                   "received_at FROM cases ORDER BY created_at")


# --- filing and confirming -------------------------------------------------------------------


def test_filing_sends_a_confirmation_link_and_reaches_no_queue_yet(client, mailbox, settings, chat):
    before = datetime.now(UTC)
    r = file(client, [chat])
    assert r.status_code == 202, r.text
    received = r.json()
    assert received["status"] == "pending_verification"
    # The link is valid for 7 days by default.
    expires = ts(received["confirmation_expires_at"])
    assert timedelta(days=7) - timedelta(minutes=1) < expires - before < timedelta(days=7, minutes=1)
    msg = mailbox.wait_for(PERSON["email"], "Confirm your request")
    assert "acme/chat" in body(msg) and "/r/confirm/" in body(msg)
    [case] = cases(settings)
    assert case["status"] == "pending_verification"


def test_confirming_opens_the_case_and_emails_a_receipt_with_a_status_link(
        client, mailbox, settings, chat):
    r = file(client, [chat], "objection")
    received_before = datetime.now(UTC)
    time.sleep(1.1)  # confirm visibly later than the request was received
    token = confirmation_token(mailbox)
    r = client.post("/v1/public/confirmations", json={"token": token})
    assert r.status_code == 200, r.text
    [summary] = r.json()["cases"]
    assert summary["status"] == "open" and summary["duplicate_of"] is None
    links = receipt_links(mailbox)
    assert list(links) == [summary["reference"]]

    status = client.get(f"/v1/public/requests/{status_token(links[summary['reference']])}")
    assert status.status_code == 200, status.text
    view = status.json()
    assert view["reference"] == summary["reference"]
    assert (view["kind"], view["status"], view["models"]) == ("objection", "open", ["acme/chat"])
    # The one-month clock starts when the request was received, not when it was confirmed.
    received_at = ts(view["received_at"])
    assert received_at <= received_before
    assert ts(view["due_at"]) == first_due(received_at)
    assert [e["step"] for e in view["timeline"]] == ["case.received", "case.confirmed"]
    assert view["can_withdraw"] is True and view["can_answer"] is False
    # Nothing personal is echoed back by the status API.
    for value in (PERSON["name"], PERSON["email"], PERSON["description"]):
        assert value not in status.text


def test_a_confirmation_link_works_once(client, mailbox, chat):
    file(client, [chat])
    token = confirmation_token(mailbox)
    assert client.post("/v1/public/confirmations", json={"token": token}).status_code == 200
    receipt_links(mailbox)
    again = client.post("/v1/public/confirmations", json={"token": token})
    assert again.status_code == 409
    assert again.json()["error"] == "conflict"
    time.sleep(0.5)  # the outbox is polled every 0.2 s: a second receipt would be here by now
    receipts = [m for m in mailbox.to(PERSON["email"]) if "/r/status/" in body(m)]
    assert len(receipts) == 1


def test_an_unknown_confirmation_token_is_404(client, chat):
    r = client.post("/v1/public/confirmations", json={"token": "x" * 43})
    assert r.status_code == 404 and r.json()["error"] == "not_found"


@pytest.mark.parametrize("token", ["", "short", "x" * 201, None, 5])
def test_a_malformed_confirmation_token_is_422(client, token):
    r = client.post("/v1/public/confirmations", json={"token": token})
    assert r.status_code == 422
    assert r.json()["fields"][0]["field"] == "token"


def test_an_expired_confirmation_link_is_refused_and_the_request_expires_unseen(
        client, mailbox, settings, chat):
    file(client, [chat])
    token = confirmation_token(mailbox)
    # Time passes: the link's 7 days are over.
    db_execute(settings.sync_url, "UPDATE confirmations SET expires_at = :t",
               t=datetime.now(UTC) - timedelta(seconds=1))
    r = client.post("/v1/public/confirmations", json={"token": token})
    assert r.status_code == 410 and r.json()["error"] == "link_expired"
    # The housekeeping job expires the request and erases what the person sent at once.
    wait_until(lambda: cases(settings)[0]["status"] == "expired")
    [case] = cases(settings)
    assert case["subject_ciphertext"] is None
    # Still refused afterwards, and the case never opened.
    assert client.post("/v1/public/confirmations", json={"token": token}).status_code == 410


def test_a_request_confirmed_just_in_time_is_not_expired(client, mailbox, settings, chat):
    file(client, [chat])
    token = confirmation_token(mailbox)
    db_execute(settings.sync_url, "UPDATE confirmations SET expires_at = :t",
               t=datetime.now(UTC) + timedelta(seconds=30))
    assert client.post("/v1/public/confirmations", json={"token": token}).status_code == 200
    time.sleep(1.2)  # the expiry job runs every 0.5 s in tests
    assert cases(settings)[0]["status"] == "open"


def test_the_confirmation_lifetime_is_configurable(server, settings, mailbox, org_a, tmp_path):
    from tests.support import ServerThread

    open_model(org_a, "acme/chat")
    other = ServerThread(settings.model_copy(update={"confirmation_ttl_hours": 2,
                                                     "run_jobs": False})).start()
    try:
        import httpx

        from tests.support import TLS

        with httpx.Client(verify=TLS, base_url=other.url) as c:
            before = datetime.now(UTC)
            r = file(c, ["acme/chat"])
        expires = ts(r.json()["confirmation_expires_at"])
        assert timedelta(hours=2) - timedelta(minutes=1) < expires - before < timedelta(hours=2, minutes=1)
    finally:
        other.stop()


# --- several providers, duplicates -----------------------------------------------------------


def test_one_request_against_two_providers_makes_one_case_each(client, mailbox, settings,
                                                               org_a, org_b):
    open_model(org_a, "acme/chat")
    open_model(org_b, "beta/vision")
    refs = file_and_confirm(client, mailbox, ["acme/chat", "beta/vision"])
    assert len(refs) == 2
    rows = cases(settings)
    assert {uuid.UUID(str(r["org_id"])) for r in rows} == {org_a.id, org_b.id}
    models = {client.get(f"/v1/public/requests/{t}").json()["models"][0] for t in refs.values()}
    assert models == {"acme/chat", "beta/vision"}
    # One confirmation email for the whole request.
    assert len([m for m in mailbox.to(PERSON["email"]) if "/r/confirm/" in body(m)]) == 1


def test_a_second_request_by_the_same_person_is_linked_to_the_open_one(client, mailbox, chat):
    first = file_and_confirm(client, mailbox, [chat])
    [first_ref] = first
    # Same person (email compared case-insensitively, through its blind index), same model.
    same_person = "Jeanne.TestPerson@example.org"
    second = file_and_confirm(client, mailbox, [chat], email=same_person)
    [(second_ref, token)] = second.items()
    view = client.get(f"/v1/public/requests/{token}").json()
    assert view["status"] == "duplicate"
    assert [e["step"] for e in view["timeline"]] == ["case.received", "case.duplicate"]
    receipt = next(m for m in mailbox.to(same_person) if "/r/status/" in body(m))
    assert first_ref in body(receipt)
    assert first_ref != second_ref


def test_requests_about_other_models_or_after_withdrawal_are_not_duplicates(
        client, mailbox, org_a):
    open_model(org_a, "acme/chat")
    open_model(org_a, "acme/code")
    [(_, token)] = file_and_confirm(client, mailbox, ["acme/chat"]).items()
    [(_, other)] = file_and_confirm(client, mailbox, ["acme/code"]).items()
    assert client.get(f"/v1/public/requests/{other}").json()["status"] == "open"
    assert client.post(f"/v1/public/requests/{token}/withdraw").status_code == 200
    [(_, again)] = file_and_confirm(client, mailbox, ["acme/chat"]).items()
    assert client.get(f"/v1/public/requests/{again}").json()["status"] == "open"


def test_another_persons_request_is_not_a_duplicate(client, mailbox, chat):
    file_and_confirm(client, mailbox, [chat])
    [(_, token)] = file_and_confirm(client, mailbox, [chat], email="someone.else@example.org",
                                    name="Someone Else").items()
    assert client.get(f"/v1/public/requests/{token}").json()["status"] == "open"


# --- status link: withdraw -------------------------------------------------------------------


def test_withdrawing_closes_the_case_and_emails_the_person(client, mailbox, chat):
    [(ref, token)] = file_and_confirm(client, mailbox, [chat]).items()
    r = client.post(f"/v1/public/requests/{token}/withdraw")
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["status"] == "withdrawn" and view["can_withdraw"] is False
    assert view["timeline"][-1]["step"] == "case.withdrawn"
    msg = mailbox.wait_for(PERSON["email"], "withdrawn")
    assert ref in body(msg)
    again = client.post(f"/v1/public/requests/{token}/withdraw")
    assert again.status_code == 409 and again.json()["error"] == "invalid_transition"
    assert "withdrawn" in again.json()["detail"]


def test_answering_when_nothing_was_asked_is_409(client, mailbox, chat):
    [(_, token)] = file_and_confirm(client, mailbox, [chat]).items()
    r = client.post(f"/v1/public/requests/{token}/answer", json={"answer": "here you go"})
    assert r.status_code == 409
    assert client.get(f"/v1/public/requests/{token}").json()["status"] == "open"


@pytest.mark.parametrize("answer", ["", "   ", "a" * 5001, None])
def test_an_invalid_answer_is_422(client, mailbox, chat, answer):
    [(_, token)] = file_and_confirm(client, mailbox, [chat]).items()
    r = client.post(f"/v1/public/requests/{token}/answer", json={"answer": answer})
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "answer"


def test_a_status_token_opens_only_its_own_case(client, mailbox, org_a):
    open_model(org_a, "acme/chat")
    open_model(org_a, "acme/code")
    [(ref_a, token_a)] = file_and_confirm(client, mailbox, ["acme/chat"]).items()
    [(ref_b, token_b)] = file_and_confirm(client, mailbox, ["acme/code"],
                                          email="b@example.org").items()
    assert client.get(f"/v1/public/requests/{token_a}").json()["reference"] == ref_a
    assert client.get(f"/v1/public/requests/{token_b}").json()["reference"] == ref_b
    for bad in (token_a[:-1] + ("A" if token_a[-1] != "A" else "B"), "x" * 43):
        r = client.get(f"/v1/public/requests/{bad}")
        assert r.status_code == 404 and r.json()["error"] == "not_found"
        assert client.post(f"/v1/public/requests/{bad}/withdraw").status_code == 404
    assert client.get(f"/v1/public/requests/{token_a}").json()["status"] == "open"


# --- validation ------------------------------------------------------------------------------


def assert_refused(r, field: str, *secrets: str) -> None:
    assert r.status_code == 422, r.text
    payload = r.json()
    assert payload["error"] == "validation_error"
    assert field in [f["field"].split(".")[0] for f in payload["fields"]], payload
    for secret in secrets:  # the message never echoes what was sent
        assert secret not in r.text


INVALID = [
    ("models", {"models": []}),
    ("models", {"models": None}),
    ("models", {"models": ["acme/chat"] * 21}),
    ("models", {"models": ["not a model id"]}),
    ("models", {"models": ["acme/chat\x00"]}),
    ("kind", {"kind": "rectification"}),
    ("kind", {"kind": None}),
    ("name", {"name": ""}),
    ("name", {"name": "   "}),
    ("name", {"name": "n" * 201}),
    ("name", {"name": "Jeanne\x00Dupont"}),
    ("email", {"email": "not-an-email"}),
    ("email", {"email": "jeanne@"}),
    ("email", {"email": ("x" * 250) + "@example.org"}),
    ("email", {"email": None}),
    ("description", {"description": ""}),
    ("description", {"description": "d" * 5001}),
    ("description", {"description": "bad\x00byte"}),
    ("identifiers", {"identifiers": ["i"] * 21}),
    ("identifiers", {"identifiers": ["i" * 501]}),
    ("identifiers", {"identifiers": [""]}),
    ("identifiers", {"identifiers": "not a list"}),
    ("probe_prompts", {"probe_prompts": ["p"] * 11}),
    ("probe_prompts", {"probe_prompts": ["p" * 2001]}),
    ("probe_prompts", {"probe_prompts": [42]}),
    ("language", {"language": "de"}),
]


@pytest.mark.parametrize(("field", "change"), INVALID, ids=[f"{f}-{i}" for i, (f, _) in
                                                            enumerate(INVALID)])
def test_every_invalid_field_is_a_422_naming_it_and_stores_nothing(client, mailbox, settings,
                                                                    chat, field, change):
    body_ = request_body([chat]) | change
    r = client.post("/v1/public/requests", json=body_)
    secrets = [v for v in change.values() if isinstance(v, str) and len(v) > 3]
    assert_refused(r, field, *secrets)
    assert cases(settings) == []
    time.sleep(0.3)
    assert mailbox.to(PERSON["email"]) == []


@pytest.mark.parametrize("missing", ["models", "kind", "name", "email", "description"])
def test_each_required_field_is_named_when_missing(client, chat, missing):
    body_ = request_body([chat])
    del body_[missing]
    assert_refused(client.post("/v1/public/requests", json=body_), missing)


def test_optional_fields_may_be_left_out(client, mailbox, chat):
    body_ = request_body([chat])
    del body_["identifiers"], body_["probe_prompts"]
    assert client.post("/v1/public/requests", json=body_).status_code == 202


def test_limits_are_inclusive(client, mailbox, chat):
    r = file(client, [chat], name="n" * 200, description="d" * 5000,
             identifiers=["i" * 500] * 20, probe_prompts=["p" * 2000] * 10)
    assert r.status_code == 202, r.text


def test_a_model_that_takes_no_requests_is_refused_naming_the_field(client, mailbox, settings,
                                                                    org_a):
    open_model(org_a, "acme/chat")
    open_model(org_a, "acme/closed", intake_open=False)
    for models in (["acme/closed"], ["acme/chat", "acme/closed"], ["acme/nowhere"]):
        r = file(client, models)
        assert_refused(r, "models", PERSON["name"], PERSON["email"])
    assert cases(settings) == []


def test_a_body_that_is_not_json_is_422(client, chat):
    r = client.post("/v1/public/requests", content=b"name=x",
                    headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"] == "validation_error"


def test_an_oversized_body_is_413_before_it_is_read(client, chat):
    r = client.post("/v1/public/requests", content=b"{" + b" " * 1_100_000 + b"}",
                    headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"


# --- abuse protection ------------------------------------------------------------------------


def test_too_many_requests_from_one_address_are_429_with_retry_after(client, mailbox, settings,
                                                                     chat):
    limit = settings.rate_limit_ip_per_hour
    here = {"x-forwarded-for": "203.0.113.7"}
    for i in range(limit):
        r = file(client, [chat], headers=here, email=f"p{i}@example.org")
        assert r.status_code == 202, (i, r.text)
    r = file(client, [chat], headers=here, email="late@example.org")
    assert r.status_code == 429 and r.json()["error"] == "rate_limited"
    assert 0 < int(r.headers["retry-after"]) <= 3600
    # Malformed floods are counted too, and other addresses are not affected.
    assert client.post("/v1/public/requests", json={}, headers=here).status_code == 429
    r = file(client, [chat], headers={"x-forwarded-for": "198.51.100.9"}, email="ok@example.org")
    assert r.status_code == 202


def test_too_many_requests_for_one_email_are_429_whatever_the_address(client, mailbox, settings,
                                                                      chat):
    limit = settings.rate_limit_email_per_day
    for i in range(limit):
        r = file(client, [chat], headers={"x-forwarded-for": f"203.0.113.{i + 1}"})
        assert r.status_code == 202, r.text
    r = file(client, [chat], headers={"x-forwarded-for": "203.0.113.200"},
             email="Jeanne.TestPerson@example.org")
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    assert PERSON["email"] not in r.text
    assert len(cases(settings)) == limit


def test_guessing_status_tokens_is_rate_limited(client, settings):
    here = {"x-forwarded-for": "203.0.113.50"}
    codes = [client.get(f"/v1/public/requests/{'x' * 43}", headers=here).status_code
             for _ in range(settings.rate_limit_token_per_minute + 1)]
    assert codes[:-1] == [404] * settings.rate_limit_token_per_minute
    assert codes[-1] == 429


def test_an_unconfirmed_request_never_reaches_the_providers_queue(client, mailbox, settings,
                                                                  org_a, chat):
    r = file(client, [chat])
    assert r.status_code == 202
    token = confirmation_token(mailbox)
    assert org_a.admin.get("/v1/cases").json()["items"] == []
    [pending] = db_rows(settings.sync_url, "SELECT reference FROM cases")
    assert org_a.admin.get(f"/v1/cases/{pending['reference']}").status_code == 404
    client.post("/v1/public/confirmations", json={"token": token})
    [listed] = org_a.admin.get("/v1/cases").json()["items"]
    assert listed["reference"] == pending["reference"] and listed["status"] == "open"
