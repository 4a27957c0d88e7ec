"""Markup a person types is shown as text, never run: on the staff pages, on the subject's
status page, in plain-text emails; and an email's subject is always one line, so no text can
add a header (a Bcc) or move into the body."""

from __future__ import annotations

import html
import re

from app.crypto import Keyring
from app.emails import service as emails
from tests.casework import file_and_confirm, model_with_version
from tests.mail import body
from tests.support import run_async

MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'
HTML = {"Accept": "text/html,application/xhtml+xml"}


def sign_in(server, org):
    import httpx

    from tests.support import TLS

    web = httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30)
    page = web.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = web.post("/signin", data={"csrf_token": token, "email": org.admin_email,
                                  "password": org.admin_password})
    assert r.status_code == 303
    return web


def assert_escaped(page_text: str, typed: str) -> None:
    assert "<script" not in page_text and "<img" not in page_text
    assert typed in html.unescape(page_text)  # shown, as text


def test_markup_from_the_subject_is_text_on_staff_and_status_pages(client, server, org_a,
                                                                    mailbox):
    model = model_with_version(org_a)
    [ref], status_link = file_and_confirm(client, mailbox, [model], name=MARKUP,
                                          email="markup@example.org")
    staff = org_a.admin
    assert staff.post(f"/v1/cases/{ref}/review", json={}).status_code == 200
    r = staff.post(f"/v1/cases/{ref}/information-request", json={"question": f"Which? {MARKUP}"})
    assert r.status_code == 200, r.text
    status = client.get(status_link.replace(server.settings.public_base_url, ""), headers=HTML)
    assert status.status_code == 200
    assert_escaped(status.text, f"Which? {MARKUP}")
    token = status_link.rsplit("/", 1)[1]
    r = client.post(f"/v1/public/requests/{token}/answer", json={"answer": f"Paris {MARKUP}"})
    assert r.status_code == 200, r.text

    web = sign_in(server, org_a)
    page = web.get(f"/dashboard/cases/{ref}")
    web.close()
    assert page.status_code == 200
    assert_escaped(page.text, MARKUP)
    assert html.unescape(page.text).count(MARKUP) >= 2  # the name and the answer


def test_emails_are_plain_text_and_carry_typed_text_inert(client, org_a, mailbox):
    model = model_with_version(org_a)
    [ref], _ = file_and_confirm(client, mailbox, [model], email="ext@example.org")
    reason = f"Many requests.\r\nBcc: evil@attacker.example\r\n\r\n{MARKUP}"
    r = org_a.admin.post(f"/v1/cases/{ref}/extension", json={"months": 1, "reason": reason})
    assert r.status_code == 200, r.text
    msg = mailbox.wait_for("ext@example.org", "more time")
    assert msg.get_content_type() == "text/plain" and not msg.is_multipart()
    assert msg["Bcc"] is None and "\n" not in str(msg["Subject"])
    assert MARKUP in body(msg)  # shown as typed: a text mail client does not run it
    assert mailbox.to("evil@attacker.example") == []


def test_an_email_subject_is_one_line_whatever_a_value_holds(server, settings, mailbox):
    # A title from before validation, say: line breaks of every kind, and a header after them.
    title = "Model\r\nBcc: evil@attacker.example\u2028X-Injected: 1\x85\nBody text"
    keyring = Keyring.from_settings(settings)

    async def go(session):
        await emails.enqueue(session, keyring, to="admin@derived.example",
                             kind="upstream_remediation", lang="en",
                             context={"title": title, "text": "t", "chain_url": "u",
                                      "dashboard": "d"})

    run_async(settings, go)
    msg = mailbox.wait_for("admin@derived.example", "Upstream fix")
    assert str(msg["Subject"]).strip() == "Upstream fix: Model Bcc: evil@attacker.example " \
                                  "X-Injected: 1 Body text"
    assert msg["Bcc"] is None and msg["X-Injected"] is None
    assert mailbox.to("evil@attacker.example") == []
    assert body(msg).startswith("Hello,")


def test_a_subscriber_name_with_markup_is_text_on_the_provider_dashboard(server, org_a,
                                                                         receiver):
    from tests.propagation import quick_subscriber

    model_with_version(org_a, "acme/shown")
    quick_subscriber(server.settings, server.url, ["acme/shown"], [receiver.url("/shown")],
                     name=MARKUP)
    web = sign_in(server, org_a)
    page = web.get("/dashboard/propagation")
    web.close()
    assert page.status_code == 200
    assert_escaped(page.text, MARKUP)
