"""Re-users acknowledge per event (API, signed link in the webhook headers or an email); the
provider sees who did and who did not; the others are reminded once before the deadline."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.events.models import Event
from tests.mail import body
from tests.propagation import model, remediate, subscribe, version
from tests.support import run_async

MODEL = "acme/chat"


@pytest.fixture
def chat(org_a):
    model(org_a, MODEL)
    version(org_a, MODEL, "v1")
    version(org_a, MODEL, "v2")
    return MODEL


def acks(org, event_id):
    r = org.client("reviewer").get(f"/v1/events/{event_id}/acknowledgements")
    assert r.status_code == 200, r.text
    return r.json()


def test_the_provider_sees_who_acknowledged_and_who_did_not(
        client, server, org_a, org_b, chat, mailbox, receiver):
    one = subscribe(client, mailbox, models=[MODEL], urls=[receiver.url("/one")], name="One")
    two = subscribe(client, mailbox, models=[MODEL], urls=[receiver.url("/two")], name="Two")
    event_id, _ = remediate(server.settings, MODEL, "v1", "v2")
    late = subscribe(client, mailbox, models=[MODEL], name="Late")  # after the event

    state = acks(org_a, event_id)
    assert state["expected"] == 2 and state["action"] == "replace"
    assert {p["name"] for p in state["pending"]} == {"One", "Two"}

    pending = one.api.get("/v1/subscriber/acknowledgements/pending").json()
    assert [p["event_id"] for p in pending] == [event_id]
    r = one.api.post("/v1/subscriber/acknowledgements",
                     json={"event_id": event_id, "outcome": "replaced"})
    assert r.status_code == 201, r.text
    assert r.json()["outcome"] == "replaced" and r.json()["via"] == "api"
    # Idempotent: the first answer stands.
    again = one.api.post("/v1/subscriber/acknowledgements",
                         json={"event_id": event_id, "outcome": "deleted"})
    assert again.status_code == 201 and again.json()["outcome"] == "replaced"
    assert one.api.get("/v1/subscriber/acknowledgements/pending").json() == []

    state = acks(org_a, event_id)
    assert [(p["name"], p["outcome"]) for p in state["acknowledged"]] == [("One", "replaced")]
    assert [p["name"] for p in state["pending"]] == ["Two"]

    # Two acknowledges with the signed link its webhook carried.
    [hit] = receiver.wait_for("/two")
    assert hit.headers["webhook-id"] == event_id
    token = hit.headers["rights-relay-ack-url"].rsplit("/a/", 1)[1]
    r = client.post(f"/v1/public/acknowledgements/{token}", json={"outcome": "not_affected"})
    assert r.status_code == 201 and r.json()["subscriber_id"] == two.id
    state = acks(org_a, event_id)
    assert state["pending"] == [] and len(state["acknowledged"]) == 2

    # Someone who subscribed after the event is not asked, and cannot acknowledge it.
    r = late.api.post("/v1/subscriber/acknowledgements",
                      json={"event_id": event_id, "outcome": "replaced"})
    assert r.status_code == 404
    # Another organisation cannot see the event's acknowledgements.
    r = org_b.admin.get(f"/v1/events/{event_id}/acknowledgements")
    assert r.status_code == 404 and r.json()["detail"] == "event not found"


def test_events_that_ask_nothing_cannot_be_acknowledged(client, org_a, chat, mailbox):
    sub = subscribe(client, mailbox, models=[MODEL])
    version(org_a, MODEL, "v3")
    released = client.get("/v1/public/events", params={"model": MODEL}).json()["items"][-1]
    assert released["type"] == "model.version.released"
    r = sub.api.post("/v1/subscriber/acknowledgements",
                     json={"event_id": released["id"], "outcome": "replaced"})
    assert r.status_code == 409 and r.json()["error"] == "conflict"
    r = sub.api.post("/v1/subscriber/acknowledgements",
                     json={"event_id": released["id"], "outcome": "maybe"})
    assert r.status_code == 422


def test_a_subscriber_without_webhooks_is_emailed_and_acknowledges_by_link(
        client, server, org_a, chat, mailbox):
    email = "no-hooks@downstream.example"
    subscribe(client, mailbox, models=[MODEL], email=email, name="Mail Only")
    event_id, _ = remediate(server.settings, MODEL, "v1", "v2")
    msg = mailbox.wait_for(email, "Action needed")
    text = body(msg)
    assert "rev-v1" in text and "rev-v2" in text
    link = re.search(r"https?://\S+/a/\S+", text).group(0)
    path = link.split(str(server.port), 1)[1]

    page = client.get(path)
    assert page.status_code == 200 and "Acknowledge an update" in page.text
    assert acks(org_a, event_id)["pending"][0]["name"] == "Mail Only"  # a GET changes nothing
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post(path, data={"csrf_token": csrf, "outcome": "deleted"})
    assert r.status_code == 200 and 'id="acknowledged"' in r.text
    state = acks(org_a, event_id)
    assert [(p["name"], p["outcome"]) for p in state["acknowledged"]] == [("Mail Only", "deleted")]
    # Without the CSRF token nothing happens.
    assert client.post(path, data={"outcome": "deleted"}).status_code == 403


def test_reminders_go_once_to_those_who_did_not_acknowledge(
        client, server, org_a, chat, mailbox, receiver):
    done = subscribe(client, mailbox, models=[MODEL], urls=[receiver.url("/done")],
                     email="done@re.example", name="Done")
    subscribe(client, mailbox, models=[MODEL], urls=[receiver.url("/late")],
              email="late@re.example", name="Late")
    lead = server.settings.ack_reminder_lead_hours
    event_id, _ = remediate(server.settings, MODEL, "v1", "v2",
                            deadline=timedelta(hours=lead + 48))
    done.api.post("/v1/subscriber/acknowledgements",
                  json={"event_id": event_id, "outcome": "replaced"})
    time.sleep(0.5)  # the reminder job runs every 0.2 s: too early to remind yet
    assert not [m for m in mailbox.messages if "Reminder" in str(m["Subject"])]

    # Time passes: the deadline is now within the reminder lead time.
    async def near_deadline(session):
        event = await session.scalar(sa.select(Event).where(Event.id == uuid.UUID(event_id)))
        event.action_deadline_at = datetime.now(UTC) + timedelta(hours=1)

    run_async(server.settings, near_deadline)

    msg = mailbox.wait_for("late@re.example", "Reminder")
    assert "/a/" in body(msg)
    time.sleep(1.0)  # several more runs of the job
    reminders = [m for m in mailbox.messages if "Reminder" in str(m["Subject"])]
    assert [m["To"] for m in reminders] == ["late@re.example"]


def test_replicas_racing_to_remind_send_each_reminder_once(client, server, org_a, chat, mailbox,
                                                            receiver):
    """Three replicas run the reminder job at once (the server's own and two more)."""
    import asyncio

    from app.acks.service import remind_due
    from app.crypto import Keyring
    from app.db import make_engine, make_sessionmaker

    subscribe(client, mailbox, models=[MODEL], email="r1@re.example", name="R1")
    subscribe(client, mailbox, models=[MODEL], email="r2@re.example", name="R2")
    mailbox.clear()
    remediate(server.settings, MODEL, "v1", "v2", deadline=timedelta(hours=1))

    async def replicas():
        engines = [make_engine(server.settings.sqlalchemy_url, poolclass=sa.pool.NullPool)
                   for _ in range(2)]
        keyring = Keyring.from_settings(server.settings)
        sent = await asyncio.gather(*(remind_due(make_sessionmaker(e), server.settings, keyring)
                                      for e in engines))
        for e in engines:
            await e.dispose()
        return sent

    asyncio.run(replicas())
    for address in ("r1@re.example", "r2@re.example"):
        mailbox.wait_for(address, "Reminder")
    time.sleep(1.0)
    reminders = sorted(m["To"] for m in mailbox.messages if "Reminder" in str(m["Subject"]))
    assert reminders == ["r1@re.example", "r2@re.example"]
