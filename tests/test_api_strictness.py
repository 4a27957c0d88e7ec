"""The API refuses what it does not understand instead of guessing."""


def test_an_unknown_query_parameter_is_422_naming_it(org_a):
    r = org_a.admin.get("/v1/models", params={"limt": 5})
    assert r.status_code == 422
    assert r.json()["fields"] == [{"field": "limt", "location": "query",
                                   "message": "unknown query parameter"}]
    assert org_a.admin.get("/v1/models", params={"limit": 5}).status_code == 200


def test_pages_keep_their_own_query_parameters(client):
    assert client.get("/request", params={"lang": "fr", "model": "a/b"}).status_code == 200


def test_a_literal_path_taken_by_a_template_route_is_405_not_422(org_a):
    r = org_a.admin.get("/v1/deliveries/replay")
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"


def test_405_lists_every_method_of_the_path(org_a):
    r = org_a.admin.delete("/v1/models/acme/chat")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, PATCH"
