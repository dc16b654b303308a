"""The data plane's entries of the operation table (`api/operations.py`), generated from the version table.

Each route of `versions.ROUTES` gets its api-version parameter (exactly the versions that define the operation on
that path) and the request/response models of those versions (`models.py`, made from the shapes); no version is
written out here.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from smsgrid.acs.models import (
    OptOutsRequest,
    OptOutsResponse,
    ProblemDetails,
    SendResponse,
    delivery_report_model,
    mms_request_model,
    send_request_model,
)
from smsgrid.acs.versions import ROUTES, VERSIONS, Operation, Route, versions_with
from smsgrid.api.operations import Body, Endpoint, OperationDoc, Reply, errors, json_body

DATA_PLANE = ("acsHmac",)

_SUMMARIES = {
    Operation.SEND: "Send an SMS to 1-100 recipients (what SmsClient.send calls).",
    Operation.OPTOUTS_ADD: "Opt the recipients out of messages from the sender.",
    Operation.OPTOUTS_REMOVE: "Opt the recipients back in.",
    Operation.OPTOUTS_CHECK: "Whether each recipient is opted out of the sender.",
    Operation.DELIVERY_REPORT: "The delivery report of a sent message.",
    Operation.MMS_SEND: "Send an MMS with 1-10 attachments to 1-100 recipients (2024-01-14-preview).",
}
_OPTOUTS = (Operation.OPTOUTS_ADD, Operation.OPTOUTS_REMOVE, Operation.OPTOUTS_CHECK)


def _users(predicate: Any) -> tuple[str, ...]:
    return tuple(name for name, version in sorted(VERSIONS.items()) if predicate(version))


def send_model(version: str) -> type[BaseModel]:
    """The `POST /sms` body model of `version`."""
    shape = VERSIONS[version].send
    return send_request_model(shape, _users(lambda v: v.send is shape))


def mms_model(version: str) -> type[BaseModel]:
    shape = VERSIONS[version].mms
    if shape is None:
        raise KeyError(f"api-version {version} has no MMS")
    return mms_request_model(shape)


def report_model(version: str) -> type[BaseModel]:
    """The `GET /deliveryReports/{id}` answer model of `version`."""
    shape = VERSIONS[version].delivery_report
    if shape is None:
        raise KeyError(f"api-version {version} has no delivery report")
    return delivery_report_model(shape, _users(lambda v: v.delivery_report is shape))


def _distinct(models: list[type[BaseModel]]) -> tuple[type[BaseModel], ...]:
    return tuple(sorted(set(models), key=lambda model: model.__name__))


def _version_query(operation_id: str, versions: tuple[str, ...]) -> type[BaseModel]:
    """The query string: `api-version`, one of exactly `versions`."""
    allowed: Any = Literal[versions]
    name = f"{operation_id}_Query"
    description = (
        "ACS data-plane API version (docs/api-versions.md). Any other, or a version without this operation, is a "
        "400 UnsupportedApiVersion."
    )
    model: type[BaseModel] = create_model(
        name,
        api_version=(
            allowed,
            # Required (a missing one is a 400), so its default is only what clients should send.
            Field(alias="api-version", description=description, json_schema_extra={"default": versions[-1]}),
        ),
    )
    return model


class OutgoingMessagePath(BaseModel):
    outgoingMessageId: str = Field(description="The Outgoing_… id from the send result.")


def _operation(route: Route) -> OperationDoc:
    operation = route.operation
    only = route.only_versions is not None
    versions = tuple(sorted(route.only_versions)) if route.only_versions is not None else versions_with(operation)
    operation_id = f"{operation}{'_SpecPathSpelling' if only else ''}"
    details: dict[str, Any] = {"summary": _SUMMARIES[operation], "query": _version_query(operation_id, versions)}
    shapes: dict[str, str] = {}
    if operation is Operation.SEND:
        shapes = {v: VERSIONS[v].send.name for v in versions}
    elif operation is Operation.DELIVERY_REPORT:
        shapes = {v: report_model(v).__name__ for v in versions}
    if shapes:
        details["parameter_extensions"] = {"api-version": {"x-smsgrid-shape-per-version": shapes}}
    if operation is Operation.DELIVERY_REPORT:
        reports = _distinct([report_model(v) for v in versions])
        responses = {
            "200": Reply("The report, in the api-version's shape.", reports),
            "404": Reply("No report (yet) for that id.", ProblemDetails, "application/problem+json"),
            **errors("400", "401"),
        }
        return OperationDoc(operation_id, ("data plane",), DATA_PLANE, responses, path=OutgoingMessagePath, **details)
    if operation in _OPTOUTS:
        responses = {
            "200": Reply("Each recipient's opt-out state.", OptOutsResponse),
            **errors("400", "401", *(("404",) if only else ()), "413", "503"),
        }
        return OperationDoc(operation_id, ("data plane",), DATA_PLANE, responses, body=json_body(OptOutsRequest),
                            **details)  # fmt: skip
    if operation is Operation.SEND:
        body = Body({"application/json": _distinct([send_model(v) for v in versions])})
    else:
        body = Body({"application/json": _distinct([mms_model(v) for v in versions])})
    responses = {
        "202": Reply("Accepted; each recipient's own result inside.", SendResponse),
        **errors("400", "401", "413", "429", "503"),
    }
    return OperationDoc(operation_id, ("data plane",), DATA_PLANE, responses, body=body, **details)


@cache
def data_plane_operations() -> dict[Endpoint, OperationDoc]:
    """Every data-plane route's entry, from `versions.ROUTES` (made once: the table is fixed)."""
    return {(route.method, route.path): _operation(route) for route in ROUTES}
