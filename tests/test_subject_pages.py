"""What the data subject sees and receives, over plain HTTP (no JavaScript): the due date on
confirmation, their exchange with the provider kept on the status page, closed requests said to
be closed, the status link in every email, and the site's icon."""

from __future__ import annotations

import html
import re
from datetime import datetime

import httpx
import pytest

from tests.casework import sql
from tests.mail import body
from tests.subjects import PERSON, open_model, receipt_links
from tests.support import TLS
from tests.test_request_pages import csrf, form_data


@pytest.fixture
def browser(server):
    with httpx.Client(verify=TLS, base_url=server.url, headers={"accept": "text/html"}, timeout=30) as c:
        yield c


def file_on_the_site(browser: httpx.Client, mailbox, lang: str) -> tuple[str, str, str]:
    """File and confirm through the pages; returns (reference, status link, confirmed page)."""
    token = csrf(browser.get(f"/request?lang={lang}"))
    r = browser.post("/request", data=form_data(token, ["acme/chat"], lang=lang))
    assert r.status_code == 202, r.text
    msg = mailbox.wait_for(PERSON["email"], "onfirm")
    url = re.search(r"(http\S+/r/confirm/\S+)", body(msg)).group(1)
    done = browser.post(url, data={"csrf_token": csrf(browser.get(url))})
    assert done.status_code == 200
    [(reference, status_link)] = receipt_links(mailbox).items()
    return reference, status_link, html.unescape(done.text)


def due_date(settings, reference: str, lang: str) -> str:
    """The due date in words, in the page's language ("30 décembre 2026")."""
    from babel.dates import format_date
    [row] = sql(settings, "SELECT due_at FROM cases WHERE reference = :r", r=reference)
    value = row["due_at"]
    return format_date(value if isinstance(value, datetime) else datetime.fromisoformat(str(value)),
                       "long", locale=lang)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_subject_follows_their_request_from_confirmation_to_withdrawal(
        browser, org_a, mailbox, settings, lang):
    open_model(org_a, "acme/chat")
    reference, status_link, confirmed = file_on_the_site(browser, mailbox, lang)
    words = {"en": {"due": "The provider must answer by", "link": "status page",
                    "question": "More information", "accepted": "is accepted",
                    "withdrawn": "is withdrawn"},
             "fr": {"due": "Le fournisseur doit répondre au plus tard le", "link": "page de suivi",
                    "question": "Des précisions", "accepted": "est acceptée",
                    "withdrawn": "est retirée"}}[lang]
    # The confirmation page says when the provider must answer.
    assert f"{words['due']} {due_date(settings, reference, lang)}." in confirmed

    staff = org_a.admin
    assert staff.post(f"/v1/cases/{reference}/review", json={}).status_code == 200
    r = staff.post(f"/v1/cases/{reference}/information-request",
                   json={"question": "Which city is concerned?"})
    assert r.status_code == 200, r.text
    asked = body(mailbox.wait_for(PERSON["email"], words["question"]))
    assert status_link in asked and words["link"] in asked

    # Answering confirms it on the page; the question and the answer stay in view.
    page = browser.get(status_link)
    r = browser.post(f"{status_link}/answer", data={"csrf_token": csrf(page),
                                                     "answer": "Lyon, France."})
    assert r.status_code == 303 and r.headers["location"].endswith("?done=answered")
    after = html.unescape(browser.get(r.headers["location"]).text)
    assert 'id="answered"' in after
    exchange = re.search(r'<dl id="exchange" class="exchange">(.*?)</dl>', after, re.S).group(1)
    assert exchange.index("Which city is concerned?") < exchange.index("Lyon, France.")
    assert 'id="answered"' not in browser.get(status_link).text  # said once, not forever
    assert "Lyon, France." in browser.get(status_link).text

    # Every later email carries the status link.
    r = staff.post(f"/v1/cases/{reference}/decision", json={"outcome": "accept"})
    assert r.status_code == 200, r.text
    assert status_link in body(mailbox.wait_for(PERSON["email"], words["accepted"]))
    page = browser.get(status_link)
    r = browser.post(f"{status_link}/withdraw", data={"csrf_token": csrf(page), "confirm": "yes"})
    assert r.status_code == 303
    withdrawn = mailbox.wait_for(PERSON["email"], words["withdrawn"])
    assert status_link in body(withdrawn)
    every = [m for m in mailbox.to(PERSON["email"]) if "/r/confirm/" not in body(m)]
    assert len(every) >= 4 and all(status_link in body(m) for m in every)

    # A closed request says so plainly, at the top.
    final = html.unescape(browser.get(status_link).text)
    expected = {"en": "You withdrew this request. It is closed and the provider will take no "
                      "further action on it.",
                "fr": "Vous avez retiré cette demande. Elle est clôturée et le fournisseur n'y "
                      "donnera plus suite."}[lang]
    assert re.search(r'<h1>[^<]+</h1>\s*<p class="notice final" id="final" role="status">'
                     + re.escape(expected) + "</p>", final)


def test_the_site_has_an_icon(browser):
    page = browser.get("/")
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page.text
    icon = browser.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg")
    r = browser.get("/favicon.ico")
    assert (r.status_code, r.headers["location"]) == (301, "/static/favicon.svg")
