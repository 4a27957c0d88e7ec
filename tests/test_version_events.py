"""Version changes re-users must hear about are recorded as events in the same transaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa


def events(settings) -> list[dict]:
    engine = sa.create_engine(settings.sync_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT position, type, action, action_deadline_at, data FROM events ORDER BY position"
        )).mappings().all()
    engine.dispose()
    out = []
    for r in rows:
        data = r["data"] if isinstance(r["data"], dict) else json.loads(r["data"])
        out.append({"position": r["position"], "type": r["type"], "action": r["action"],
                    "data": data})
    return out


@pytest.fixture
def chat(org_a):
    r = org_a.admin.post("/v1/models", json={"id": "acme/chat", "title": "Chat"})
    assert r.status_code == 201, r.text
    return "acme/chat"


def version(org, model, label, **fields):
    r = org.admin.post(f"/v1/models/{model}/versions",
                       json={"label": label, "revision": f"rev-{label}", **fields})
    assert r.status_code == 201, r.text
    return r.json()


def test_a_current_version_is_announced_as_released(settings, org_a, chat):
    version(org_a, chat, "v1", digests=[{"file": "model.safetensors", "sha256": "a" * 64}])
    [e] = events(settings)
    assert e["type"] == "model.version.released"
    assert e["data"]["model"] == {"id": "acme/chat", "organization": "org-a"}
    assert e["data"]["version"] == {"label": "v1", "revision": "rev-v1", "digests": [
        {"file": "model.safetensors", "sha256": "a" * 64}]}
    assert e["action"] == "none"


def test_a_version_registered_as_history_is_not_announced(settings, org_a, chat):
    version(org_a, chat, "v0", status="superseded")
    assert events(settings) == []


def test_supersedes_replaces_the_old_versions_and_tells_re_users_with_a_deadline(
        settings, org_a, chat):
    version(org_a, chat, "v1")
    version(org_a, chat, "v2")
    before = datetime.now(UTC)
    version(org_a, chat, "v3", supersedes=["v1", "v2"])
    listed = {v["label"]: v["status"] for v in org_a.admin.get(f"/v1/models/{chat}/versions").json()}
    assert listed == {"v1": "superseded", "v2": "superseded", "v3": "current"}
    evs = events(settings)
    assert [e["type"] for e in evs] == ["model.version.released"] * 3 + \
        ["model.version.superseded"] * 2
    assert [e["position"] for e in evs] == sorted(e["position"] for e in evs)
    for e, old in zip(evs[3:], ("v1", "v2"), strict=True):
        assert e["action"] == "replace"
        assert e["data"]["superseded"]["label"] == old
        assert e["data"]["replacement"]["revision"] == "rev-v3"
        assert e["data"]["reason"] == "update"
        deadline = datetime.fromisoformat(e["data"]["deadline_at"])
        assert timedelta(days=29) < deadline - before < timedelta(days=31)


def test_superseding_an_unknown_label_changes_nothing(settings, org_a, chat):
    version(org_a, chat, "v1")
    r = org_a.admin.post(f"/v1/models/{chat}/versions",
                         json={"label": "v2", "revision": "r", "supersedes": ["v9"]})
    assert r.status_code == 400 and r.json()["error"] == "bad_request"
    assert [v["label"] for v in org_a.admin.get(f"/v1/models/{chat}/versions").json()] == ["v1"]
    assert len(events(settings)) == 1


def test_patch_superseded_defaults_to_the_newest_current_version(settings, org_a, chat):
    version(org_a, chat, "v1", released_at="2024-01-01T00:00:00Z")
    version(org_a, chat, "v2", released_at="2024-02-01T00:00:00Z")
    r = org_a.admin.patch(f"/v1/models/{chat}/versions/v1", json={"status": "superseded"})
    assert r.status_code == 200, r.text
    e = events(settings)[-1]
    assert e["type"] == "model.version.superseded"
    assert e["data"]["replacement"]["label"] == "v2"


def test_superseding_the_only_version_is_refused(settings, org_a, chat):
    version(org_a, chat, "v1")
    r = org_a.admin.patch(f"/v1/models/{chat}/versions/v1", json={"status": "superseded"})
    assert r.status_code == 409 and "release the new version first" in r.json()["detail"]
    assert org_a.admin.get(f"/v1/models/{chat}/versions/v1").json()["status"] == "current"


def test_withdrawal_without_replacement_asks_for_deletion(settings, org_a, chat):
    version(org_a, chat, "v1")
    r = org_a.admin.patch(f"/v1/models/{chat}/versions/v1", json={"status": "withdrawn"})
    assert r.status_code == 200, r.text
    e = events(settings)[-1]
    assert (e["type"], e["action"]) == ("model.version.withdrawn", "delete")
    assert e["data"]["replacement"] is None


def test_withdrawal_with_a_replacement_asks_for_replacement(settings, org_a, chat):
    version(org_a, chat, "v1")
    version(org_a, chat, "v2")
    r = org_a.admin.patch(f"/v1/models/{chat}/versions/v1",
                          json={"status": "withdrawn", "replaced_by": "v2"})
    assert r.status_code == 200, r.text
    e = events(settings)[-1]
    assert (e["type"], e["action"]) == ("model.version.withdrawn", "replace")
    assert e["data"]["replacement"]["label"] == "v2"


@pytest.mark.parametrize("replaced_by", ["v1", "v0", "nope"])
def test_a_replacement_must_be_another_current_version(settings, org_a, chat, replaced_by):
    version(org_a, chat, "v0", status="superseded")
    version(org_a, chat, "v1")
    r = org_a.admin.patch(f"/v1/models/{chat}/versions/v1",
                          json={"status": "withdrawn", "replaced_by": replaced_by})
    assert r.status_code in (400, 409), r.text
    assert org_a.admin.get(f"/v1/models/{chat}/versions/v1").json()["status"] == "current"
    assert [e["type"] for e in events(settings)] == ["model.version.released"]
