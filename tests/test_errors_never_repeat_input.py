"""Errors never repeat input: a marker sent through every error path of the API (each path
parameter, each query parameter, each body field, as the caller each operation is for) is in
no response, and no response is a 500."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.casework import model_with_version, seed_cases
from tests.propagation import quick_subscriber
from tests.support import TLS

SPEC = json.loads((Path(__file__).resolve().parent.parent / "openapi" / "openapi.json").read_text())
MARK = "Zq7Marker"
METHODS = {"get", "post", "put", "patch", "delete"}


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = SPEC["components"]["schemas"][name]
    return schema


def _marked(schema: dict[str, Any], depth: int = 0) -> Any:
    """A value of the shape the schema asks for, with the marker wherever text can go."""
    schema = _resolve(schema)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if _resolve(s).get("type") != "null"]
            return _marked(options[0], depth) if options else MARK
    kind = schema.get("type")
    if kind == "array":
        return [_marked(schema.get("items", {}), depth + 1)]
    if kind == "object" and depth < 2:
        return {p: _marked(s, depth + 1) for p, s in schema.get("properties", {}).items()}
    if kind in ("integer", "number", "boolean"):
        return f"{MARK}1"  # the wrong type: its error must not repeat it either
    return f"{MARK}@{MARK}.example" if schema.get("format") == "email" else MARK


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in SPEC["paths"].items()
            for method, op in ops.items() if method in METHODS]


@pytest.fixture
def world(server, org_a, receiver, settings):
    model_with_version(org_a, "acme/marked")
    [(ref, _)] = seed_cases(settings, [{"models": ["acme/marked"]}])
    sub = quick_subscriber(settings, server.url, ["acme/marked"], [receiver.url("/m")])
    good = {"namespace": "acme", "name": "marked", "label": "v1", "reference": ref,
            "slug": org_a.slug, "endpoint_id": next(iter(sub.endpoints.values()))}
    subscriber = httpx.Client(verify=TLS, base_url=server.url, timeout=30,
                              headers={"Authorization": f"Bearer {sub.token}"})
    public = httpx.Client(verify=TLS, base_url=server.url, timeout=30)
    yield good, {"admin": org_a.admin, "subscriber": subscriber, "public": public}
    subscriber.close()
    public.close()


def _caller(path: str, op: dict[str, Any]) -> str:
    if path.startswith("/v1/subscriber"):
        return "subscriber"
    return "admin" if op.get("security") or "/public/" not in path else "public"


def _requests(path: str, op: dict[str, Any], good: dict[str, str]):
    params = [p for p in op.get("parameters", []) if p["in"] in ("path", "query")]
    path_names = [p["name"] for p in params if p["in"] == "path"]

    def url(marked: str | None) -> str:
        out = path
        for name in path_names:
            value = MARK if name == marked or name not in good else good[name]
            out = out.replace("{" + name + "}", value)
        return out

    for name in path_names:
        yield url(name), {}, None
    for p in params:
        if p["in"] == "query":
            yield url(None), {p["name"]: MARK}, None
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    if body:
        full = _marked(body["schema"])
        yield url(None), {}, full
        if isinstance(full, dict):
            for field, value in full.items():
                yield url(None), {}, {field: value}


def test_a_marker_sent_anywhere_comes_back_nowhere(world):
    good, clients = world
    errors = 0
    # Deletions last: the objects named in `good` stay for the other operations.
    for path, method, op in sorted(_operations(), key=lambda o: o[1] == "delete"):
        client = clients[_caller(path, op)]
        for url, query, body in _requests(path, op, good):
            r = client.request(method.upper(), url, params=query,
                               **({"json": body} if body is not None else {}))
            where = (method, url, query, body, r.status_code, r.text[:500])
            assert r.status_code < 500, where
            if r.status_code < 400:
                continue  # accepted: what comes back is what was stored, not an error
            errors += 1
            assert MARK.lower() not in r.text.lower(), where
            for name, value in r.headers.items():
                assert MARK.lower() not in value.lower(), (where, name, value)
    assert errors > 150  # every operation's error paths were really reached
