"""One organisation can neither see nor change another's models, versions or API keys.

Every org-scoped endpoint is a row in RESOURCE_ENDPOINTS or LIST_ENDPOINTS; a route with a path
parameter that is missing from the table fails `test_every_resource_route_is_in_the_table`.
To add an endpoint: add a row, naming the roles that may use it inside their own organisation.

For another organisation's resource, the caller must get exactly the answer it gets for a
resource that does not exist: 404 when its role may use the endpoint, 403 when its role may
not (that refusal does not depend on the resource, so it reveals nothing).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.casework import seed_cases, sql
from tests.propagation import quick_subscriber
from tests.support import Org, create_org, wipe

ALL_ROLES = ("admin", "reviewer", "pipeline")
RELEASE_ROLES = ("admin", "pipeline")
ADMIN_ONLY = ("admin",)
STAFF = ("admin", "reviewer")

MODEL = "acme/base"  # org_a's model, with version "v1"
GHOST_MODEL = "acme/no-such-model"  # exists nowhere
GHOST_REFERENCE = "RR-0000-0000"  # no such case


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # the route's own template
    allowed: tuple[str, ...]  # roles that may call it in their own organisation
    body: dict[str, Any] | None = None  # string values may name path parameters: "{earlier}"
    case: str = "open"  # for {reference}: which of org_a's seeded cases it names


# An inference endpoint nobody answers on (probe runs against it fail their samples fast).
PROBE_ENDPOINT = {"base_url": "http://127.0.0.1:9/v1", "model_name": "m", "samples": 1}

# Bodies are valid and would change org_a's data if the call went through.
RESOURCE_ENDPOINTS: dict[str, Endpoint] = {
    "get_model": Endpoint("GET", "/v1/models/{namespace}/{name}", ALL_ROLES),
    "update_model": Endpoint("PATCH", "/v1/models/{namespace}/{name}", ADMIN_ONLY, {
        "title": "Hijacked", "licence": "LicenseRef-Proprietary", "homepage": "https://evil.example/",
        "intake_open": False, "derived_from": None}),
    "create_version": Endpoint("POST", "/v1/models/{namespace}/{name}/versions", RELEASE_ROLES,
                               {"label": "v666", "revision": "evil"}),
    "list_versions": Endpoint("GET", "/v1/models/{namespace}/{name}/versions", ALL_ROLES),
    "get_version": Endpoint("GET", "/v1/models/{namespace}/{name}/versions/{label}", ALL_ROLES),
    "update_version": Endpoint("PATCH", "/v1/models/{namespace}/{name}/versions/{label}",
                               RELEASE_ROLES, {"status": "withdrawn"}),
    "revoke_api_key": Endpoint("POST", "/v1/api-keys/{key_id}/revoke", ADMIN_ONLY),
    "update_user": Endpoint("PATCH", "/v1/users/{user_id}", ADMIN_ONLY, {"language": "fr"}),
    "get_case": Endpoint("GET", "/v1/cases/{reference}", STAFF),
    "export_case": Endpoint("GET", "/v1/cases/{reference}/export", STAFF),
    "start_review": Endpoint("POST", "/v1/cases/{reference}/review", STAFF, {"note": "mine"}),
    "assign_case": Endpoint("POST", "/v1/cases/{reference}/assignment", STAFF,
                            {"assignee": "admin@org-a.example"}),
    "request_information": Endpoint("POST", "/v1/cases/{reference}/information-request", STAFF,
                                    {"question": "Who are you?"}, case="in_review"),
    "decide_case": Endpoint("POST", "/v1/cases/{reference}/decision", STAFF,
                            {"outcome": "reject", "ground": "cannot_identify",
                             "explanation": "No."}, case="in_review"),
    "extend_deadline": Endpoint("POST", "/v1/cases/{reference}/extension", STAFF,
                                {"months": 2, "reason": "Busy."}),
    "mark_duplicate": Endpoint("POST", "/v1/cases/{reference}/duplicate", STAFF,
                               {"of": "{earlier}"}),
    "close_case": Endpoint("POST", "/v1/cases/{reference}/closure", STAFF, {}, case="rejected"),
    "restrict_processing": Endpoint("POST", "/v1/cases/{reference}/restriction", STAFF, {}),
    "lift_restriction": Endpoint("POST", "/v1/cases/{reference}/restriction/end", STAFF, {},
                                 case="restricted"),
    "reopen_case": Endpoint("POST", "/v1/cases/{reference}/reopening", STAFF,
                            {"note": "the fix did not hold"}, case="remediated"),
    "get_remediation": Endpoint("GET", "/v1/remediations/{remediation_id}", ALL_ROLES),
    "report_remediation": Endpoint("POST", "/v1/remediations/{remediation_id}/report",
                                   RELEASE_ROLES, {"status": "running", "progress": 10}),
    "cancel_remediation": Endpoint("POST", "/v1/remediations/{remediation_id}/cancel", STAFF,
                                   {"note": "stop"}),
    "list_model_subscribers": Endpoint("GET", "/v1/models/{namespace}/{name}/subscribers",
                                       ALL_ROLES),
    "get_event_acknowledgements": Endpoint("GET", "/v1/events/{event_id}/acknowledgements",
                                           ALL_ROLES),
    "get_delivery": Endpoint("GET", "/v1/deliveries/{delivery_id}", ALL_ROLES),
    "replay_delivery": Endpoint("POST", "/v1/deliveries/{delivery_id}/replay", ADMIN_ONLY),
    "publish_clause": Endpoint("POST", "/v1/models/{namespace}/{name}/clause", ADMIN_ONLY,
                               {"url": "https://evil.example/clause"}),
    "list_clause_acceptances": Endpoint("GET", "/v1/models/{namespace}/{name}/clause/acceptances",
                                        ALL_ROLES),
    "list_grants": Endpoint("GET", "/v1/models/{namespace}/{name}/grants", ALL_ROLES),
    "revoke_access": Endpoint(
        "POST", "/v1/models/{namespace}/{name}/subscribers/{subscriber_id}/revocation",
        ADMIN_ONLY),
    "restore_access": Endpoint(
        "DELETE", "/v1/models/{namespace}/{name}/subscribers/{subscriber_id}/revocation",
        ADMIN_ONLY),
    # Probes (issue 13): inference endpoints of a version or an artifact, a case's probes.
    "put_version_endpoint": Endpoint("PUT", "/v1/models/{namespace}/{name}/versions/{label}/endpoint",
                                     RELEASE_ROLES, PROBE_ENDPOINT),
    "put_artifact_endpoint": Endpoint(
        "PUT", "/v1/models/{namespace}/{name}/versions/{label}/artifacts/{artifact}/endpoint",
        RELEASE_ROLES, PROBE_ENDPOINT),
    "list_endpoints": Endpoint("GET", "/v1/models/{namespace}/{name}/versions/{label}/endpoints",
                               ALL_ROLES),
    "delete_version_endpoint": Endpoint(
        "DELETE", "/v1/models/{namespace}/{name}/versions/{label}/endpoint", RELEASE_ROLES),
    "delete_artifact_endpoint": Endpoint(
        "DELETE", "/v1/models/{namespace}/{name}/versions/{label}/artifacts/{artifact}/endpoint",
        RELEASE_ROLES),
    "get_case_probes": Endpoint("GET", "/v1/cases/{reference}/probes", STAFF),
    "update_case_probes": Endpoint("PATCH", "/v1/cases/{reference}/probes", STAFF,
                                   {"targets": [{"kind": "other", "value": "Hijacked"}]}),
    "run_case_probes": Endpoint("POST", "/v1/cases/{reference}/probes/runs", STAFF),
    "override_case_probes": Endpoint("POST", "/v1/cases/{reference}/probes/override",
                                     ADMIN_ONLY, {"reason": "Hijacked"}, case="remediated"),
    "get_probe_run": Endpoint("GET", "/v1/probes/runs/{run_id}", ALL_ROLES),
    "cancel_probe_run": Endpoint("POST", "/v1/probes/runs/{run_id}/cancel", STAFF),
    "remediation_probes": Endpoint("GET", "/v1/remediations/{remediation_id}/probes", ALL_ROLES),
}
# Subscriber-token routes are scoped to one subscriber, not to an organisation: their
# isolation is tested in tests/test_subscribers.py.
SUBSCRIBER_PREFIX = "/v1/subscriber/"


@dataclass(frozen=True)
class Listing:
    path: str
    allowed: tuple[str, ...]

    def ids(self, response: httpx.Response) -> set[str]:
        assert response.status_code == 200, response.text
        body = response.json()
        items = body["items"] if isinstance(body, dict) else body  # a Page or a plain list
        return {item["id"] for item in items}


LIST_ENDPOINTS: dict[str, Listing] = {
    "list_models": Listing("/v1/models", ALL_ROLES),
    "list_api_keys": Listing("/v1/api-keys", ADMIN_ONLY),
    "list_users": Listing("/v1/users", ADMIN_ONLY),
}


# --- org_a's data, and a snapshot of it ------------------------------------------------------


@dataclass
class Seeded:
    key_id: str  # org_a's pipeline key
    cases: dict[str, str]  # org_a's cases by status: open, in_review, rejected, earlier
    remediation_id: str  # org_a's planned remediation
    event_id: str  # the release of MODEL v1
    delivery_id: str  # its (finished) webhook delivery to a subscriber
    subscriber_id: str  # that subscriber, a follower of MODEL
    run_id: str  # a probe run of org_a's open case
    user_id: str  # org_a's admin user

    def params(self, endpoint: Endpoint, ghost: bool = False) -> dict[str, str]:
        """The path (and body) parameters naming org_a's resources, or resources that do not
        exist anywhere."""
        if ghost:
            return {"namespace": GHOST_MODEL.split("/")[0], "name": GHOST_MODEL.split("/")[1],
                    "label": "v1", "key_id": str(uuid.uuid4()), "reference": GHOST_REFERENCE,
                    "earlier": GHOST_REFERENCE, "remediation_id": str(uuid.uuid4()),
                    "event_id": str(uuid.uuid4()),
                    "delivery_id": str(uuid.uuid4().int % 10**12 + 10**6),
                    "subscriber_id": str(uuid.uuid4()), "artifact": "q4",
                    "run_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4())}
        return {"namespace": MODEL.split("/")[0], "name": MODEL.split("/")[1], "label": "v1",
                "key_id": self.key_id, "reference": self.cases[endpoint.case],
                "earlier": self.cases["earlier"], "remediation_id": self.remediation_id,
                "event_id": self.event_id, "delivery_id": self.delivery_id,
                "subscriber_id": self.subscriber_id, "artifact": "q4", "run_id": self.run_id,
                "user_id": self.user_id}


def seed(org_a, settings, server, receiver) -> Seeded:
    c = org_a.admin
    assert c.post("/v1/models", json={"id": "acme/parent", "title": "Parent"}).status_code == 201
    r = c.post("/v1/models", json={"id": MODEL, "title": "Base", "licence": "mit",
                                   "homepage": "https://acme.example/base",
                                   "derived_from": "acme/parent"})
    assert r.status_code == 201, r.text
    follower = quick_subscriber(server.settings, server.url, [MODEL], [receiver.url("/seeded")])
    r = c.post(f"/v1/models/{MODEL}/versions", json={
        "label": "v1", "revision": "abc123",
        "digests": [{"file": "model.safetensors", "sha256": "e" * 64}]})
    assert r.status_code == 201, r.text
    keys = {k["role"]: k["id"] for k in c.get("/v1/api-keys").json()}
    [hit] = receiver.wait_for("/seeded")
    for _ in range(200):
        [delivery] = c.get("/v1/deliveries").json()["items"]
        if delivery["status"] == "succeeded":
            break
        time.sleep(0.02)
    seeded = seed_cases(settings, [
        {"models": [MODEL], "status": status, "email": f"{status}@example.org"}
        for status in ("open", "in_review", "rejected", "open", "accepted", "accepted",
                       "in_review")])
    cases = dict(zip(("open", "in_review", "rejected", "earlier", "accepted", "remediated",
                      "restricted"), (ref for ref, _ in seeded), strict=True))
    assert c.post(f"/v1/cases/{cases['restricted']}/restriction", json={}).status_code == 200
    # One remediation done (its case is remediated), one planned.
    r = c.post("/v1/remediations", json={"model": MODEL, "method": "unlearning",
                                         "cases": [cases["remediated"]]})
    assert r.status_code == 201, r.text
    done = f"/v1/remediations/{r.json()['id']}/report"
    assert c.post(done, json={"status": "running"}).status_code == 200
    r = c.post(done, json={"status": "succeeded", "version": {"label": "v2", "revision": "fix"}})
    assert r.status_code == 200, r.text
    r = c.post("/v1/remediations", json={"model": MODEL, "method": "unlearning",
                                         "cases": [cases["accepted"]]})
    assert r.status_code == 201, r.text
    # v1 was replaced by the fix (v2): v2's endpoint serves the triage run.
    for path in ("v1/endpoint", "v1/artifacts/q4/endpoint", "v2/endpoint"):
        assert c.put(f"/v1/models/{MODEL}/versions/{path}",
                     json=PROBE_ENDPOINT).status_code == 201
    runs = c.post(f"/v1/cases/{cases['open']}/probes/runs")
    assert runs.status_code == 202, runs.text
    # The runs (this one, and the regression runs the new endpoints queued) end quickly: no
    # one answers there. Wait, so that they change nothing while the tests compare.
    # So must the deliveries of v2 (the fix) and the emails: the case's recipients (Art. 19)
    # show when each was delivered.
    for _ in range(500):
        if not (sql(settings, "SELECT id FROM probe_runs WHERE status IN ('queued', 'running')")
                or sql(settings, "SELECT id FROM deliveries WHERE status = 'pending'")
                or sql(settings, "SELECT id FROM outbound_emails WHERE status = 'pending'")):
            break
        time.sleep(0.02)
    return Seeded(run_id=runs.json()["runs"][0]["id"], key_id=keys["pipeline"], cases=cases,
                  user_id=c.get("/v1/users").json()[0]["id"],
                  remediation_id=r.json()["id"],
                  event_id=hit.headers["webhook-id"], delivery_id=str(delivery["id"]),
                  subscriber_id=follower.id)


@pytest.fixture
def seeded(org_a, settings, server, receiver) -> Seeded:
    """org_a's data, made for one test (which may change it)."""
    return seed(org_a, settings, server, receiver)


@dataclass
class World:
    org_a: Org
    org_b: Org
    seeded: Seeded


@pytest.fixture(scope="module")
def world(settings, server, _receiver) -> Iterator[World]:
    """org_a's data and an org_b with one model of its own, made once and shared by the tests
    marked `shared_world` (tables are not wiped between them). Each of those tests must leave
    it as it found it, which is what they assert anyway. They come last in this module, so
    that the organisations made per test above never meet these (same slugs)."""
    _receiver.clear()
    org_a, org_b = create_org(settings, server.url, "org-a"), create_org(settings, server.url, "org-b")
    assert org_b.admin.post("/v1/models", json={"id": "beta/own", "title": "Own"}).status_code \
        == 201
    try:
        yield World(org_a, org_b, seed(org_a, settings, server, _receiver))
    finally:
        org_a.close()
        org_b.close()
        _receiver.clear()
        wipe(settings.sync_url)


def snapshot(org) -> dict[str, Any]:
    """Everything org_a could lose: its models, versions and keys, as org_a sees them."""
    c = org.admin
    models = c.get("/v1/models", params={"limit": 200}).json()["items"]
    versions = {m["id"]: c.get(f"/v1/models/{m['id']}/versions").json() for m in models}
    keys = [{k: v for k, v in key.items() if k != "last_used_at"}
            for key in c.get("/v1/api-keys").json()]
    cases = c.get("/v1/cases", params={"limit": 200}).json()["items"]
    # Without the emails: the sender marks them sent in the background.
    # Nor the probe runs: the probes job runs them in the background too.
    details = [{k: v for k, v in c.get(f"/v1/cases/{case['reference']}").json().items()
                if k not in ("notifications", "probe_runs")} for case in cases]
    remediations = c.get("/v1/remediations", params={"limit": 200}).json()["items"]
    return {"models": models, "versions": versions, "keys": keys, "cases": details,
            "remediations": remediations}


def call(c: httpx.Client, endpoint: Endpoint, params: dict[str, str]) -> httpx.Response:
    body = None if endpoint.body is None else {
        k: v.format(**params) if isinstance(v, str) else v for k, v in endpoint.body.items()}
    return c.request(endpoint.method, endpoint.path.format(**params), json=body)


# --- the table is complete and real ----------------------------------------------------------


def test_every_resource_route_is_in_the_table(server):
    """A new route that needs a key and names a resource in its path must get a row here."""
    paths = server.app.openapi()["paths"]
    routes = {
        (method.upper(), path)
        for path, operations in paths.items()
        if "{" in path and not path.startswith(SUBSCRIBER_PREFIX)
        for method, operation in operations.items() if operation.get("security")
    }
    table = {(e.method, e.path) for e in RESOURCE_ENDPOINTS.values()}
    assert routes == table, "add the missing routes to RESOURCE_ENDPOINTS"


WRITES = [name for name, e in RESOURCE_ENDPOINTS.items() if e.method != "GET"]
READS = [name for name, e in RESOURCE_ENDPOINTS.items() if e.method == "GET"]


@pytest.mark.parametrize("case", WRITES)
def test_the_owner_can_change_through_each_endpoint(org_a, seeded, case):
    """Positive control: the 404s below come from isolation, not from a wrong URL or body."""
    endpoint = RESOURCE_ENDPOINTS[case]
    role = endpoint.allowed[0]  # one successful write is enough; a second may conflict
    r = call(org_a.client(role), endpoint, seeded.params(endpoint))
    assert r.status_code in (200, 201, 202), (role, r.text)


def test_deriving_from_another_orgs_model_changes_nothing_of_it(org_a, org_b, seeded):
    before = snapshot(org_a)
    r = org_b.admin.post("/v1/models", json={"id": "tune/child", "title": "Child",
                                             "derived_from": MODEL})
    assert r.status_code == 201, r.text
    assert r.json()["derived_from"] == [MODEL]
    assert r.json()["organization"] == "org-b"
    # ... and org_b still cannot read or write the upstream model through the API.
    assert org_b.admin.get(f"/v1/models/{MODEL}").status_code == 404
    assert snapshot(org_a) == before


@pytest.mark.parametrize("role", ALL_ROLES)
def test_paging_through_models_never_reaches_another_org(org_a, org_b, role):
    for model_id in ("acme/aaa", "zzz/last"):
        assert org_a.admin.post("/v1/models", json={"id": model_id, "title": "A"}).status_code \
            == 201
    # Interleaved with org_a's in sort order (each organisation in its own namespaces).
    for model_id in ("acme-b/bbb", "beta/m", "zzy/first"):
        assert org_b.admin.post("/v1/models", json={"id": model_id, "title": "B"}).status_code \
            == 201
    c = org_b.client(role)
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 1}
    while True:
        page = c.get("/v1/models", params=params).json()
        seen += [m["id"] for m in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == ["acme-b/bbb", "beta/m", "zzy/first"]


def test_whoami_names_the_callers_organisation(org_a, org_b):
    for org in (org_a, org_b):
        for role in ALL_ROLES:
            me = org.client(role).get("/v1/me").json()
            assert me["organization"]["slug"] == org.slug
            assert me["role"] == role


# --- cases and remediations ------------------------------------------------------------------


@pytest.fixture
def two_queues(settings, org_a, org_b):
    """Each organisation has cases and a remediation of its own model."""
    mine = {}
    for org, model in ((org_a, "acme/chat"), (org_b, "beta/chat")):
        assert org.admin.post("/v1/models", json={"id": model, "title": "T"}).status_code == 201
        refs = [ref for ref, _ in seed_cases(settings, [
            {"models": [model], "status": s, "email": f"{org.slug}-{i}@example.org"}
            for i, s in enumerate(("open", "in_review", "accepted", "open"))])]
        r = org.admin.post("/v1/remediations", json={"model": model, "method": "unlearning",
                                                     "cases": [refs[2]]})
        assert r.status_code == 201, r.text
        mine[org.slug] = {"cases": set(refs), "remediations": {r.json()["id"]}}
    return mine


@pytest.mark.parametrize("role", ALL_ROLES)
def test_case_and_remediation_lists_show_only_the_callers_organisation(org_b, two_queues, role):
    c = org_b.client(role)
    cases = c.get("/v1/cases", params={"limit": 1})
    if role not in STAFF:
        assert cases.status_code == 403
    else:
        seen, params = set(), {"limit": 1}
        while True:  # page by page: the cursor never leads into org_a's queue
            page = c.get("/v1/cases", params=params).json()
            seen |= {item["reference"] for item in page["items"]}
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert seen == two_queues["org-b"]["cases"]
        # Filtering by org_a's model finds nothing, as for a model that does not exist.
        assert c.get("/v1/cases", params={"model": "acme/chat"}).json()["items"] == []
    listed = c.get("/v1/remediations")
    assert {r["id"] for r in listed.json()["items"]} == two_queues["org-b"]["remediations"]
    assert c.get("/v1/remediations", params={"model": "acme/chat"}).json()["items"] == []


def test_cases_of_another_org_cannot_be_planned_or_linked(org_a, org_b, two_queues):
    theirs = sorted(two_queues["org-a"]["cases"])
    before = snapshot(org_a)
    r = org_b.admin.post("/v1/remediations", json={"model": "beta/chat", "method": "unlearning",
                                                   "cases": theirs[:1]})
    assert r.status_code == 400 and "match no case" in r.json()["detail"]
    mine = sorted(two_queues["org-b"]["cases"])
    open_mine = next(ref for ref in mine
                     if org_b.admin.get(f"/v1/cases/{ref}").json()["status"] == "open")
    r = org_b.admin.post(f"/v1/cases/{open_mine}/duplicate", json={"of": theirs[0]})
    assert r.status_code == 404
    r = org_b.admin.post("/v1/cases/bulk", json={"action": "accept", "references": theirs})
    assert {x["error"] for x in r.json()["results"]} == {"not_found"}
    assert snapshot(org_a) == before


# --- in one world shared by the tests below (see `world`): keep them last --------------------

shared = pytest.mark.shared_world


@shared
@pytest.mark.parametrize("case", READS)
def test_the_owner_can_read_each_endpoint(world, case):
    """Positive control, as above, for every role that may read."""
    endpoint = RESOURCE_ENDPOINTS[case]
    for role in endpoint.allowed:
        r = call(world.org_a.client(role), endpoint, world.seeded.params(endpoint))
        assert r.status_code == 200, (role, r.text)


@shared
@pytest.mark.parametrize("case", RESOURCE_ENDPOINTS)
def test_other_org_gets_the_answer_for_a_missing_resource(client, world, case):
    """Each role of org_b in turn (one test per endpoint keeps the suite fast)."""
    org_a, org_b, seeded = world.org_a, world.org_b, world.seeded
    endpoint = RESOURCE_ENDPOINTS[case]
    real, missing = seeded.params(endpoint), seeded.params(endpoint, ghost=True)
    before = snapshot(org_a)

    for params in (real, missing):  # without a key: 401, before anything else
        r = call(client, endpoint, params)
        assert (r.status_code, r.json()["error"]) == (401, "unauthorized"), r.text

    for role in ALL_ROLES:
        intruder = org_b.client(role)
        r = call(intruder, endpoint, real)
        ghost = call(intruder, endpoint, missing)

        expected = (404, "not_found") if role in endpoint.allowed else (403, "forbidden")
        assert (r.status_code, r.json()["error"]) == expected, (role, r.text)
        assert (ghost.status_code, ghost.json()["error"]) == expected, (role, ghost.text)
        # Not even the wording tells the two apart.
        wording = ghost.json()["detail"].replace(GHOST_MODEL, MODEL)
        for name in ("reference", "remediation_id", "key_id", "event_id", "delivery_id",
                     "subscriber_id", "run_id"):
            wording = wording.replace(missing[name], real[name])
        assert r.json()["detail"] == wording

    assert snapshot(org_a) == before


@shared
def test_a_key_of_another_org_cannot_be_revoked_and_keeps_working(world):
    org_a, org_b, seeded = world.org_a, world.org_b, world.seeded
    r = org_b.admin.post(f"/v1/api-keys/{seeded.key_id}/revoke")
    assert r.status_code == 404, r.text
    listed = {k["id"]: k for k in org_a.admin.get("/v1/api-keys").json()}
    assert listed[seeded.key_id]["revoked_at"] is None
    pipeline = org_a.client("pipeline")
    assert pipeline.get(f"/v1/models/{MODEL}").status_code == 200


@shared
def test_other_org_patches_leave_every_field_as_it_was(world):
    org_a, org_b = world.org_a, world.org_b
    before = org_a.admin.get(f"/v1/models/{MODEL}").json()
    version_before = org_a.admin.get(f"/v1/models/{MODEL}/versions/v1").json()
    for field, value in [("title", "Hijacked"), ("licence", None), ("homepage", None),
                         ("derived_from", None), ("intake_open", False)]:
        r = org_b.admin.patch(f"/v1/models/{MODEL}", json={field: value})
        assert r.status_code == 404, (field, r.text)
    for status in ("superseded", "withdrawn"):
        r = org_b.client("pipeline").patch(f"/v1/models/{MODEL}/versions/v1",
                                           json={"status": status})
        assert r.status_code == 404, (status, r.text)
    assert org_a.admin.get(f"/v1/models/{MODEL}").json() == before
    assert org_a.admin.get(f"/v1/models/{MODEL}/versions/v1").json() == version_before


@shared
def test_other_org_cannot_take_over_an_id_with_its_own_model(world):
    """Ids are one namespace for the service: a taken id stays the first owner's."""
    org_a, org_b = world.org_a, world.org_b
    before = snapshot(org_a)
    r = org_b.admin.post("/v1/models", json={"id": MODEL, "title": "Mine now"})
    assert r.status_code == 409, r.text
    assert snapshot(org_a) == before
    assert [m["id"] for m in org_b.admin.get("/v1/models").json()["items"]] == ["beta/own"]


# --- lists -----------------------------------------------------------------------------------


@shared
@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("case", LIST_ENDPOINTS)
def test_lists_show_only_the_callers_organisation(world, case, role):
    org_a, org_b = world.org_a, world.org_b
    listing = LIST_ENDPOINTS[case]
    theirs = listing.ids(org_a.admin.get(listing.path))
    mine = listing.ids(org_b.admin.get(listing.path))

    r = org_b.client(role).get(listing.path)
    if role not in listing.allowed:
        assert r.status_code == 403, r.text
        return
    seen = listing.ids(r)
    assert seen == mine
    assert seen, "org_b's own items should be listed"
    assert not seen & theirs


@shared
@pytest.mark.parametrize("role", ALL_ROLES)
def test_deliveries_of_another_org_are_never_listed(world, role):
    org_a, org_b, seeded = world.org_a, world.org_b, world.seeded
    listed = [d["id"] for d in org_a.client(role).get("/v1/deliveries").json()["items"]]
    assert int(seeded.delivery_id) in listed
    assert org_b.client(role).get("/v1/deliveries").json()["items"] == []
    r = org_b.client(role).get("/v1/deliveries", params={"model": MODEL})
    assert r.status_code == 404
