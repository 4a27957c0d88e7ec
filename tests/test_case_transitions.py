"""The case state machine: only the moves in lifecycle.TRANSITIONS happen, each by the roles it
names; every other move is a 409 naming the current state and changes nothing; every move that
happens writes one audit row (actor, time, from, to, note)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from app.cases.lifecycle import SUBJECT, SYSTEM, TRANSITIONS, Actor, check
from app.cases.models import Case, CaseStatus
from app.errors import Forbidden, InvalidTransition
from app.remediation import lifecycle as remediation_lifecycle
from app.remediation.models import Remediation, RemediationStatus
from tests.casework import model_with_version, seed_case, sql

ACTOR_KINDS = ("admin", "reviewer", "pipeline", SUBJECT, SYSTEM)
ALL_PAIRS = list(itertools.product(CaseStatus, CaseStatus))


def test_the_table_only_names_known_roles_and_real_moves():
    for (frm, to), who in TRANSITIONS.items():
        assert frm != to
        assert who and who <= set(ACTOR_KINDS), (frm, to, who)
    # Nothing leaves a terminal state, and a case is never closed before it was fixed or refused.
    for frm in (CaseStatus.closed, CaseStatus.withdrawn, CaseStatus.expired, CaseStatus.duplicate):
        assert not [to for (f, to) in TRANSITIONS if f == frm]
    assert {f for (f, to) in TRANSITIONS if to == CaseStatus.closed} == \
        {CaseStatus.remediated, CaseStatus.rejected}


@pytest.mark.parametrize(("frm", "to"), ALL_PAIRS, ids=[f"{a}->{b}" for a, b in ALL_PAIRS])
def test_every_move_outside_the_table_is_refused_naming_the_current_state(frm, to):
    case = Case(reference="RR-TEST-0001", status=frm)
    for kind in ACTOR_KINDS:
        actor = Actor(kind=kind, label=f"{kind}:test")
        allowed = TRANSITIONS.get((frm, to))
        if allowed is None:
            with pytest.raises(InvalidTransition) as refused:
                check(case, to, actor)
            assert refused.value.detail == (f"case RR-TEST-0001 is {frm.value}; "
                                            f"it cannot become {to.value}")
        elif kind not in allowed:
            with pytest.raises(Forbidden):
                check(case, to, actor)
        else:
            check(case, to, actor)
        assert case.status == frm


def test_every_remediation_move_outside_its_table_is_refused():
    for frm, to in itertools.product(RemediationStatus, RemediationStatus):
        r = Remediation(status=frm)
        for kind in ACTOR_KINDS:
            allowed = remediation_lifecycle.TRANSITIONS.get((frm, to))
            actor = Actor(kind=kind, label=kind)
            if allowed is None:
                with pytest.raises(InvalidTransition):
                    remediation_lifecycle.check(r, to, actor)
            elif kind not in allowed:
                with pytest.raises(Forbidden):
                    remediation_lifecycle.check(r, to, actor)
            else:
                remediation_lifecycle.check(r, to, actor)


# --- through the API -------------------------------------------------------------------------

# How staff ask for each target status through the API.
ACTIONS = {
    CaseStatus.in_review: ("review", {}),
    CaseStatus.awaiting_subject: ("information-request", {"question": "Which city?"}),
    CaseStatus.accepted: ("decision", {"outcome": "accept"}),
    CaseStatus.rejected: ("decision", {"outcome": "reject", "ground": "cannot_identify",
                                       "explanation": "We found nothing."}),
    CaseStatus.duplicate: ("duplicate", {}),  # `of` is filled in below
    CaseStatus.closed: ("closure", {}),
}
NEVER_RECEIVED = (CaseStatus.pending_verification, CaseStatus.expired)


def state(settings, ref):
    [row] = sql(settings, "SELECT status, row_version FROM cases WHERE reference = :r", r=ref)
    trail = sql(settings, "SELECT COUNT(*) AS n FROM audit_events")[0]["n"]
    emails = sql(settings, "SELECT COUNT(*) AS n FROM outbound_emails")[0]["n"]
    return row["status"], row["row_version"], trail, emails


def test_staff_actions_outside_the_table_are_409_and_change_nothing(settings, org_a):
    model = model_with_version(org_a)
    ref, _ = seed_case(settings, [model])
    earlier, _ = seed_case(settings, [model], email="someone@example.org")
    staff = org_a.client("reviewer")
    tried = 0
    for frm in CaseStatus:
        sql(settings, "UPDATE cases SET status = :s WHERE reference = :r", s=frm.value, r=ref)
        for to, (path, body) in ACTIONS.items():
            if (frm, to) in TRANSITIONS:
                continue
            if to == CaseStatus.duplicate:
                body = {"of": earlier}
            before = state(settings, ref)
            r = staff.post(f"/v1/cases/{ref}/{path}", json=body)
            if frm in NEVER_RECEIVED:
                assert r.status_code == 404, (frm, to, r.text)  # never reached the provider
            else:
                assert (r.status_code, r.json()["error"]) == (409, "invalid_transition"), \
                    (frm, to, r.text)
                assert r.json()["detail"] == f"case {ref} is {frm.value}; it cannot become " \
                                             f"{to.value}"
            assert state(settings, ref) == before
            tried += 1
    assert tried > 50


def test_a_case_not_accepted_cannot_enter_a_remediation(settings, org_a):
    model = model_with_version(org_a)
    for status in ("open", "in_review", "awaiting_subject", "rejected"):
        ref, _ = seed_case(settings, [model], status=status, email=f"{status}@example.org")
        r = org_a.admin.post("/v1/remediations", json={"model": model, "method": "unlearning",
                                                       "cases": [ref]})
        assert r.status_code == 409 and f"{ref} is {status}" in r.json()["detail"], r.text
    assert org_a.admin.get("/v1/remediations").json()["items"] == []


def test_roles_the_table_does_not_name_are_refused(settings, org_a):
    model = model_with_version(org_a)
    ref, _ = seed_case(settings, [model], status="in_review")
    pipeline = org_a.client("pipeline")
    for path, body in ACTIONS.values():
        r = pipeline.post(f"/v1/cases/{ref}/{path}", json=body)
        assert r.status_code == 403, r.text
    assert pipeline.get(f"/v1/cases/{ref}").status_code == 403
    assert org_a.admin.get(f"/v1/cases/{ref}").json()["status"] == "in_review"


def test_each_move_writes_one_audit_row_with_actor_time_states_and_note(settings, org_a):
    model = model_with_version(org_a)
    ref, _ = seed_case(settings, [model])
    before = datetime.now(UTC)
    r = org_a.client("reviewer").post(f"/v1/cases/{ref}/review",
                                      json={"note": "Looks like a clear case."})
    assert r.status_code == 200, r.text
    entries = r.json()["timeline"]
    assert [(e["action"], e["from_status"], e["to_status"]) for e in entries] == [
        ("case.received", None, "pending_verification"),
        ("case.confirmed", "pending_verification", "open"),
        ("case.in_review", "open", "in_review")]
    last = entries[-1]
    assert last["actor"] == "api_key:reviewer key"
    assert last["note"] == "Looks like a clear case."
    assert datetime.fromisoformat(last["at"]) >= before.replace(microsecond=0)
    assert last["prev_hash"] == entries[-2]["hash"]
