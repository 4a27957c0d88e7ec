"""No personal data frozen in the audit trail: every free text that may name the person (staff
notes, the extension reason, the question and the answer, the explanation, probe results) is
sealed under the case's data key; the chain holds a digest only, and still verifies after
retention destroyed the key. A marker typed into every free-text field of a case is found
nowhere in the database once retention ran."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.all_models import Base
from tests.casework import model_with_version, sql
from tests.mail import link
from tests.subjects import wait_until
from tests.support import audit_verify, run_job

MARKER = "Zyxquor7Marker"

V2 = {"label": "v2", "revision": "rev-v2",
      "digests": [{"file": "model.safetensors", "sha256": "c" * 64}]}


def where_is(settings, needle: str) -> list[str]:
    """Every table.column of the database holding `needle`, as text or as bytes."""
    engine = sa.create_engine(settings.sync_url, poolclass=sa.pool.NullPool)
    found = []
    try:
        with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                for row in conn.execute(table.select()).mappings():
                    for column, value in row.items():
                        text = value if isinstance(value, bytes) else str(value).encode()
                        if needle.encode() in text:
                            found.append(f"{table.name}.{column}")
    finally:
        engine.dispose()
    return sorted(set(found))


def test_a_marker_in_every_free_text_field_is_nowhere_after_retention(
        settings, server, org_a, client, mailbox, clock):
    model = model_with_version(org_a)
    m = MARKER
    email = f"{m.lower()}@example.org"
    r = client.post("/v1/public/requests", json={
        "models": [model], "kind": "erasure", "name": f"Jane {m}", "email": email,
        "description": f"My name {m} appears", "identifiers": [f"https://example.net/{m}"],
        "probe_prompts": [f"Who is {m}?"]})
    assert r.status_code == 202, r.text
    confirm = link(mailbox.wait_for(email, ""), "confirm")
    r = client.post("/v1/public/confirmations", json={"token": confirm.rsplit("/", 1)[1]})
    assert r.status_code == 200, r.text
    [ref] = [c["reference"] for c in r.json()["cases"]]
    token = link(mailbox.wait_for(email, "Receipt"), "status").rsplit("/", 1)[1]

    api = org_a.admin
    steps = [
        (f"/v1/cases/{ref}/review", {"note": f"review {m}"}),
        (f"/v1/cases/{ref}/assignment", {"assignee": org_a.admin_email, "note": f"assign {m}"}),
        (f"/v1/cases/{ref}/information-request", {"question": f"Are you {m}?",
                                                  "note": f"asked {m}"}),
    ]
    for path, body in steps:
        r = api.post(path, json=body)
        assert r.status_code == 200, (path, r.text)
    r = client.post(f"/v1/public/requests/{token}/answer", json={"answer": f"Yes, I am {m}"})
    assert r.status_code == 200, r.text
    for path, body in [
        (f"/v1/cases/{ref}/extension", {"months": 1, "reason": f"{m} has many records"}),
        (f"/v1/cases/{ref}/decision", {"outcome": "accept", "explanation": f"Found {m}",
                                       "note": f"decided {m}"}),
    ]:
        r = api.post(path, json=body)
        assert r.status_code == 200, (path, r.text)
    rid = api.post("/v1/remediations", json={"model": model, "method": "unlearning",
                                             "cases": [ref]}).json()["id"]
    org_a.client("pipeline").post(f"/v1/remediations/{rid}/report", json={"status": "running"})
    r = org_a.client("pipeline").post(f"/v1/remediations/{rid}/report",
                                      json={"status": "succeeded", "version": V2})
    assert r.status_code == 200, r.text
    r = api.post(f"/v1/cases/{ref}/closure", json={
        "probe_results": [{"index": 0, "reproduced": False, "result": f"No {m} found"}],
        "note": f"closed {m}"})
    assert r.status_code == 200, r.text

    # Staff still read every note; the chain holds digests only.
    detail = r.json()
    notes = [e["note"] for e in detail["timeline"] if e["note"]]
    assert notes == [f"review {m}", f"assign {m}", f"asked {m}", f"{m} has many records",
                     f"decided {m}", f"closed {m}"]
    assert all(e["note_digest"].startswith("hmac-sha256:")
               for e in detail["timeline"] if e["note"])
    assert detail["extension"]["reason"] == f"{m} has many records"
    status = client.get(f"/v1/public/requests/{token}").json()
    assert status["extension"]["reason"] == f"{m} has many records"
    assert not [c for c in where_is(settings, m) if c.startswith("audit_events.")]

    clock.advance(timedelta(days=settings.retention_days + 1))
    run_job(settings, "cases.retention")
    # The shared server's scheduler runs retention too (every half second): when its pass held
    # the row, ours skipped it (SKIP LOCKED), so wait for that pass to commit.
    wait_until(lambda: sql(settings, "SELECT subject_erased_at FROM cases WHERE reference = :r",
                           r=ref)[0]["subject_erased_at"] is not None)
    assert where_is(settings, m) == []
    assert where_is(settings, m.lower()) == []
    after = api.get(f"/v1/cases/{ref}").json()
    assert [e["note"] for e in after["timeline"] if e["note"]] == []
    assert after["extension"]["reason"] == ""
    verify = audit_verify(settings, org_a.slug)
    assert verify.returncode == 0, verify.stdout + verify.stderr
