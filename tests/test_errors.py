"""Every error has the documented JSON shape, and no input makes a 500."""

import pytest


def assert_error(r, status, code):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["error"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def test_unknown_route_is_a_json_404(client):
    assert_error(client.get("/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_a_json_405(client):
    assert_error(client.delete("/v1/public/models"), 405, "method_not_allowed")


def test_missing_key_is_401_with_challenge(client):
    r = client.get("/v1/models")
    assert_error(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"


def test_validation_error_names_each_field(org_a):
    r = org_a.admin.post("/v1/models", json={"id": "no-slash", "homepage": "not a url"})
    body = assert_error(r, 422, "validation_error")
    named = {f["field"] for f in body["fields"]}
    assert named == {"id", "title", "homepage"}
    assert all(f["location"] == "body" for f in body["fields"])


def test_validation_error_never_echoes_the_input(org_a):
    secret = "Jane Doe lives at 12 Rue Example"
    r = org_a.admin.post("/v1/models", json={"id": secret, "title": "t"})
    assert_error(r, 422, "validation_error")
    assert secret not in r.text


def test_query_parameter_errors_name_the_parameter(org_a):
    body = assert_error(org_a.admin.get("/v1/models", params={"limit": 0}), 422,
                        "validation_error")
    assert body["fields"][0]["field"] == "limit"
    assert body["fields"][0]["location"] == "query"


@pytest.mark.parametrize("payload", [b"{", b"[1,2", b"\xff\xfe", b"null", b"123", b'"x"'])
def test_malformed_json_bodies_are_422(org_a, payload):
    r = org_a.admin.post("/v1/models", content=payload,
                         headers={"content-type": "application/json"})
    assert_error(r, 422, "validation_error")


def test_oversized_body_is_refused_early(org_a, server):
    limit = server.settings.max_body_bytes
    r = org_a.admin.post("/v1/models", content=b"{" + b" " * limit + b"}",
                         headers={"content-type": "application/json"})
    assert_error(r, 413, "payload_too_large")


def test_chunked_oversized_body_is_refused(org_a, server):
    limit = server.settings.max_body_bytes

    def chunks():
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    r = org_a.admin.post("/v1/models", content=chunks(),
                         headers={"content-type": "application/json"})
    assert_error(r, 413, "payload_too_large")


def test_bad_cursor_is_422_invalid_cursor(org_a):
    assert_error(org_a.admin.get("/v1/models", params={"cursor": "!!!"}), 422, "invalid_cursor")
    assert_error(org_a.admin.get("/v1/models", params={"cursor": "WzFd"}), 422, "invalid_cursor")


def test_bad_uuid_in_path_is_422(org_a):
    body = assert_error(org_a.admin.post("/v1/api-keys/not-a-uuid/revoke"), 422,
                        "validation_error")
    assert body["fields"][0]["field"] == "key_id"


def test_pages_get_friendly_html_errors(client):
    r = client.get("/no-such-page", headers={"accept": "text/html"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "Page not found" in r.text
