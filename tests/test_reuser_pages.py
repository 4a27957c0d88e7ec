"""What re-users receive and see for a fix: one "action needed" email per remediation (not one
per event it causes), one acknowledgement for the whole fix, and their management page listing
past acknowledgements with no answer chosen in advance."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.casework import model_with_version, seed_case, sql
from tests.mail import body
from tests.propagation import subscribe
from tests.subjects import wait_until
from tests.support import TLS, run_job
from tests.test_web_signin import HTML, csrf_of

EMAIL = "ops@emailed.example"


@pytest.fixture
def fixed(server, client, org_a, mailbox, settings):
    """A subscriber without webhooks, then a remediation of the model it follows, released."""
    chat = model_with_version(org_a)
    sub = subscribe(client, mailbox, models=[chat], name="Emailed Ltd", email=EMAIL)
    ref, _ = seed_case(settings, [chat], status="accepted")
    r = org_a.admin.post("/v1/remediations", json={"model": chat, "method": "unlearning",
                                                   "cases": [ref]})
    assert r.status_code == 201, r.text
    pipeline, report = org_a.client("pipeline"), f"/v1/remediations/{r.json()['id']}/report"
    assert pipeline.post(report, json={"status": "running"}).status_code == 200
    r = pipeline.post(report, json={
        "status": "succeeded", "version": {"label": "v2", "revision": "rev-v2",
                                           "digests": [{"file": "model.safetensors",
                                                        "sha256": "c" * 64}]}})
    assert r.status_code == 200, r.text
    return sub


def action_events(settings) -> list[str]:
    return [str(r["id"]) for r in sql(settings, "SELECT id FROM events WHERE action <> 'none'")]


def test_one_action_needed_email_per_fix_and_one_acknowledgement_for_it(
        fixed, client, mailbox, settings):
    # The fix asks re-users to act twice (the version superseded, the remediation completed).
    assert len(action_events(settings)) == 2
    mailbox.wait_for(EMAIL, "Action needed")
    wait_until(lambda: not sql(settings, "SELECT id FROM notices WHERE sent_at IS NULL"))
    wait_until(lambda: not sql(settings, "SELECT id FROM outbound_emails WHERE sent_at IS NULL"))
    [email] = [m for m in mailbox.to(EMAIL) if "Action needed" in str(m["Subject"])]
    assert "remediation" in str(email["Subject"]).lower() or "v2" in body(email)

    # Its link acknowledges the whole fix: no event of it is left pending.
    token = re.search(r"/a/(\S+)", body(email)).group(1)
    r = client.post(f"/v1/public/acknowledgements/{token}", json={"outcome": "replaced"})
    assert r.status_code == 201, r.text
    acked = sql(settings, "SELECT event_id, outcome FROM acknowledgements")
    assert sorted(str(a["event_id"]) for a in acked) == sorted(action_events(settings))
    assert {a["outcome"] for a in acked} == {"replaced"}
    assert fixed.api.get("/v1/subscriber/acknowledgements/pending").json() == []


def test_the_management_page_lists_past_acknowledgements_and_preselects_nothing(
        fixed, server, settings):
    manage = f"/s/manage/{fixed.token}"
    with httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30) as web:
        page = web.get(manage)
        assert page.status_code == 200, page.text
        assert 'id="past-acks-none"' in page.text
        selects = re.findall(r'<select id="outcome-\d+" name="outcome" required>(.*?)</select>',
                             page.text, re.S)
        assert len(selects) == 2
        for options in selects:
            first, *rest = re.findall(r"<option([^>]*)>", options)
            assert first == ' value="" selected' and not any("selected" in o for o in rest)
        # Sent as it comes (nothing chosen): asked again, nothing recorded.
        event_id = re.search(r'name="event_id" value="([^"]+)"', page.text).group(1)
        r = web.post(manage, data={"csrf_token": csrf_of(page), "action": "acknowledge",
                                   "event_id": event_id, "outcome": ""})
        assert r.status_code == 422 and "Choose what you did with your copies." in r.text
        assert not sql(settings, "SELECT id FROM acknowledgements")

        r = web.post(manage, data={"csrf_token": csrf_of(page), "action": "acknowledge",
                                   "event_id": event_id, "outcome": "deleted"})
        assert r.status_code == 303
        page = web.get(manage)
        rows = re.findall(r'<tr><td>[^<]+ UTC</td><td><code>([a-z.]+)</code></td>'
                          r'<td><code>acme/chat</code></td>\s*<td class="outcome">([^<]+)</td>'
                          r'\s*<td>([^<]+)</td></tr>', page.text)
        assert sorted(rows) == [("model.version.superseded", "Deleted the copies", "this page"),
                                ("remediation.completed", "Deleted the copies", "this page")]
        assert "Nothing awaits your acknowledgement." in page.text


def test_one_reminder_per_fix(fixed, settings, mailbox, clock):
    deadlines = [d if isinstance(d, datetime) else datetime.fromisoformat(str(d))
                 for d in (r["action_deadline_at"] for r in sql(
                     settings, "SELECT action_deadline_at FROM events WHERE action <> 'none'"))]
    assert len(deadlines) == 2  # the fix's two events, each with its deadline
    deadline = min(d if d.tzinfo else d.replace(tzinfo=UTC) for d in deadlines)
    mailbox.wait_for(EMAIL, "Action needed")
    clock.advance(deadline - timedelta(hours=1) - clock.now())  # within the reminder lead
    run_job(settings, "acks.remind")
    mailbox.wait_for(EMAIL, "Reminder")
    wait_until(lambda: len(sql(settings, "SELECT event_id FROM ack_reminders")) == 2)
    wait_until(lambda: not sql(settings, "SELECT id FROM outbound_emails WHERE sent_at IS NULL"))
    assert len([m for m in mailbox.to(EMAIL) if "Reminder" in str(m["Subject"])]) == 1
