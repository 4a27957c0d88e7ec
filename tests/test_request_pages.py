"""The public pages for data subjects over plain HTTP: no JavaScript, English and French,
CSRF-protected, friendly errors that keep what was typed."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.mail import body, link
from tests.subjects import PERSON, db_execute, db_rows, open_model, receipt_links
from tests.support import TLS


def csrf(page: httpx.Response) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert m, "no CSRF token on the page"
    return m.group(1)


def form_data(token: str, models: list[str], **overrides: str) -> dict:
    data = {"csrf_token": token, "models": models, "kind": "erasure", "name": PERSON["name"],
            "email": PERSON["email"], "description": PERSON["description"],
            "identifiers": "\n".join(PERSON["identifiers"]),
            "probe_prompts": "\n".join(PERSON["probe_prompts"])}
    data.update(overrides)
    return data


@pytest.fixture
def browser(server):
    """A cookie-keeping HTTP client that asks for HTML, like a browser without JavaScript."""
    with httpx.Client(verify=TLS, base_url=server.url, headers={"accept": "text/html"}, timeout=30) as c:
        yield c


@pytest.fixture
def models(org_a, org_b):
    open_model(org_a, "acme/chat")
    open_model(org_b, "beta/vision")
    open_model(org_a, "acme/closed", intake_open=False)


def test_the_form_lists_only_models_taking_requests(browser, models):
    page = browser.get("/request")
    assert page.status_code == 200
    assert 'value="acme/chat"' in page.text and 'value="beta/vision"' in page.text
    assert "acme/closed" not in page.text
    # Every input has a label.
    for input_id in re.findall(r'<(?:input|textarea)[^>]* id="([^"]+)"', page.text):
        assert f'for="{input_id}"' in page.text, input_id


def test_french_is_chosen_from_accept_language_and_the_switch_remembers_english(browser, models):
    fr = browser.get("/request", headers={"accept-language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr">' in fr.text
    assert "Exercer vos droits sur un modèle d'IA" in html.unescape(fr.text)
    assert 'href="?lang=en"' in fr.text
    en = browser.get("/request?lang=en", headers={"accept-language": "fr"})
    assert '<html lang="en">' in en.text
    # The choice sticks (cookie) even though the browser prefers French.
    again = browser.get("/request", headers={"accept-language": "fr"})
    assert '<html lang="en">' in again.text


def test_pages_send_security_headers(browser, models):
    page = browser.get("/request")
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "<script" not in page.text  # works without JavaScript


def test_a_form_sent_without_its_csrf_token_is_refused_with_a_page(browser, models, settings):
    browser.get("/request")
    r = browser.post("/request", data=form_data("forged", ["acme/chat"]))
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert "reload the page" in r.text
    assert db_rows(settings.sync_url, "SELECT id FROM cases") == []


def test_mistakes_are_shown_next_to_their_fields_keeping_what_was_typed(browser, models,
                                                                         settings):
    token = csrf(browser.get("/request"))
    typed = {"name": '<b>Jeanne</b> "Dupont"', "email": "not-an-email",
             "description": "", "probe_prompts": "p" * 2001}
    r = browser.post("/request", data=form_data(token, [], kind="", **typed))
    assert r.status_code == 422
    page = r.text
    assert 'role="alert"' in page  # a summary screen readers announce
    for field, message in [("models", "Choose at least one model."),
                           ("kind", "Choose objection or erasure."),
                           ("email", "Enter a valid email address"),
                           ("description", "This field is required."),
                           ("probe_prompts", "This is too long (at most 2000 characters).")]:
        assert f'id="{field}-error"' in page, field
        assert message in html.unescape(page), field
    # The field points at its message.
    assert re.search(r'id="email"[^>]*aria-invalid="true"[^>]*aria-describedby="email-error', page)
    # What was typed is kept, and markup stays text.
    assert "&lt;b&gt;Jeanne&lt;/b&gt; &#34;Dupont&#34;" in page or \
        "&lt;b&gt;Jeanne&lt;/b&gt; &quot;Dupont&quot;" in page
    assert "<b>Jeanne</b>" not in page
    assert 'value="not-an-email"' in page
    assert db_rows(settings.sync_url, "SELECT id FROM cases") == []


def test_mistakes_are_explained_in_french_too(browser, models):
    token = csrf(browser.get("/request?lang=fr"))
    r = browser.post("/request", data=form_data(token, ["acme/chat"], lang="fr", name=""))
    assert r.status_code == 422
    assert "Ce champ est obligatoire." in html.unescape(r.text)


def test_a_model_that_closed_meanwhile_is_explained(browser, models, org_a):
    token = csrf(browser.get("/request"))
    org_a.admin.patch("/v1/models/acme/chat", json={"intake_open": False})
    r = browser.post("/request", data=form_data(token, ["acme/chat"]))
    assert r.status_code == 422
    assert "no longer accepts requests" in r.text


def test_filing_confirming_and_following_a_request_in_french(browser, models, mailbox, settings):
    token = csrf(browser.get("/request?lang=fr"))
    r = browser.post("/request", data=form_data(token, ["acme/chat", "beta/vision"],
                                                lang="fr", kind="objection",
                                                particular_situation="Je suis une personne "
                                                "privée."))
    assert r.status_code == 202, r.text
    assert "Consultez vos e-mails" in r.text
    msg = mailbox.wait_for(PERSON["email"], "Confirmez votre demande")
    confirm_url = link(msg, "confirm")
    assert "opposition" in body(msg)

    # Opening the link only shows a button: mail scanners that follow links confirm nothing.
    page = browser.get(confirm_url)
    assert page.status_code == 200 and "Confirmer ma demande" in page.text
    assert db_rows(settings.sync_url, "SELECT status FROM cases")[0]["status"] == \
        "pending_verification"
    done = browser.post(confirm_url, data={"csrf_token": csrf(page)})
    assert done.status_code == 200
    assert "Votre demande est confirmée" in html.unescape(done.text)
    assert done.headers["cache-control"] == "no-store"

    links = receipt_links(mailbox)
    assert len(links) == 2  # one case per provider
    receipt = next(m for m in mailbox.to(PERSON["email"]) if "/r/status/" in body(m))
    assert "Accusé de réception" in str(receipt["Subject"])
    status = browser.get(next(iter(links.values())))
    text = html.unescape(status.text)
    assert status.status_code == 200
    assert "Reçue, en attente d'examen" in text
    assert "Vous avez confirmé votre adresse e-mail" in text
    assert "Opposition (article 21)" in text


def test_the_confirmation_page_explains_used_and_expired_links(browser, models, mailbox,
                                                              settings):
    token = csrf(browser.get("/request"))
    browser.post("/request", data=form_data(token, ["acme/chat"]))
    url = link(mailbox.wait_for(PERSON["email"], "Confirm"), "confirm")
    page = browser.get(url)
    assert browser.post(url, data={"csrf_token": csrf(page)}).status_code == 200
    used = browser.post(url, data={"csrf_token": csrf(page)})
    assert used.status_code == 409 and "already confirmed" in used.text

    browser.post("/request", data=form_data(token, ["acme/chat"], email="late@example.org"))
    late = link(mailbox.wait_for("late@example.org", "Confirm"), "confirm")
    db_execute(settings.sync_url, "UPDATE confirmations SET expires_at = :t WHERE used_at IS NULL",
               t=datetime.now(UTC) - timedelta(minutes=1))
    expired = browser.post(late, data={"csrf_token": csrf(page)})
    assert expired.status_code == 410 and "has expired" in expired.text

    bogus = browser.post("/r/confirm/" + "x" * 43, data={"csrf_token": csrf(page)})
    assert bogus.status_code == 404 and "not valid" in bogus.text


def test_withdrawing_on_the_status_page_needs_the_box_ticked(browser, models, mailbox):
    token = csrf(browser.get("/request"))
    browser.post("/request", data=form_data(token, ["acme/chat"]))
    url = link(mailbox.wait_for(PERSON["email"], "Confirm"), "confirm")
    browser.post(url, data={"csrf_token": csrf(browser.get(url))})
    [status_url] = receipt_links(mailbox).values()

    page = browser.get(status_url)
    assert "Withdraw my request" in page.text
    r = browser.post(f"{status_url}/withdraw", data={"csrf_token": csrf(page)},
                     follow_redirects=True)
    assert "Received, waiting for review" in r.text  # not ticked: nothing happened
    r = browser.post(f"{status_url}/withdraw", data={"csrf_token": csrf(page), "confirm": "yes"},
                     follow_redirects=True)
    assert r.status_code == 200
    assert "You withdrew your request." in r.text
    assert "Withdraw my request" not in r.text


def test_a_bad_status_link_gets_a_friendly_page(browser):
    r = browser.get("/r/status/" + "y" * 43)
    assert r.status_code == 404 and "This link is not valid" in r.text


def test_the_form_is_rate_limited_with_a_message(browser, models, settings):
    token = csrf(browser.get("/request"))
    here = {"x-forwarded-for": "192.0.2.77"}
    for i in range(settings.rate_limit_ip_per_hour):
        r = browser.post("/request", data=form_data(token, ["acme/chat"], email=f"p{i}@example.org"),
                         headers=here)
        assert r.status_code == 202
    r = browser.post("/request", data=form_data(token, ["acme/chat"], name="Kept Name"), headers=here)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert "Too many requests from here" in r.text
    assert 'value="Kept Name"' in r.text
