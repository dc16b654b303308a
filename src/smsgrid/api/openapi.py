"""The OpenAPI 3.1 document of smsgrid's HTTP surface, served at `GET /openapi.json` (no auth), generated.

Paths and methods come from the app's real route table; what each operation takes and answers comes from the
operation table (`api/operations.py`, `api/acs_openapi.py`, `api/namespaces_openapi.py`), whose shapes are
pydantic models; their JSON Schema is pydantic's (`models_json_schema`, by alias). A route without an entry, or
an entry without a route, is a `RouteTableDrift`, so the document cannot drift from what is served. Tests
validate real responses against it and schemathesis runs from it.

Two security schemes: the ACS **HMAC-SHA256** signature the official SDK sends (SPEC §2; a scheme OpenAPI has
no type for, so it is described as an `Authorization` header), and the admin API's `Bearer <access key>`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Literal

import orjson
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaValue, models_json_schema
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from smsgrid.api import namespaces_openapi as namespace_openapi
from smsgrid.api.acs_openapi import data_plane_operations
from smsgrid.api.operations import (
    ADMIN_OPERATIONS,
    SERVICE_OPERATIONS,
    TOPIC_OPERATIONS,
    Body,
    Endpoint,
    Models,
    OperationDoc,
    Reply,
)
from smsgrid.api.responses import JSON

Schema = dict[str, Any]
Mode = Literal["validation", "serialization"]
REF_TEMPLATE = "#/components/schemas/{model}"

SECURITY_SCHEMES: dict[str, Any] = {
    "acsHmac": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": (
            "ACS HMAC-SHA256, as the official SDKs sign: `Authorization: HMAC-SHA256 "
            "SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<base64>` where the signature "
            'is base64(HMAC-SHA256(base64decode(access key), VERB + "\\n" + path_and_query + "\\n" '
            '+ x-ms-date + ";" + host + ";" + x-ms-content-sha256)), with headers `x-ms-date` (RFC 1123, '
            "within 15 minutes of the server's clock) and `x-ms-content-sha256` (base64 SHA-256 of the "
            "body)."
        ),
    },
    "aegSasKey": {
        "type": "apiKey",
        "in": "header",
        "name": "aeg-sas-key",
        "description": "The access key itself (Event Grid topic key authentication).",
    },
    "aegSasToken": {
        "type": "apiKey",
        "in": "header",
        "name": "aeg-sas-token",
        "description": "A SAS token `r=…&e=…&s=…` as azure.eventgrid.generate_sas builds it.",
    },
    "sharedAccessSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`SharedAccessSignature r=…&e=…&s=…` (the same token in the Authorization header).",
    },
    "accessKeyBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer <access key>` (the base64 key itself).",
    },
    **namespace_openapi.SECURITY_SCHEMES,
}


def operation_table() -> dict[Endpoint, OperationDoc]:
    """Every documented operation, by (METHOD, path template)."""
    return {
        **data_plane_operations(),
        **TOPIC_OPERATIONS,
        **ADMIN_OPERATIONS,
        **namespace_openapi.OPERATIONS,
        **SERVICE_OPERATIONS,
    }


class RouteTableDrift(Exception):
    """The served routes and the operation table disagree: a route without an entry, an entry without a route, or
    an entry whose path model does not name exactly the path's `{parameters}`."""

    def __init__(
        self,
        undocumented: Iterable[Endpoint] = (),
        unserved: Iterable[Endpoint] = (),
        misnamed_parameters: Iterable[Endpoint] = (),
    ) -> None:
        self.undocumented = sorted(undocumented)
        self.unserved = sorted(unserved)
        self.misnamed_parameters = sorted(misnamed_parameters)
        parts = []
        if self.undocumented:
            parts.append(f"routes with no entry in the operation table (api/operations.py): {self.undocumented}")
        if self.unserved:
            parts.append(f"operation table entries with no route: {self.unserved}")
        if self.misnamed_parameters:
            parts.append(f"entries whose path model does not match the path's parameters: {self.misnamed_parameters}")
        super().__init__("; ".join(parts))


def served_endpoints(routes: Sequence[BaseRoute], prefix: str = "") -> list[Endpoint]:
    """(METHOD, path template) of every route the app serves, in order; HEAD (Starlette adds it to GET) and routes
    built with `include_in_schema=False` left out, mounted routers walked (a mounted app, e.g. static files, has no
    operations)."""
    found: list[Endpoint] = []
    for route in routes:
        if isinstance(route, Route) and route.include_in_schema:
            found += [(method, prefix + route.path) for method in sorted(route.methods or ()) if method != "HEAD"]
        elif isinstance(route, Mount):
            found += served_endpoints(route.routes, prefix + route.path)
    return found


def _path_parameters_match(path: str, operation: OperationDoc) -> bool:
    fields = operation.path.model_fields.items() if operation.path is not None else ()
    return {field.alias or name for name, field in fields} == set(_PATH_PARAMETER.findall(path))


_PATH_PARAMETER = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")  # Starlette's {name} or {name:convertor}


def check_route_table(served: Iterable[Endpoint], table: Mapping[Endpoint, OperationDoc]) -> None:
    """Raises RouteTableDrift unless every served API route has an entry, every entry is served, and each entry's
    path model names exactly its path's parameters."""
    served_api = set(served)  # the web UI and the Entra issuer are served with include_in_schema=False
    undocumented, unserved = served_api - table.keys(), table.keys() - served_api
    misnamed = [endpoint for endpoint, operation in table.items() if not _path_parameters_match(endpoint[1], operation)]
    if undocumented or unserved or misnamed:
        raise RouteTableDrift(undocumented, unserved, misnamed)


def _as_tuple(models: Models) -> tuple[type[BaseModel], ...]:
    return models if isinstance(models, tuple) else (models,)


class _Schemas:
    """Every model the table uses, turned into JSON Schema at once, so shared models are one component each."""

    def __init__(self, operations: Iterable[OperationDoc]) -> None:
        wanted: dict[tuple[type[BaseModel], Mode], None] = {}
        for op in operations:
            for model in (op.path, op.query):
                if model is not None:
                    wanted[(model, "validation")] = None
            for content in op.body.content.values() if op.body else ():
                wanted.update(((model, "validation"), None) for model in _as_tuple(content))
            for reply in op.responses.values():
                if reply.model is not None:
                    wanted.update(((model, "serialization"), None) for model in _as_tuple(reply.model))
        refs, definitions = models_json_schema(list(wanted), by_alias=True, ref_template=REF_TEMPLATE)
        self.refs: dict[tuple[Any, Mode], JsonSchemaValue] = dict(refs)
        self.components: dict[str, Schema] = definitions.get("$defs", {})
        self.parameter_models: set[str] = set()

    def ref(self, models: Models, mode: Mode) -> Schema:
        refs = [self.refs[(model, mode)] for model in _as_tuple(models)]
        return refs[0] if len(refs) == 1 else {"anyOf": refs}

    def parameters(
        self, model: type[BaseModel], where: str, extensions: Mapping[str, Mapping[str, Any]]
    ) -> list[Schema]:
        """One parameter object per field of a path or query model (its alias is the name)."""
        name = self.refs[(model, "validation")]["$ref"].rpartition("/")[2]
        self.parameter_models.add(name)
        schema = self.components[name]
        required = set(schema.get("required", ()))
        parameters = []
        for field, generated in schema.get("properties", {}).items():
            field_schema = {k: v for k, v in generated.items() if k != "title"}
            parameter: Schema = {"name": field, "in": where, "required": where == "path" or field in required}
            if "description" in field_schema:
                parameter["description"] = field_schema.pop("description")
            parameter["schema"] = field_schema
            parameters.append({**parameter, **extensions.get(field, {})})
        return parameters


def _reply(reply: Reply, schemas: _Schemas) -> Schema:
    answer: Schema = {"description": reply.description}
    if reply.model is not None:
        answer["content"] = {reply.media_type: {"schema": schemas.ref(reply.model, "serialization")}}
    return answer


def _body(body: Body, schemas: _Schemas) -> Schema:
    content = {media_type: {"schema": schemas.ref(models, "validation")} for media_type, models in body.content.items()}
    return {"required": body.required, "content": content}


def _operation(op: OperationDoc, schemas: _Schemas) -> Schema:
    item: Schema = {"tags": list(op.tags), "operationId": op.operation_id}
    if op.summary:
        item["summary"] = op.summary
    item["security"] = [{scheme: []} for scheme in op.security]
    parameters = []
    if op.path is not None:
        parameters += schemas.parameters(op.path, "path", op.parameter_extensions)
    if op.query is not None:
        parameters += schemas.parameters(op.query, "query", op.parameter_extensions)
    if parameters:
        item["parameters"] = parameters
    if op.body is not None:
        item["requestBody"] = _body(op.body, schemas)
    item["responses"] = {status: _reply(reply, schemas) for status, reply in op.responses.items()}
    return item


def build_openapi(served: Iterable[Endpoint], server_url: str | None = None) -> dict[str, Any]:
    """The document of the routes `served` (see `served_endpoints`); `server_url` (e.g. http://127.0.0.1:8080)
    becomes its only server. Raises RouteTableDrift when they and the operation table disagree."""
    served = list(dict.fromkeys(served))
    table = operation_table()
    check_route_table(served, table)
    documented = [endpoint for endpoint in served if endpoint in table]
    schemas = _Schemas(table[endpoint] for endpoint in documented)
    paths: dict[str, Schema] = {}
    for method, path in documented:
        paths.setdefault(path, {})[method.lower()] = _operation(table[(method, path)], schemas)
    components = {name: schema for name, schema in schemas.components.items() if name not in schemas.parameter_models}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "smsgrid",
            "version": "1",
            "description": (
                "Azure Communication Services SMS (data plane) and smsgrid's admin API. Errors use Azure's "
                '`{"error": {"code", "message"}}` body. See docs/admin-api.md.'
            ),
        },
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": SECURITY_SCHEMES},
    }
    if server_url:
        document["servers"] = [{"url": server_url.rstrip("/")}]
    return document


@lru_cache(maxsize=16)
def _document_bytes(served: tuple[Endpoint, ...], server_url: str) -> bytes:
    # The same app and address always give the same document: build it once, not per request.
    return orjson.dumps(build_openapi(served, server_url))


async def openapi_json(request: Request) -> Response:
    base = f"{request.url.scheme}://{request.url.netloc}"
    body = _document_bytes(tuple(served_endpoints(request.app.routes)), base)
    return Response(body, media_type=JSON)


routes = [Route("/openapi.json", openapi_json, methods=["GET"])]

__all__ = ["RouteTableDrift", "build_openapi", "operation_table", "routes", "served_endpoints"]
