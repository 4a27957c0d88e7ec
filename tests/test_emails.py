"""Emails leave from a durable outbox: retried when the SMTP server fails, logged without SMTP."""

from __future__ import annotations

import logging
import re

import httpx

from tests.mail import body
from tests.subjects import PERSON, db_rows, file, open_model, wait_until
from tests.support import TLS, IsolatedServer, create_org


def outbox(settings) -> list[dict]:
    return db_rows(settings.sync_url, "SELECT kind, status, attempts, last_error, sent_at "
                   "FROM outbound_emails ORDER BY created_at")


def test_an_email_refused_by_the_smtp_server_is_retried_until_it_goes_through(
        client, mailbox, settings, org_a):
    open_model(org_a, "acme/chat")
    mailbox.refuse = True
    assert file(client, ["acme/chat"]).status_code == 202
    # Refused at least twice, with the reason recorded (no address in it).
    rows = wait_until(lambda: [r for r in outbox(settings) if r["attempts"] >= 2])
    assert rows[0]["status"] == "pending" and rows[0]["sent_at"] is None
    assert "451" in rows[0]["last_error"] and "@" not in rows[0]["last_error"]
    assert mailbox.to(PERSON["email"]) == []
    mailbox.refuse = False
    # The next retry may be a few seconds away (backoff), more on a loaded machine.
    msg = mailbox.wait_for(PERSON["email"], "Confirm your request", timeout=40)
    assert "/r/confirm/" in body(msg)
    # The sender records the send once the server has taken the message: just after it arrives.
    [row] = wait_until(lambda: [r for r in outbox(settings) if r["status"] != "pending"])
    assert row["status"] == "sent" and row["sent_at"] is not None and row["last_error"] is None


def test_an_email_that_keeps_failing_is_given_up_after_the_last_retry(
        mailbox, settings, tmp_path):
    from app.emails.sender import RETRY_DELAYS

    mailbox.refuse = True
    # About 21 hours of retries, compressed into a few seconds.
    with IsolatedServer(settings, str(tmp_path), retry_scale=0.00005) as fast:
        org = create_org(fast.settings, fast.url, "fast")
        open_model(org, "acme/chat")
        with httpx.Client(verify=TLS, base_url=fast.url) as c:
            file(c, ["acme/chat"])
        [row] = wait_until(lambda: [r for r in outbox(fast.settings) if r["status"] == "failed"],
                           timeout=30)
        org.close()
    assert row["attempts"] == len(RETRY_DELAYS) + 1
    assert mailbox.to(PERSON["email"]) == []


def test_without_smtp_emails_are_written_to_the_log_with_their_link(settings, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="app.emails.sender")
    with IsolatedServer(settings, str(tmp_path), smtp_host=None) as no_smtp, \
            httpx.Client(verify=TLS, base_url=no_smtp.url) as c:
        org = create_org(no_smtp.settings, no_smtp.url, "nosmtp")
        open_model(org, "acme/chat")
        org.close()
        assert file(c, ["acme/chat"]).status_code == 202
        wait_until(lambda: [r for r in outbox(no_smtp.settings) if r["status"] == "logged"])
        logged = "\n".join(r.getMessage() for r in caplog.records)
        m = re.search(r"http://\S+/r/confirm/(\S+)", logged)
        assert m, logged
        # The logged link really confirms the request.
        r = c.post("/v1/public/confirmations", json={"token": m.group(1)})
        assert r.status_code == 200, r.text
        wait_until(lambda: "/r/status/" in "\n".join(x.getMessage() for x in caplog.records))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert PERSON["email"] not in logged and PERSON["name"] not in logged


def test_in_production_without_smtp_emails_wait_in_the_outbox(settings, tmp_path, caplog):
    with IsolatedServer(settings, str(tmp_path), smtp_host=None,
                        environment="production") as prod, \
            httpx.Client(verify=TLS, base_url=prod.url) as c:
        org = create_org(prod.settings, prod.url, "prod")
        open_model(org, "acme/chat")
        org.close()
        assert file(c, ["acme/chat"]).status_code == 202
        [row] = wait_until(lambda: [r for r in outbox(prod.settings) if r["attempts"] >= 1])
    assert row["status"] == "pending"
    assert "/r/confirm/" not in "\n".join(r.getMessage() for r in caplog.records)
