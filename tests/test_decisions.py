"""Decisions as the subject experiences them: the emails (in their language), the status page
with the ground, the explanation and the right to complain, questions answered on the page."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.casework import SUBJECT_EMAIL, model_with_version, seed_case, sql
from tests.mail import body
from tests.support import TLS

HTML = {"Accept": "text/html"}


@pytest.fixture
def page(server):
    with httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30) as c:
        yield c


def csrf_of(text: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert match
    return match.group(1)


def test_a_rejection_tells_the_subject_the_ground_and_the_right_to_complain(
        settings, org_a, client, page, mailbox):
    model = model_with_version(org_a)
    ref, token = seed_case(settings, [model], status="in_review", language="fr")
    explanation = "Vos données ne figurent pas dans le corpus d'entraînement."
    r = org_a.client("reviewer").post(f"/v1/cases/{ref}/decision", json={
        "outcome": "reject", "ground": "cannot_identify", "explanation": explanation,
        "note": "Searched the corpus index."})
    assert (r.status_code, r.json()["status"]) == (200, "rejected"), r.text
    assert r.json()["decision_detail"]["ground"] == "cannot_identify"
    assert r.json()["decision_detail"]["explanation"] == explanation
    assert r.json()["timeline"][-1]["details"] == {"ground": "cannot_identify"}

    email = body(mailbox.wait_for(SUBJECT_EMAIL, f"Décision sur votre demande {ref}"))
    assert "pas en mesure de vous identifier" in email
    assert "réclamation auprès d'une" in email and "CNIL" in email
    assert explanation not in email  # free text stays on the status page

    status = client.get(f"/v1/public/requests/{token}").json()
    assert status["decision"]["outcome"] == "rejected"
    assert status["decision"]["complaint_right"] is True
    assert status["decision"]["explanation"] == explanation
    html = page.get(f"/r/status/{token}").text
    assert "Votre demande a été refusée." in html
    assert "pas en mesure de vous identifier" in html
    assert "Vos données ne figurent pas dans le corpus" in html
    assert "réclamation auprès d&#39;une autorité de contrôle" in html

    # Closing keeps the decision and the right to complain on the page.
    r = org_a.admin.post(f"/v1/cases/{ref}/closure", json={})
    assert r.status_code == 200, r.text
    html = page.get(f"/r/status/{token}?lang=en").text
    assert "Your request was closed on" in html and "lodge a complaint" in html
    mailbox.wait_for(SUBJECT_EMAIL, "clôturée")


def test_an_acceptance_is_emailed_and_shown(settings, org_a, client, page, mailbox):
    model = model_with_version(org_a)
    ref, token = seed_case(settings, [model], status="in_review")
    r = org_a.admin.post(f"/v1/cases/{ref}/decision", json={"outcome": "accept"})
    assert r.status_code == 200, r.text
    email = body(mailbox.wait_for(SUBJECT_EMAIL, f"Your request {ref} is accepted"))
    assert "complaint" not in email
    html = page.get(f"/r/status/{token}").text
    assert "Your request was accepted. The provider will fix the model" in html
    assert "lodge a complaint" not in html


def test_the_art_17_3_exceptions_are_for_erasure_requests_only(settings, org_a):
    model = model_with_version(org_a)
    ref, _ = seed_case(settings, [model], status="in_review", kind="objection")
    r = org_a.admin.post(f"/v1/cases/{ref}/decision", json={
        "outcome": "reject", "ground": "art17_3_a_expression", "explanation": "Press archive."})
    assert r.status_code == 400 and "erasure requests" in r.json()["detail"], r.text
    assert org_a.admin.get(f"/v1/cases/{ref}").json()["status"] == "in_review"
    assert sql(settings, "SELECT COUNT(*) AS n FROM case_messages")[0]["n"] == 0
    r = org_a.admin.post(f"/v1/cases/{ref}/decision", json={
        "outcome": "reject", "ground": "art21_1_compelling_grounds",
        "explanation": "Safety research requires it."})
    assert r.status_code == 200, r.text


def test_the_subject_answers_a_question_on_the_status_page(settings, org_a, page, mailbox):
    model = model_with_version(org_a)
    ref, token = seed_case(settings, [model], status="in_review")
    staff = org_a.client("reviewer")
    r = staff.post(f"/v1/cases/{ref}/information-request",
                   json={"question": "Which of your addresses is concerned?"})
    assert r.status_code == 200, r.text
    mailbox.wait_for(SUBJECT_EMAIL, "More information is needed")

    status = page.get(f"/r/status/{token}")
    assert "Which of your addresses is concerned?" in status.text
    r = page.post(f"/r/status/{token}/answer",
                  data={"csrf_token": csrf_of(status.text), "answer": "The one in Lyon."})
    assert r.status_code == 303, r.text
    case = staff.get(f"/v1/cases/{ref}").json()
    assert case["status"] == "in_review"
    assert [(m["kind"], m["direction"], m["text"]) for m in case["messages"]] == [
        ("question", "to_subject", "Which of your addresses is concerned?"),
        ("answer", "from_subject", "The one in Lyon.")]
    # The form is gone; the question and the answer stay on the page.
    after = page.get(f"/r/status/{token}").text
    assert 'name="answer"' not in after
    assert "Which of your addresses is concerned?" in after and "The one in Lyon." in after
    # The organisation's admins (no assignee yet) hear that the case can move again; the
    # answer itself is not in the email.
    told = mailbox.wait_for(org_a.admin_email, "answered your question")
    assert ref in str(told["Subject"]) and "Lyon" not in body(told)


def test_a_subject_who_cannot_be_identified_after_a_question_is_rejected(settings, org_a,
                                                                          mailbox):
    model = model_with_version(org_a)
    ref, _ = seed_case(settings, [model], status="awaiting_subject")
    r = org_a.admin.post(f"/v1/cases/{ref}/decision", json={"outcome": "accept"})
    assert r.status_code == 409
    r = org_a.admin.post(f"/v1/cases/{ref}/decision", json={
        "outcome": "reject", "ground": "cannot_identify", "explanation": "No answer came."})
    assert (r.status_code, r.json()["status"]) == (200, "rejected"), r.text
    mailbox.wait_for(SUBJECT_EMAIL, "Decision on your request")


def test_staff_housekeeping_stays_off_the_subjects_timeline(settings, org_a, client):
    model = model_with_version(org_a)
    ref, token = seed_case(settings, [model])
    org_a.admin.post(f"/v1/cases/{ref}/assignment", json={"assignee": org_a.admin_email})
    org_a.admin.get(f"/v1/cases/{ref}/export")
    steps = [e["step"] for e in client.get(f"/v1/public/requests/{token}").json()["timeline"]]
    assert steps == ["case.received", "case.confirmed"]
    actions = [e["action"] for e in org_a.admin.get(f"/v1/cases/{ref}").json()["timeline"]]
    assert actions[-2:] == ["case.assigned", "case.exported"]
