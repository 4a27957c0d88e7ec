"""The right grounds for the right request: an objection gives the person's particular situation
(Art. 21(1)); an objection to direct marketing (21(2)/(3)) cannot be refused on 21(1) grounds;
21(6) is a ground of its own; Art. 17(3) is split into points (a) to (e); a `cannot_identify`
refusal leaves the person a window to send more information (Art. 11(2)), which sends the case
back to review."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from tests.casework import SUBJECT_EMAIL, model_with_version, seed_case, sql
from tests.mail import body
from tests.subjects import request_body
from tests.support import TLS


@pytest.fixture
def page(server):
    with httpx.Client(verify=TLS, base_url=server.url, headers={"Accept": "text/html"}, timeout=30) as c:
        yield c


def count(settings, table):
    return sql(settings, f"SELECT COUNT(*) AS n FROM {table}")[0]["n"]  # noqa: S608


def test_an_objection_needs_the_particular_situation_unless_it_is_to_direct_marketing(
        settings, org_a, client):
    model = model_with_version(org_a)
    no_situation = request_body([model], "objection", particular_situation=None)
    r = client.post("/v1/public/requests", json=no_situation)
    assert r.status_code == 422 and r.json()["error"] == "validation_error", r.text
    assert "particular situation" in r.json()["detail"]
    r = client.post("/v1/public/requests", json={**no_situation, "objection_basis": "research"})
    assert r.status_code == 422, r.text
    r = client.post("/v1/public/requests", json=request_body([model], "erasure",
                                                            objection_basis="research"))
    assert r.status_code == 422, r.text
    assert count(settings, "cases") == 0
    r = client.post("/v1/public/requests", json={**no_situation,
                                                 "objection_basis": "direct_marketing"})
    assert r.status_code == 202, r.text
    assert sql(settings, "SELECT objection_basis FROM cases") == [
        {"objection_basis": "direct_marketing"}]


def test_a_direct_marketing_objection_cannot_be_refused_on_art_21_1_grounds(settings, org_a):
    model = model_with_version(org_a)
    ref, _ = seed_case(settings, [model], status="in_review", kind="objection",
                       objection_basis="direct_marketing")
    detail = org_a.admin.get(f"/v1/cases/{ref}").json()
    assert detail["objection_basis"] == "direct_marketing"
    for ground in ("art21_1_compelling_grounds", "art21_6_public_interest_research",
                   "art17_3_d_research"):
        r = org_a.admin.post(f"/v1/cases/{ref}/decision", json={
            "outcome": "reject", "ground": ground, "explanation": "We need it."})
        assert r.status_code == 400 and r.json()["error"] == "bad_request", r.text
    assert "direct marketing" in r.json()["detail"] or "erasure" in r.json()["detail"]
    assert org_a.admin.get(f"/v1/cases/{ref}").json()["status"] == "in_review"
    assert count(settings, "case_messages") == 0
    # Bulk refusals are refused per case the same way.
    r = org_a.admin.post("/v1/cases/bulk", json={
        "action": "reject", "references": [ref], "ground": "art21_1_compelling_grounds",
        "explanation": "We need it."})
    assert r.json()["results"][0]["ok"] is False
    r = org_a.admin.post(f"/v1/cases/{ref}/decision", json={
        "outcome": "reject", "ground": "manifestly_unfounded_or_excessive",
        "explanation": "The fifth identical request this week."})
    assert r.status_code == 200, r.text


def test_art_21_6_answers_a_research_objection_and_only_it(settings, org_a):
    model = model_with_version(org_a)
    research, _ = seed_case(settings, [model], status="in_review", kind="objection",
                            objection_basis="research", email="r@example.org")
    situation, _ = seed_case(settings, [model], status="in_review", kind="objection",
                             email="s@example.org")
    r = org_a.admin.post(f"/v1/cases/{research}/decision", json={
        "outcome": "reject", "ground": "art21_1_compelling_grounds", "explanation": "x"})
    assert r.status_code == 400 and "Art. 21(1)" in r.json()["detail"], r.text
    r = org_a.admin.post(f"/v1/cases/{situation}/decision", json={
        "outcome": "reject", "ground": "art21_6_public_interest_research", "explanation": "x"})
    assert r.status_code == 400 and "Art. 21(6)" in r.json()["detail"], r.text
    r = org_a.admin.post(f"/v1/cases/{research}/decision", json={
        "outcome": "reject", "ground": "art21_6_public_interest_research",
        "explanation": "Public health statistics."})
    assert r.status_code == 200, r.text


def test_art_17_3_is_split_into_its_points_with_research_worded_for_ai(
        settings, org_a, page, mailbox):
    model = model_with_version(org_a)
    ref, token = seed_case(settings, [model], status="in_review")
    r = org_a.admin.post(f"/v1/cases/{ref}/decision", json={
        "outcome": "reject", "ground": "art17_3_exception", "explanation": "x"})
    assert r.status_code == 400 and "point" in r.json()["detail"], r.text
    r = org_a.admin.post(f"/v1/cases/{ref}/decision", json={
        "outcome": "reject", "ground": "art17_3_d_research", "explanation": "Cohort study."})
    assert r.status_code == 200, r.text
    email = body(mailbox.wait_for(SUBJECT_EMAIL, "Decision"))
    assert "removing your data from it would make that research" in " ".join(email.split())
    assert "17(3)(d)" in email
    html = page.get(f"/r/status/{token}").text
    assert "removing your data from it would make that research impossible" in html


def test_cannot_identify_leaves_a_window_to_send_more_information(
        settings, org_a, client, page, mailbox, clock):
    model = model_with_version(org_a)
    ref, token = seed_case(settings, [model], status="rejected")  # ground: cannot_identify
    email = " ".join(body(mailbox.wait_for(SUBJECT_EMAIL, "Decision")).split())
    assert "You may send more information that lets the provider identify you" in email
    view = client.get(f"/v1/public/requests/{token}").json()
    assert view["status"] == "rejected" and view["information_until"]
    html = page.get(f"/r/status/{token}").text
    assert f'action="/r/status/{token}/information"' in html
    # Bad input changes nothing.
    r = client.post(f"/v1/public/requests/{token}/information", json={"information": " "})
    assert r.status_code == 422, r.text
    assert client.get(f"/v1/public/requests/{token}").json()["status"] == "rejected"
    r = client.post(f"/v1/public/requests/{token}/information",
                    json={"information": "My account name is jdoe-1984."})
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["status"] == "in_review" and view["information_until"] is None
    assert view["decision"] is None
    assert view["timeline"][-1]["step"] == "case.more_information"
    detail = org_a.admin.get(f"/v1/cases/{ref}").json()
    assert detail["messages"][-1]["text"] == "My account name is jdoe-1984."
    r = client.post(f"/v1/public/requests/{token}/information", json={"information": "again"})
    assert r.status_code == 409, r.text
    # Refused again: a new window; once it has passed, the page takes nothing more.
    r = org_a.admin.post(f"/v1/cases/{ref}/decision", json={
        "outcome": "reject", "ground": "cannot_identify", "explanation": "Still no match."})
    assert r.status_code == 200, r.text
    clock.advance(timedelta(days=settings.identify_window_days, hours=1))
    assert client.get(f"/v1/public/requests/{token}").json()["information_until"] is None
    r = client.post(f"/v1/public/requests/{token}/information", json={"information": "late"})
    assert r.status_code == 409, r.text
    assert not re.search(r"/information\"", page.get(f"/r/status/{token}").text)


def test_another_ground_leaves_no_window(settings, org_a, client):
    model = model_with_version(org_a)
    ref, token = seed_case(settings, [model], status="in_review")
    org_a.admin.post(f"/v1/cases/{ref}/decision", json={
        "outcome": "reject", "ground": "manifestly_unfounded_or_excessive", "explanation": "x"})
    assert client.get(f"/v1/public/requests/{token}").json()["information_until"] is None
    r = client.post(f"/v1/public/requests/{token}/information", json={"information": "more"})
    assert r.status_code == 409 and r.json()["error"] == "conflict", r.text


def test_the_status_page_says_a_request_for_information_does_not_stop_the_clock(
        settings, org_a, page):
    model = model_with_version(org_a)
    _, token = seed_case(settings, [model], status="awaiting_subject")
    assert "does not stop this deadline" in page.get(f"/r/status/{token}").text
    french = page.get(f"/r/status/{token}?lang=fr").text
    assert "ne suspend pas ce délai" in french and "au plus tard le" in french
