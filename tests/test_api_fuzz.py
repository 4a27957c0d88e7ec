"""Schemathesis against the committed OpenAPI spec: every operation, generated input, no 500s,
and every response matches the documented schema (JSON Schema formats checked: `date-time`
through rfc3339-validator) and status codes. Every phase: examples, coverage and fuzzing per
operation, then stateful sequences that follow the links between operations. Once as an admin,
and once as the other callers where they may act: a reviewer key on cases, a pipeline key on
versions and remediations, and a subscriber's own token on the subscriber API."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from tests.propagation import quick_subscriber

pytestmark = pytest.mark.fuzz


SPEC = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
# A well-formed request may still be refused for what it says: an unknown cursor or label (400),
# a missing resource (404), a state that forbids it (409), a rate limit (429).
PHASES = {"examples": {"enabled": True}, "coverage": {"enabled": True},
          "fuzzing": {"enabled": True}, "stateful": {"enabled": True}}
FORMATS = {"response_schema_conformance": {"validate-formats": True}}
# A cursor valid by schema (a string) that no list gave out is a documented 422 invalid_cursor.
PAGINATED = {"include-path-regex": "^/v1/(models|public/models|deliveries|subscriber/deliveries"
                                   "|cases|remediations)$", "include-method": "GET"}
STATUSES = ["2xx", "400", "401", "403", "404", "409", "410", "429"]
# Probes: an inference URL the service will not call (private, plain http, credentials) and a
# template without `{name}` are 422s the schema cannot say.
PROBES = {"include-path-regex": r"^/v1/(models/.+/endpoint|probes/templates|remediations/"
                                r"[^/]+/report)$"}
CONFIG = SchemathesisConfig.from_dict({
    "phases": PHASES,
    "checks": {**FORMATS, "positive_data_acceptance": {"expected-statuses": STATUSES}},
    "operations": [{**PAGINATED, "checks": {"positive_data_acceptance": {
        "expected-statuses": [*STATUSES, "422"]}}},
                   # A time zone is a string the schema cannot list: an unknown name is a 422.
                   {"include-path": "/v1/organization", "include-method": "PATCH",
                    "checks": {"positive_data_acceptance": {
                        "expected-statuses": [*STATUSES, "422"]}}},
                   # The batch digest lookup answers in the body and creates nothing: its 200
                   # is no "created resource" that the single lookup must then find.
                   {"include-path-regex": "^/v1/public/digests",
                    "checks": {"ensure_resource_availability": {"enabled": False}}},
                   {**PROBES, "checks": {"positive_data_acceptance": {
                       "expected-statuses": [*STATUSES, "422"]}}}]})
schema = schemathesis.openapi.from_path(SPEC, config=CONFIG)
# Addresses on reserved names (x@host.test, x@localhost) are refused: mail cannot reach them.
schemathesis.openapi.format("email", st.emails(domains=st.sampled_from(
    ["example.org", "mail.example.com", "xn--bcher-kva.example"])))


CURRENT_KEY: dict[str, str] = {}


@schema.auth(refresh_interval=None)
class AdminKey:
    """The admin API key of the test's organisation; schemathesis also tries without it."""

    def get(self, case, ctx):
        return CURRENT_KEY.get("admin", "rr_not-yet")

    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schema.parametrize()
# Six generated cases per operation on top of the coverage phase's boundary cases (which are
# most of the calls). Ten cost CI about a minute over both databases; on 2026-11-30 runs with
# ten and with five found the same (nothing).
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_operation_survives_generated_input(case, server, org_a):
    CURRENT_KEY["admin"] = org_a.keys["admin"]
    case.call_and_validate(base_url=server.url)


# The same operations again, as callers with fewer rights.
# A subscriber follows models and adds endpoints by name and URL: a model that is not registered
# and a URL the service will not call (scheme, private address) are 422s the schema cannot say.
ACCEPTED = ["2xx", "400", "401", "403", "404", "409", "410", "429"]
OTHERS_CONFIG = SchemathesisConfig.from_dict({
    "phases": PHASES,
    "checks": {**FORMATS, "positive_data_acceptance": {"expected-statuses": ACCEPTED}},
    "operations": [{**PAGINATED, "checks": {"positive_data_acceptance": {
        "expected-statuses": [*ACCEPTED, "422"]}}},
                   {"include-path-regex": "^/v1/subscriber/(models|endpoints)$",
                    "include-method": "POST",
                    "checks": {"positive_data_acceptance": {
                        "expected-statuses": [*ACCEPTED, "422"]}}},
                   {**PROBES, "checks": {"positive_data_acceptance": {
                       "expected-statuses": [*ACCEPTED, "422"]}}}]})
# Only where the caller may act (elsewhere it gets a 403, which the authorisation matrix tests).
OTHERS_PATHS = re.compile(r"^/v1/(subscriber|cases|remediations|models/\{namespace\}/\{name\}/versions)")
_spec = json.loads(SPEC.read_text())
_spec["paths"] = {p: ops for p, ops in _spec["paths"].items() if OTHERS_PATHS.match(p)}
as_others = schemathesis.openapi.from_dict(_spec, config=OTHERS_CONFIG)
OTHER_KEYS: dict[str, str] = {}


def other_role(path: str, method: str) -> str:
    if path.startswith("/v1/subscriber"):
        return "subscriber"
    return "reviewer" if path.startswith("/v1/cases") else "pipeline"


@as_others.auth(refresh_interval=None)
class OtherKey:
    def get(self, case, ctx):
        return OTHER_KEYS.get(other_role(case.operation.path, case.operation.method), "x")

    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@as_others.parametrize()
@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_operation_survives_generated_input_from_other_callers(case, server, org_a,
                                                                     receiver):
    OTHER_KEYS.update(reviewer=org_a.keys["reviewer"], pipeline=org_a.keys["pipeline"])
    # A subscriber of this test's organisation (made once per operation: tables are wiped).
    if case.operation.path.startswith("/v1/subscriber") and \
            org_a.admin.get("/v1/models/acme/fuzz").status_code == 404:
        org_a.admin.post("/v1/models", json={"id": "acme/fuzz", "title": "Fuzz"})
        OTHER_KEYS["subscriber"] = quick_subscriber(
            server.settings, server.url, ["acme/fuzz"], [receiver.url("/fuzz")]).token
    case.call_and_validate(base_url=server.url)


# --- stateful: sequences that follow the links between operations ---------------------------

STATEFUL = settings(max_examples=12, stateful_step_count=6, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))
BASE_URL: dict[str, str] = {}


class AdminWorkflow(schema.as_state_machine()):  # type: ignore[misc]
    def get_call_kwargs(self, case):
        return {"base_url": BASE_URL["url"]}


class OthersWorkflow(as_others.as_state_machine()):  # type: ignore[misc]
    def get_call_kwargs(self, case):
        return {"base_url": BASE_URL["url"]}


def test_stateful_sequences_as_an_admin(server, org_a):
    BASE_URL["url"] = server.url
    CURRENT_KEY["admin"] = org_a.keys["admin"]
    AdminWorkflow.run(settings=STATEFUL)


def test_stateful_sequences_as_the_other_callers(server, org_a, receiver):
    BASE_URL["url"] = server.url
    OTHER_KEYS.update(reviewer=org_a.keys["reviewer"], pipeline=org_a.keys["pipeline"])
    org_a.admin.post("/v1/models", json={"id": "acme/fuzz", "title": "Fuzz"})
    OTHER_KEYS["subscriber"] = quick_subscriber(
        server.settings, server.url, ["acme/fuzz"], [receiver.url("/fuzz")]).token
    OthersWorkflow.run(settings=STATEFUL)


def test_format_checks_are_on():
    """`format: date-time` is really checked (rfc3339-validator is installed), by jsonschema
    as the webhook tests use it, and by schemathesis' response conformance."""
    from jsonschema import Draft202012Validator

    checker = Draft202012Validator.FORMAT_CHECKER
    v = Draft202012Validator({"type": "string", "format": "date-time"}, format_checker=checker)
    assert v.is_valid("2026-01-31T12:00:00Z") and not v.is_valid("31/01/2026 noon")
    assert CONFIG.projects.default.checks.response_schema_conformance.validate_formats
