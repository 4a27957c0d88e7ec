"""The model registry as a provider and the public see it: models, versions, paging, roles."""

from __future__ import annotations

import base64
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
import pytest

from tests.support import TLS

SHA_A = "a" * 64
SHA_B = "0123456789abcdef" * 4


# --- helpers ---------------------------------------------------------------------------------


def assert_error(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def assert_invalid(r: httpx.Response, field: str) -> dict:
    """A 422 that names `field` among the invalid fields."""
    body = assert_error(r, 422, "validation_error")
    assert field in {f["field"] for f in body["fields"]}, body
    return body


def create_model(c: httpx.Client, model_id: str = "acme/chat-7b", **fields) -> dict:
    r = c.post("/v1/models", json={"id": model_id, "title": f"Title of {model_id}", **fields})
    assert r.status_code == 201, r.text
    return r.json()


def create_version(c: httpx.Client, model_id: str, label: str, **fields) -> dict:
    body = {"label": label, "revision": f"rev-{label}", **fields}
    r = c.post(f"/v1/models/{model_id}/versions", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def version_url(model_id: str, label: str) -> str:
    return f"/v1/models/{model_id}/versions/{quote(label, safe='')}"


def cursor_of(values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def all_ids(c: httpx.Client, path: str, limit: int) -> list[str]:
    """Follow `next_cursor` to the end, returning every id in order."""
    ids: list[str] = []
    params: dict[str, object] = {"limit": limit}
    for _ in range(100):
        r = c.get(path, params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= limit
        ids += [m["id"] for m in page["items"]]
        if page["next_cursor"] is None:
            return ids
        params["cursor"] = page["next_cursor"]
    raise AssertionError("pagination never ended")


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


# --- creating and reading models -------------------------------------------------------------


def test_created_model_is_returned_and_readable(org_a):
    r = org_a.admin.post("/v1/models", json={
        "id": "acme/chat-7b", "title": "Acme Chat 7B", "licence": "apache-2.0",
        "homepage": "https://huggingface.co/acme/chat-7b", "intake_open": False,
    })
    assert r.status_code == 201, r.text
    created = r.json()
    assert {k: v for k, v in created.items() if k not in ("created_at", "updated_at")} == {
        "id": "acme/chat-7b", "title": "Acme Chat 7B", "licence": "Apache-2.0",
        "homepage": "https://huggingface.co/acme/chat-7b", "derived_from": [], "parents": [],
        "intake_open": False, "gated": False, "declared_by_subscriber": False,
        "organization": "org-a",
    }
    assert ts(created["created_at"]).tzinfo is not None
    assert abs(ts(created["created_at"]) - datetime.now(UTC)) < timedelta(minutes=5)

    got = org_a.admin.get("/v1/models/acme/chat-7b")
    assert got.status_code == 200
    assert got.json() == created
    listed = org_a.admin.get("/v1/models").json()
    assert listed == {"items": [created], "next_cursor": None}


def test_optional_fields_default_to_empty_and_intake_open(org_a):
    created = create_model(org_a.admin, "acme/minimal")
    assert created["licence"] is None
    assert created["homepage"] is None
    assert created["derived_from"] == []
    assert created["intake_open"] is True
    assert created["gated"] is False


def test_every_role_of_the_organisation_can_read_its_models(org_a):
    created = create_model(org_a.admin, "acme/chat-7b")
    for role in ("admin", "reviewer", "pipeline"):
        c = org_a.client(role)
        assert c.get("/v1/models/acme/chat-7b").json() == created
        assert [m["id"] for m in c.get("/v1/models").json()["items"]] == ["acme/chat-7b"]


def test_unknown_model_is_404(org_a):
    assert_error(org_a.admin.get("/v1/models/acme/nothing"), 404, "not_found")


@pytest.mark.parametrize("model_id", [
    "a/b",
    "Acme.Labs/Chat_7B-v1.5",
    "x" * 96 + "/" + "y" * 96,
    "0/9",
])
def test_valid_model_ids_are_accepted(org_a, model_id):
    assert create_model(org_a.admin, model_id, title="Edge case")["id"] == model_id
    namespace, name = model_id.split("/")
    assert org_a.admin.get(f"/v1/models/{namespace}/{name}").json()["id"] == model_id


@pytest.mark.parametrize("model_id", [
    "",
    "no-slash",
    "a/b/c",
    "/name",
    "namespace/",
    "-acme/chat",
    "acme/chat-",
    "acme/.chat",
    "acme./chat",
    "acme/chat_",
    "ac me/chat",
    "acme/ch@t",
    "acme/chat\n",
    "acmé/chat",
    "acme/a..b",
    "a..b/chat",
    "x" * 97 + "/chat",
    "acme/" + "y" * 97,
])
def test_invalid_model_ids_are_422_naming_the_id(org_a, model_id):
    r = org_a.admin.post("/v1/models", json={"id": model_id, "title": "t"})
    assert_invalid(r, "id")
    assert org_a.admin.get("/v1/models").json()["items"] == []


def test_invalid_derived_from_id_is_422_naming_it(org_a):
    r = org_a.admin.post("/v1/models", json={"id": "acme/child", "title": "t",
                                             "derived_from": "acme/a..b"})
    assert_invalid(r, "derived_from.0")


@pytest.mark.parametrize("title", ["", "t" * 201, None, 42])
def test_title_is_required_and_at_most_200_characters(org_a, title):
    assert_invalid(org_a.admin.post("/v1/models", json={"id": "acme/m", "title": title}), "title")


def test_title_of_exactly_200_characters_is_accepted(org_a):
    assert create_model(org_a.admin, "acme/m", title="t" * 200)["title"] == "t" * 200


def test_missing_title_is_422(org_a):
    assert_invalid(org_a.admin.post("/v1/models", json={"id": "acme/m"}), "title")


def test_licence_is_at_most_100_characters(org_a):
    r = org_a.admin.post("/v1/models", json={"id": "acme/m", "title": "t", "licence": "l" * 101})
    assert_invalid(r, "licence")
    long_ref = "LicenseRef-" + "l" * 89
    assert create_model(org_a.admin, "acme/m", licence=long_ref)["licence"] == long_ref


@pytest.mark.parametrize("homepage", [
    "not a url",
    "example.com",
    "ftp://example.com/model",
    "javascript:alert(1)",
    "https://",
    "https://example.com/" + "p" * 2100,
])
def test_homepage_must_be_an_http_url(org_a, homepage):
    r = org_a.admin.post("/v1/models", json={"id": "acme/m", "title": "t", "homepage": homepage})
    assert_invalid(r, "homepage")


@pytest.mark.parametrize("field", ["title", "licence"])
def test_text_with_a_nul_character_is_refused_not_a_server_error(org_a, field):
    # PostgreSQL cannot store NUL in text; it must be refused on every database alike.
    r = org_a.admin.post("/v1/models", json={"id": "acme/m", "title": "t", field: "a\x00b"})
    assert_invalid(r, field)


def test_duplicate_model_id_is_409_and_leaves_the_first_unchanged(org_a):
    first = create_model(org_a.admin, "acme/chat-7b", title="First")
    r = org_a.admin.post("/v1/models", json={"id": "acme/chat-7b", "title": "Second"})
    assert_error(r, 409, "conflict")
    assert org_a.admin.get("/v1/models/acme/chat-7b").json() == first


def test_model_ids_are_unique_across_organisations(org_a, org_b):
    first = create_model(org_a.admin, "acme/chat-7b")
    assert_error(org_b.admin.post("/v1/models", json={"id": "acme/chat-7b", "title": "Mine"}),
                 409, "conflict")
    assert org_a.admin.get("/v1/models/acme/chat-7b").json() == first
    assert org_b.admin.get("/v1/models").json()["items"] == []


def test_concurrent_creation_of_one_id_gives_one_201_and_409s(org_a, server):
    n = 8
    barrier = threading.Barrier(n)

    def attempt(i: int) -> int:
        with httpx.Client(verify=TLS, base_url=server.url, headers=org_a.admin.headers, timeout=60) as c:
            barrier.wait()
            return c.post("/v1/models", json={"id": "acme/race", "title": f"T{i}"}).status_code

    with ThreadPoolExecutor(n) as pool:
        statuses = sorted(pool.map(attempt, range(n)))
    assert statuses == [201] + [409] * (n - 1)


# --- lineage (derived_from) ------------------------------------------------------------------


def test_derived_from_names_an_existing_model(org_a):
    create_model(org_a.admin, "acme/base")
    child = create_model(org_a.admin, "acme/chat", derived_from="acme/base")
    assert child["derived_from"] == ["acme/base"]
    assert child["parents"] == [{"id": "acme/base", "relation": None}]
    assert org_a.admin.get("/v1/models/acme/chat").json()["derived_from"] == ["acme/base"]


def test_derived_from_an_unknown_model_is_400_and_creates_nothing(org_a):
    r = org_a.admin.post("/v1/models", json={"id": "acme/chat", "title": "t",
                                             "derived_from": "acme/missing"})
    body = assert_error(r, 400, "bad_request")
    assert "derived_from" in body["detail"]
    assert_error(org_a.admin.get("/v1/models/acme/chat"), 404, "not_found")


def test_derived_from_may_name_another_organisations_model(org_a, org_b):
    upstream = create_model(org_a.admin, "meta/base-70b", intake_open=False)
    child = create_model(org_b.admin, "tune/chat-70b", derived_from="meta/base-70b")
    assert child["derived_from"] == ["meta/base-70b"]
    assert child["organization"] == "org-b"
    # The upstream model is untouched and still org_a's alone.
    assert org_a.admin.get("/v1/models/meta/base-70b").json() == upstream
    assert [m["id"] for m in org_a.admin.get("/v1/models").json()["items"]] == ["meta/base-70b"]


def test_a_model_cannot_derive_from_itself(org_a):
    before = create_model(org_a.admin, "acme/base")
    r = org_a.admin.patch("/v1/models/acme/base", json={"derived_from": "acme/base"})
    body = assert_error(r, 400, "bad_request")
    assert "cycle" in body["detail"]
    assert org_a.admin.get("/v1/models/acme/base").json() == before


def test_a_transitive_lineage_cycle_is_refused(org_a):
    root = create_model(org_a.admin, "acme/root")
    create_model(org_a.admin, "acme/mid", derived_from="acme/root")
    create_model(org_a.admin, "acme/leaf", derived_from="acme/mid")
    r = org_a.admin.patch("/v1/models/acme/root", json={"derived_from": "acme/leaf"})
    body = assert_error(r, 400, "bad_request")
    assert "cycle" in body["detail"]
    assert org_a.admin.get("/v1/models/acme/root").json() == root


def test_a_cycle_through_another_organisations_model_is_refused(org_a, org_b):
    create_model(org_a.admin, "acme/base")
    create_model(org_b.admin, "tune/child", derived_from="acme/base")
    r = org_a.admin.patch("/v1/models/acme/base", json={"derived_from": "tune/child"})
    assert_error(r, 400, "bad_request")
    assert org_a.admin.get("/v1/models/acme/base").json()["derived_from"] == []


def test_relinking_to_a_model_that_is_not_a_descendant_is_allowed(org_a):
    create_model(org_a.admin, "acme/a")
    create_model(org_a.admin, "acme/b", derived_from="acme/a")
    create_model(org_a.admin, "acme/c", derived_from="acme/b")
    # c skips b and derives from a directly: a diamond, not a cycle.
    r = org_a.admin.patch("/v1/models/acme/c", json={"derived_from": "acme/a"})
    assert r.status_code == 200, r.text
    assert r.json()["derived_from"] == ["acme/a"]


# --- updating models -------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value", "shown"), [
    ("title", "Renamed model", "Renamed model"),
    ("licence", "mit", "MIT"),
    ("homepage", "https://example.org/models/chat", "https://example.org/models/chat"),
    ("intake_open", False, False),
    ("derived_from", "acme/base", ["acme/base"]),
])
def test_patch_changes_one_field_and_nothing_else(org_a, field, value, shown):
    create_model(org_a.admin, "acme/base")
    before = create_model(org_a.admin, "acme/chat", licence="apache-2.0",
                          homepage="https://example.com/chat")
    r = org_a.admin.patch("/v1/models/acme/chat", json={field: value})
    assert r.status_code == 200, r.text
    after = r.json()
    assert after[field] == shown
    unchanged = {k for k in before if k not in (field, "updated_at", "parents")}
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    assert ts(after["updated_at"]) > ts(before["updated_at"])
    assert org_a.admin.get("/v1/models/acme/chat").json() == after


def test_patch_can_reopen_intake(org_a):
    create_model(org_a.admin, "acme/chat", intake_open=False)
    r = org_a.admin.patch("/v1/models/acme/chat", json={"intake_open": True})
    assert r.status_code == 200
    assert r.json()["intake_open"] is True


@pytest.mark.parametrize("field", ["licence", "homepage", "derived_from"])
def test_patch_with_null_clears_an_optional_field(org_a, field):
    create_model(org_a.admin, "acme/base")
    create_model(org_a.admin, "acme/chat", licence="mit", homepage="https://example.com/c",
                 derived_from="acme/base")
    r = org_a.admin.patch("/v1/models/acme/chat", json={field: None})
    assert r.status_code == 200, r.text
    cleared = [] if field == "derived_from" else None
    assert r.json()[field] == cleared
    got = org_a.admin.get("/v1/models/acme/chat").json()
    assert got[field] == cleared
    others = {"licence", "homepage", "derived_from"} - {field}
    assert all(got[k] for k in others)


def test_patch_without_a_field_leaves_it_alone(org_a):
    create_model(org_a.admin, "acme/base")
    create_model(org_a.admin, "acme/chat", licence="mit", derived_from="acme/base")
    r = org_a.admin.patch("/v1/models/acme/chat", json={"title": "New"})
    assert r.json()["licence"] == "MIT"
    assert r.json()["derived_from"] == ["acme/base"]


@pytest.mark.parametrize("field", ["title", "intake_open"])
def test_patch_refuses_null_for_a_required_field(org_a, field):
    before = create_model(org_a.admin, "acme/chat")
    assert_invalid(org_a.admin.patch("/v1/models/acme/chat", json={field: None}), field)
    assert org_a.admin.get("/v1/models/acme/chat").json() == before


@pytest.mark.parametrize(("field", "value"), [
    ("title", ""),
    ("title", "t" * 201),
    ("licence", "l" * 101),
    ("homepage", "not a url"),
    ("derived_from", "not-an-id"),
    ("derived_from", ["acme/ok", "not-an-id"]),
    ("derived_from", 42),
    ("intake_open", "sometimes"),
    ("gated", "sometimes"),
])
def test_patch_validates_like_create(org_a, field, value):
    before = create_model(org_a.admin, "acme/chat")
    body = assert_error(org_a.admin.patch("/v1/models/acme/chat", json={field: value}), 422,
                        "validation_error")
    assert any(f["field"].split(".")[0] == field for f in body["fields"]), body
    assert org_a.admin.get("/v1/models/acme/chat").json() == before


def test_patch_derived_from_unknown_model_is_400(org_a):
    before = create_model(org_a.admin, "acme/chat")
    r = org_a.admin.patch("/v1/models/acme/chat", json={"derived_from": "acme/missing"})
    assert_error(r, 400, "bad_request")
    assert org_a.admin.get("/v1/models/acme/chat").json() == before


def test_patch_of_an_unknown_model_is_404(org_a):
    assert_error(org_a.admin.patch("/v1/models/acme/ghost", json={"title": "x"}), 404, "not_found")


# --- keyset pagination -----------------------------------------------------------------------


def test_pages_follow_the_cursor_in_id_order_without_gaps_or_repeats(org_a):
    ids = ["zeta/m", "acme/b", "acme/a", "beta/x-1", "acme/c", "beta/x"]
    for model_id in ids:
        create_model(org_a.admin, model_id)
    expected = sorted(ids)
    for limit in (1, 2, 4, 5, 6, 200):
        assert all_ids(org_a.admin, "/v1/models", limit) == expected, limit


def test_a_page_that_exactly_fits_has_no_next_cursor(org_a):
    for model_id in ("acme/a", "acme/b"):
        create_model(org_a.admin, model_id)
    first = org_a.admin.get("/v1/models", params={"limit": 1}).json()
    assert [m["id"] for m in first["items"]] == ["acme/a"]
    assert first["next_cursor"] is not None
    second = org_a.admin.get("/v1/models", params={"limit": 1, "cursor": first["next_cursor"]})
    assert second.json() == {"items": [org_a.admin.get("/v1/models/acme/b").json()],
                             "next_cursor": None}
    whole = org_a.admin.get("/v1/models", params={"limit": 2}).json()
    assert whole["next_cursor"] is None


def test_a_cursor_still_works_when_models_are_added_before_it(org_a):
    for model_id in ("acme/b", "acme/c", "acme/d"):
        create_model(org_a.admin, model_id)
    first = org_a.admin.get("/v1/models", params={"limit": 1}).json()
    create_model(org_a.admin, "acme/a")  # sorts before the cursor: not seen on later pages
    rest = org_a.admin.get("/v1/models", params={"limit": 10, "cursor": first["next_cursor"]})
    assert [m["id"] for m in rest.json()["items"]] == ["acme/c", "acme/d"]


def test_default_page_size_is_50(org_a):
    for i in range(51):
        create_model(org_a.admin, f"acme/m{i:02d}")
    page = org_a.admin.get("/v1/models").json()
    assert len(page["items"]) == 50
    assert page["next_cursor"] is not None


@pytest.mark.parametrize("limit", [0, -1, 201, "ten"])
def test_limit_out_of_range_is_422_naming_limit(org_a, limit):
    body = assert_invalid(org_a.admin.get("/v1/models", params={"limit": limit}), "limit")
    assert body["fields"][0]["location"] == "query"


@pytest.mark.parametrize("limit", [1, 200])
def test_limit_bounds_are_inclusive(org_a, limit):
    assert org_a.admin.get("/v1/models", params={"limit": limit}).status_code == 200


@pytest.mark.parametrize("cursor", [
    "!!!",
    "not base64 at all",
    cursor_of({"namespace": "acme"}),
    cursor_of(["acme"]),
    cursor_of(["acme", "b", "c"]),
    cursor_of([1, 2]),
    cursor_of(["acme", None]),
    cursor_of(["a\x00", "b"]),
    base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
])
def test_an_invalid_cursor_is_422_invalid_cursor(org_a, cursor):
    create_model(org_a.admin, "acme/a")
    for path in ("/v1/models", "/v1/public/models"):
        assert_error(org_a.admin.get(path, params={"cursor": cursor}), 422, "invalid_cursor")


def test_an_overlong_cursor_is_422(org_a):
    assert_invalid(org_a.admin.get("/v1/models", params={"cursor": "A" * 501}), "cursor")


# --- versions --------------------------------------------------------------------------------


def test_version_is_created_with_digests_and_read_back(org_a):
    create_model(org_a.admin, "acme/chat")
    released = datetime(2024, 5, 1, 14, 30, tzinfo=UTC)
    r = org_a.admin.post("/v1/models/acme/chat/versions", json={
        "label": "v1.1", "revision": "4f2c9e1",
        "digests": [{"file": "model.safetensors", "sha256": SHA_A},
                    {"file": "tokenizer.json", "sha256": SHA_B}],
        "released_at": "2024-05-01T16:30:00+02:00",
    })
    assert r.status_code == 201, r.text
    v = r.json()
    assert {k: v[k] for k in ("model", "label", "revision", "digests", "status")} == {
        "model": "acme/chat", "label": "v1.1", "revision": "4f2c9e1",
        "digests": [{"file": "model.safetensors", "sha256": SHA_A},
                    {"file": "tokenizer.json", "sha256": SHA_B}],
        "status": "current",
    }
    assert ts(v["released_at"]) == released
    assert org_a.admin.get("/v1/models/acme/chat/versions/v1.1").json() == v
    assert org_a.admin.get("/v1/models/acme/chat/versions").json() == [v]


def test_version_defaults_to_no_digests_released_now(org_a):
    create_model(org_a.admin, "acme/chat")
    v = create_version(org_a.admin, "acme/chat", "v1")
    assert v["digests"] == []
    assert v["status"] == "current"
    assert abs(ts(v["released_at"]) - datetime.now(UTC)) < timedelta(minutes=5)


def test_version_may_be_registered_already_superseded(org_a):
    create_model(org_a.admin, "acme/chat")
    assert create_version(org_a.admin, "acme/chat", "v0", status="superseded")["status"] == \
        "superseded"


@pytest.mark.parametrize("sha256", [
    SHA_A.upper(),
    "A" + SHA_A[1:],
    SHA_A[:63],
    SHA_A + "a",
    "g" * 64,
    "sha256:" + SHA_A,
    " " + SHA_A[1:],
    "",
])
def test_digest_sha256_must_be_64_lowercase_hex(org_a, sha256):
    create_model(org_a.admin, "acme/chat")
    r = org_a.admin.post("/v1/models/acme/chat/versions", json={
        "label": "v1", "revision": "r",
        "digests": [{"file": "ok.bin", "sha256": SHA_A}, {"file": "bad.bin", "sha256": sha256}],
    })
    assert_invalid(r, "digests.1.sha256")
    assert org_a.admin.get("/v1/models/acme/chat/versions").json() == []


@pytest.mark.parametrize("digest", [{"sha256": SHA_A}, {"file": "", "sha256": SHA_A}])
def test_digest_needs_a_file_name(org_a, digest):
    create_model(org_a.admin, "acme/chat")
    r = org_a.admin.post("/v1/models/acme/chat/versions",
                         json={"label": "v1", "revision": "r", "digests": [digest]})
    assert_invalid(r, "digests.0.file")


@pytest.mark.parametrize("label", ["", " v1", "v1/2", "l" * 101, ".", "..", "v1\x00"])
def test_invalid_version_labels_are_422(org_a, label):
    create_model(org_a.admin, "acme/chat")
    r = org_a.admin.post("/v1/models/acme/chat/versions", json={"label": label, "revision": "r"})
    assert_invalid(r, "label")


@pytest.mark.parametrize("revision", ["", "r" * 201, None])
def test_revision_is_required_and_at_most_200_characters(org_a, revision):
    create_model(org_a.admin, "acme/chat")
    r = org_a.admin.post("/v1/models/acme/chat/versions", json={"label": "v1", "revision": revision})
    assert_invalid(r, "revision")


@pytest.mark.parametrize("label", ["v1.0+build.7", "2024-05 release", "v1?#%&=", "é-1", "...v"])
def test_labels_with_url_special_characters_round_trip(org_a, label):
    create_model(org_a.admin, "acme/chat")
    created = create_version(org_a.admin, "acme/chat", label)
    r = org_a.admin.get(version_url("acme/chat", label))
    assert r.status_code == 200, r.text
    assert r.json() == created
    r = org_a.admin.patch(version_url("acme/chat", label), json={"status": "withdrawn"})
    assert r.json()["status"] == "withdrawn"


def test_duplicate_label_is_409_and_keeps_the_first(org_a):
    create_model(org_a.admin, "acme/chat")
    first = create_version(org_a.admin, "acme/chat", "v1", revision="first")
    r = org_a.admin.post("/v1/models/acme/chat/versions", json={"label": "v1", "revision": "2nd"})
    assert_error(r, 409, "conflict")
    assert org_a.admin.get("/v1/models/acme/chat/versions").json() == [first]


def test_the_same_label_may_be_used_by_different_models(org_a):
    create_model(org_a.admin, "acme/chat")
    create_model(org_a.admin, "acme/code")
    create_version(org_a.admin, "acme/chat", "v1")
    assert create_version(org_a.admin, "acme/code", "v1")["model"] == "acme/code"


def test_concurrent_creation_of_one_label_gives_one_201_and_409s(org_a, server):
    create_model(org_a.admin, "acme/chat")
    n = 8
    barrier = threading.Barrier(n)

    def attempt(i: int) -> int:
        with httpx.Client(verify=TLS, base_url=server.url, headers=org_a.admin.headers, timeout=60) as c:
            barrier.wait()
            return c.post("/v1/models/acme/chat/versions",
                          json={"label": "v1", "revision": f"r{i}"}).status_code

    with ThreadPoolExecutor(n) as pool:
        statuses = sorted(pool.map(attempt, range(n)))
    assert statuses == [201] + [409] * (n - 1)
    assert len(org_a.admin.get("/v1/models/acme/chat/versions").json()) == 1


def test_versions_are_listed_newest_release_first_then_by_label(org_a):
    create_model(org_a.admin, "acme/chat")
    create_version(org_a.admin, "acme/chat", "v1", released_at="2024-01-01T00:00:00Z")
    create_version(org_a.admin, "acme/chat", "v3", released_at="2024-06-01T00:00:00Z")
    create_version(org_a.admin, "acme/chat", "v0", released_at="2023-01-01T00:00:00Z")
    create_version(org_a.admin, "acme/chat", "v2", released_at="2024-06-01T00:00:00Z")
    # 23:30 at UTC-3 is 02:30 UTC the next day: newest of all.
    create_version(org_a.admin, "acme/chat", "v4", released_at="2024-06-01T23:30:00-03:00")
    labels = [v["label"] for v in org_a.admin.get("/v1/models/acme/chat/versions").json()]
    assert labels == ["v4", "v2", "v3", "v1", "v0"]


def test_versions_of_another_model_are_not_listed(org_a):
    create_model(org_a.admin, "acme/chat")
    create_model(org_a.admin, "acme/code")
    create_version(org_a.admin, "acme/code", "v1")
    assert org_a.admin.get("/v1/models/acme/chat/versions").json() == []
    assert_error(org_a.admin.get("/v1/models/acme/chat/versions/v1"), 404, "not_found")


def test_versions_of_an_unknown_model_are_404(org_a):
    assert_error(org_a.admin.get("/v1/models/acme/ghost/versions"), 404, "not_found")
    assert_error(org_a.admin.post("/v1/models/acme/ghost/versions",
                                  json={"label": "v1", "revision": "r"}), 404, "not_found")
    assert_error(org_a.admin.get("/v1/models/acme/ghost/versions/v1"), 404, "not_found")
    assert_error(org_a.admin.patch("/v1/models/acme/ghost/versions/v1",
                                   json={"status": "withdrawn"}), 404, "not_found")


def test_unknown_label_is_404(org_a):
    create_model(org_a.admin, "acme/chat")
    assert_error(org_a.admin.get("/v1/models/acme/chat/versions/v9"), 404, "not_found")
    assert_error(org_a.admin.get("/v1/models/acme/chat/versions/v%009"), 404, "not_found")
    assert_error(org_a.admin.patch("/v1/models/acme/chat/versions/v9",
                                   json={"status": "withdrawn"}), 404, "not_found")


@pytest.mark.parametrize("released_at", [
    "2024-05-01T12:00:00",
    "2024-05-01 12:00:00",
    "2024-05-01",
    "yesterday",
])
def test_released_at_must_be_a_timezone_aware_timestamp(org_a, released_at):
    create_model(org_a.admin, "acme/chat")
    r = org_a.admin.post("/v1/models/acme/chat/versions",
                         json={"label": "v1", "revision": "r", "released_at": released_at})
    assert_invalid(r, "released_at")


# --- version status --------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    ["superseded"],
    ["withdrawn"],
    ["superseded", "withdrawn"],
])
def test_allowed_status_transitions(org_a, path):
    create_model(org_a.admin, "acme/chat")
    before = create_version(org_a.admin, "acme/chat", "v1")
    create_version(org_a.admin, "acme/chat", "v2")  # what supersedes v1
    for status in path:
        r = org_a.admin.patch("/v1/models/acme/chat/versions/v1", json={"status": status})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == status
    after = org_a.admin.get("/v1/models/acme/chat/versions/v1").json()
    assert after["status"] == path[-1]
    assert ts(after["updated_at"]) > ts(before["updated_at"])
    assert {k: after[k] for k in ("label", "revision", "digests", "released_at")} == \
        {k: before[k] for k in ("label", "revision", "digests", "released_at")}


@pytest.mark.parametrize(("start", "target"), [
    ("withdrawn", "current"),
    ("withdrawn", "superseded"),
    ("superseded", "current"),
])
def test_refused_status_transitions_are_409_invalid_transition(org_a, start, target):
    create_model(org_a.admin, "acme/chat")
    create_version(org_a.admin, "acme/chat", "v1")
    create_version(org_a.admin, "acme/chat", "v2")
    if start == "withdrawn":
        org_a.admin.patch("/v1/models/acme/chat/versions/v1", json={"status": "superseded"})
    assert org_a.admin.patch("/v1/models/acme/chat/versions/v1",
                             json={"status": start}).json()["status"] == start
    before = org_a.admin.get("/v1/models/acme/chat/versions/v1").json()
    r = org_a.admin.patch("/v1/models/acme/chat/versions/v1", json={"status": target})
    assert_error(r, 409, "invalid_transition")
    assert org_a.admin.get("/v1/models/acme/chat/versions/v1").json() == before


@pytest.mark.parametrize("status", ["current", "superseded", "withdrawn"])
def test_setting_the_same_status_again_is_a_no_op(org_a, status):
    create_model(org_a.admin, "acme/chat")
    before = create_version(org_a.admin, "acme/chat", "v1", status=status)
    r = org_a.admin.patch("/v1/models/acme/chat/versions/v1", json={"status": status})
    assert r.status_code == 200, r.text
    assert r.json() == before


@pytest.mark.parametrize("body", [{}, {"status": "deleted"}, {"status": None}])
def test_status_update_must_name_a_known_status(org_a, body):
    create_model(org_a.admin, "acme/chat")
    create_version(org_a.admin, "acme/chat", "v1")
    assert_invalid(org_a.admin.patch("/v1/models/acme/chat/versions/v1", json=body), "status")


# --- the public list -------------------------------------------------------------------------


def test_public_list_shows_open_models_of_every_provider_without_a_key(client, org_a, org_b):
    create_model(org_a.admin, "acme/base", licence="mit", homepage="https://example.com/base")
    create_model(org_a.admin, "acme/closed", intake_open=False)
    create_model(org_b.admin, "tune/chat", derived_from="acme/closed")
    r = client.get("/v1/public/models")
    assert r.status_code == 200, r.text
    assert r.json() == {"next_cursor": None, "items": [
        {"id": "acme/base", "title": "Title of acme/base", "licence": "MIT",
         "homepage": "https://example.com/base", "derived_from": [], "gated": False,
         "provider": "Org org-a", "organization": "org-a"},
        {"id": "tune/chat", "title": "Title of tune/chat", "licence": None, "homepage": None,
         "derived_from": ["acme/closed"], "gated": False, "provider": "Org org-b",
         "organization": "org-b"},
    ]}


def test_closing_intake_hides_a_model_and_reopening_shows_it(client, org_a):
    create_model(org_a.admin, "acme/chat")

    def public_ids() -> list[str]:
        return [m["id"] for m in client.get("/v1/public/models").json()["items"]]

    assert public_ids() == ["acme/chat"]
    org_a.admin.patch("/v1/models/acme/chat", json={"intake_open": False})
    assert public_ids() == []
    org_a.admin.patch("/v1/models/acme/chat", json={"intake_open": True})
    assert public_ids() == ["acme/chat"]


def test_public_list_pages_skip_closed_models(client, org_a):
    for i in range(7):
        create_model(org_a.admin, f"acme/m{i}", intake_open=i % 2 == 0)
    assert all_ids(client, "/v1/public/models", 2) == ["acme/m0", "acme/m2", "acme/m4", "acme/m6"]
    assert_invalid(client.get("/v1/public/models", params={"limit": 201}), "limit")


# --- roles and keys --------------------------------------------------------------------------


def test_reviewer_reads_but_cannot_write_models_or_versions(org_a):
    model = create_model(org_a.admin, "acme/chat")
    version = create_version(org_a.admin, "acme/chat", "v1")
    reviewer = org_a.client("reviewer")

    assert_error(reviewer.post("/v1/models", json={"id": "acme/new", "title": "t"}),
                 403, "forbidden")
    assert_error(reviewer.patch("/v1/models/acme/chat", json={"title": "x"}), 403, "forbidden")
    assert_error(reviewer.post("/v1/models/acme/chat/versions",
                               json={"label": "v2", "revision": "r"}), 403, "forbidden")
    assert_error(reviewer.patch("/v1/models/acme/chat/versions/v1",
                                json={"status": "withdrawn"}), 403, "forbidden")

    assert reviewer.get("/v1/models/acme/chat").json() == model
    assert reviewer.get("/v1/models/acme/chat/versions").json() == [version]
    assert reviewer.get("/v1/models/acme/chat/versions/v1").json() == version
    assert [m["id"] for m in reviewer.get("/v1/models").json()["items"]] == ["acme/chat"]


def test_pipeline_releases_versions_but_cannot_create_or_edit_models(org_a):
    model = create_model(org_a.admin, "acme/chat")
    pipeline = org_a.client("pipeline")

    assert_error(pipeline.post("/v1/models", json={"id": "acme/new", "title": "t"}),
                 403, "forbidden")
    assert_error(pipeline.patch("/v1/models/acme/chat", json={"title": "x"}), 403, "forbidden")
    assert_error(org_a.admin.get("/v1/models/acme/new"), 404, "not_found")
    assert org_a.admin.get("/v1/models/acme/chat").json() == model

    r = pipeline.post("/v1/models/acme/chat/versions", json={"label": "v2", "revision": "abc"})
    assert r.status_code == 201, r.text
    r = pipeline.post("/v1/models/acme/chat/versions", json={"label": "v3", "revision": "def"})
    assert r.status_code == 201, r.text
    r = pipeline.patch("/v1/models/acme/chat/versions/v2", json={"status": "superseded"})
    assert r.status_code == 200, r.text
    assert org_a.admin.get("/v1/models/acme/chat/versions/v2").json()["status"] == "superseded"


AUTHENTICATED = [
    ("POST", "/v1/models", {"id": "acme/new", "title": "t"}),
    ("GET", "/v1/models", None),
    ("GET", "/v1/models/acme/chat", None),
    ("PATCH", "/v1/models/acme/chat", {"title": "x"}),
    ("POST", "/v1/models/acme/chat/versions", {"label": "v2", "revision": "r"}),
    ("GET", "/v1/models/acme/chat/versions", None),
    ("GET", "/v1/models/acme/chat/versions/v1", None),
    ("PATCH", "/v1/models/acme/chat/versions/v1", {"status": "withdrawn"}),
]


@pytest.mark.parametrize(("method", "path", "body"), AUTHENTICATED)
@pytest.mark.parametrize("authorization", [
    None,
    "Bearer rr_nosuchkey_abcdefghijklmnopqrstuvwx",
    "Bearer not-a-key",
    "Basic YWRtaW46cGFzc3dvcmQ=",
])
def test_missing_or_bad_key_is_401(client, org_a, method, path, body, authorization):
    create_model(org_a.admin, "acme/chat")
    before = create_version(org_a.admin, "acme/chat", "v1")
    headers = {"Authorization": authorization} if authorization else {}
    r = client.request(method, path, json=body, headers=headers)
    assert_error(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"
    assert org_a.admin.get("/v1/models/acme/chat/versions/v1").json() == before
    assert [m["id"] for m in org_a.admin.get("/v1/models").json()["items"]] == ["acme/chat"]


def test_a_revoked_key_is_401(org_a, server):
    create_model(org_a.admin, "acme/chat")
    r = org_a.admin.post("/v1/api-keys", json={"name": "ci pipeline", "role": "pipeline"})
    assert r.status_code == 201, r.text
    created = r.json()
    with httpx.Client(verify=TLS, base_url=server.url, timeout=30,
                      headers={"Authorization": f"Bearer {created['key']}"}) as ci:
        assert ci.post("/v1/models/acme/chat/versions",
                       json={"label": "v1", "revision": "r"}).status_code == 201

        r = org_a.admin.post(f"/v1/api-keys/{created['id']}/revoke")
        assert r.status_code == 200, r.text
        assert r.json()["revoked_at"] is not None

        for method, path, body in AUTHENTICATED:
            assert_error(ci.request(method, path, json=body), 401, "unauthorized")
    assert [v["label"] for v in org_a.admin.get("/v1/models/acme/chat/versions").json()] == ["v1"]
    listed = {k["id"]: k for k in org_a.admin.get("/v1/api-keys").json()}
    assert listed[created["id"]]["revoked_at"] is not None
