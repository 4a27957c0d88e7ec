"""GDPR Art. 13 notice at intake: each organisation records it (API and dashboard, English and
French); it is shown on the form before submitting and in the receipt email, in the person's
language; staff are warned while their organisation has none."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.casework import model_with_version
from tests.mail import body, link
from tests.subjects import PERSON, request_body
from tests.support import TLS

HTML = {"Accept": "text/html"}


def texts(lang: str) -> dict[str, str]:
    word = "Responsable" if lang == "fr" else "Controller"
    return {"controller": f"{word} Acme SAS", "controller_contact": "privacy@acme.example",
            "dpo_contact": "dpo@acme.example", "purpose": f"{lang}: handling your request",
            "legal_basis": "GDPR Art. 6(1)(c) and 12", "retention": f"{lang}: one year",
            "recipients": "Acme staff only", "rights": f"{lang}: access, complaint to the CNIL"}


NOTICE = {"en": texts("en"), "fr": texts("fr")}


@pytest.fixture
def web(server, org_a):
    with httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30) as c:
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/signin").text).group(1)
        r = c.post("/signin", data={"csrf_token": token, "email": org_a.admin_email,
                                    "password": org_a.admin_password})
        assert r.status_code == 303
        yield c


def test_the_notice_is_set_by_admins_and_refused_when_incomplete(org_a, client):
    r = org_a.client("reviewer").put("/v1/privacy-notice", json=NOTICE)
    assert r.status_code == 403, r.text
    r = org_a.admin.put("/v1/privacy-notice", json={"en": texts("en")})
    assert r.status_code == 422 and r.json()["error"] == "validation_error", r.text
    r = org_a.admin.put("/v1/privacy-notice", json={**NOTICE, "fr": {**texts("fr"),
                                                                    "extra": "x"}})
    assert r.status_code == 422, r.text
    assert org_a.admin.get("/v1/privacy-notice").status_code == 404
    r = org_a.admin.put("/v1/privacy-notice", json=NOTICE)
    assert r.status_code == 200, r.text
    assert r.json()["fr"]["controller"] == "Responsable Acme SAS"
    public = client.get(f"/v1/public/organizations/{org_a.slug}/privacy-notice")
    assert public.status_code == 200 and public.json()["en"] == NOTICE["en"]


def test_the_form_and_the_receipt_show_the_notice_in_the_person_s_language(
        org_a, org_b, client, mailbox):
    model = model_with_version(org_a)
    model_with_version(org_b, "org-b/other")
    org_a.admin.put("/v1/privacy-notice", json=NOTICE)
    form = client.get("/request?lang=fr", headers=HTML).text
    assert "Comment votre demande est traitée" in form
    assert "Responsable Acme SAS" in form and "fr: one year" in form
    assert "pas encore publié sa notice" in form  # org-b has none
    assert form.index("privacy-notice") < form.index('type="submit"')
    r = client.post("/v1/public/requests", json=request_body([model], language="fr"))
    assert r.status_code == 202, r.text
    confirm = link(mailbox.wait_for(PERSON["email"], "Confirmez"), "confirm")
    r = client.post("/v1/public/confirmations", json={"token": confirm.rsplit("/", 1)[1]})
    assert r.status_code == 200, r.text
    receipt = body(mailbox.wait_for(PERSON["email"], "Accusé"))
    assert "article 13 du RGPD" in receipt and "Durée de conservation : fr: one year" in receipt


def test_staff_are_warned_until_the_notice_is_recorded_on_the_dashboard(org_a, web):
    model_with_version(org_a)
    assert 'id="notice-warning"' in web.get("/dashboard").text
    page = web.get("/dashboard/privacy-notice").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    data = {f"{lang}-{k}": v for lang, t in NOTICE.items() for k, v in t.items()}
    r = web.post("/dashboard/privacy-notice", data={"csrf_token": token, **data,
                                                     "fr-purpose": ""})
    assert r.status_code == 422
    r = web.post("/dashboard/privacy-notice", data={"csrf_token": token, **data})
    assert r.status_code == 303, r.text
    assert 'id="notice-warning"' not in web.get("/dashboard").text
    assert org_a.admin.get("/v1/privacy-notice").json()["fr"] == NOTICE["fr"]
