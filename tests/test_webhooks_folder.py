"""`webhooks/` is what a receiver needs: the schemas match the app's payload models, the
examples and real deliveries validate against them, and verify.py stands alone."""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import importlib.util
import json
import sys
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jsonschema import Draft202012Validator

from app.delivery.wire import schema_files
from app.events.schemas import PAYLOADS
from tests.propagation import model, remediate, subscribe, version
from tests.support import parse_source


def schema(repo_root, event_type):
    return json.loads((repo_root / "webhooks" / "schemas" / f"{event_type}.json").read_text())


def validator(repo_root, event_type):
    s = schema(repo_root, event_type)
    Draft202012Validator.check_schema(s)
    return Draft202012Validator(s, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_committed_schemas_match_the_payload_models(repo_root):
    folder = repo_root / "webhooks" / "schemas"
    generated = schema_files()
    assert sorted(p.name for p in folder.glob("*.json")) == sorted(generated)
    for name, text in generated.items():
        assert (folder / name).read_text() == text, (
            f"webhooks/schemas/{name} is stale: run `rights-relay webhook-schemas`")


@pytest.mark.parametrize("event_type", sorted(PAYLOADS))
def test_each_type_has_an_example_that_validates(repo_root, event_type):
    example = json.loads((repo_root / "webhooks" / "examples" / f"{event_type}.json").read_text())
    validator(repo_root, event_type).validate(example)
    assert example["type"] == event_type


def test_a_schema_refuses_what_the_app_would_never_send(repo_root):
    example = json.loads(
        (repo_root / "webhooks" / "examples" / "model.version.superseded.json").read_text())
    v = validator(repo_root, "model.version.superseded")
    for broken in ({**example, "type": "other"},
                   {**example, "data": {**example["data"], "action": "none"}},
                   {**example, "data": {**example["data"], "subject_name": "Jane"}}):
        assert list(v.iter_errors(broken))


def test_real_deliveries_validate_against_the_schemas(client, org_a, org_b, mailbox, receiver,
                                                      server, repo_root):
    model(org_a, "acme/base")
    model(org_b, "beta/child", derived_from="acme/base")
    a = subscribe(client, mailbox, models=["acme/base"], urls=[receiver.url("/a")])
    subscribe(client, mailbox, models=["beta/child"], urls=[receiver.url("/b")])
    version(org_a, "acme/base", "v1")
    version(org_a, "acme/base", "v2")
    version(org_a, "acme/base", "v3")
    remediate(server.settings, "acme/base", "v1", "v3")
    org_a.admin.patch("/v1/models/acme/base/versions/v2", json={"status": "withdrawn"})
    a.api.post(f"/v1/subscriber/endpoints/{a.endpoints[receiver.url('/a')]}/test")
    hits = receiver.wait_for("/a", 6) + receiver.wait_for("/b", 1)
    seen = set()
    for hit in hits:
        body = json.loads(hit.body)
        validator(repo_root, body["type"]).validate(body)
        seen.add(body["type"])
    assert seen == {"model.version.released", "model.version.superseded",
                    "model.version.withdrawn", "upstream.remediation", "endpoint.test"}


# --- verify.py -------------------------------------------------------------------------------


@pytest.fixture
def verify(repo_root):
    path = repo_root / "webhooks" / "verify.py"
    tree = parse_source(path.read_text())
    imported = {(n.module or "").split(".")[0] for n in ast.walk(tree)
                if isinstance(n, ast.ImportFrom)} | {
        a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
        for a in n.names}
    assert imported - {"__future__", "cryptography"} <= set(sys.stdlib_module_names)
    spec = importlib.util.spec_from_file_location("rr_verify", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def signed(secret: bytes, key: Ed25519PrivateKey, body: bytes, stamp: int, msg_id="msg_1"):
    content = f"{msg_id}.{stamp}.".encode() + body
    v1 = base64.b64encode(hmac.new(secret, content, hashlib.sha256).digest()).decode()
    v1a = base64.b64encode(key.sign(content)).decode()
    return {"webhook-id": msg_id, "webhook-timestamp": str(stamp),
            "webhook-signature": f"v1,{v1} v1a,{v1a}"}


def test_verify_py_checks_both_signature_versions_and_the_timestamp(verify):
    secret = b"0123456789abcdef0123456789abcdef"
    whsec = "whsec_" + base64.b64encode(secret).decode()
    key = Ed25519PrivateKey.generate()
    whpk = "whpk_" + base64.b64encode(
        key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    body = b'{"type":"endpoint.test","timestamp":"2026-01-01T00:00:00Z","data":{}}'
    now = int(time.time())
    headers = signed(secret, key, body, now)

    assert verify.verify(body, headers, secret=whsec)["type"] == "endpoint.test"
    assert verify.verify(body, headers, public_keys=[whpk])["type"] == "endpoint.test"
    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert verify.verify(body, headers, public_keys=["whpk_" + base64.b64encode(other).decode(),
                                                     whpk])
    err = verify.WebhookVerificationError
    with pytest.raises(err, match="no matching signature"):
        verify.verify(body + b" ", headers, secret=whsec)
    with pytest.raises(err, match="no matching signature"):
        verify.verify(body, headers, public_keys=["whpk_" + base64.b64encode(other).decode()])
    with pytest.raises(err, match="too old"):
        verify.verify(body, signed(secret, key, body, now - 301), secret=whsec)
    with pytest.raises(err, match="too new"):
        verify.verify(body, signed(secret, key, body, now + 301), secret=whsec)
    assert verify.verify(body, signed(secret, key, body, now - 299), secret=whsec)
    with pytest.raises(err, match="missing"):
        verify.verify(body, {"webhook-id": "x"}, secret=whsec)
    with pytest.raises(err, match="give the endpoint secret"):
        verify.verify(body, headers)


def test_configured_signing_keys_rotate_the_service_key(verify):
    """RR_WEBHOOK_SIGNING_KEYS: the first key signs, every listed key is published."""
    from pydantic import SecretStr

    from app.config import Settings
    from app.delivery.signing import ServiceKeys

    seeds = [base64.urlsafe_b64encode(bytes([i]) * 32).decode() for i in (1, 2)]
    settings = Settings(secret_key=SecretStr("k"), environment="test",
                        webhook_signing_keys=SecretStr(f"new:{seeds[0]},old:{seeds[1]}"))
    keys = ServiceKeys.from_settings(settings)
    published = keys.published()
    assert [(k["kid"], k["current"]) for k in published] == [("new", True), ("old", False)]
    body = b'{"type":"endpoint.test"}'
    stamp = int(time.time())
    content = f"msg.{stamp}.".encode() + body
    headers = {"webhook-id": "msg", "webhook-timestamp": str(stamp),
               "webhook-signature": keys.current.sign_v1a(content)}
    assert verify.verify(body, headers, public_keys=[published[0]["public_key"]])
    with pytest.raises(verify.WebhookVerificationError):
        verify.verify(body, headers, public_keys=[published[1]["public_key"]])
    with pytest.raises(ValueError, match="RR_WEBHOOK_SIGNING_KEYS"):
        ServiceKeys.from_settings(Settings(secret_key=SecretStr("k"), environment="test",
                                           webhook_signing_keys=SecretStr("bad")))
