import json
import re

from app.spec import openapi_json


def test_committed_openapi_matches_the_app(repo_root):
    committed = (repo_root / "openapi" / "openapi.json").read_text()
    assert committed == openapi_json(), (
        "openapi/openapi.json is stale: run `rights-relay openapi` and commit the result")


def test_operation_ids_are_unique_and_readable():
    spec = json.loads(openapi_json())
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    for op_id in ids:
        assert re.fullmatch(r"[a-z]+:[a-z_]+", op_id), op_id


def test_errors_are_documented_in_the_one_error_shape():
    spec = json.loads(openapi_json())
    create = spec["paths"]["/v1/models"]["post"]["responses"]
    for status in ("401", "403", "409", "422"):
        ref = create[status]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorRead")


def test_served_spec_is_the_committed_one(client, repo_root):
    served = client.get("/openapi.json").json()
    assert served == json.loads((repo_root / "openapi" / "openapi.json").read_text())
