"""Accounts over the API: API keys, staff users and whoami, against a real server and database."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa

from app.auth.tokens import digest
from tests.support import TLS


def db_row(settings, sql: str, **params):
    engine = sa.create_engine(settings.sync_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).mappings().first()
    finally:
        engine.dispose()


def key_row(settings, key_id: str):
    # SQLite stores UUIDs as 32 hex characters, PostgreSQL as uuid: compare in each one's form.
    engine = sa.create_engine(settings.sync_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            table = sa.Table("api_keys", sa.MetaData(), autoload_with=conn)
            value = uuid.UUID(key_id)
            if engine.dialect.name == "sqlite":
                value = value.hex
            return conn.execute(sa.select(table).where(table.c.id == value)).mappings().first()
    finally:
        engine.dispose()


def bearer(server, key: str) -> httpx.Client:
    return httpx.Client(verify=TLS, base_url=server.url, headers={"Authorization": f"Bearer {key}"},
                        timeout=30)


def assert_error_shape(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["error"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    return body


# --- whoami ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "reviewer", "pipeline"])
def test_whoami_names_the_org_and_role_of_the_key(org_a, role):
    r = org_a.client(role).get("/v1/me")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["organization"]["slug"] == "org-a"
    assert body["organization"]["name"] == "Org org-a"
    assert body["organization"]["id"] == str(org_a.id)
    assert body["role"] == role
    assert body["actor"] == f"{role} key"


def test_whoami_keeps_organisations_apart(org_a, org_b):
    assert org_a.admin.get("/v1/me").json()["organization"]["slug"] == "org-a"
    assert org_b.admin.get("/v1/me").json()["organization"]["slug"] == "org-b"


# --- API keys --------------------------------------------------------------------------------


def test_created_key_is_shown_once_and_never_listed(org_a):
    r = org_a.admin.post("/v1/api-keys", json={"name": "ci pipeline", "role": "pipeline"})
    assert r.status_code == 201, r.text
    created = r.json()
    key = created["key"]
    assert key.startswith("rr_")
    assert re.fullmatch(r"rr_[a-z0-9]{10}_[A-Za-z0-9_-]{20,}", key)
    assert created["name"] == "ci pipeline"
    assert created["role"] == "pipeline"
    assert key.split("_")[1] == created["prefix"]
    assert created["revoked_at"] is None and created["last_used_at"] is None

    listed = org_a.admin.get("/v1/api-keys")
    assert listed.status_code == 200
    rows = listed.json()
    mine = [k for k in rows if k["id"] == created["id"]]
    assert len(mine) == 1
    assert "key" not in mine[0]
    assert mine[0]["prefix"] == created["prefix"]
    # The secret part appears nowhere in the listing.
    secret = key.split("_", 2)[2]
    assert secret not in listed.text
    assert all("key" not in k for k in rows)


def test_database_holds_only_a_hash_of_the_key(org_a, settings):
    created = org_a.admin.post("/v1/api-keys", json={"name": "hashed", "role": "reviewer"}).json()
    key = created["key"]
    row = key_row(settings, created["id"])
    assert row is not None
    values = [str(v) for v in row.values() if v is not None]
    assert not any(key in v for v in values)
    assert not any(key.split("_", 2)[2] in v for v in values)
    assert row["key_hash"] == digest(key)
    assert re.fullmatch(r"[0-9a-f]{64}", row["key_hash"])


def test_new_key_works_and_has_its_role(org_a, server):
    created = org_a.admin.post("/v1/api-keys", json={"name": "reader", "role": "reviewer"}).json()
    with bearer(server, created["key"]) as c:
        r = c.get("/v1/me")
        assert r.status_code == 200, r.text
        assert r.json()["role"] == "reviewer"
        assert r.json()["actor"] == "reader"
        assert r.json()["organization"]["slug"] == "org-a"
        # ...and its role is enforced: a reviewer key cannot create keys.
        assert c.post("/v1/api-keys", json={"name": "x", "role": "admin"}).status_code == 403


def test_last_used_at_is_recorded_on_use(org_a, server, settings):
    created = org_a.admin.post("/v1/api-keys", json={"name": "used", "role": "pipeline"}).json()
    assert key_row(settings, created["id"])["last_used_at"] is None
    with bearer(server, created["key"]) as c:
        assert c.get("/v1/me").status_code == 200
    assert key_row(settings, created["id"])["last_used_at"] is not None
    listed = {k["id"]: k for k in org_a.admin.get("/v1/api-keys").json()}
    assert listed[created["id"]]["last_used_at"] is not None


def test_revoked_key_is_refused_with_www_authenticate(org_a, server, settings):
    created = org_a.admin.post("/v1/api-keys", json={"name": "leaked", "role": "admin"}).json()
    with bearer(server, created["key"]) as c:
        assert c.get("/v1/me").status_code == 200
        r = org_a.admin.post(f"/v1/api-keys/{created['id']}/revoke")
        assert r.status_code == 200, r.text
        assert r.json()["revoked_at"] is not None
        assert "key" not in r.json()

        r = c.get("/v1/me")
        body = assert_error_shape(r, 401, "unauthorized")
        assert r.headers["www-authenticate"].lower().startswith("bearer")
        assert created["key"] not in body["detail"]
    assert key_row(settings, created["id"])["revoked_at"] is not None
    listed = {k["id"]: k for k in org_a.admin.get("/v1/api-keys").json()}
    assert listed[created["id"]]["revoked_at"] is not None


def test_revoking_twice_keeps_the_first_revocation_time(org_a):
    created = org_a.admin.post("/v1/api-keys", json={"name": "twice", "role": "admin"}).json()
    first = org_a.admin.post(f"/v1/api-keys/{created['id']}/revoke").json()["revoked_at"]
    second = org_a.admin.post(f"/v1/api-keys/{created['id']}/revoke")
    assert second.status_code == 200
    assert second.json()["revoked_at"] == first


def test_an_admin_cannot_see_or_revoke_another_orgs_keys(org_a, org_b, server):
    other = org_b.admin.post("/v1/api-keys", json={"name": "b's key", "role": "admin"}).json()
    ids_a = {k["id"] for k in org_a.admin.get("/v1/api-keys").json()}
    assert other["id"] not in ids_a
    assert len(ids_a) == 3  # org_a's own admin, reviewer and pipeline keys

    r = org_a.admin.post(f"/v1/api-keys/{other['id']}/revoke")
    assert_error_shape(r, 404, "not_found")
    with bearer(server, other["key"]) as c:
        assert c.get("/v1/me").status_code == 200


def test_revoking_an_unknown_key_is_404(org_a):
    assert_error_shape(org_a.admin.post(f"/v1/api-keys/{uuid.uuid4()}/revoke"), 404, "not_found")


@pytest.mark.parametrize("role", ["reviewer", "pipeline"])
def test_only_admins_manage_keys_and_users(org_a, role, settings):
    c = org_a.client(role)
    before = db_row(settings, "SELECT count(*) AS n FROM api_keys")["n"]
    body = assert_error_shape(c.post("/v1/api-keys", json={"name": "sneaky", "role": "admin"}),
                              403, "forbidden")
    assert "admin" in body["detail"]
    assert db_row(settings, "SELECT count(*) AS n FROM api_keys")["n"] == before
    assert_error_shape(c.get("/v1/api-keys"), 403, "forbidden")
    admin_key = next(k for k in org_a.admin.get("/v1/api-keys").json() if k["role"] == "admin")
    assert_error_shape(c.post(f"/v1/api-keys/{admin_key['id']}/revoke"), 403, "forbidden")
    assert org_a.admin.get("/v1/me").status_code == 200  # still valid

    assert_error_shape(c.get("/v1/users"), 403, "forbidden")
    r = c.post("/v1/users", json={"email": "new@org-a.example", "name": "New",
                                  "role": "admin", "password": "long enough password"})
    assert_error_shape(r, 403, "forbidden")
    assert db_row(settings, "SELECT count(*) AS n FROM users WHERE email = :e",
                  e="new@org-a.example")["n"] == 0


@pytest.mark.parametrize("role", ["owner", "", "ADMIN", None])
def test_invalid_key_role_is_422_naming_role(org_a, role):
    r = org_a.admin.post("/v1/api-keys", json={"name": "bad role", "role": role})
    body = assert_error_shape(r, 422, "validation_error")
    assert [f["field"] for f in body["fields"]] == ["role"]
    assert "role" in body["detail"]


def test_key_name_is_required(org_a):
    r = org_a.admin.post("/v1/api-keys", json={"name": "", "role": "admin"})
    body = assert_error_shape(r, 422, "validation_error")
    assert [f["field"] for f in body["fields"]] == ["name"]


@pytest.mark.parametrize("name", ["nul\u0000inside", "x" * 201])
def test_key_names_the_database_cannot_hold_are_422(org_a, settings, name):
    # PostgreSQL refuses NUL in text and enforces VARCHAR(200): both must be a 422, not a 500.
    before = db_row(settings, "SELECT count(*) AS n FROM api_keys")["n"]
    r = org_a.admin.post("/v1/api-keys", json={"name": name, "role": "admin"})
    body = assert_error_shape(r, 422, "validation_error")
    assert [f["field"] for f in body["fields"]] == ["name"]
    assert db_row(settings, "SELECT count(*) AS n FROM api_keys")["n"] == before


# --- bad credentials -------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [
    None,
    "",
    "Bearer",
    "Basic dXNlcjpwYXNz",
    "Token rr_abcdefghij_xyz",
    "Bearer not-a-key",
    "Bearer rr_",
    "Bearer rr_abcdefghij",
    "Bearer rr_abcdefghij_unknownsecretunknownsecret",
    "Bearer rr_a_b_c_d",
])
def test_missing_malformed_or_unknown_credentials_are_401_json(client, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    r = client.get("/v1/me", headers=headers)
    body = assert_error_shape(r, 401, "unauthorized")
    assert set(body) == {"error", "detail"}
    assert r.headers["www-authenticate"].lower().startswith("bearer")


def test_a_known_prefix_with_a_wrong_secret_is_refused(org_a, client):
    prefix = org_a.keys["admin"].split("_")[1]
    r = client.get("/v1/me", headers={"Authorization": f"Bearer rr_{prefix}_wrongsecret"})
    assert_error_shape(r, 401, "unauthorized")


def test_the_auth_scheme_is_case_insensitive(org_a, client):
    r = client.get("/v1/me", headers={"Authorization": f"bearer {org_a.keys['reviewer']}"})
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "reviewer"


def test_api_errors_stay_json_for_browsers(client):
    r = client.get("/v1/me", headers={"Accept": "text/html"})
    assert_error_shape(r, 401, "unauthorized")


# --- users -----------------------------------------------------------------------------------


USER_PASSWORD = "a long enough password"


def new_user(email="reviewer@org-a.example", role="reviewer", password=USER_PASSWORD):
    return {"email": email, "name": "Rita Reviewer", "role": role, "password": password}


def test_admin_creates_a_user_with_an_argon2id_password(org_a, settings):
    r = org_a.admin.post("/v1/users", json=new_user())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["email"] == "reviewer@org-a.example"
    assert body["role"] == "reviewer"
    assert body["is_active"] is True
    assert body["last_login_at"] is None
    assert "password" not in r.text and "password_hash" not in body

    row = db_row(settings, "SELECT email, password_hash FROM users WHERE email = :e",
                 e="reviewer@org-a.example")
    assert row["password_hash"].startswith("$argon2id$")
    assert "a long enough password" not in row["password_hash"]

    listed = org_a.admin.get("/v1/users")
    assert listed.status_code == 200
    assert {u["email"] for u in listed.json()} == {org_a.admin_email, "reviewer@org-a.example"}
    assert "$argon2" not in listed.text


def test_users_are_listed_per_organisation(org_a, org_b):
    assert org_a.admin.post("/v1/users", json=new_user()).status_code == 201
    emails_b = {u["email"] for u in org_b.admin.get("/v1/users").json()}
    assert emails_b == {org_b.admin_email}


def test_duplicate_email_is_409_even_across_case_and_orgs(org_a, org_b):
    assert org_a.admin.post("/v1/users", json=new_user()).status_code == 201
    assert_error_shape(org_a.admin.post("/v1/users", json=new_user()), 409, "conflict")
    r = org_a.admin.post("/v1/users", json=new_user(email="Reviewer@ORG-A.example"))
    assert_error_shape(r, 409, "conflict")
    assert_error_shape(org_b.admin.post("/v1/users", json=new_user()), 409, "conflict")


def test_concurrent_duplicates_give_one_user_and_409s_never_500(org_a, settings):
    def create(_: int) -> int:
        return org_a.admin.post("/v1/users", json=new_user(email="race@org-a.example")).status_code

    with ThreadPoolExecutor(10) as pool:
        codes = sorted(pool.map(create, range(10)))
    assert codes == [201] + [409] * 9
    assert db_row(settings, "SELECT count(*) AS n FROM users WHERE email = :e",
                  e="race@org-a.example")["n"] == 1


def test_short_password_is_422_and_not_echoed(org_a, settings):
    r = org_a.admin.post("/v1/users", json=new_user(password="short9"))
    body = assert_error_shape(r, 422, "validation_error")
    assert [f["field"] for f in body["fields"]] == ["password"]
    assert "short9" not in r.text
    assert db_row(settings, "SELECT count(*) AS n FROM users")["n"] == 1


def test_pipeline_users_are_refused(org_a, settings):
    r = org_a.admin.post("/v1/users", json=new_user(role="pipeline"))
    body = assert_error_shape(r, 422, "validation_error")
    assert [f["field"] for f in body["fields"]] == ["role"]
    assert db_row(settings, "SELECT count(*) AS n FROM users")["n"] == 1


@pytest.mark.parametrize("field,value", [
    ("name", "Rita\u0000Reviewer"),
    ("name", "x" * 201),
    ("email", "rita\u0000@org-a.example"),
])
def test_user_fields_the_database_cannot_hold_are_422(org_a, settings, field, value):
    r = org_a.admin.post("/v1/users", json={**new_user(), field: value})
    body = assert_error_shape(r, 422, "validation_error")
    assert [f["field"] for f in body["fields"]] == [field]
    assert db_row(settings, "SELECT count(*) AS n FROM users")["n"] == 1


def test_invalid_email_is_422(org_a):
    body = assert_error_shape(org_a.admin.post("/v1/users", json=new_user(email="not-an-email")),
                              422, "validation_error")
    assert [f["field"] for f in body["fields"]] == ["email"]


def test_created_user_can_sign_in_on_the_web(org_a, server, settings):
    assert org_a.admin.post("/v1/users", json=new_user()).status_code == 201
    with httpx.Client(verify=TLS, base_url=server.url, timeout=30) as web:
        page = web.get("/signin")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        r = web.post("/signin", data={"csrf_token": token, "email": "Reviewer@org-a.example",
                                      "password": USER_PASSWORD})
        assert r.status_code == 303, r.text
        assert r.headers["location"] == "/dashboard"
        dash = web.get("/dashboard")
        assert dash.status_code == 200
        assert "reviewer@org-a.example" in dash.text
        assert "Org org-a" in dash.text
    row = db_row(settings, "SELECT last_login_at FROM users WHERE email = :e",
                 e="reviewer@org-a.example")
    assert row["last_login_at"] is not None
    listed = {u["email"]: u for u in org_a.admin.get("/v1/users").json()}
    assert listed["reviewer@org-a.example"]["last_login_at"] is not None
