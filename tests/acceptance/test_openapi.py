"""GET /openapi.json describes what the real server answers: every route, and real responses validate against it."""

from __future__ import annotations

import re
from typing import Any

import httpx
import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Err
from starlette.routing import Route

from smsgrid.api import admin, data_plane, namespaces, openapi, topic_publishing
from smsgrid.api.openapi import operation_table
from smsgrid.cli.client import HmacAuth, decode_key
from smsgrid.config import WELL_KNOWN_ACCESS_KEY
from smsgrid.testing import SmsgridProcess, WebhookSink
from smsgrid.testing.plugin import inbound, subscribe

HANDSET, OWNED = "+14255550123", "+18005550100"
BEARER = {"Authorization": f"Bearer {WELL_KNOWN_ACCESS_KEY}"}
SIGNED = HmacAuth(decode_key(WELL_KNOWN_ACCESS_KEY))  # the data plane: signed like the official SDK


@pytest.fixture
def smsgrid_config() -> str:
    return "[carrier]\ndelay_ms = 0\n"


def _template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def _document(server: SmsgridProcess) -> dict[str, Any]:
    response = httpx.get(f"{server.base_url}/openapi.json")  # no key: the document is public
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = response.json()
    return document


class Validator:
    """Validates a real response against the operation's documented response (OpenAPI 3.1 = JSON Schema 2020-12)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.paths = {_template(path): item for path, item in document["paths"].items()}

    def __call__(self, method: str, path: str, response: httpx.Response) -> Any:
        operation = self.paths[_template(path)][method.lower()]
        responses = operation["responses"]
        documented = responses.get(str(response.status_code)) or responses.get("default")
        assert documented is not None, f"{method} {path} answered {response.status_code}, which is not documented"
        content = documented.get("content")
        if content is None:
            assert not response.content, f"{method} {path} {response.status_code} should have no body"
            return None
        media_type = response.headers["content-type"].split(";")[0].strip()
        assert media_type in content, f"{method} {path} {response.status_code}: {media_type} not in {list(content)}"
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.document["components"],
            **content[media_type]["schema"],
        }
        body = response.json() if "json" in media_type else response.text
        errors = [error.message for error in jsonschema_rs.validator_for(schema).iter_errors(body)]
        assert not errors, f"{method} {path} {response.status_code}: {errors}\n{body}"
        return body


def test_the_document_lists_every_route(smsgrid_server: SmsgridProcess) -> None:
    document = _document(smsgrid_server)
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": smsgrid_server.base_url}]
    documented = {(_template(path), method) for path, item in document["paths"].items() for method in item}
    tables = [*data_plane.TABLE, *admin.TABLE, *topic_publishing.TABLE, *namespaces.TABLE]
    served = {(_template(spec.path), spec.method.lower()) for spec in tables} | {
        (_template(route.path), method.lower())
        for route in openapi.routes
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }
    assert served <= documented
    assert {("/healthz", "get"), ("/metrics", "get")} <= documented
    # The server generated it from its own route table, which it checks against the operation table (a route
    # without an entry, or an entry without a route, is a RouteTableDrift, not a 200): so it is exactly the table.
    assert documented == {(_template(path), method.lower()) for method, path in operation_table()}
    schemes = document["components"]["securitySchemes"]
    assert "HMAC-SHA256" in schemes["acsHmac"]["description"]
    assert schemes["accessKeyBearer"]["scheme"] == "bearer"
    jsonschema_rs.meta.validate(  # every component is a valid JSON Schema 2020-12
        {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": document["components"]["schemas"]}
    )


def test_real_responses_validate_against_the_document(smsgrid_server: SmsgridProcess, tmp_path: Any) -> None:
    validate = Validator(_document(smsgrid_server))
    base = smsgrid_server.base_url
    with (
        WebhookSink() as good,
        WebhookSink(responder=lambda request: 400) as refusing,
        httpx.Client(base_url=base, timeout=35) as http,
    ):
        body = {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": good.url}}}
        created = http.put("/admin/subscriptions/good", headers=BEARER, json=body)
        assert validate("PUT", "/admin/subscriptions/{name}", created)["properties"]["provisioningState"] == "Succeeded"
        subscribe(smsgrid_server, "refusing", refusing.url, eventDeliverySchema="CloudEventSchemaV1_0")

        sent = http.post("/sms", params={"api-version": "2021-03-07"}, auth=SIGNED, json={
            "from": OWNED, "message": "hello", "smsRecipients": [{"to": HANDSET}, {"to": "nope"}],
            "smsSendOptions": {"enableDeliveryReport": True, "tag": "openapi"}})  # fmt: skip
        results = validate("POST", "/sms", sent)["value"]
        outgoing = results[0]["messageId"]
        assert [r["httpStatusCode"] for r in results] == [202, 400]
        incoming = inbound(smsgrid_server, HANDSET, OWNED, "hi")
        good.wait_for_event("Microsoft.Communication.SMSDeliveryReportReceived", where=lambda e: e.id == outgoing)
        good.wait_for_event("Microsoft.Communication.SMSReceived", where=lambda e: e.id == incoming)

        report = http.get(f"/deliveryReports/{outgoing}", params={"api-version": "2026-01-23"}, auth=SIGNED)
        assert validate("GET", "/deliveryReports/{}", report)["deliveryStatus"] == "Delivered"
        no_report = http.get("/deliveryReports/Outgoing_none", params={"api-version": "2026-01-23"}, auth=SIGNED)
        assert no_report.status_code == 404
        validate("GET", "/deliveryReports/{}", no_report)
        optouts = http.post("/sms/optouts:check", params={"api-version": "2025-09-17"}, auth=SIGNED,
                            json={"from": OWNED, "recipients": [{"to": HANDSET}]})  # fmt: skip
        assert validate("POST", "/sms/optouts:check", optouts)["value"][0]["isOptedOut"] is False

        answer = http.post("/admin/inbound", headers=BEARER, json={"from": HANDSET, "to": OWNED, "message": "x"})
        assert answer.status_code == 202
        validate("POST", "/admin/inbound", answer)
        for path in ("/admin/subscriptions", "/admin/messages", "/admin/events", "/admin/deadletters"):
            assert validate("GET", path, http.get(path, headers=BEARER))["value"]
        message = validate("GET", "/admin/messages/{}", http.get(f"/admin/messages/{outgoing}", headers=BEARER))
        assert message["deliveryReport"]["tag"] == "openapi"
        event = validate("GET", "/admin/events/{}", http.get(f"/admin/events/{incoming}", headers=BEARER))
        assert {d["subscription"] for d in event["deliveries"]} == {"good", "refusing"}
        validate("GET", "/admin/subscriptions/{}", http.get("/admin/subscriptions/good", headers=BEARER))

        letter = http.get("/admin/deadletters", headers=BEARER).json()["value"][0]
        first = http.post(f"/admin/deadletters/{letter['id']}/redeliver", headers=BEARER)
        assert validate("POST", "/admin/deadletters/{}/redeliver", first) == {"id": letter["id"], "redelivered": True}
        conflict = http.post(f"/admin/deadletters/{letter['id']}/redeliver", headers=BEARER)
        assert validate("POST", "/admin/deadletters/{}/redeliver", conflict)["error"]["code"] == "Conflict"

        # The error shapes: 404, 401, 400, 413.
        assert http.get("/admin/messages/nope", headers=BEARER).status_code == 404
        validate("GET", "/admin/messages/{}", http.get("/admin/messages/nope", headers=BEARER))
        unauthorised = http.get("/admin/events")
        assert validate("GET", "/admin/events", unauthorised)["error"]["code"] == "Denied"
        unsigned = http.post("/sms", params={"api-version": "2021-03-07"}, json={})
        assert validate("POST", "/sms", unsigned)["error"]["code"] == "Denied"
        bad = http.put("/admin/subscriptions/ab", headers=BEARER, json={"destination": {}})
        assert validate("PUT", "/admin/subscriptions/{}", bad)["error"]["code"] == "InvalidRequest"
        huge = http.post(
            "/admin/inbound", headers={**BEARER, "Content-Type": "application/json"}, content=b"x" * (1024 * 1024 + 1)
        )
        assert validate("POST", "/admin/inbound", huge)["error"]["code"] == "RequestEntityTooLarge"
        deleted = http.delete("/admin/subscriptions/refusing", headers=BEARER)
        assert deleted.status_code == 204
        validate("DELETE", "/admin/subscriptions/{}", deleted)
        validate("GET", "/healthz", http.get("/healthz"))
        validate("GET", "/metrics", http.get("/metrics"))


# The checks about the document's accuracy. positive_data_acceptance is left out on purpose: a schema cannot say
# "an owned number" or "a validation code that was issued", so schema-valid requests may rightly get a 400.
ACCURACY_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def _ok(result: Any) -> Any:
    """An operation of the loaded schema; a part schemathesis could not load fails the test with its error."""
    if isinstance(result, Err):
        raise AssertionError(f"schemathesis cannot use part of /openapi.json: {result.err()}")
    return result.ok()


def test_schemathesis_finds_no_mismatch(smsgrid_server: SmsgridProcess) -> None:
    inbound(smsgrid_server, HANDSET, OWNED, "something to list")
    schema = schemathesis.openapi.from_url(f"{smsgrid_server.base_url}/openapi.json")
    # PUT would make the server call generated webhook URLs: the network here is loopback only.
    operations = [_ok(result) for result in schema.exclude(method="PUT").get_all_operations()]
    assert len(operations) >= 15
    # Every documented operation but PUT is exercised: none was left out because schemathesis could not read it.
    # (Loaded from a URL, schemathesis leaves out that URL's own operation, GET /openapi.json.)
    exercised = {(operation.method.upper(), operation.path) for operation in operations}
    expected = {(method, path) for method, path in operation_table() if method != "PUT"}
    assert exercised == expected - {("GET", "/openapi.json")}
    with httpx.Client(timeout=10) as http:
        for operation in operations:

            @settings(max_examples=8, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))  # fmt: skip
            @given(case=operation.as_strategy())
            def conforms(case: schemathesis.Case[Any]) -> None:
                kwargs = case.as_transport_kwargs(base_url=smsgrid_server.base_url)
                headers = {k: v for k, v in kwargs.pop("headers").items() if k.lower() != "authorization"}
                auth: httpx.Auth | None = None
                if case.path == "/api/events":
                    headers["aeg-sas-key"] = WELL_KNOWN_ACCESS_KEY
                elif case.path.startswith(("/sms", "/deliveryReports")):
                    auth = SIGNED
                else:
                    headers.update(BEARER)
                response = http.request(
                    kwargs["method"],
                    kwargs["url"],
                    params=kwargs.get("params"),
                    headers=headers,
                    json=kwargs.get("json"),
                    auth=auth,
                )
                case.validate_response(response, checks=ACCURACY_CHECKS)

            conforms()
