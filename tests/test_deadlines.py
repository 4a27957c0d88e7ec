"""Deadlines (GDPR Art. 12(3)): one calendar month, one extension of up to two more months,
overdue and due-soon flags, and the daily reminders to the assignee and the admins."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time

import pytest
import sqlalchemy as sa
from babel.dates import format_date

from app.cases.deadlines import add_months, extended_due, first_due
from app.cases.reminders import send_deadline_reminders
from app.crypto import Keyring
from app.db import make_engine, make_sessionmaker
from app.jobs.registry import background_jobs
from tests.casework import SUBJECT_EMAIL, model_with_version, seed_case, sql
from tests.mail import body


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 30) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def end_of(day: datetime) -> datetime:
    """A deadline ends with its day (here in an organisation on UTC, the default)."""
    return datetime.combine(day.date(), clock_time.max, tzinfo=UTC)


@pytest.mark.parametrize(("received", "due"), [
    (at(2024, 1, 31), at(2024, 2, 29)),  # leap year: the last day of February is the 29th
    (at(2023, 1, 31), at(2023, 2, 28)),
    (at(2000, 1, 31), at(2000, 2, 29)),  # divisible by 400: a leap year
    (at(2100, 1, 31), at(2100, 2, 28)),  # divisible by 100 only: not a leap year
    (at(2024, 1, 29), at(2024, 2, 29)),
    (at(2024, 1, 30), at(2024, 2, 29)),
    (at(2024, 2, 29), at(2024, 3, 29)),
    (at(2023, 3, 31), at(2023, 4, 30)),  # 31-day month into a 30-day month
    (at(2023, 4, 30), at(2023, 5, 30)),  # 30-day month into a 31-day month
    (at(2023, 8, 31), at(2023, 9, 30)),
    (at(2023, 7, 31), at(2023, 8, 31)),  # two 31-day months in a row
    (at(2023, 12, 31), at(2024, 1, 31)),  # across the year end
    (at(2023, 12, 15, 23, 59), at(2024, 1, 15)),  # the hour of receipt does not matter
])
def test_the_first_deadline_is_one_calendar_month_later(received, due):
    assert first_due(received) == end_of(due)


@pytest.mark.parametrize(("received", "months", "due"), [
    (at(2023, 1, 31), 2, at(2023, 4, 30)),  # counted from receipt, not via 28 February
    (at(2024, 1, 31), 1, at(2024, 3, 31)),
    (at(2023, 11, 30), 2, at(2024, 2, 29)),  # three months later lands on a leap day
    (at(2022, 11, 30), 2, at(2023, 2, 28)),
    (at(2023, 10, 31), 2, at(2024, 1, 31)),
])
def test_an_extension_counts_from_the_receipt(received, months, due):
    assert extended_due(received, months) == end_of(due)


def test_add_months_handles_long_spans():
    assert add_months(at(2024, 2, 29), 12) == at(2025, 2, 28)
    assert add_months(at(2024, 2, 29), 48) == at(2028, 2, 29)
    assert add_months(at(2023, 5, 31), 25) == at(2025, 6, 30)


def test_the_queue_shows_the_deadline_of_a_case_received_on_31_january(settings, org_a):
    model = model_with_version(org_a)
    ref, _ = seed_case(settings, [model], received_at=at(2024, 1, 31, 9, 0))
    case = org_a.admin.get(f"/v1/cases/{ref}").json()
    assert case["due_at"] == "2024-02-29T23:59:59.999999Z"
    assert case["overdue"] is True and case["due_soon"] is False


# --- extensions ------------------------------------------------------------------------------


def test_one_extension_of_two_months_with_a_reason_emails_the_subject(
        settings, org_a, client, mailbox):
    model = model_with_version(org_a)
    received = datetime.now(UTC).replace(microsecond=0) - timedelta(days=20)
    ref, token = seed_case(settings, [model], status="in_review", received_at=received,
                           language="fr")
    staff = org_a.client("reviewer")
    reason = "Numerous requests after the release; retraining takes weeks."
    r = staff.post(f"/v1/cases/{ref}/extension", json={"months": 2, "reason": reason})
    assert r.status_code == 200, r.text
    case = r.json()
    expected = extended_due(received, 2)
    assert datetime.fromisoformat(case["due_at"]) == expected
    assert case["extended"] is True
    assert case["extension"]["months"] == 2 and case["extension"]["reason"] == reason
    assert datetime.fromisoformat(case["extension"]["first_due_at"]) == first_due(received)
    extended = [e for e in case["timeline"] if e["action"] == "case.extended"]
    assert len(extended) == 1 and extended[0]["note"] == reason

    email = mailbox.wait_for(SUBJECT_EMAIL, "plus de temps")  # the subject's language
    # The date as the subject reads it, in their language (Babel, e.g. "10 février 2027").
    assert format_date(expected.date(), "long", locale="fr") in body(email)
    assert reason in body(email)
    status = client.get(f"/v1/public/requests/{token}").json()
    assert status["extension"] == {"months": 2, "reason": reason}
    assert datetime.fromisoformat(status["due_at"]) == expected

    again = staff.post(f"/v1/cases/{ref}/extension", json={"months": 1, "reason": "More."})
    assert again.status_code == 409 and "only one extension" in again.json()["detail"]
    assert org_a.admin.get(f"/v1/cases/{ref}").json()["due_at"] == case["due_at"]


def test_no_extension_once_the_first_month_has_ended(settings, org_a):
    model = model_with_version(org_a)
    ref, _ = seed_case(settings, [model], received_at=datetime.now(UTC) - timedelta(days=40))
    before = org_a.admin.get(f"/v1/cases/{ref}").json()
    r = org_a.admin.post(f"/v1/cases/{ref}/extension", json={"months": 1, "reason": "Late."})
    assert r.status_code == 409 and "first month" in r.json()["detail"], r.text
    after = org_a.admin.get(f"/v1/cases/{ref}").json()
    assert (after["due_at"], after["extended"]) == (before["due_at"], False)


@pytest.mark.parametrize("body", [
    {"months": 3, "reason": "Too long."}, {"months": 0, "reason": "None."},
    {"months": 1, "reason": ""}, {"months": 1}, {"months": 1, "reason": "a\x00b"},
    {"months": 1, "reason": "x" * 1001},
])
def test_an_extension_needs_one_or_two_months_and_a_reason(settings, org_a, body):
    model = model_with_version(org_a)
    ref, _ = seed_case(settings, [model])
    r = org_a.admin.post(f"/v1/cases/{ref}/extension", json=body)
    assert r.status_code == 422 and r.json()["error"] == "validation_error", r.text


def test_a_decided_and_closed_case_is_not_extended(settings, org_a):
    model = model_with_version(org_a)
    ref, _ = seed_case(settings, [model], status="rejected")
    org_a.admin.post(f"/v1/cases/{ref}/closure", json={})
    r = org_a.admin.post(f"/v1/cases/{ref}/extension", json={"months": 1, "reason": "x"})
    assert r.status_code == 409, r.text


# --- flags and reminders ---------------------------------------------------------------------


@pytest.fixture
def deadlines(settings, org_a):
    """Four cases: overdue, due in a few days, due in a month, and overdue but decided."""
    model = model_with_version(org_a)
    now = datetime.now(UTC)
    refs = {
        "overdue": seed_case(settings, [model], received_at=now - timedelta(days=40))[0],
        "soon": seed_case(settings, [model], status="in_review",
                          received_at=now - timedelta(days=26))[0],
        "later": seed_case(settings, [model], received_at=now)[0],
        "rejected": seed_case(settings, [model], status="rejected",
                              received_at=now - timedelta(days=45))[0],
    }
    return refs


def test_overdue_and_due_soon_flags_and_filters(org_a, deadlines):
    staff = org_a.client("reviewer")
    items = {c["reference"]: c for c in staff.get("/v1/cases").json()["items"]}
    flags = {name: (items[ref]["overdue"], items[ref]["due_soon"])
             for name, ref in deadlines.items()}
    assert flags == {"overdue": (True, False), "soon": (False, True), "later": (False, False),
                     "rejected": (False, False)}

    def refs(**params):
        return [c["reference"] for c in staff.get("/v1/cases", params=params).json()["items"]]

    assert refs(overdue="true") == [deadlines["overdue"]]
    assert refs(due_soon="true") == [deadlines["soon"]]
    assert set(refs(overdue="false")) == set(deadlines.values()) - {deadlines["overdue"]}


def run_reminders(settings, now=None, replicas=1) -> list[int]:
    """Run the job as `replicas` servers would, at the same time, each with its own engine."""
    keyring = Keyring.from_settings(settings)

    async def go() -> list[int]:
        engines = [make_engine(settings.sqlalchemy_url, poolclass=sa.pool.NullPool)
                   for _ in range(replicas)]
        try:
            return list(await asyncio.gather(*(
                send_deadline_reminders(make_sessionmaker(e), settings, keyring, now)
                for e in engines)))
        finally:
            for e in engines:
                await e.dispose()

    return asyncio.run(go())


def test_reminders_go_to_the_assignee_and_admins_once_a_day_even_with_replicas(
        settings, org_a, mailbox, deadlines):
    reviewer = "rita@org-a.example"
    assert org_a.admin.post("/v1/users", json={
        "email": reviewer, "name": "Rita", "role": "reviewer",
        "password": "reviewer password"}).status_code == 201
    r = org_a.admin.post(f"/v1/cases/{deadlines['soon']}/assignment", json={"assignee": reviewer})
    assert r.status_code == 200, r.text
    mailbox.wait_for(reviewer, "assigned to you")

    assert sum(run_reminders(settings, replicas=3)) == 2  # overdue + soon, each once
    overdue = mailbox.wait_for(org_a.admin_email, f"Overdue: case {deadlines['overdue']}")
    mailbox.wait_for(org_a.admin_email, f"Due soon: case {deadlines['soon']}")
    mailbox.wait_for(reviewer, f"Due soon: case {deadlines['soon']}")
    text = body(overdue)
    assert f"/dashboard/cases/{deadlines['overdue']}" in text and "Jane" not in text

    assert run_reminders(settings) == [0]  # same day: nothing more
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert run_reminders(settings, now=tomorrow, replicas=2) in ([2, 0], [0, 2], [1, 1])
    rows = sql(settings, "SELECT kind FROM case_reminders ORDER BY kind")
    assert [r["kind"] for r in rows] == ["due_soon", "due_soon", "overdue", "overdue"]

    def count(to: str, subject: str) -> int:
        return sum(subject in str(m["Subject"]) for m in mailbox.to(to))

    give_up = time.monotonic() + 10
    while count(org_a.admin_email, "case RR-") < 4 and time.monotonic() < give_up:
        time.sleep(0.05)
    time.sleep(0.3)  # anything extra would arrive now
    assert count(org_a.admin_email, f"case {deadlines['overdue']}") == 2  # today, tomorrow
    assert count(org_a.admin_email, f"case {deadlines['later']}") == 0
    assert count(org_a.admin_email, f"case {deadlines['rejected']}") == 0
    assert count(reviewer, f"case {deadlines['overdue']}") == 0  # not theirs


def test_the_serving_process_runs_the_reminder_job_on_its_interval(settings, org_a, mailbox,
                                                                   deadlines):
    """The scheduler's entry for the job (the scheduler itself is APScheduler's business)."""
    fast = settings.model_copy(update={"reminder_interval_seconds": 0.5})
    keyring = Keyring.from_settings(fast)

    async def go() -> list[int]:
        engine = make_engine(fast.sqlalchemy_url, poolclass=sa.pool.NullPool)
        try:
            jobs = {name: (job, every) for name, job, every in
                    background_jobs(make_sessionmaker(engine), fast, keyring)}
            job, every = jobs["cases.deadline_reminders"]
            assert every == 0.5
            return [await job(), await job()]
        finally:
            await engine.dispose()

    assert asyncio.run(go()) == [2, 0]
    mailbox.wait_for(org_a.admin_email, f"Overdue: case {deadlines['overdue']}")
