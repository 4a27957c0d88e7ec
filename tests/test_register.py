"""The organisation-wide register of requests for a period, as JSON and CSV: received, kind,
outcome, dates, days to answer, on time or late, recipients told. No personal data."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from tests.casework import model_with_version, seed_cases


def test_the_register_lists_the_period_s_requests_with_their_timeliness(settings, org_a, org_b):
    model = model_with_version(org_a)
    now = datetime.now(UTC)
    old = now - timedelta(days=40)
    (accepted, _), (rejected, _), (late, _), (_ancient, _) = seed_cases(settings, [
        {"models": [model], "status": "accepted", "email": "a@example.org"},
        {"models": [model], "status": "rejected", "email": "b@example.org", "kind": "objection"},
        {"models": [model], "status": "in_review", "email": "c@example.org", "received_at": old},
        {"models": [model], "status": "open", "email": "d@example.org",
         "received_at": now - timedelta(days=400)},
    ])
    model_with_version(org_b, "org-b/other")
    seed_cases(settings, [{"models": ["org-b/other"], "status": "open"}])
    period = {"from": (old - timedelta(days=1)).date().isoformat(), "to": now.date().isoformat()}
    r = org_a.client("reviewer").get("/v1/cases/register", params=period)
    assert r.status_code == 200, r.text
    lines = {line["reference"]: line for line in r.json()}
    assert set(lines) == {accepted, rejected, late}  # the period, this organisation only
    assert lines[accepted]["outcome"] == "accepted" and lines[accepted]["on_time"] is True
    assert lines[accepted]["days_to_answer"] == 0
    assert lines[rejected]["kind"] == "objection"
    assert lines[rejected]["objection_basis"] == "particular_situation"
    assert lines[rejected]["ground"] == "cannot_identify"
    assert lines[late]["outcome"] is None and lines[late]["on_time"] is False
    assert all(line["recipients_told"] == 0 for line in lines.values())

    r = org_a.admin.get("/v1/cases/register", params={**period, "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["reference"] for row in rows} == set(lines)
    assert {row["on_time"] for row in rows} == {"yes", "no"}
    assert "Jane Doe" not in r.text and "example.org" not in r.text


def test_a_bad_period_is_a_clear_4xx(org_a):
    api = org_a.admin
    r = api.get("/v1/cases/register", params={"from": "2026-02-01", "to": "2026-01-01"})
    assert r.status_code == 400 and r.json()["error"] == "bad_request", r.text
    r = api.get("/v1/cases/register", params={"from": "2024-01-01", "to": "2026-01-01"})
    assert r.status_code == 400, r.text
    r = api.get("/v1/cases/register", params={"from": "yesterday", "to": "2026-01-01"})
    assert r.status_code == 422 and r.json()["error"] == "validation_error", r.text
    assert "yesterday" not in r.text
    r = org_a.client("pipeline").get("/v1/cases/register",
                                     params={"from": "2026-01-01", "to": "2026-01-02"})
    assert r.status_code == 403, r.text
