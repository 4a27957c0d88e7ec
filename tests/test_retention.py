"""Retention: a set time after a case ends, the subject's personal data is erased (its data
key and ciphertext destroyed), and the audit trail still verifies with `rights-relay audit
verify`. A case that ended recently, or is still open, keeps its data."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.casework import model_with_version, seed_case, sql
from tests.support import IsolatedServer, audit_verify, create_org, run_job


@pytest.fixture
def iso(settings, tmp_path):
    # The server's own scheduler never runs retention during the test: run_job does, once.
    with IsolatedServer(settings, str(tmp_path), retention_days=30,
                        housekeeping_seconds=3600) as srv:
        yield srv


def subject_columns(settings, reference):
    [row] = sql(settings, "SELECT subject_ciphertext, subject_wrapped_key, subject_erased_at, "
                          "subject_index FROM cases WHERE reference = :r", r=reference)
    return row


def test_subject_data_is_erased_after_retention_and_the_audit_trail_still_verifies(iso, clock):
    s = iso.settings
    org = create_org(s, iso.url, "keep")
    model = model_with_version(org, "keep/chat")
    old_closed, _ = seed_case(s, [model], status="rejected", email="old@example.org")
    assert org.admin.post(f"/v1/cases/{old_closed}/closure", json={}).status_code == 200
    old_withdrawn, token = seed_case(s, [model], status="awaiting_subject",
                                     email="gone@example.org")
    r = org.admin.post(f"/v1/public/requests/{token}/withdraw")
    assert r.status_code == 200, r.text
    # Thirty days and a bit later, two more cases: one ends now, one is still open.
    clock.advance(timedelta(days=30, hours=1))
    recent, _ = seed_case(s, [model], status="rejected", email="recent@example.org")
    assert org.admin.post(f"/v1/cases/{recent}/closure", json={}).status_code == 200
    still_open, _ = seed_case(s, [model], status="open", email="open@example.org")

    run_job(s, "cases.retention")
    assert subject_columns(s, old_withdrawn)["subject_erased_at"] is not None
    assert subject_columns(s, old_closed)["subject_erased_at"] is not None

    for ref in (old_closed, old_withdrawn):
        row = subject_columns(s, ref)
        assert row["subject_ciphertext"] is None and row["subject_wrapped_key"] is None
        assert row["subject_index"] == ""
        detail = org.admin.get(f"/v1/cases/{ref}").json()
        assert detail["subject"] is None and detail["subject_erased_at"]
        sealed = sql(s, "SELECT count(*) AS n FROM case_messages m JOIN cases c ON c.id = "
                        "m.case_id WHERE c.reference = :r AND (m.ciphertext IS NOT NULL "
                        "OR m.wrapped_key IS NOT NULL)", r=ref)
        assert sealed == [{"n": 0}]
        emails = sql(s, "SELECT count(*) AS n FROM outbound_emails e JOIN cases c ON c.id = "
                        "e.case_id WHERE c.reference = :r AND e.ciphertext IS NOT NULL", r=ref)
        assert emails == [{"n": 0}]
        export = org.admin.get(f"/v1/cases/{ref}/export").json()
        assert export["audit_chain"]["intact"] is True
        assert "case.subject_erased" in [e["action"] for e in export["record"]["timeline"]]
    # The status link still answers (no 500), with nothing of the person left to show.
    r = org.admin.get(f"/v1/public/requests/{token}")
    assert r.status_code == 200 and r.json()["status"] == "withdrawn", r.text
    for ref in (recent, still_open):
        assert len(subject_columns(s, ref)["subject_index"]) == 64
        assert org.admin.get(f"/v1/cases/{ref}").json()["subject"]["name"] == "Jane Doe"

    verify = audit_verify(s, "keep")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    org.close()
