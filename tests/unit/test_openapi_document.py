"""/openapi.json is generated from the served route table and the operation table: neither can drift from the other.

tests/acceptance/test_openapi.py validates real responses against the document; these tests check the generator
itself, in process, on the route table `smsgrid serve` builds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from starlette.routing import Mount, Route

from smsgrid import server as smsgrid_server_module
from smsgrid.acs.versions import VERSIONS, Operation, versions_with
from smsgrid.api import entra as entra_routes
from smsgrid.api.app import create_app
from smsgrid.api.ids import id_number
from smsgrid.api.openapi import RouteTableDrift, build_openapi, check_route_table, operation_table, served_endpoints
from smsgrid.config import Settings
from smsgrid.runtime import Runtime
from smsgrid.ui import routes as ui_routes

Endpoint = tuple[str, str]


async def _noop(request: Any) -> Any:
    raise AssertionError("never called")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> list[Endpoint]:
    """What `smsgrid serve` serves, built the same way (server.serve -> create_app with the web UI)."""
    runtime = Runtime.build(Settings(data_dir=tmp_path_factory.mktemp("data")))
    try:
        context = runtime.app_context()
        return served_endpoints(create_app(context, smsgrid_server_module._ui_routes(context)).routes)
    finally:
        asyncio.run(runtime.store.close())


@pytest.fixture(scope="module")
def document(served: list[Endpoint]) -> dict[str, Any]:
    return build_openapi(served, "http://127.0.0.1:8080/")


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_every_served_api_route_is_documented_and_nothing_else(
    served: list[Endpoint], document: dict[str, Any]
) -> None:
    documented = {(method, path) for method, path, _ in _operations(document)}
    # The web UI's pages and the Entra issuer's OpenID endpoints are served beside the API, not part of it.
    beside = {(spec.method, spec.path) for spec in ui_routes.TABLE} | {
        (spec.method, spec.path) for spec in entra_routes.TABLE
    }
    assert documented == set(served)
    assert beside
    assert not documented & beside
    assert documented == set(operation_table())
    assert {("GET", "/healthz"), ("GET", "/metrics"), ("GET", "/openapi.json"), ("POST", "/sms")} <= documented
    assert document["servers"] == [{"url": "http://127.0.0.1:8080"}]


def test_a_route_without_an_entry_is_drift() -> None:
    table = operation_table()
    with pytest.raises(RouteTableDrift) as raised:
        check_route_table([*table, ("GET", "/admin/new-thing")], table)
    assert raised.value.undocumented == [("GET", "/admin/new-thing")]
    assert raised.value.unserved == []
    assert "api/operations.py" in str(raised.value)


def test_an_entry_without_a_route_is_drift() -> None:
    table = operation_table()
    served = [endpoint for endpoint in table if endpoint != ("DELETE", "/admin/subscriptions/{name}")]
    with pytest.raises(RouteTableDrift) as raised:
        build_openapi(served)
    assert raised.value.unserved == [("DELETE", "/admin/subscriptions/{name}")]
    assert raised.value.undocumented == []


def test_web_ui_pages_are_hidden_routes_and_may_be_absent() -> None:
    table = operation_table()
    check_route_table(list(table), table)  # no web UI: fine
    # Served as an API route (include_in_schema left on), a page would need an entry.
    with pytest.raises(RouteTableDrift):
        check_route_table([*table, ("GET", "/phones/{number}")], table)


def test_served_endpoints_walks_mounts_and_skips_head_and_hidden_routes() -> None:
    routes = [
        Route("/a", _noop, methods=["GET"]),  # Starlette adds HEAD to GET
        Route("/hidden", _noop, methods=["GET"], include_in_schema=False),
        Mount("/admin", routes=[Route("/things/{id}", _noop, methods=["PUT", "DELETE"])]),
    ]
    assert served_endpoints(routes) == [("GET", "/a"), ("DELETE", "/admin/things/{id}"), ("PUT", "/admin/things/{id}")]


def test_every_schema_is_valid_json_schema_2020_12_and_every_ref_resolves(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    jsonschema_rs.meta.validate({"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": schemas})
    text = repr(document)
    refs = {part.split("'")[0] for part in text.split("'$ref': '#/components/schemas/")[1:]}
    assert refs <= set(schemas)
    assert refs, "the document references its components"


def test_the_dead_letter_id_documented_is_exactly_what_the_api_accepts(document: dict[str, Any]) -> None:
    [parameter] = document["paths"]["/admin/deadletters/{deadletter_id}/redeliver"]["post"]["parameters"]
    schema = parameter["schema"]
    assert parameter["in"] == "path"
    assert parameter["required"] is True
    assert schema["type"] == "integer"
    assert id_number(str(schema["minimum"])) == schema["minimum"]
    assert id_number(str(schema["maximum"])) == schema["maximum"]
    assert id_number(str(schema["maximum"] + 1)) is None  # one digit more: a 404 without looking
    assert schema["minimum"] == 1  # store ids start at 1
    listed = document["components"]["schemas"]["DeadLetterView"]["properties"]["id"]
    assert (listed["minimum"], listed["maximum"]) == (schema["minimum"], schema["maximum"])


def test_query_parameters_come_from_their_models(document: dict[str, Any]) -> None:
    events = {p["name"]: p for p in document["paths"]["/admin/events"]["get"]["parameters"]}
    assert events["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}
    assert events["limit"]["required"] is False
    assert events["before"]["schema"] == {"type": "integer", "minimum": 0, "maximum": 2**63 - 1, "default": None}
    letters = {p["name"]: p for p in document["paths"]["/admin/deadletters"]["get"]["parameters"]}
    assert letters["includeRedelivered"]["schema"]["enum"] == ["true", "false"]
    receive = document["paths"]["/topics/{topic}/eventsubscriptions/{name}:receive"]["post"]["parameters"]
    assert [(p["name"], p["in"], p["required"]) for p in receive] == [
        ("topic", "path", True),
        ("name", "path", True),
        ("api-version", "query", True),
        ("maxEvents", "query", False),
        ("maxWaitTime", "query", False),
    ]


@pytest.mark.parametrize("operation", list(Operation))
def test_each_data_plane_operation_lists_exactly_its_versions(document: dict[str, Any], operation: Operation) -> None:
    for _, _, item in _operations(document):
        if item["operationId"] != operation.value:
            continue
        [version] = [p for p in item["parameters"] if p["name"] == "api-version"]
        assert version["required"] is True
        schema = version["schema"]
        assert schema.get("enum", [schema.get("const")]) == list(versions_with(operation))
        assert version["schema"]["default"] == versions_with(operation)[-1]
        return
    raise AssertionError(f"{operation} is not documented")


def test_the_slash_spelled_opt_out_paths_list_only_their_version(document: dict[str, Any]) -> None:
    item = document["paths"]["/sms/optouts/:add"]["post"]
    assert item["operationId"] == "OptOuts_Add_SpecPathSpelling"
    assert item["parameters"][0]["schema"]["const"] == "2024-12-10-preview"
    assert "404" in item["responses"]


def test_the_delivery_report_is_any_of_the_versions_shapes(document: dict[str, Any]) -> None:
    item = document["paths"]["/deliveryReports/{outgoingMessageId}"]["get"]
    refs = item["responses"]["200"]["content"]["application/json"]["schema"]["anyOf"]
    names = {VERSIONS[v].delivery_report.name for v in versions_with(Operation.DELIVERY_REPORT)}  # type: ignore[union-attr]
    assert {ref["$ref"].rpartition("/")[2] for ref in refs} == names
    schemas = document["components"]["schemas"]
    assert schemas["DeliveryReport_2026_01_23"]["properties"]["deliveryStatus"]["enum"] == ["Delivered", "Failed"]
    assert "messagingConnectPartnerMessageId" in schemas["DeliveryReport_2026_01_23"]["properties"]
    assert "messagingConnectPartnerMessageId" not in schemas["DeliveryReport_2025_08_01_preview"]["properties"]
    problem = item["responses"]["404"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/ProblemDetails"}


def test_parameter_models_are_not_left_as_components(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert not [name for name in schemas if name.endswith(("Query", "Path"))]


def _validates(schema_name: str, document: dict[str, Any], body: Any) -> bool:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": document["components"],
        "$ref": f"#/components/schemas/{schema_name}",
    }
    return bool(jsonschema_rs.validator_for(schema).is_valid(body))


def test_errors_are_azure_s_error_body(document: dict[str, Any]) -> None:
    assert _validates("ErrorResponse", document, {"error": {"code": "NotFound", "message": "No such resource."}})
    assert not _validates("ErrorResponse", document, {"error": {"code": "NotFound"}})
    assert not _validates("ErrorResponse", document, {"code": "NotFound", "message": "m"})
    for method, path, item in _operations(document):
        assert item["responses"].get("default", {}).get("content") is None or item["responses"]["default"]["content"][
            "application/json"
        ]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path)


def test_an_omittable_field_may_be_absent_but_not_null(document: dict[str, Any]) -> None:
    result = {"to": "+14255550123", "httpStatusCode": 202, "successful": True}
    assert _validates("SendResult", document, result)
    assert _validates("SendResult", document, {**result, "messageId": "Outgoing_x"})
    assert not _validates("SendResult", document, {**result, "messageId": None})
    assert not _validates("SendResult", document, {"to": "+14255550123", "successful": True})


def test_a_send_option_of_another_version_is_refused_by_the_schema(document: dict[str, Any]) -> None:
    base = {"from": "+18005550100", "smsRecipients": [{"to": "+14255550123"}], "message": "hi"}
    old, new = VERSIONS["2021-03-07"].send.name, VERSIONS["2026-01-23"].send.name
    timeout = {**base, "smsSendOptions": {"deliveryReportTimeoutInSeconds": 60}}
    assert _validates(new, document, timeout)
    assert not _validates(old, document, timeout)
    assert _validates(old, document, {**base, "anythingElse": 1})  # extra properties are allowed


def test_the_document_is_served_from_the_app_s_own_routes(tmp_path: Path) -> None:
    import httpx

    async def get_document(app: Any) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # in process: no socket
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            return await client.get("/openapi.json")

    runtime = Runtime.build(Settings(data_dir=tmp_path))
    try:
        app = create_app(runtime.app_context(), [Route("/extra", _noop, methods=["GET"], include_in_schema=False)])
        response = asyncio.run(get_document(app))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        served = response.json()
        assert served["servers"] == [{"url": "http://localhost"}]
        assert "/extra" not in served["paths"]
        assert set(served["paths"]) == {path for _, path in operation_table()}
    finally:
        asyncio.run(runtime.store.close())


def _nodes(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _nodes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _nodes(item)


def test_every_constraint_is_a_json_schema_keyword(document: dict[str, Any]) -> None:
    """A pydantic constraint on an `X | Omittable` field outside Annotated leaks as `ge`/`max_length`, which JSON
    Schema ignores: the documented limit would silently vanish."""
    python_names = {"ge", "le", "gt", "lt", "min_length", "max_length", "multiple_of"}
    for node in _nodes(document["components"]["schemas"]):
        assert not python_names & node.keys(), node
        if node.get("type") == "array":
            assert not {"minLength", "maxLength"} & node.keys(), node
    for _, _, operation in _operations(document):
        for parameter in operation.get("parameters", []):
            assert not python_names & parameter["schema"].keys(), parameter


def test_operation_ids_are_unique_and_every_security_scheme_is_defined(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in _operations(document)]
    assert len(ids) == len(set(ids))
    schemes = document["components"]["securitySchemes"]
    for method, path, operation in _operations(document):
        for requirement in operation["security"]:
            assert set(requirement) <= set(schemes), (method, path, requirement)
    public = {(m, p) for m, p, op in _operations(document) if not op["security"]}
    assert public == {
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
        ("GET", "/eventsubscriptions/{name}/validate"),
    }


def test_the_documented_paging_bounds_are_the_handlers(document: dict[str, Any]) -> None:
    from smsgrid.api import admin

    for path in ("/admin/messages", "/admin/events", "/admin/deadletters"):
        [limit] = [p for p in document["paths"][path]["get"]["parameters"] if p["name"] == "limit"]
        assert (limit["schema"]["maximum"], limit["schema"]["default"]) == (admin.MAX_PAGE, admin.DEFAULT_PAGE)
    [before] = [p for p in document["paths"]["/admin/events"]["get"]["parameters"] if p["name"] == "before"]
    assert before["schema"]["maximum"] == admin.MAX_SEQ


def test_a_path_model_that_misnames_a_path_parameter_is_drift() -> None:
    from dataclasses import replace

    from smsgrid.api.models import EventIdPath

    table = operation_table()
    endpoint = ("GET", "/admin/messages/{message_id}")
    wrong = {**table, endpoint: replace(table[endpoint], path=EventIdPath)}
    with pytest.raises(RouteTableDrift) as raised:
        check_route_table(list(table), wrong)
    assert raised.value.misnamed_parameters == [endpoint]
    missing = {**table, endpoint: replace(table[endpoint], path=None)}
    with pytest.raises(RouteTableDrift):
        check_route_table(list(table), missing)
