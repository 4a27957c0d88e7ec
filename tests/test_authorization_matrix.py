"""Every provider endpoint (every operation of the app's OpenAPI that takes an API key) refuses:
no key (401), an unknown or malformed key (401), a revoked key (401), a subscriber's token
(401: a key of another kind), and a key whose role lacks the right (403). Another
organisation's key gets 404 for each resource: tests/test_tenant_isolation.py, whose table this
one extends. A new operation missing from the tables fails
`test_every_provider_operation_is_in_the_matrix`."""

from __future__ import annotations

import uuid

import pytest

from tests.propagation import quick_subscriber
from tests.test_tenant_isolation import (
    ADMIN_ONLY,
    ALL_ROLES,
    RESOURCE_ENDPOINTS,
    STAFF,
    SUBSCRIBER_PREFIX,
    Endpoint,
    call,
)

# The operations without a resource in their path, with a body that would succeed.
COLLECTION_ENDPOINTS: dict[str, Endpoint] = {
    "whoami": Endpoint("GET", "/v1/me", ALL_ROLES),
    "list_api_keys": Endpoint("GET", "/v1/api-keys", ADMIN_ONLY),
    "create_api_key": Endpoint("POST", "/v1/api-keys", ADMIN_ONLY,
                               {"name": "intruder", "role": "admin"}),
    "list_users": Endpoint("GET", "/v1/users", ADMIN_ONLY),
    "update_organization": Endpoint("PATCH", "/v1/organization", ADMIN_ONLY,
                                    {"time_zone": "Pacific/Kiritimati"}),
    "create_user": Endpoint("POST", "/v1/users", ADMIN_ONLY, {
        "email": "intruder@evil.example", "name": "Intruder", "role": "admin",
        "password": "a long enough password"}),
    "create_model": Endpoint("POST", "/v1/models", ADMIN_ONLY,
                             {"id": "acme/intruder", "title": "Intruder"}),
    "list_models": Endpoint("GET", "/v1/models", ALL_ROLES),
    "list_deliveries": Endpoint("GET", "/v1/deliveries", ALL_ROLES),
    "replay_failed_deliveries": Endpoint("POST", "/v1/deliveries/replay", ADMIN_ONLY,
                                         {"since": "2020-01-01T00:00:00Z"}),
    "list_cases": Endpoint("GET", "/v1/cases", STAFF),
    "bulk_action": Endpoint("POST", "/v1/cases/bulk", STAFF,
                            {"action": "review", "references": ["RR-0000-0000"]}),
    "plan_remediation": Endpoint("POST", "/v1/remediations", STAFF, {
        "model": "acme/base", "method": "unlearning", "cases": ["RR-0000-0000"]}),
    "list_remediations": Endpoint("GET", "/v1/remediations", ALL_ROLES),
    "register_of_requests": Endpoint("GET", "/v1/cases/register", STAFF),
    "get_privacy_notice": Endpoint("GET", "/v1/privacy-notice", ALL_ROLES),
    "set_privacy_notice": Endpoint("PUT", "/v1/privacy-notice", ADMIN_ONLY, {
        lang: {f: "x" for f in ("controller", "controller_contact", "dpo_contact", "purpose",
                                "legal_basis", "retention", "recipients", "rights")}
        for lang in ("en", "fr")}),
    "get_probe_templates": Endpoint("GET", "/v1/probes/templates?language=fr", STAFF),
    "put_probe_templates": Endpoint("PUT", "/v1/probes/templates", ADMIN_ONLY, {
        "language": "fr", "templates": ["{name} est"]}),
}
MATRIX = {**RESOURCE_ENDPOINTS, **COLLECTION_ENDPOINTS}
GHOST = {"namespace": "acme", "name": "no-such-model", "label": "v1",
         "key_id": str(uuid.uuid4()), "reference": "RR-0000-0000", "earlier": "RR-0000-0001",
         "remediation_id": str(uuid.uuid4()), "event_id": str(uuid.uuid4()),
         "delivery_id": "987654321", "subscriber_id": str(uuid.uuid4()),
         "artifact": "q4", "run_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4())}


def test_every_provider_operation_is_in_the_matrix(server):
    paths = server.app.openapi()["paths"]
    provider = {
        (method.upper(), path)
        for path, ops in paths.items()
        for method, op in ops.items() if {"HTTPBearer": []} in op.get("security", [])
    }
    assert not any(p.startswith(SUBSCRIBER_PREFIX) for _, p in provider)
    assert provider == {(e.method, e.path.split("?")[0]) for e in MATRIX.values()}, \
        "add the missing operations to COLLECTION_ENDPOINTS or RESOURCE_ENDPOINTS"


@pytest.fixture
def revoked_key(org_a) -> str:
    r = org_a.admin.post("/v1/api-keys", json={"name": "leaving", "role": "admin"})
    assert r.status_code == 201, r.text
    key, key_id = r.json()["key"], r.json()["id"]
    assert org_a.admin.post(f"/v1/api-keys/{key_id}/revoke").status_code == 200
    return key


@pytest.fixture
def subscriber_token(server, org_a, receiver) -> str:
    assert org_a.admin.post("/v1/models", json={"id": "acme/m", "title": "M"}).status_code == 201
    return quick_subscriber(server.settings, server.url, ["acme/m"],
                            [receiver.url("/authz")]).token


@pytest.mark.parametrize("name", MATRIX)
def test_each_provider_operation_refuses_whoever_has_no_right(client, org_a, revoked_key,
                                                             subscriber_token, name):
    endpoint = MATRIX[name]
    credentials = {"no key": None, "malformed": "Bearer", "unknown key": "Bearer rr_x_y",
                   "wrong scheme": f"Basic {org_a.keys['admin']}",
                   "revoked key": f"Bearer {revoked_key}",
                   "subscriber token": f"Bearer {subscriber_token}"}
    for what, value in credentials.items():
        headers = {} if value is None else {"Authorization": value}
        client.headers.clear()
        client.headers.update(headers)
        r = call(client, endpoint, GHOST)
        assert (r.status_code, r.json()["error"]) == (401, "unauthorized"), (what, r.text)
        assert r.headers["www-authenticate"] == "Bearer", what
    for role in set(ALL_ROLES) - set(endpoint.allowed):
        r = call(org_a.client(role), endpoint, GHOST)
        assert (r.status_code, r.json()["error"]) == (403, "forbidden"), (role, r.text)
