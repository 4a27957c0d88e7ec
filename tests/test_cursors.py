"""Every pagination cursor is checked: random and hostile cursors thrown at every paginated
operation, API and dashboard, get a 200 (a cursor this list gave out) or a 422
`invalid_cursor`, never a 500 (property-based, with Hypothesis)."""

from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.pagination import decode_cursor, encode_cursor
from tests.propagation import quick_subscriber
from tests.support import TLS
from tests.test_web_signin import HTML, sign_in


def _raw(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


ODD_DATES = [
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00",
    "2024-02-30T00:00:00+00:00", "2024-01-01", "2024-01-01T00:00:00Z", "1e309", "",
    "2024-01-01T00:00:00.000000+00:00", "+002024-01-01T00:00:00+00:00", "\u0661\u0662",
]
ODD_IDS = ["{12345678-1234-5678-1234-567812345678}", "urn:uuid:12345678-1234-5678-1234-567812345678",
           "12345678123456781234567812345678", "00000000-0000-0000-0000-000000000000"]
atoms = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80), st.sampled_from([2**63, 2**63 - 1, -1, 0]),
    st.booleans(), st.none(), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(ODD_DATES + ODD_IDS + ["\ud800", "a\x00b", "x" * 300]),
    st.datetimes(timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=14))])).map(
        lambda d: d.isoformat()),
    st.uuids().map(str), st.text(max_size=20),
)
values = st.recursive(atoms, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=5), inner, max_size=2), max_leaves=6)
hostile_cursors = st.one_of(
    st.lists(values, min_size=0, max_size=3).map(_raw),           # well-encoded, wrong values
    st.lists(values, max_size=3).map(encode_cursor),
    values.map(_raw),                                              # not even a list
    st.binary(max_size=60).map(lambda b: base64.urlsafe_b64encode(b).decode()),
    st.text(max_size=80),                                          # not even base64
    st.lists(values, min_size=1, max_size=2).map(lambda v: _raw(v) + "=="),
)

API = ["/v1/models", "/v1/public/models", "/v1/deliveries", "/v1/subscriber/deliveries",
       "/v1/cases", "/v1/remediations"]
DASHBOARD = ["/dashboard/cases", "/dashboard/remediations"]


def test_the_list_of_paginated_operations_is_complete(repo_root):
    spec = json.loads((repo_root / "openapi" / "openapi.json").read_text())
    paginated = sorted(p for p, ops in spec["paths"].items() for op in ops.values()
                       if any(x.get("name") == "cursor" for x in op.get("parameters", [])))
    assert paginated == sorted(API)


@pytest.fixture
def callers(server, org_a, receiver):
    org_a.admin.post("/v1/models", json={"id": "acme/cursors", "title": "Cursors"})
    sub = quick_subscriber(server.settings, server.url, ["acme/cursors"], [receiver.url("/c")])
    web = httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30)
    assert sign_in(web, org_a.admin_email, org_a.admin_password).status_code == 303
    subscriber = httpx.Client(verify=TLS, base_url=server.url, timeout=30,
                              headers={"Authorization": f"Bearer {sub.token}"})
    yield {"admin": org_a.admin, "subscriber": subscriber, "web": web}
    web.close()
    subscriber.close()


def _caller(path: str) -> str:
    if path.startswith("/dashboard"):
        return "web"
    return "subscriber" if path.startswith("/v1/subscriber") else "admin"


@pytest.mark.parametrize("path", API + DASHBOARD)
def test_hostile_cursors_are_422_never_500(callers, path):
    client = callers[_caller(path)]

    @settings(max_examples=70, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(cursor=hostile_cursors.filter(lambda c: len(c) <= 500))
    def check(cursor: str) -> None:
        r = client.get(path, params={"cursor": cursor})
        assert r.status_code in (200, 422), (cursor, r.status_code, r.text[:300])
        if r.status_code == 422 and not path.startswith("/dashboard"):
            assert r.json()["error"] == "invalid_cursor", r.text
        if r.status_code == 422 and path.startswith("/dashboard"):
            assert "Some information was not valid" in r.text

    check()


@pytest.mark.parametrize("kinds,values", [
    ((int,), [True]), ((int,), [2**63]), ((int,), [-1]), ((int,), [1.0]),
    ((str, str), ["a", "\ud800"]), ((str, str), ["a\x00", "b"]),
    ((datetime, uuid.UUID), ["0001-01-01T00:00:00+14:00", "12345678-1234-5678-1234-567812345678"]),
    ((datetime, uuid.UUID), ["2024-01-01T00:00:00+00:00", "{12345678-1234-5678-1234-567812345678}"]),
])
def test_a_cursor_decodes_only_to_the_exact_values_it_was_made_of(kinds, values):
    from app.errors import InvalidCursor

    with pytest.raises(InvalidCursor):
        decode_cursor(_raw(values), *kinds)


def test_a_cursor_the_list_gave_out_pages_on(org_a):
    for i in range(3):
        org_a.admin.post("/v1/models", json={"id": f"acme/m{i}", "title": f"M{i}"})
    first = org_a.admin.get("/v1/models", params={"limit": 2}).json()
    assert re.fullmatch(r"[A-Za-z0-9_-]+", first["next_cursor"])
    second = org_a.admin.get("/v1/models", params={"limit": 2, "cursor": first["next_cursor"]})
    assert second.status_code == 200
    assert [m["id"] for m in second.json()["items"]] == ["acme/m2"]
