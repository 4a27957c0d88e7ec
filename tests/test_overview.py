"""The dashboard home's figures, checked against a set of cases placed in time with the movable
clock. The expected values are worked out here from the stored rows, not by the service."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from babel.dates import format_date

from tests.casework import model_with_version, seed_cases, sql
from tests.propagation import model, remediate, subscribe, version
from tests.subjects import wait_until
from tests.support import TLS

HTML = {"Accept": "text/html,application/xhtml+xml"}
# Statuses whose legal deadline still runs (the provider owes an answer or the fix).
RUNNING = {"open", "in_review", "awaiting_subject", "accepted", "in_remediation"}
RECEIVED = {"open", "in_review", "awaiting_subject", "accepted", "rejected", "in_remediation",
            "remediated", "closed", "withdrawn", "duplicate"}


def dashboard(server, org) -> str:
    """The dashboard home as the organisation's admin sees it, signed in through the form."""
    with httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30) as c:
        page = c.get("/signin")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        r = c.post("/signin", data={"csrf_token": token, "email": org.admin_email,
                                    "password": org.admin_password})
        assert r.status_code == 303, r.text
        home = c.get("/dashboard")
    assert home.status_code == 200, home.text
    return home.text


def moment(value) -> datetime:
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def months_back(now: datetime, count: int = 12) -> list[str]:
    keys, year, month = [], now.year, now.month
    for _ in range(count):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(keys))


@pytest.fixture
def placed(settings, org_a, clock) -> dict[str, str]:
    """Cases answered over more than a year, and open ones overdue, due soon and not yet due."""
    chat = model_with_version(org_a)
    refs: dict[str, str] = {}

    def seed(name_specs: list[tuple[str, str, int]]) -> None:
        now = clock.now()
        seeded = seed_cases(settings, [
            {"models": [chat], "status": status, "email": f"{name}@example.org",
             "received_at": now - timedelta(days=days_ago)}
            for name, status, days_ago in name_specs])
        refs.update({name: ref for (name, _, _), (ref, _) in zip(name_specs, seeded, strict=True)})

    seed([("old", "accepted", 10)])  # answered more than 12 months before "now": not counted
    clock.advance(timedelta(days=400))
    seed([("late", "accepted", 40), ("quick", "rejected", 10)])
    clock.advance(timedelta(days=35))
    seed([("a5", "accepted", 5), ("a20", "accepted", 20), ("r25", "rejected", 25)])
    clock.advance(timedelta(days=20))
    seed([("overdue", "open", 40), ("soon", "in_review", 27), ("later", "awaiting_subject", 2),
          ("fresh", "open", 0)])
    return refs


def page_numbers(page: str, pattern: str) -> dict[str, str]:
    return dict(re.findall(pattern, page, re.S))


def test_the_overview_figures_match_the_seeded_cases(server, settings, org_a, placed, clock):
    now = clock.now()
    rows = sql(settings, "SELECT id, reference, status, received_at, due_at, decided_at FROM cases")
    rows = [{**r, "received_at": moment(r["received_at"]), "due_at": moment(r["due_at"]),
             "decided_at": moment(r["decided_at"]) if r["decided_at"] else None} for r in rows]

    html = dashboard(server, org_a)

    # Counts by status.
    counts = page_numbers(html, r'data-status="([a-z_]+)"><span class="count">(\d+)</span>')
    expected_counts = Counter(r["status"] for r in rows if r["status"] in RECEIVED)
    assert {s: int(n) for s, n in counts.items() if int(n)} == dict(expected_counts)
    assert counts["accepted"] == "4" and counts["rejected"] == "2"

    # Overdue and due this week, as links to each case.
    def listed(list_id: str) -> list[str]:
        block = re.search(rf'<ul class="case-list" id="{list_id}">(.*?)</ul>', html, re.S)
        return re.findall(r'<a href="/dashboard/cases/([A-Z0-9-]+)">', block.group(1)) \
            if block else []

    running = [r for r in rows if r["status"] in RUNNING]
    # Due dates end a day, so several cases share one: the list breaks ties by case id.
    def order(r: dict) -> tuple:
        return r["due_at"], str(r["id"])

    overdue = sorted((r for r in running if r["due_at"] <= now), key=order)
    soon = sorted((r for r in running if now < r["due_at"] <= now + timedelta(days=7)),
                  key=order)
    assert listed("overdue") == [r["reference"] for r in overdue]
    assert placed["overdue"] in listed("overdue") and placed["old"] in listed("overdue")
    assert listed("due-this-week") == [r["reference"] for r in soon]
    assert placed["soon"] in listed("due-this-week") and placed["later"] not in listed("due-this-week")

    # Deadline performance by month, over the last 12 calendar months.
    months = months_back(now)
    answered: dict[str, list[tuple[float, bool]]] = {m: [] for m in months}
    for r in rows:
        if r["decided_at"] and r["decided_at"].strftime("%Y-%m") in answered:
            days = (r["decided_at"] - r["received_at"]).total_seconds() / 86400
            answered[r["decided_at"].strftime("%Y-%m")].append((days, r["decided_at"] <= r["due_at"]))
    table = re.findall(r'<tr data-month="(\d{4}-\d{2})"><th scope="row">[^<]*</th>'
                       r'<td class="answered">(\d+)</td>\s*<td class="median">([^<]*)</td>\s*'
                       r'<td class="on-time">([^<]*)</td>', html)
    assert [m for m, *_ in table] == months
    for month, count, median, on_time in table:
        got = answered[month]
        assert int(count) == len(got), month
        if got:
            assert median == f"{statistics.median(d for d, _ in got):.1f}", month
            assert on_time == f"{100 * sum(ok for _, ok in got) / len(got):.0f}%", month
        else:
            assert (median, on_time) == ("—", "—"), month
    assert sum(int(c) for _, c, _, _ in table) == 5  # the "old" answer is out of the window
    every = [a for got in answered.values() for a in got]
    summary = re.search(r'<p id="perf-summary">(.*?)</p>', html, re.S).group(1)
    assert f"{len(every)} cases answered" in summary
    assert f"median {statistics.median(d for d, _ in every):.1f} days" in summary
    assert f"{100 * sum(ok for _, ok in every) / len(every):.0f}% answered on time" in summary
    # The late answer (40 days) is the only one past its due date: 4 of 5 on time.
    assert "80% answered on time" in summary

    # The charts are SVG drawn on the server, one bar slot per month, and no script at all.
    for chart in ("chart-answered", "chart-median", "chart-on-time"):
        svg = re.search(rf'<svg id="{chart}".*?</svg>', html, re.S).group(0)
        assert len(re.findall(r'<g class="bar">', svg)) == 12
    answered_svg = re.search(r'<svg id="chart-answered".*?</svg>', html, re.S).group(0)
    # Months read as words in the page's language ("January 2028"), never as keys.
    def month_words(key: str) -> str:
        return format_date(date.fromisoformat(f"{key}-01"), "MMMM yyyy", locale="en")

    bars = re.findall(r'<title>([^<:]+): ([^<]*)</title>', answered_svg)
    assert {m: v for m, v in bars if v != "0"} == \
        {month_words(m): str(len(a)) for m, a in answered.items() if a}
    rows_shown = re.findall(r'<tr data-month="(\d{4}-\d{2})"><th scope="row">([^<]*)</th>', html)
    assert [words for _, words in rows_shown] == [month_words(m) for m in months]
    assert "<script" not in html


def test_an_empty_organisation_has_a_calm_overview(server, org_a):
    html = dashboard(server, org_a)
    assert 'id="overdue-none"' in html and 'id="due-this-week-none"' in html
    assert "No case was answered in the last 12 months." in html
    assert 'id="coverage-none"' in html


def test_the_overview_counts_who_was_told_reached_and_acknowledged(
        client, server, settings, org_a, mailbox, receiver):
    model(org_a, "acme/chat")
    version(org_a, "acme/chat", "v1")
    version(org_a, "acme/chat", "v2")
    hooked = subscribe(client, mailbox, models=["acme/chat"], urls=[receiver.url("/one")],
                       name="Hooked")
    emailed = subscribe(client, mailbox, models=["acme/chat"], name="Emailed")
    event_id, _ = remediate(settings, "acme/chat", "v1", "v2")
    subscribe(client, mailbox, models=["acme/chat"], name="Late")  # after the event: not told

    receiver.wait_for("/one")
    wait_until(lambda: sql(settings, "SELECT count(*) AS n FROM deliveries WHERE status = "
                                     "'succeeded'")[0]["n"] == 1)
    wait_until(lambda: sql(settings, "SELECT count(*) AS n FROM notices WHERE sent_at IS NOT "
                                     "NULL AND kind = 'event_action'")[0]["n"] == 1)
    r = hooked.api.post("/v1/subscriber/acknowledgements",
                        json={"event_id": event_id, "outcome": "replaced"})
    assert r.status_code == 201, r.text
    assert emailed.id != hooked.id

    html = dashboard(server, org_a)
    rows = re.findall(r'<td class="told">(\d+)</td><td class="delivered">(\d+)</td>'
                      r'<td class="acknowledged">(\d+)</td>', html)
    assert rows == [("2", "2", "1")]
