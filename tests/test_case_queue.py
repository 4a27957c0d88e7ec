"""The provider's queue: filters, sorting by due date, keyset pagination, assignment, bulk
actions reporting per case, and personal data only on the detail, only to staff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.casework import model_with_version, seed_cases, sql
from tests.mail import body

REVIEWER = "rita@org-a.example"


@pytest.fixture
def queue(settings, org_a):
    """Six cases over two models, received on different days (so due on different days)."""
    chat = model_with_version(org_a, "acme/chat")
    vision = model_with_version(org_a, "acme/vision")
    now = datetime.now(UTC)
    spec = [("open", [chat], "erasure", 5), ("in_review", [vision], "objection", 3),
            ("accepted", [chat], "erasure", 4), ("rejected", [chat, vision], "objection", 1),
            ("in_review", [chat], "objection", 2), ("open", [vision], "erasure", 6)]
    seeded = seed_cases(settings, [
        {"models": models, "status": status, "kind": kind, "email": f"person{i}@example.org",
         "received_at": now - timedelta(days=days_ago)}
        for i, (status, models, kind, days_ago) in enumerate(spec)])
    return [ref for ref, _ in seeded]


@pytest.fixture
def reviewer(org_a) -> str:
    r = org_a.admin.post("/v1/users", json={"email": REVIEWER, "name": "Rita",
                                            "role": "reviewer", "password": "reviewer password"})
    assert r.status_code == 201, r.text
    return REVIEWER


def refs_of(c, **params) -> list[str]:
    r = c.get("/v1/cases", params=params)
    assert r.status_code == 200, r.text
    return [item["reference"] for item in r.json()["items"]]


def test_sorted_by_due_date_both_ways(org_a, queue):
    by_due = [queue[i] for i in (5, 0, 2, 1, 4, 3)]  # received longest ago is due first
    assert refs_of(org_a.admin) == by_due
    assert refs_of(org_a.admin, order="-due_at") == list(reversed(by_due))


def test_filters_combine(org_a, queue, reviewer):
    c = org_a.client("reviewer")
    assert set(refs_of(c, status="in_review")) == {queue[1], queue[4]}
    assert set(refs_of(c, status=["open", "accepted"])) == {queue[0], queue[2], queue[5]}
    assert set(refs_of(c, model="acme/vision")) == {queue[1], queue[3], queue[5]}
    assert set(refs_of(c, kind="objection")) == {queue[1], queue[3], queue[4]}
    assert refs_of(c, kind="objection", model="acme/chat", status="in_review") == [queue[4]]
    assert refs_of(c, model="acme/nothing") == []
    assert len(refs_of(c, assignee="none")) == 6
    assert refs_of(c, assignee=REVIEWER) == []


def test_keyset_pages_cover_the_queue_once_in_order(org_a, queue):
    seen, params = [], {"limit": 2}
    while True:
        page = org_a.admin.get("/v1/cases", params=params).json()
        assert len(page["items"]) <= 2
        seen += [c["reference"] for c in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == refs_of(org_a.admin)
    seen, params = [], {"limit": 4, "order": "-due_at"}
    while True:
        page = org_a.admin.get("/v1/cases", params=params).json()
        seen += [c["reference"] for c in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == refs_of(org_a.admin, order="-due_at")


BAD_FILTERS = [
    {"cursor": "not-a-cursor"}, {"cursor": "WyJ4IiwgInkiXQ"}, {"status": "nonsense"},
    {"model": "no-slash"}, {"assignee": "a\x00b"}, {"limit": 0}, {"order": "reference"},
    {"overdue": "perhaps"},
]


def test_bad_filters_are_clear_4xx(org_a, queue):
    for params in BAD_FILTERS:
        r = org_a.admin.get("/v1/cases", params=params)
        assert r.status_code in (400, 422), (params, r.text)
        assert r.json()["error"] in ("bad_request", "validation_error", "invalid_cursor")


def test_the_queue_has_no_personal_data_the_detail_does_for_staff_only(org_a, queue):
    listing = org_a.admin.get("/v1/cases").text
    assert "Jane" not in listing and "example.org" not in listing.replace(REVIEWER, "")
    for role in ("admin", "reviewer"):
        detail = org_a.client(role).get(f"/v1/cases/{queue[0]}").json()
        assert detail["subject"]["name"] == "Jane Doe"
        assert detail["subject"]["email"] == "person0@example.org"
    r = org_a.client("pipeline").get(f"/v1/cases/{queue[0]}")
    assert r.status_code == 403 and "Jane" not in r.text
    assert org_a.client("pipeline").get("/v1/cases").status_code == 403


def test_assignment_to_staff_emails_them_and_filters_by_assignee(org_a, queue, reviewer,
                                                                 mailbox):
    c = org_a.client("reviewer")
    r = c.post(f"/v1/cases/{queue[0]}/assignment", json={"assignee": REVIEWER.upper()})
    assert r.status_code == 200, r.text
    assert r.json()["assignee"] == {"email": REVIEWER, "name": "Rita"}
    email = mailbox.wait_for(REVIEWER, f"Case {queue[0]} is assigned to you")
    assert f"/dashboard/cases/{queue[0]}" in body(email) and "Jane" not in body(email)
    assert refs_of(c, assignee=REVIEWER) == [queue[0]]
    assert queue[0] not in refs_of(c, assignee="none")
    trail = r.json()["timeline"][-1]
    assert (trail["action"], trail["details"]) == ("case.assigned", {"assignee": REVIEWER})

    r = c.post(f"/v1/cases/{queue[0]}/assignment", json={"assignee": None})
    assert r.status_code == 200 and r.json()["assignee"] is None
    assert r.json()["timeline"][-1]["action"] == "case.unassigned"


def test_only_active_staff_of_the_org_can_be_assigned(org_a, org_b, queue):
    r = org_b.admin.post("/v1/users", json={"email": "bob@org-b.example", "name": "Bob",
                                            "role": "admin", "password": "bob password 1"})
    assert r.status_code == 201
    for email in ("bob@org-b.example", "nobody@org-a.example"):
        r = org_a.admin.post(f"/v1/cases/{queue[0]}/assignment", json={"assignee": email})
        assert r.status_code == 400 and "no active staff user" in r.json()["detail"], r.text
    assert org_a.admin.get(f"/v1/cases/{queue[0]}").json()["assignee"] is None
    r = org_a.admin.post(f"/v1/cases/{queue[0]}/assignment", json={"assignee": "not an email"})
    assert r.status_code == 422


def test_bulk_actions_report_each_case(org_a, queue, reviewer, mailbox):
    c = org_a.client("reviewer")
    r = c.post("/v1/cases/bulk", json={
        "action": "accept", "references": [queue[1], queue[0], queue[4], "RR-0000-0000",
                                           queue[1]]})
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["succeeded"], result["failed"]) == (2, 2)
    by_ref = {x["reference"]: x for x in result["results"]}
    assert by_ref[queue[1]] == {"reference": queue[1], "ok": True, "status": "accepted",
                                "error": None, "detail": None}
    assert by_ref[queue[4]]["ok"] and by_ref[queue[4]]["status"] == "accepted"
    assert by_ref[queue[0]]["ok"] is False and by_ref[queue[0]]["error"] == "invalid_transition"
    assert by_ref[queue[0]]["status"] == "open"
    assert by_ref["RR-0000-0000"]["error"] == "not_found"
    assert c.get(f"/v1/cases/{queue[0]}").json()["status"] == "open"  # untouched
    mailbox.wait_for("person1@example.org", "accepted")

    r = c.post("/v1/cases/bulk", json={"action": "assign", "assignee": REVIEWER,
                                       "references": [queue[0], queue[5]]})
    assert r.json()["succeeded"] == 2
    assert set(refs_of(c, assignee=REVIEWER)) == {queue[0], queue[5]}
    r = c.post("/v1/cases/bulk", json={"action": "review", "references": [queue[0], queue[2]]})
    assert [x["ok"] for x in r.json()["results"]] == [True, False]


def test_bulk_reject_needs_a_ground_and_explanation_and_refuses_a_wrong_assignee(org_a, queue):
    c = org_a.client("reviewer")
    r = c.post("/v1/cases/bulk", json={"action": "reject", "references": [queue[1]]})
    assert r.status_code == 422
    r = c.post("/v1/cases/bulk", json={"action": "reject", "references": [queue[1], queue[4]],
                                       "ground": "art17_3_a_expression",
                                       "explanation": "Freedom of expression applies."})
    by_ref = {x["reference"]: x for x in r.json()["results"]}
    # queue[1] is an objection: the Art. 17(3) exceptions are for erasure requests.
    assert by_ref[queue[1]]["ok"] is False and "17(3)" in by_ref[queue[1]]["detail"]
    assert by_ref[queue[4]]["ok"] is False
    r = c.post("/v1/cases/bulk", json={"action": "assign", "assignee": "x@nowhere.example",
                                       "references": [queue[0]]})
    assert r.status_code == 400
    r = c.post("/v1/cases/bulk", json={"action": "accept", "references": []})
    assert r.status_code == 422
    r = c.post("/v1/cases/bulk", json={"action": "accept", "references": ["RR-0000-0000"] * 101})
    assert r.status_code == 422


BAD_BODIES = [
    ("decision", {"outcome": "reject", "ground": "cannot_identify", "explanation": "a\x00b"}),
    ("decision", {"outcome": "reject", "ground": "cannot_identify"}),
    ("decision", {"outcome": "reject", "explanation": "Why not."}),
    ("decision", {"outcome": "accept", "ground": "cannot_identify"}),
    ("decision", {"outcome": "maybe"}),
    ("decision", {"outcome": "accept", "note": "x" * 2001}),
    ("information-request", {"question": ""}),
    ("information-request", {"question": "x" * 5001}),
    ("review", {"note": "\x00"}),
    ("duplicate", {"of": "not-a-ref"}),
    ("closure", {"probe_results": [{"index": 10, "reproduced": False, "result": "x"}]}),
]


def test_bad_bodies_are_422_and_change_nothing(settings, org_a, queue):
    before = sql(settings, "SELECT status, row_version FROM cases ORDER BY reference")
    for path, payload in BAD_BODIES:
        r = org_a.admin.post(f"/v1/cases/{queue[1]}/{path}", json=payload)
        assert r.status_code == 422 and r.json()["error"] == "validation_error", r.text
        assert "\x00" not in r.text and "x" * 100 not in r.text
    assert sql(settings, "SELECT status, row_version FROM cases ORDER BY reference") == before


def test_a_case_marked_as_duplicate_of_an_earlier_one(org_a, queue):
    r = org_a.admin.post(f"/v1/cases/{queue[0]}/duplicate", json={"of": queue[1]})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["duplicate_of"]) == ("duplicate", queue[1])
    r = org_a.admin.post(f"/v1/cases/{queue[5]}/duplicate", json={"of": queue[5]})
    assert r.status_code == 400
    r = org_a.admin.post(f"/v1/cases/{queue[5]}/duplicate", json={"of": queue[0]})
    assert r.status_code == 409  # not to a case that is itself closed off
