"""OpenAPI 3.1 schemas of the data plane, generated from the version table's shapes (never written per version).

`api/openapi.py` puts these under `components.schemas` and builds the data-plane paths from `versions.ROUTES`.
Objects allow extra properties, as the server ignores fields no version defines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smsgrid.acs.models import (
    INT32_MAX,
    VERSIONED_OPTIONS,
    ConnectShape,
    DeliveryReportShape,
    IntRange,
    SendOptionsShape,
    SendShape,
)
from smsgrid.acs.versions import VERSIONS, Operation, send_shapes, versions_with

Schema = dict[str, Any]
STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
TIMESTAMP: Schema = {"type": "string", "description": "UTC ISO 8601 with up to 7 fractional digits and Z (SPEC §1)."}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"oneOf": [schema, {"type": "null"}]}


def obj(properties: Mapping[str, Schema | bool], required: list[str] | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "object", "properties": dict(properties)}
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


def _int_range(limits: IntRange, description: str) -> Schema:
    schema: Schema = {"type": "integer", "description": description}
    if limits.minimum is not None:
        schema["minimum"] = limits.minimum
    schema["maximum"] = INT32_MAX if limits.maximum is None else limits.maximum  # int32 in every swagger
    return schema


def _connect(shape: ConnectShape) -> Schema:
    if shape is ConnectShape.API_KEY:
        return obj({"apiKey": {"type": "string", "minLength": 1}, "partner": {"type": "string", "minLength": 1}},
                   ["apiKey", "partner"])  # fmt: skip
    return obj(
        {
            "partner": {"type": "string", "minLength": 1},
            "partnerParams": {"type": "object", "minProperties": 1, "additionalProperties": STRING},
        },
        ["partner", "partnerParams"],
    )


def send_options_schema(shape: SendOptionsShape) -> Schema:
    properties: dict[str, Schema | bool] = {"enableDeliveryReport": BOOLEAN, "tag": nullable(STRING)}
    if shape.validity_period is not None:
        text = "Seconds to wait for a delivery report; after it the timeout report (Failed, 5002) comes."
        if shape.validity_period_default is not None:
            text += f" Default {shape.validity_period_default}."
        properties["validityPeriodSeconds"] = nullable(_int_range(shape.validity_period, text))
    if shape.report_timeout is not None:
        text = "Seconds to wait for a delivery report; after it the timeout report (Failed, 5002) comes."
        properties["deliveryReportTimeoutInSeconds"] = nullable(_int_range(shape.report_timeout, text))
    if shape.messaging_connect is not None:
        properties["messagingConnect"] = nullable(_connect(shape.messaging_connect))
    for name in VERSIONED_OPTIONS:
        # Defined by another version: refused on this one (a JSON Schema `false`), as the server does.
        properties.setdefault(name, False)
    return obj(properties)


def send_request_schema(shape: SendShape) -> Schema:
    used_by = [name for name, v in sorted(VERSIONS.items()) if v.send is shape]
    return obj(
        {
            "from": {"type": "string", "description": "One of the resource's numbers, E.164."},
            "smsRecipients": {
                "type": "array",
                "minItems": shape.min_recipients,
                "maxItems": shape.max_recipients,
                "items": obj(
                    {
                        "to": {"type": "string", "minLength": 1},
                        # null is "no id"; an empty id is a 400.
                        "repeatabilityRequestId": nullable({"type": "string", "minLength": 1}),
                        "repeatabilityFirstSent": {
                            "type": "string",
                            "description": "RFC 1123 time; required with a repeatabilityRequestId, else that "
                            "recipient is rejected inside the 202.",
                        },
                    },
                    ["to"],
                ),
            },
            "message": {"type": "string", "minLength": 0, "maxLength": shape.max_message_chars},
            "smsSendOptions": nullable(send_options_schema(shape.options)),
        },
        ["from", "smsRecipients", "message"],
        description=f"POST /sms body of api-version {', '.join(used_by)}.",
    )


def delivery_report_schema(shape: DeliveryReportShape) -> Schema:
    properties: dict[str, Schema] = {
        "messageId": STRING,
        "from": STRING,
        "to": STRING,
        "deliveryStatus": {"type": "string", "enum": list(shape.statuses)},
        "deliveryStatusDetails": STRING,
        "deliveryAttempts": {"type": "array", "items": ref("DeliveryAttempt")},
        "receivedTimestamp": TIMESTAMP,
        "tag": nullable(STRING),
    }
    if shape.partner_message_id:
        properties["messagingConnectPartnerMessageId"] = STRING
    used_by = [name for name, v in sorted(VERSIONS.items()) if v.delivery_report is shape]
    return obj(
        properties,
        ["messageId", "from", "to", "deliveryStatus"],
        description=f"GET /deliveryReports/{{id}} of api-version {', '.join(used_by)}.",
    )


def data_plane_schemas() -> dict[str, Schema]:
    schemas = {name: send_request_schema(shape) for name, shape in send_shapes().items()}
    for version in VERSIONS.values():
        if version.delivery_report is not None:
            schemas[version.delivery_report.name] = delivery_report_schema(version.delivery_report)
        if version.mms is not None:
            mms = version.mms
            schemas[mms.name] = obj(
                {
                    "from": STRING,
                    "recipients": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": mms.max_recipients,
                        "items": obj(
                            {
                                "to": {"type": "string", "minLength": 1},
                                "repeatabilityRequestId": STRING,
                                "repeatabilityFirstSent": STRING,
                            },
                            ["to"],
                        ),
                    },
                    "message": {"type": "string", "maxLength": mms.max_message_chars},
                    "attachments": {
                        "type": "array",
                        "minItems": mms.min_attachments,
                        "maxItems": mms.max_attachments,
                        "items": obj(
                            {
                                "mimeType": {"type": "string", "minLength": 1},
                                "content": {"type": "string", "minLength": 1},
                            },
                            ["mimeType", "content"],
                        ),
                    },
                    "sendOptions": nullable(obj({"enableDeliveryReport": BOOLEAN, "tag": STRING})),
                },
                ["from", "recipients", "attachments"],
            )
    return schemas


def request_body(operation: Operation) -> Schema:
    """The body schema of an operation: one of its versions' shapes (the api-version says which)."""
    if operation is Operation.SEND:
        names = sorted({VERSIONS[v].send.name for v in versions_with(operation)})
        return {"anyOf": [ref(n) for n in names]}
    if operation is Operation.MMS_SEND:
        names = sorted({m.name for v in versions_with(operation) if (m := VERSIONS[v].mms) is not None})
        return {"anyOf": [ref(n) for n in names]}
    return ref("OptOutRequest")  # the same in every version that has opt-outs


def report_body() -> Schema:
    names = sorted({r.name for v in versions_with(Operation.DELIVERY_REPORT) if (r := VERSIONS[v].delivery_report)})
    return {"anyOf": [ref(n) for n in names]}


def version_parameter(operation: Operation, only: tuple[str, ...] | None = None) -> dict[str, Any]:
    versions = only or versions_with(operation)
    shapes = {}
    for v in versions:
        entry = VERSIONS[v]
        if operation is Operation.SEND:
            shapes[v] = entry.send.name
        elif operation is Operation.DELIVERY_REPORT and entry.delivery_report is not None:
            shapes[v] = entry.delivery_report.name
    parameter: dict[str, Any] = {
        "name": "api-version",
        "in": "query",
        "required": True,
        "description": "ACS data-plane API version (docs/api-versions.md). Any other, or a version without this "
        "operation, is a 400 UnsupportedApiVersion.",
        "schema": {"type": "string", "enum": list(versions), "default": versions[-1]},
    }
    if shapes:
        parameter["x-smsgrid-shape-per-version"] = shapes
    return parameter
