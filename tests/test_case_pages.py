"""The dashboard's case and remediation pages, driven through their real forms with httpx:
sign-in required, CSRF on every form, friendly errors, nothing changed by a refused action."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.casework import PROMPTS, model_with_version, seed_cases, sql
from tests.support import TLS

HTML = {"Accept": "text/html,application/xhtml+xml"}


def csrf_of(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


@pytest.fixture
def web(server, org_a) -> Iterator[httpx.Client]:
    with httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30) as c:
        token = csrf_of(c.get("/signin"))
        r = c.post("/signin", data={"csrf_token": token, "email": org_a.admin_email,
                                    "password": org_a.admin_password})
        assert r.status_code == 303
        yield c


@pytest.fixture
def cases(settings, org_a):
    model = model_with_version(org_a)
    now = datetime.now(UTC)
    return [ref for ref, _ in seed_cases(settings, [
        {"models": [model], "received_at": now - timedelta(days=40), "prompts": PROMPTS},
        {"models": [model], "status": "in_review", "email": "b@example.org"},
        {"models": [model], "status": "in_review", "email": "c@example.org"},
        {"models": [model], "status": "accepted", "email": "d@example.org"}])]


def test_pages_need_a_signed_in_user(server, cases):
    with httpx.Client(verify=TLS, base_url=server.url, headers=HTML) as anonymous:
        for path in ("/dashboard/cases", f"/dashboard/cases/{cases[0]}", "/dashboard/remediations",
                     "/dashboard/remediations/new"):
            r = anonymous.get(path)
            assert (r.status_code, r.headers["location"]) == (303, "/signin"), path


def test_the_queue_shows_due_dates_flags_and_filters(web, cases):
    page = web.get("/dashboard/cases")
    assert page.status_code == 200
    rows = re.findall(r'<tr>\s*<td><input type="checkbox" name="references" value="([^"]+)"',
                      page.text)
    assert rows[0] == cases[0]  # the overdue one is due first
    assert set(rows) == set(cases)
    assert '<span class="badge overdue">Overdue</span>' in page.text
    assert "Jane" not in page.text  # no personal data in the queue
    filtered = web.get("/dashboard/cases", params={"status": "in_review"})
    assert set(re.findall(r'name="references" value="([^"]+)"', filtered.text)) == \
        {cases[1], cases[2]}
    assert "No cases match." in web.get("/dashboard/cases", params={"overdue": "yes",
                                                                    "status": "accepted"}).text
    bad = web.get("/dashboard/cases", params={"status": "nonsense"})
    assert bad.status_code == 400 and "That filter is not valid" in bad.text


def test_the_case_page_shows_the_request_and_works_the_case(web, cases, settings):
    page = web.get(f"/dashboard/cases/{cases[0]}")
    assert page.status_code == 200
    for shown in ("Jane Doe", "jane.doe@example.net", PROMPTS[0],
                  "The person confirmed their email; the case is open", "Start review"):
        assert shown in page.text
    r = web.post(f"/dashboard/cases/{cases[0]}/review",
                 data={"csrf_token": csrf_of(page), "note": "On it."})
    assert (r.status_code, r.headers["location"]) == \
        (303, f"/dashboard/cases/{cases[0]}?done=review")
    page = web.get(r.headers["location"])
    assert "Review started." in page.text
    assert '<dd id="status" data-status="in_review">In review</dd>' in page.text
    assert "On it." in page.text
    # The timeline in words, numbered per case from 1, one entry per line.
    timeline = re.search(r'<ol class="timeline" id="timeline">(.*?)</ol>', page.text, re.S)
    entries = re.findall(r"<li>(.*?)</li>", timeline.group(1), re.S)
    assert len(entries) == 3 and all("\n" not in e for e in entries)
    assert "Request received; waiting for the person to confirm their email" in entries[0]
    assert "Review started (New → In review), by " in entries[2]
    assert entries[2].endswith("<q>On it.</q>")
    # Probe prompts are numbered from 1.
    prompts = re.search(r'<ol id="probe-prompts">(.*?)</ol>', page.text, re.S).group(1)
    assert re.findall(r"<li>(.*?)</li>", prompts) == [
        p.replace("'", "&#39;") for p in PROMPTS]


def test_refused_actions_explain_themselves_and_change_nothing(web, cases, settings):
    before = sql(settings, "SELECT reference, status, row_version FROM cases ORDER BY reference")
    page = web.get(f"/dashboard/cases/{cases[0]}")
    token = csrf_of(page)
    r = web.post(f"/dashboard/cases/{cases[0]}/decide", data={"csrf_token": token,
                                                             "outcome": "accept"})
    assert r.status_code == 409
    assert f"case {cases[0]} is open; it cannot become accepted" in r.text
    # Each error sits next to its field (and in the summary, linking to it); what was chosen
    # or typed is kept.
    r = web.post(f"/dashboard/cases/{cases[1]}/decide",
                 data={"csrf_token": token, "outcome": "reject", "ground": "cannot_identify"})
    assert r.status_code == 422
    assert re.search(r'<p class="error" id="explanation-error">Explain the rejection to the '
                     r'subject.</p>\s*<textarea id="explanation" name="explanation" rows="4" '
                     r'maxlength="5000" aria-invalid="true" aria-describedby="explanation-error">',
                     r.text)
    assert '<a href="#explanation">Explain the rejection to the subject.</a>' in r.text
    assert '<option value="cannot_identify" selected>' in r.text
    assert 'id="ground-error"' not in r.text
    r = web.post(f"/dashboard/cases/{cases[1]}/extend",
                 data={"csrf_token": token, "months": "7", "reason": "Many requests."})
    assert r.status_code == 422
    assert re.search(r'<p class="error" id="months-error">[^<]+</p>\s*<select id="months" '
                     r'name="months" aria-invalid="true"', r.text)
    assert "Many requests.</textarea>" in r.text
    r = web.post(f"/dashboard/cases/{cases[1]}/duplicate",
                 data={"csrf_token": token, "of": "RR-0000-0000"})
    assert r.status_code == 404 and re.search(r'<p class="error" id="of-error">', r.text)
    r = web.post(f"/dashboard/cases/{cases[1]}/decide", data={"outcome": "accept"})
    assert r.status_code == 403 and "This form has expired" in r.text
    r = web.post("/dashboard/cases/RR-0000-0000/decide", data={"csrf_token": token,
                                                               "outcome": "accept"})
    assert r.status_code == 404 and "not found" in r.text
    assert sql(settings, "SELECT reference, status, row_version FROM cases ORDER BY reference"
               ) == before


def test_decide_extend_and_export_from_the_case_page(web, cases, mailbox):
    token = csrf_of(web.get(f"/dashboard/cases/{cases[1]}"))
    r = web.post(f"/dashboard/cases/{cases[1]}/decide", data={
        "csrf_token": token, "outcome": "reject", "ground": "manifestly_unfounded_or_excessive",
        "explanation": "You filed this forty times.", "note": "Repeat filer."})
    assert r.status_code == 303, r.text
    page = web.get(r.headers["location"])
    assert "Decision recorded" in page.text and "Manifestly unfounded or excessive" in page.text
    mailbox.wait_for("b@example.org", "Decision on your request")

    r = web.post(f"/dashboard/cases/{cases[2]}/extend",
                 data={"csrf_token": token, "months": "1", "reason": "Many requests."})
    assert r.status_code == 303, r.text
    assert "Deadline extended" in web.get(r.headers["location"]).text

    r = web.post(f"/dashboard/cases/{cases[2]}/export", data={"csrf_token": token})
    assert r.status_code == 200
    assert r.headers["content-disposition"] == f'attachment; filename="{cases[2]}.json"'
    record = r.json()
    assert record["record"]["reference"] == cases[2]
    assert record["record"]["extension"]["reason"] == "Many requests."
    assert record["exported_by"].startswith("user:")


def test_form_problems_are_said_in_the_staff_users_language(web, cases):
    """A staff user who chose French reads every problem with a form in French: the page's own
    checks, pydantic's limits and the service's own rules alike (an input the catalogs cannot
    word gets a general French sentence, never pydantic's English). Back in English, the same
    problems read in English."""
    def said(r: httpx.Response, key: str) -> str:
        found = re.search(rf'<p class="error" id="{key}-error">([^<]+)</p>', r.text)
        assert found, r.text
        return html.unescape(found.group(1))

    def problems(token: str) -> dict[str, str]:
        out = {}
        r = web.post(f"/dashboard/cases/{cases[1]}/decide", data={
            "csrf_token": token, "outcome": "reject", "ground": "cannot_identify"})
        assert r.status_code == 422
        out["explanation"] = said(r, "explanation")
        r = web.post(f"/dashboard/cases/{cases[1]}/extend",
                     data={"csrf_token": token, "months": "7", "reason": "Many requests."})
        assert r.status_code == 422
        out["months"] = said(r, "months")
        r = web.post(f"/dashboard/cases/{cases[1]}/extend",
                     data={"csrf_token": token, "months": "1", "reason": "Many\x01requests."})
        assert r.status_code == 422
        out["reason"] = said(r, "reason")
        r = web.post(f"/dashboard/cases/{cases[1]}/assign",
                     data={"csrf_token": token, "assignee": "not an address"})
        assert r.status_code == 422
        out["assignee"] = said(r, "assignee-select")
        r = web.post("/dashboard/cases/bulk", data={
            "csrf_token": token, "action": "reject", "references": [cases[1]],
            "ground": "cannot_identify"})
        assert r.status_code == 422
        summary = re.search(r'<div class="error-summary" role="alert" id="error"><p>([^<]+)</p>',
                            r.text)
        assert summary, r.text
        out["bulk"] = html.unescape(summary.group(1))
        return out

    def choose(language: str) -> str:
        page = web.get("/dashboard/security")
        r = web.post("/dashboard/security/language",
                     data={"csrf_token": csrf_of(page), "language": language})
        assert r.status_code == 303
        return csrf_of(web.get(f"/dashboard/cases/{cases[1]}"))

    try:
        french = problems(choose("fr"))
    finally:
        english = problems(choose("en"))
    assert french == {"explanation": "Expliquez le refus à la personne.",
                      "months": "Indiquez au plus 2.",
                      "reason": "Ne doit pas être vide ni contenir de caractères de contrôle.",
                      "assignee": "Cette valeur n'est pas valide.",
                      "bulk": "Un refus demande un motif et une explication."}
    assert english == {"explanation": "Explain the rejection to the subject.",
                       "months": "Give at most 2.",
                       "reason": "Must not be blank or contain control characters.",
                       "assignee": english["assignee"],  # the address check's own words
                       "bulk": "A rejection needs a ground and an explanation."}
    assert "email" in english["assignee"] and "not an address" not in english["assignee"]


def test_bulk_accept_from_the_queue_reports_each_case(web, cases):
    page = web.get("/dashboard/cases")
    r = web.post("/dashboard/cases/bulk", data={
        "csrf_token": csrf_of(page), "action": "accept",
        "references": [cases[0], cases[1], cases[2]]})
    assert r.status_code == 200, r.text
    assert "2 succeeded, 1 failed" in r.text
    assert f"Not done: case {cases[0]} is open; it cannot become accepted" in r.text
    r = web.post("/dashboard/cases/bulk", data={"csrf_token": csrf_of(page), "action": "accept"})
    assert r.status_code == 422 and "Select at least one case." in r.text


def test_plan_a_remediation_and_follow_its_progress(web, cases, org_a):
    page = web.get("/dashboard/remediations/new", params={"model": "acme/chat"})
    assert cases[3] in page.text and cases[1] not in page.text  # only accepted cases
    r = web.post("/dashboard/remediations", data={
        "csrf_token": csrf_of(page), "model": "acme/chat", "method": "fine_tuning",
        "cases": [cases[3]], "replaces": ["v1"], "description": "Fine-tune the refusal."})
    assert r.status_code == 303, r.text
    rid = r.headers["location"].rsplit("/", 1)[1]
    # The page shows the id and a command to paste into the pipeline: it works as shown.
    planned = web.get(f"/dashboard/remediations/{rid}").text
    assert f'<code id="remediation-id">{rid}</code>' in planned
    command = html.unescape(re.search(r'<code id="report-command">(.*?)</code>', planned,
                                      re.S).group(1))
    assert f"/v1/remediations/{rid}/report" in command and "$RIGHTS_RELAY_PIPELINE_KEY" in command
    done = subprocess.run(["sh", "-c", command.replace('"progress": 50', '"progress": 35')],
                          env={"PATH": os.environ["PATH"],
                               "RIGHTS_RELAY_PIPELINE_KEY": org_a.keys["pipeline"]},
                          capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(done.stdout)["progress"] == 35
    listing = web.get("/dashboard/remediations").text
    assert '<progress max="100" value="35"' in listing
    detail = web.get(f"/dashboard/remediations/{rid}")
    assert '<progress id="progress" max="100" value="35"' in detail.text
    assert cases[3] in detail.text and "Being fixed" in detail.text
    r = web.post(f"/dashboard/remediations/{rid}/cancel",
                 data={"csrf_token": csrf_of(detail), "note": "Wrong method."})
    assert r.status_code == 303
    assert '<dd id="status">cancelled</dd>' in web.get(f"/dashboard/remediations/{rid}").text
    assert org_a.admin.get(f"/v1/cases/{cases[3]}").json()["status"] == "accepted"
    assert web.get("/dashboard/remediations/not-a-uuid").status_code == 404
    page = web.get("/dashboard/remediations/new", params={"model": "acme/chat"})
    r = web.post("/dashboard/remediations", data={"csrf_token": csrf_of(page),
                                                  "model": "acme/chat", "method": "unlearning"})
    assert r.status_code == 422 and "Cases:" in r.text


def test_the_queue_searches_by_reference_counts_and_speaks_in_words(web, cases):
    def listed(page: httpx.Response) -> list[str]:
        return re.findall(r'name="references" value="([^"]+)"', page.text)

    page = web.get("/dashboard/cases")
    assert re.search(r'<p id="total"[^>]*>4 cases</p>', page.text)
    assert len(re.findall(r'<td class="received"><time datetime="[^"]+">[^<]+\d{4}</time>',
                          page.text)) == 4
    # Words, not codes, in the rows and in the filters.
    assert 'data-status="in_review">In review</td>' in page.text
    assert 'data-status="open">New</td>' in page.text
    assert page.text.count("Erasure (GDPR Art. 17)") >= 5  # four rows and the kind filter
    assert re.search(r'<option value="awaiting_subject"\s*>Waiting for the person&#39;s answer'
                     r'</option>', page.text)
    assert ">in_review<" not in page.text and ">erasure<" not in page.text

    # Search by a whole reference, or a part of one, in any case.
    found = web.get("/dashboard/cases", params={"reference": cases[1]})
    assert listed(found) == [cases[1]] and re.search(r'<p id="total"[^>]*>1 case ', found.text)
    part = cases[2].rsplit("-", 1)[1].lower()
    assert cases[2] in listed(web.get("/dashboard/cases", params={"reference": part}))
    nothing = web.get("/dashboard/cases", params={"reference": "RR-0000-0000"})
    assert "No cases match." in nothing.text and re.search(r'>0 cases ', nothing.text)
    bad = web.get("/dashboard/cases", params={"reference": "<b>x</b>"})
    assert bad.status_code == 400 and "<b>x</b>" not in bad.text

    # The bulk panel: no action chosen in advance; each field says which action it is for.
    assert not re.search(r'name="action" value="\w+" id="act-\w+" checked', page.text)
    assert re.search(r'class="needs for-reject stack">\s*<label for="bulk-ground">', page.text)
    r = web.post("/dashboard/cases/bulk", data={"csrf_token": csrf_of(page),
                                                "references": [cases[1]]})
    assert r.status_code == 422 and "Choose what to do with the selected cases." in r.text


def actions_offered(page: httpx.Response) -> set[str]:
    return set(re.findall(r'<form method="post" action="/dashboard/cases/[A-Z0-9-]+/(\w+)"',
                          page.text))


def test_the_case_page_offers_only_what_the_lifecycle_allows(web, cases, settings, server,
                                                            org_a):
    [(rejected, _), (other_accepted, _)] = seed_cases(settings, [
        {"models": ["acme/chat"], "status": "rejected", "email": "e@example.org"},
        {"models": ["acme/chat"], "status": "accepted", "email": "f@example.org"}])
    r = org_a.admin.post("/v1/users", json={"email": "rita@org-a.example", "name": "Rita",
                                            "role": "reviewer", "password": "reviewer password"})
    assert r.status_code == 201, r.text
    expected = {
        cases[0]: {"review", "assign", "duplicate", "export"},  # open, first month over
        cases[1]: {"assign", "ask", "decide", "extend", "duplicate", "export"},  # in review
        cases[3]: {"assign", "extend", "export"},  # accepted: next, a remediation
        rejected: {"close", "export"},
    }
    with httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30) as reviewer:
        r = reviewer.post("/signin", data={"csrf_token": csrf_of(reviewer.get("/signin")),
                                           "email": "rita@org-a.example",
                                           "password": "reviewer password"})
        assert r.status_code == 303
        for who in (web, reviewer):
            for reference, offered in expected.items():
                page = who.get(f"/dashboard/cases/{reference}")
                assert actions_offered(page) == offered, reference
    in_review = web.get(f"/dashboard/cases/{cases[1]}").text
    assert 'id="outcome-accept"' in in_review and 'id="outcome-reject"' in in_review
    assert "Start review" not in in_review and "Close the case" not in in_review

    # An accepted case links to planning a remediation with that case, and only it, chosen.
    page = web.get(f"/dashboard/cases/{cases[3]}")
    link = re.search(r'<section aria-labelledby="next-h"[^>]*>.*?<a href="([^"]+)">'
                     r'Plan a remediation of acme/chat for this case</a>', page.text, re.S)
    assert link, page.text
    plan = web.get(link.group(1).replace("&amp;", "&"))
    assert plan.status_code == 200
    assert f'name="cases" value="{cases[3]}" checked>' in plan.text
    assert f'name="cases" value="{other_accepted}" >' in plan.text
    assert 'id="next-step"' not in web.get(f"/dashboard/cases/{cases[1]}").text
