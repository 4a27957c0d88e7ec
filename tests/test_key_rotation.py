"""Keys can rotate: `rights-relay keys rotate` adds a key-encryption key and re-wraps every data
key under it while the service runs; a replica that started before picks the new key up from
the database; `keys retire` then drops the old one. Old and new records stay readable and the
old key is used by nothing."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from app.crypto import Keyring
from app.keys.service import SEALED, UNDER_ANOTHER_KEY, SealedBlobColumn, WrappedKeyColumns
from tests.propagation import quick_subscriber
from tests.subjects import PERSON, file_and_confirm, open_model
from tests.support import CLI, TLS, IsolatedServer, cli_env, create_org
from tests.test_sign_in_security import code_at, enrol
from tests.test_web_signin import HTML, csrf_of, sign_in


def test_every_sealed_column_is_covered_by_rotation():
    import app.all_models as models

    covered = {(s.table, s.wrapped if isinstance(s, WrappedKeyColumns) else s.column)
               for s in SEALED}
    binary = {(t.name, c.name) for t in models.Base.metadata.sorted_tables for c in t.columns
              if isinstance(c.type, sa.LargeBinary)}
    assert binary - covered - UNDER_ANOTHER_KEY == set(), \
        "a new sealed column: list it in app/keys/service.py (SEALED or UNDER_ANOTHER_KEY)"
    assert all(isinstance(s, WrappedKeyColumns | SealedBlobColumn) for s in SEALED)


def keys(settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "keys", *args], env=cli_env(settings), capture_output=True,
                          text=True, timeout=120)


def key_ids_in_use(settings) -> dict[str, int]:
    out = keys(settings, "list")
    assert out.returncode == 0, out.stderr
    used = {}
    for line in out.stdout.splitlines():
        kid, _, rest = line.partition(":")
        used[kid.split()[0]] = int(rest.split()[0])
    return {k: n for k, n in used.items() if n}


@pytest.fixture
def isolated(settings, tmp_path, smtp):
    # Its own database: a rotation changes the keys every later test's keyring would load.
    with IsolatedServer(settings, str(tmp_path)) as srv:
        yield srv


def test_rotation_rewraps_everything_and_the_old_key_can_be_retired(isolated, mailbox, clock,
                                                                    receiver):
    s = isolated.settings
    org = create_org(s, isolated.url, "rot")
    open_model(org, "rot/chat")
    with httpx.Client(verify=TLS, base_url=isolated.url, timeout=30) as client:
        old_ref = next(iter(file_and_confirm(client, mailbox, ["rot/chat"])))
    r = org.admin.post(f"/v1/cases/{old_ref}/review", json={})
    assert r.status_code == 200, r.text
    r = org.admin.post(f"/v1/cases/{old_ref}/information-request", json={"question": "Which city?"})
    assert r.status_code == 200, r.text
    sub = quick_subscriber(s, isolated.url, ["rot/chat"], [receiver.url("/rot")])
    web = httpx.Client(verify=TLS, base_url=isolated.url, headers=HTML, timeout=30)
    assert sign_in(web, org.admin_email, org.admin_password).status_code == 303
    secret, _ = enrol(web)
    before = key_ids_in_use(s)
    assert set(before) == {"k0"} and before["k0"] >= 6

    out = keys(s, "rotate")
    assert out.returncode == 0, out.stderr
    new = out.stdout.split()[3].rstrip(";")
    assert key_ids_in_use(s) == {new: before["k0"]}

    # The server started before the rotation reads the re-wrapped records...
    case = org.admin.get(f"/v1/cases/{old_ref}").json()
    assert case["subject"]["name"] == PERSON["name"], case
    # ... and, once it has looked again (within a minute), seals new ones under the new key.
    clock.advance(timedelta(seconds=61))
    with httpx.Client(verify=TLS, base_url=isolated.url, timeout=30) as client:
        refs = file_and_confirm(client, mailbox, ["rot/chat"], email="second@example.org")
    new_ref = next(iter(refs))
    assert set(key_ids_in_use(s)) == {new}

    # The old key goes; the current one cannot.
    assert keys(s, "retire", new).returncode == 1
    out = keys(s, "retire", "k0")
    assert out.returncode == 0, out.stderr
    fresh = Keyring.from_settings(s)
    assert "k0" not in fresh.key_ids() and fresh.current == new
    assert "k0" not in keys(s, "list").stdout

    # Old and new records, read by the running server and by a fresh process.
    for ref, email in ((old_ref, PERSON["email"]), (new_ref, "second@example.org")):
        detail = org.admin.get(f"/v1/cases/{ref}").json()
        assert detail["subject"]["email"] == email
    clock.advance(timedelta(seconds=30))
    with httpx.Client(verify=TLS, base_url=isolated.url, headers=HTML, timeout=30) as b:
        assert sign_in(b, org.admin_email, org.admin_password).headers["location"] == "/signin/code"
        r = b.post("/signin/code", data={"csrf_token": csrf_of(b.get("/signin/code")),
                                         "code": code_at(secret)})
        assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    r = httpx.post(f"{isolated.url}/v1/subscriber/endpoints/{sub.endpoints[receiver.url('/rot')]}"
                   "/test", headers={"Authorization": f"Bearer {sub.token}"}, timeout=30)
    assert r.status_code in (200, 202), r.text
    web.close()
    org.close()
