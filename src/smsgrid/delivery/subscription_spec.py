"""An event subscription as ``PUT /admin/subscriptions/{name}`` receives it (SPEC §4) and the store keeps it.

The body is Event Grid's event-subscription ``properties`` object, bare or wrapped in ``{"properties": …}``
(manage-event-delivery, delivery-properties, event-filtering). :func:`parse_subscription_spec` checks all of
it and raises one :class:`~smsgrid.errors.SubscriptionSpecError` listing every problem, each with the path of
the offending field and what to change. Enum-like strings (``WebHook``, ``Static``, operator names …) are
accepted in any case, as Azure Resource Manager does, and stored in Azure's spelling.

Three renderings back: :func:`spec_to_public_dict` hides secrets the way Azure does (a secret Static
attribute's value and the webhook URL's query come back as ``null``; the Standard Webhooks secret is never
returned), :func:`spec_to_storage_dict` / :func:`spec_from_storage_dict` keep them for the database.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import ipaddress
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeAlias, TypeVar
from urllib.parse import urlsplit, urlunsplit

from smsgrid.delivery.filters import (
    MAX_ADVANCED_FILTER_VALUES,
    MAX_ADVANCED_FILTERS,
    MAX_STRING_VALUE_LENGTH,
    NO_VALUE_OPERATORS,
    NUMBER_OPERATORS,
    RANGE_OPERATORS,
    SINGLE_VALUE_OPERATORS,
    AdvancedFilter,
    FilterOperator,
    FilterValue,
    SubscriptionFilter,
    filter_to_dict,
)
from smsgrid.delivery.retry import (
    MAX_EVENT_TTL_MINUTES,
    MAX_MAX_DELIVERY_ATTEMPTS,
    MIN_EVENT_TTL_MINUTES,
    MIN_MAX_DELIVERY_ATTEMPTS,
    RetryPolicy,
)
from smsgrid.errors import Problem, SubscriptionSpecError

NAME_PATTERN = re.compile(r"[A-Za-z0-9-]{3,64}")
MAX_DELIVERY_ATTRIBUTE_MAPPINGS = 10
RESERVED_ATTRIBUTE_PREFIX = "aeg-"
# Headers a delivery attribute may not set (delivery-properties reserves the aeg- prefix; these others are
# smsgrid's choice, docs/differences-from-azure.md): the request's framing and routing (a wrong Host or
# Content-Length makes a different request than the one signed and counted), hop-by-hop headers (RFC 9110 §7.6.1),
# and the headers smsgrid itself sets on every delivery (content type by schema, CloudEvents origin, Standard
# Webhooks signature), which an attribute would silently replace.
RESERVED_HEADER_NAMES = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "content-encoding",
        "content-type",
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "proxy-authenticate",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "webhook-request-origin",
        "webhook-request-callback",
        "webhook-request-rate",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)
# delivery-properties: "Each header value shouldn't be greater than 4,096 (4K) bytes."
MAX_HEADER_VALUE_BYTES = 4096
MIN_EVENTS_PER_BATCH, MAX_EVENTS_PER_BATCH, DEFAULT_EVENTS_PER_BATCH = 1, 5000, 1
MIN_BATCH_KB, MAX_BATCH_KB, DEFAULT_BATCH_KB = 1, 1024, 64
WEBHOOK = "WebHook"
STORAGE_QUEUE = "StorageQueue"
AZURE_FUNCTION = "AzureFunction"
STORAGE_BLOB = "StorageBlob"
# queueMessageTimeToLiveInSeconds: -1 (never expires) or a positive number of seconds (ARM 2025-02-15,
# StorageQueueEventSubscriptionDestinationProperties; Queue REST "Put Message", messagettl).
MAX_QUEUE_MESSAGE_TTL_SECONDS = 2_147_483_647
STANDARD_WEBHOOKS_SECRET_PREFIX = "whsec_"
# The Standard Webhooks spec asks for signing secrets of 24 to 64 random bytes.
MIN_SECRET_BYTES, MAX_SECRET_BYTES = 24, 64

# An HTTP header name (RFC 9110 token): a delivery attribute becomes a request header (delivery-properties).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# What a header value may hold: no control character but HTAB (RFC 9110 §5.5, field-value); aiohttp refuses
# them too, and a header that cannot be sent used to stall the delivery instead of failing it.
_HEADER_VALUE_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# A DNS label (RFC 1123; "_" tolerated, as resolvers accept it in practice).
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")
# Azure blob container names: 3-63 of a-z, 0-9 and single hyphens, starting and ending with a letter or digit.
# The name also becomes a folder under the data dir, which these rules keep safe (no "/", no "..").
_CONTAINER_NAME = re.compile(r"(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
# Queue names follow the same rules as container names (Queue REST, "Naming queues and metadata").
_QUEUE_NAME = _CONTAINER_NAME
# ARM resource ids of the two resources these destinations name; provider segments are case-insensitive.
_STORAGE_ACCOUNT_ID = re.compile(
    r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Storage/storageAccounts/([a-z0-9]{3,24})",
    re.IGNORECASE,
)
_FUNCTION_ID = re.compile(
    r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Web/sites/([A-Za-z0-9-]{2,60})"
    r"/functions/([A-Za-z][A-Za-z0-9_-]{0,127})",
    re.IGNORECASE,
)


class EventDeliverySchema(StrEnum):
    """``eventDeliverySchema``: how events are rendered for this subscription (SPEC §1)."""

    EVENT_GRID = "EventGridSchema"
    CLOUD_EVENTS_V1_0 = "CloudEventSchemaV1_0"


class DeliveryAttributeType(StrEnum):
    STATIC = "Static"
    DYNAMIC = "Dynamic"


@dataclass(frozen=True, slots=True)
class StaticDeliveryAttribute:
    """A header with a fixed value; a secret one is never shown back (delivery-properties)."""

    name: str
    value: str = field(repr=False)
    is_secret: bool = False


@dataclass(frozen=True, slots=True)
class DynamicDeliveryAttribute:
    """A header whose value is read from the event, e.g. ``data.Tag`` (delivery-properties)."""

    name: str
    source_field: str


DeliveryAttributeMapping: TypeAlias = StaticDeliveryAttribute | DynamicDeliveryAttribute


@dataclass(frozen=True, slots=True)
class WebhookDestination:
    endpoint_url: str
    max_events_per_batch: int = DEFAULT_EVENTS_PER_BATCH
    preferred_batch_size_in_kilobytes: int = DEFAULT_BATCH_KB
    delivery_attribute_mappings: tuple[DeliveryAttributeMapping, ...] = ()
    # Microsoft Entra-protected delivery (ARM WebHookEventSubscriptionDestinationProperties): both or neither.
    # Not secrets: ARM shows them in GET, and the token they lead to is minted per request.
    azure_active_directory_tenant_id: str | None = None
    azure_active_directory_application_id_or_uri: str | None = None

    @property
    def entra_protected(self) -> bool:
        return self.azure_active_directory_application_id_or_uri is not None


@dataclass(frozen=True, slots=True)
class StorageQueueDestination:
    """``StorageQueue``: one queue message per event, never batched (Event Grid, "Storage queue as a handler")."""

    resource_id: str
    account: str  # the storage account named by resource_id, looked up in [storage_accounts]
    queue_name: str
    queue_message_time_to_live_seconds: int | None = None
    max_events_per_batch: int = 1
    preferred_batch_size_in_kilobytes: int = DEFAULT_BATCH_KB
    delivery_attribute_mappings: tuple[DeliveryAttributeMapping, ...] = ()


@dataclass(frozen=True, slots=True)
class AzureFunctionDestination:
    """``AzureFunction``: POSTed to the Functions host's Event Grid trigger URL, like a webhook without handshake."""

    resource_id: str
    function_app: str  # the site named by resource_id, looked up in [function_apps]
    function_name: str
    max_events_per_batch: int = DEFAULT_EVENTS_PER_BATCH
    preferred_batch_size_in_kilobytes: int = DEFAULT_BATCH_KB
    delivery_attribute_mappings: tuple[DeliveryAttributeMapping, ...] = ()


Destination: TypeAlias = WebhookDestination | StorageQueueDestination | AzureFunctionDestination


def storage_account_of(resource_id: str | None) -> str | None:
    """The account name in a ``Microsoft.Storage/storageAccounts/{account}`` resource id, or None."""
    if resource_id is None:
        return None
    match = _STORAGE_ACCOUNT_ID.fullmatch(resource_id)
    return match.group(1) if match else None


@dataclass(frozen=True, slots=True)
class DeadLetterDestination:
    """Azure's StorageBlob dead-letter destination; smsgrid writes the container as a data-dir folder."""

    blob_container_name: str
    resource_id: str | None = None


@dataclass(frozen=True, slots=True)
class StandardWebhooksSigning:
    """smsgrid extension: sign deliveries the Standard Webhooks way with this ``whsec_…`` secret."""

    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    name: str
    destination: Destination
    filter: SubscriptionFilter = field(default_factory=SubscriptionFilter)
    event_delivery_schema: EventDeliverySchema = EventDeliverySchema.EVENT_GRID
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    dead_letter_destination: DeadLetterDestination | None = None
    standard_webhooks: StandardWebhooksSigning | None = None
    # ARM EventSubscriptionProperties: free-form labels (echoed as given, null when absent) and the moment the
    # subscription expires and is deleted (docs/admin-api.md).
    labels: tuple[str, ...] | None = None
    expiration_time_utc: datetime | None = None


# --------------------------------------------------------------------------------------------- parsing


class _Problems:
    def __init__(self, *, strict: bool = True) -> None:
        self.found: list[Problem] = []
        # False only to read back a record stored before the issue-12 rules (hosts, reserved headers, header
        # values) existed, so it can be shown as Failed rather than break every listing.
        self.strict = strict

    def add(self, path: str, reason: str) -> None:
        self.found.append(Problem(path, reason))


def _join(base: str, key: str) -> str:
    return f"{base}.{key}" if base else key


E = TypeVar("E", bound=StrEnum)


def _object(raw: object, path: str, p: _Problems, *, required: bool, example: str) -> Mapping[str, Any] | None:
    if raw is None:
        if required:
            p.add(path, f"is required; give an object like {example}")
        return None
    if not isinstance(raw, Mapping):
        p.add(path, f"must be a JSON object like {example}, not {type(raw).__name__}")
        return None
    return raw


def _int(obj: Mapping[str, Any], key: str, path: str, p: _Problems, lo: int, hi: int, default: int) -> int:
    raw = obj.get(key)
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, int) or not lo <= raw <= hi:
        p.add(_join(path, key), f"must be a whole number from {lo} to {hi} (default {default}), not {raw!r}")
        return default
    return raw


def _bool(obj: Mapping[str, Any], key: str, path: str, p: _Problems, default: bool) -> bool:
    raw = obj.get(key)
    if raw is None:
        return default
    if not isinstance(raw, bool):
        p.add(_join(path, key), f"must be true or false, not {raw!r}")
        return default
    return raw


def _str(obj: Mapping[str, Any], key: str, path: str, p: _Problems, *, required: str | None = None) -> str | None:
    """The string at *key*; when absent, a problem saying *required* (if given) or None."""
    raw = obj.get(key)
    if raw is None:
        if required is not None:
            p.add(_join(path, key), f"is required: {required}")
        return None
    if not isinstance(raw, str):
        p.add(_join(path, key), f"must be a string, not {raw!r}")
        return None
    return raw


def _enum(raw: object, path: str, p: _Problems, enum: type[E], default: E | None) -> E | None:
    choices = ", ".join(f'"{m.value}"' for m in enum)
    if raw is None:
        if default is None:
            p.add(path, f"is required; use one of {choices}")
        return default
    if isinstance(raw, str):
        for member in enum:
            if member.value.casefold() == raw.casefold():
                return member
    p.add(path, f"must be one of {choices}, not {raw!r}")
    return default


def _is_finite_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _dotted_key_problem(key: str) -> str | None:
    if not key:
        return "must not be empty; give a field such as subject or data.Tag"
    if any(not part for part in key.split(".")):
        return f"{key!r} has an empty segment; write fields as data.a.b"
    return None


def _parse_endpoint_url(raw: object, path: str, p: _Problems) -> str:
    example = "http://127.0.0.1:9000/events"
    if raw is None:
        p.add(path, f"is required: the http:// or https:// URL events are POSTed to, e.g. {example}")
        return ""
    if not isinstance(raw, str):
        p.add(path, f"must be a URL string such as {example}, not {raw!r}")
        return ""
    if any(ch.isspace() or ord(ch) < 0x20 for ch in raw):
        p.add(path, "must not contain spaces or control characters; percent-encode them")
        return ""
    try:
        parts = urlsplit(raw)
        _ = parts.port  # raises on a port that is not a number 0-65535
    except ValueError as exc:
        p.add(path, f"is not a valid URL ({exc}); give one such as {example}")
        return ""
    # Azure accepts only https webhooks; a local emulator must also reach plain-http receivers (SPEC §4).
    if parts.scheme.lower() not in ("http", "https"):
        p.add(path, f"must start with http:// or https://, not {parts.scheme or 'no scheme'!r}")
    elif not parts.hostname:
        p.add(path, f"has no host; give one such as {example}")
    elif p.strict and (problem := host_problem(parts.hostname, bracketed="[" in parts.netloc)) is not None:
        p.add(path, f"has the host {parts.hostname!r}, which {problem}; give one such as {example}")
    return raw


def host_problem(host: str, *, bracketed: bool = False) -> str | None:
    """Why *host* (a URL's host, without brackets) cannot be connected to, or None.

    Checked at create so a malformed host is a 400 there, not an error on every delivery (`a..b` used to be a 500).
    """
    if bracketed:
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return "is not an IPv6 address"
        return None
    name = host.removesuffix(".")
    if len(name) > 253:
        return "is longer than 253 characters"
    labels = name.split(".")
    for label in labels:
        if not label:
            return "has an empty label (two dots in a row, or a leading dot)"
        if label.isascii():
            if not _HOST_LABEL.fullmatch(label):
                return f"has the label {label!r}: use 1-63 letters, digits and inner hyphens"
            continue
        try:
            encoded = label.encode("idna")
        except UnicodeError:
            return f"has the label {label!r}, which is not a valid international domain name"
        if len(encoded) > 63:
            return f"has the label {label!r}, longer than 63 characters once encoded"
    return None


def header_value_problem(value: str) -> str | None:
    """Why *value* cannot be sent as an HTTP header value, or None."""
    if _HEADER_VALUE_FORBIDDEN.search(value):
        return "must not contain control characters (line breaks, NUL, DEL …); it is sent as a header"
    if len(value.encode()) > MAX_HEADER_VALUE_BYTES:
        return f"is longer than {MAX_HEADER_VALUE_BYTES} bytes, Event Grid's limit for a header value"
    return None


def _parse_mapping(raw: object, path: str, p: _Problems) -> DeliveryAttributeMapping | None:
    example = '{"name": "X-Tenant", "type": "Static", "properties": {"value": "a", "isSecret": false}}'
    obj = _object(raw, path, p, required=True, example=example)
    if obj is None:
        return None
    name = _str(obj, "name", path, p, required="the header name to send, e.g. X-Tenant")
    if name is not None:
        if not _HEADER_NAME.fullmatch(name):
            p.add(_join(path, "name"), f"{name!r} is not a valid HTTP header name; use letters, digits and -")
        elif name.casefold().startswith(RESERVED_ATTRIBUTE_PREFIX):
            p.add(_join(path, "name"), f"{name!r} starts with the reserved prefix aeg-; choose another name")
        elif p.strict and name.casefold() in RESERVED_HEADER_NAMES:
            p.add(
                _join(path, "name"),
                f"{name!r} is set by smsgrid itself or frames the request, so it cannot be a delivery attribute; "
                "choose another name",
            )
    kind = _enum(obj.get("type"), _join(path, "type"), p, DeliveryAttributeType, None)
    props_path = _join(path, "properties")
    if kind is DeliveryAttributeType.STATIC:
        props = _object(obj.get("properties"), props_path, p, required=True, example='{"value": "…"}')
        if props is None:
            return None
        value = _str(props, "value", props_path, p, required="the header value to send")
        if value is not None and p.strict and (problem := header_value_problem(value)) is not None:
            p.add(_join(props_path, "value"), problem)
            value = None
        is_secret = _bool(props, "isSecret", props_path, p, False)
        if name is None or value is None:
            return None
        return StaticDeliveryAttribute(name=name, value=value, is_secret=is_secret)
    if kind is DeliveryAttributeType.DYNAMIC:
        props = _object(obj.get("properties"), props_path, p, required=True, example='{"sourceField": "data.Tag"}')
        if props is None:
            return None
        source = _str(props, "sourceField", props_path, p, required="the event field to read, e.g. data.Tag")
        if source is not None and (problem := _dotted_key_problem(source)) is not None:
            p.add(_join(props_path, "sourceField"), problem)
            source = None
        if name is None or source is None:
            return None
        return DynamicDeliveryAttribute(name=name, source_field=source)
    return None


def _parse_mappings(raw: object, path: str, p: _Problems) -> tuple[DeliveryAttributeMapping, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        p.add(path, "must be a list of {name, type, properties} objects")
        return ()
    if len(raw) > MAX_DELIVERY_ATTRIBUTE_MAPPINGS:
        p.add(
            path,
            f"has {len(raw)} mappings; at most {MAX_DELIVERY_ATTRIBUTE_MAPPINGS} are allowed, remove some",
        )
    mappings: list[DeliveryAttributeMapping] = []
    first_seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        item_path = f"{path}[{index}]"
        mapping = _parse_mapping(item, item_path, p)
        if mapping is None:
            continue
        # Header names are case-insensitive, so "X-A" and "x-a" would be the same header.
        folded = mapping.name.casefold()
        if folded in first_seen:
            p.add(
                _join(item_path, "name"),
                f"{mapping.name!r} repeats mapping [{first_seen[folded]}]; names must be unique",
            )
        else:
            first_seen[folded] = index
        mappings.append(mapping)
    return tuple(mappings)


def _parse_destination(raw: object, path: str, p: _Problems) -> Destination:
    example = '{"endpointType": "WebHook", "properties": {"endpointUrl": "http://127.0.0.1:9000/events"}}'
    obj = _object(raw, path, p, required=True, example=example)
    if obj is None:
        return WebhookDestination(endpoint_url="")
    endpoint_type = obj.get("endpointType")
    kinds = (WEBHOOK, STORAGE_QUEUE, AZURE_FUNCTION)
    choices = ", ".join(f'"{kind}"' for kind in kinds)
    kind = next((k for k in kinds if isinstance(endpoint_type, str) and endpoint_type.casefold() == k.casefold()), None)
    if endpoint_type is None:
        p.add(_join(path, "endpointType"), f"is required; smsgrid delivers to {choices}")
    elif kind is None:
        p.add(_join(path, "endpointType"), f"{endpoint_type!r} is not supported; smsgrid delivers to {choices}")
    if kind == STORAGE_QUEUE:
        return _parse_storage_queue(obj, path, p)
    if kind == AZURE_FUNCTION:
        return _parse_azure_function(obj, path, p)
    return _parse_webhook(obj, path, p)


def _parse_storage_queue(obj: Mapping[str, Any], path: str, p: _Problems) -> StorageQueueDestination:
    example = (
        '{"resourceId": "/subscriptions/…/resourceGroups/…/providers/Microsoft.Storage/storageAccounts/'
        'devstoreaccount1", "queueName": "sms-events"}'
    )
    props_path = _join(path, "properties")
    props = _object(obj.get("properties"), props_path, p, required=True, example=example)
    if props is None:
        return StorageQueueDestination(resource_id="", account="", queue_name="")
    resource_id = _str(props, "resourceId", props_path, p, required="the storage account's resource id") or ""
    account = storage_account_of(resource_id) if resource_id else None
    if resource_id and account is None:
        p.add(
            _join(props_path, "resourceId"),
            "must be a storage account's resource id, /subscriptions/{id}/resourceGroups/{group}/providers/"
            "Microsoft.Storage/storageAccounts/{account} (3-24 lowercase letters and digits)",
        )
    queue = _str(props, "queueName", props_path, p, required="the queue to write events to") or ""
    if queue and not _QUEUE_NAME.fullmatch(queue):
        p.add(
            _join(props_path, "queueName"),
            f"{queue!r} is not a queue name: use 3-63 lowercase letters, digits and single hyphens, starting and "
            "ending with a letter or digit",
        )
    ttl_raw = props.get("queueMessageTimeToLiveInSeconds")
    ttl: int | None = None
    if ttl_raw is not None:
        if (
            isinstance(ttl_raw, bool)
            or not isinstance(ttl_raw, int)
            or not (ttl_raw == -1 or 1 <= ttl_raw <= MAX_QUEUE_MESSAGE_TTL_SECONDS)
        ):
            p.add(
                _join(props_path, "queueMessageTimeToLiveInSeconds"),
                f"must be -1 (never expires) or a positive whole number of seconds, not {ttl_raw!r}",
            )
        else:
            ttl = ttl_raw
    return StorageQueueDestination(
        resource_id=resource_id, account=account or "", queue_name=queue, queue_message_time_to_live_seconds=ttl
    )


def _parse_azure_function(obj: Mapping[str, Any], path: str, p: _Problems) -> AzureFunctionDestination:
    example = '{"resourceId": "/subscriptions/…/resourceGroups/…/providers/Microsoft.Web/sites/my-app/functions/OnSms"}'
    props_path = _join(path, "properties")
    props = _object(obj.get("properties"), props_path, p, required=True, example=example)
    if props is None:
        return AzureFunctionDestination(resource_id="", function_app="", function_name="")
    resource_id = _str(props, "resourceId", props_path, p, required="the function's resource id") or ""
    match = _FUNCTION_ID.fullmatch(resource_id) if resource_id else None
    if resource_id and match is None:
        p.add(
            _join(props_path, "resourceId"),
            "must be a function's resource id, /subscriptions/{id}/resourceGroups/{group}/providers/"
            "Microsoft.Web/sites/{app}/functions/{function}",
        )
    return AzureFunctionDestination(
        resource_id=resource_id,
        function_app=match.group(1) if match else "",
        function_name=match.group(2) if match else "",
        max_events_per_batch=_int(
            props,
            "maxEventsPerBatch",
            props_path,
            p,
            MIN_EVENTS_PER_BATCH,
            MAX_EVENTS_PER_BATCH,
            DEFAULT_EVENTS_PER_BATCH,
        ),
        preferred_batch_size_in_kilobytes=_int(
            props, "preferredBatchSizeInKilobytes", props_path, p, MIN_BATCH_KB, MAX_BATCH_KB, DEFAULT_BATCH_KB
        ),
        delivery_attribute_mappings=_parse_mappings(
            props.get("deliveryAttributeMappings"), _join(props_path, "deliveryAttributeMappings"), p
        ),
    )


def _parse_webhook(obj: Mapping[str, Any], path: str, p: _Problems) -> WebhookDestination:
    props_path = _join(path, "properties")
    props = _object(obj.get("properties"), props_path, p, required=True, example='{"endpointUrl": "http://…"}')
    if props is None:
        return WebhookDestination(endpoint_url="")
    destination = WebhookDestination(
        endpoint_url=_parse_endpoint_url(props.get("endpointUrl"), _join(props_path, "endpointUrl"), p),
        max_events_per_batch=_int(
            props,
            "maxEventsPerBatch",
            props_path,
            p,
            MIN_EVENTS_PER_BATCH,
            MAX_EVENTS_PER_BATCH,
            DEFAULT_EVENTS_PER_BATCH,
        ),
        preferred_batch_size_in_kilobytes=_int(
            props,
            "preferredBatchSizeInKilobytes",
            props_path,
            p,
            MIN_BATCH_KB,
            MAX_BATCH_KB,
            DEFAULT_BATCH_KB,
        ),
        delivery_attribute_mappings=_parse_mappings(
            props.get("deliveryAttributeMappings"), _join(props_path, "deliveryAttributeMappings"), p
        ),
    )
    tenant, application = _parse_entra(props, props_path, p)
    if application is not None:
        for index, mapping in enumerate(destination.delivery_attribute_mappings):
            if mapping.name.casefold() == "authorization":
                p.add(
                    f"{props_path}.deliveryAttributeMappings[{index}].name",
                    "'Authorization' carries the Entra token on this Entra-protected destination; remove the "
                    "mapping or the azureActiveDirectory* properties",
                )
    return dataclasses.replace(
        destination,
        azure_active_directory_tenant_id=tenant,
        azure_active_directory_application_id_or_uri=application,
    )


def _parse_entra(props: Mapping[str, Any], path: str, p: _Problems) -> tuple[str | None, str | None]:
    """`azureActiveDirectoryTenantId` (a GUID) and `azureActiveDirectoryApplicationIdOrUri` (the webhook's
    application: its id, a GUID, or its Application ID URI such as api://…), both or neither
    (secure-webhook-delivery)."""
    tenant_key, app_key = "azureActiveDirectoryTenantId", "azureActiveDirectoryApplicationIdOrUri"
    tenant = _str(props, tenant_key, path, p)
    application = _str(props, app_key, path, p)
    if tenant is not None:
        try:
            if len(tenant) != 36:
                raise ValueError(tenant)
            tenant = str(uuid.UUID(tenant))
        except ValueError:
            p.add(
                _join(path, tenant_key),
                f"{tenant!r} is not a tenant id: give a GUID such as smsgrid's [entra] tenant_id",
            )
            tenant = None
    if application is not None:
        if _is_guid(application):
            application = application.lower()
        else:
            parts = urlsplit(application) if not any(ch.isspace() or ord(ch) < 0x20 for ch in application) else None
            if parts is None or not parts.scheme or not (parts.netloc or parts.path) or len(application) > 512:
                p.add(
                    _join(path, app_key),
                    f"{application[:80]!r} is neither an application id (a GUID) nor an Application ID URI "
                    "such as api://my-webhook-app",
                )
                application = None
    given = [key for key in (tenant_key, app_key) if props.get(key) is not None]
    if len(given) == 1:
        missing = app_key if given[0] == tenant_key else tenant_key
        p.add(_join(path, missing), f"is required with {given[0]}: Entra-protected delivery needs both")
        return None, None
    return tenant, application


def _is_guid(value: str) -> bool:
    if len(value) != 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _parse_number_values(raw: Sequence[Any], path: str, p: _Problems) -> tuple[FilterValue, ...]:
    values: list[FilterValue] = []
    for index, value in enumerate(raw):
        if _is_finite_number(value):
            values.append(value)
        else:
            p.add(f"{path}[{index}]", f"must be a finite number, not {value!r}")
    return tuple(values)


def _parse_range_values(raw: Sequence[Any], path: str, p: _Problems) -> tuple[FilterValue, ...]:
    values: list[FilterValue] = []
    for index, pair in enumerate(raw):
        pair_path = f"{path}[{index}]"
        if not (isinstance(pair, list) and len(pair) == 2 and all(_is_finite_number(v) for v in pair)):
            p.add(pair_path, f"must be a [min, max] pair of numbers, such as [3000, 4000], not {pair!r}")
        elif pair[0] > pair[1]:
            p.add(pair_path, f"has min {pair[0]} above max {pair[1]}; write it as [{pair[1]}, {pair[0]}]")
        else:
            values.append((pair[0], pair[1]))
    return tuple(values)


def _parse_string_values(raw: Sequence[Any], path: str, p: _Problems) -> tuple[FilterValue, ...]:
    values: list[FilterValue] = []
    for index, value in enumerate(raw):
        if not isinstance(value, str):
            p.add(f"{path}[{index}]", f"must be a string, not {value!r}")
        elif len(value) > MAX_STRING_VALUE_LENGTH:
            p.add(
                f"{path}[{index}]",
                f"has {len(value)} characters; at most {MAX_STRING_VALUE_LENGTH} are allowed",
            )
        else:
            values.append(value)
    return tuple(values)


def _parse_advanced_filter(raw: object, path: str, p: _Problems) -> tuple[AdvancedFilter | None, int]:
    """The filter (None when unusable) and how many values it counts toward the limit of 25."""
    example = '{"operatorType": "StringIn", "key": "data.Tag", "values": ["a"]}'
    obj = _object(raw, path, p, required=True, example=example)
    if obj is None:
        return None, 0
    operator = _enum(obj.get("operatorType"), _join(path, "operatorType"), p, FilterOperator, None)
    key = _str(obj, "key", path, p, required="the event field to test, e.g. subject or data.Tag")
    if key is not None and (problem := _dotted_key_problem(key)) is not None:
        p.add(_join(path, "key"), problem)
        key = None
    if operator is None:
        return None, 0
    values: tuple[FilterValue, ...] = ()
    if operator in SINGLE_VALUE_OPERATORS:
        value_path = _join(path, "value")
        raw_value = obj.get("value")
        wants = "true or false" if operator is FilterOperator.BOOL_EQUALS else "one finite number"
        if raw_value is None:
            hint = " (not values)" if "values" in obj else ""
            p.add(value_path, f"is required{hint}: {operator.value} compares with {wants}")
            return None, 1
        ok = isinstance(raw_value, bool) if operator is FilterOperator.BOOL_EQUALS else _is_finite_number(raw_value)
        if not ok:
            p.add(value_path, f"must be {wants}, not {raw_value!r}")
            return None, 1
        values = (raw_value,)
    elif operator not in NO_VALUE_OPERATORS:
        values_path = _join(path, "values")
        raw_values = obj.get("values")
        if not isinstance(raw_values, list) or not raw_values:
            hint = " (not value)" if "value" in obj and raw_values is None else ""
            p.add(values_path, f"is required{hint}: a non-empty list of values for {operator.value}")
            return None, 0
        if operator in RANGE_OPERATORS and all(_is_finite_number(v) for v in raw_values):
            pairs = [raw_values[i : i + 2] for i in range(0, len(raw_values), 2)]
            p.add(values_path, f"must be a list of [min, max] pairs: put each range in brackets, like {pairs}")
            return None, len(raw_values)
        if operator in RANGE_OPERATORS:
            values = _parse_range_values(raw_values, values_path, p)
        elif operator in NUMBER_OPERATORS:
            values = _parse_number_values(raw_values, values_path, p)
        else:
            values = _parse_string_values(raw_values, values_path, p)
        if len(values) != len(raw_values):
            return None, len(raw_values)
    if key is None:
        return None, len(values)
    return AdvancedFilter(operator=operator, key=key, values=values), len(values)


def _parse_advanced_filters(raw_filters: object, filters_path: str, p: _Problems) -> list[AdvancedFilter]:
    filters: list[AdvancedFilter] = []
    if raw_filters is None:
        return filters
    if not isinstance(raw_filters, list):
        p.add(filters_path, "must be a list of {operatorType, key, value(s)} objects")
        return filters
    if len(raw_filters) > MAX_ADVANCED_FILTERS:
        p.add(filters_path, f"has {len(raw_filters)} filters; at most {MAX_ADVANCED_FILTERS} are allowed")
    total_values = 0
    for index, raw_filter in enumerate(raw_filters):
        parsed, count = _parse_advanced_filter(raw_filter, f"{filters_path}[{index}]", p)
        total_values += count
        if parsed is not None:
            filters.append(parsed)
    if total_values > MAX_ADVANCED_FILTER_VALUES:
        p.add(
            filters_path,
            f"has {total_values} values in total; at most {MAX_ADVANCED_FILTER_VALUES} are allowed "
            "across all advanced filters (event-filtering, Limitations)",
        )
    return filters


def parse_advanced_filters(raw: object, path: str, problems: list[Problem]) -> tuple[AdvancedFilter, ...]:
    """A list of advanced filters (`operatorType`, `key`, `value`/`values`), by the rules of a webhook
    subscription's `filter.advancedFilters`; namespace topics' `filtersConfiguration.filters` have the same shape
    (ARM `Filter`, Microsoft.EventGrid namespaces 2025-02-15)."""
    p = _Problems()
    filters = _parse_advanced_filters(raw, path, p)
    problems.extend(p.found)
    return tuple(filters)


def _parse_filter(raw: object, path: str, p: _Problems) -> SubscriptionFilter:
    obj = _object(
        raw,
        path,
        p,
        required=False,
        example='{"includedEventTypes": ["Microsoft.Communication.SMSReceived"]}',
    )
    if obj is None:
        return SubscriptionFilter()
    included: tuple[str, ...] | None = None
    raw_types = obj.get("includedEventTypes")
    types_path = _join(path, "includedEventTypes")
    if raw_types is not None:
        if not isinstance(raw_types, list) or not raw_types:
            p.add(types_path, 'must be a non-empty list of event types; use ["All"] or null for every type')
        else:
            for index, event_type in enumerate(raw_types):
                if not isinstance(event_type, str) or not event_type:
                    p.add(f"{types_path}[{index}]", f"must be an event type name, not {event_type!r}")
            included = tuple(t for t in raw_types if isinstance(t, str) and t)
    begins = _str(obj, "subjectBeginsWith", path, p) or ""
    ends = _str(obj, "subjectEndsWith", path, p) or ""
    filters = _parse_advanced_filters(obj.get("advancedFilters"), _join(path, "advancedFilters"), p)
    return SubscriptionFilter(
        included_event_types=included,
        subject_begins_with=begins,
        subject_ends_with=ends,
        is_subject_case_sensitive=_bool(obj, "isSubjectCaseSensitive", path, p, False),
        advanced_filters=tuple(filters),
        enable_advanced_filtering_on_arrays=_bool(obj, "enableAdvancedFilteringOnArrays", path, p, False),
    )


def _parse_retry_policy(raw: object, path: str, p: _Problems) -> RetryPolicy:
    obj = _object(raw, path, p, required=False, example='{"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440}')
    if obj is None:
        return RetryPolicy()
    defaults = RetryPolicy()
    return RetryPolicy(
        max_delivery_attempts=_int(
            obj,
            "maxDeliveryAttempts",
            path,
            p,
            MIN_MAX_DELIVERY_ATTEMPTS,
            MAX_MAX_DELIVERY_ATTEMPTS,
            defaults.max_delivery_attempts,
        ),
        event_time_to_live_minutes=_int(
            obj,
            "eventTimeToLiveInMinutes",
            path,
            p,
            MIN_EVENT_TTL_MINUTES,
            MAX_EVENT_TTL_MINUTES,
            defaults.event_time_to_live_minutes,
        ),
    )


def _parse_dead_letter(raw: object, path: str, p: _Problems) -> DeadLetterDestination | None:
    example = '{"endpointType": "StorageBlob", "properties": {"blobContainerName": "deadletters"}}'
    obj = _object(raw, path, p, required=False, example=example)
    if obj is None:
        return None
    endpoint_type = obj.get("endpointType")
    if not isinstance(endpoint_type, str) or endpoint_type.casefold() != STORAGE_BLOB.casefold():
        p.add(
            _join(path, "endpointType"),
            f'must be "{STORAGE_BLOB}", the only dead-letter destination, not {endpoint_type!r}',
        )
    props_path = _join(path, "properties")
    props = _object(obj.get("properties"), props_path, p, required=True, example='{"blobContainerName": "deadletters"}')
    if props is None:
        return None
    resource_id = _str(props, "resourceId", props_path, p)
    container = _str(props, "blobContainerName", props_path, p, required="the container (folder) to write to")
    if container is None:
        return None
    if not _CONTAINER_NAME.fullmatch(container):
        p.add(
            _join(props_path, "blobContainerName"),
            f"{container!r} is not a blob container name: use 3-63 lowercase letters, digits and single "
            "hyphens, starting and ending with a letter or digit",
        )
        return None
    return DeadLetterDestination(blob_container_name=container, resource_id=resource_id)


def _parse_standard_webhooks(raw: object, path: str, p: _Problems) -> StandardWebhooksSigning | None:
    obj = _object(raw, path, p, required=False, example='{"secret": "whsec_…"}')
    if obj is None:
        return None
    secret = _str(obj, "secret", path, p, required="a whsec_… signing secret (base64 of 24-64 random bytes)")
    if secret is None:
        return None
    secret_path = _join(path, "secret")
    if not secret.startswith(STANDARD_WEBHOOKS_SECRET_PREFIX):
        p.add(secret_path, "must start with whsec_ followed by base64 of 24-64 random bytes")
        return None
    try:
        key = base64.b64decode(secret.removeprefix(STANDARD_WEBHOOKS_SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        p.add(secret_path, "is not whsec_ followed by valid base64; generate one with base64 of 32 random bytes")
        return None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        p.add(secret_path, f"decodes to {len(key)} bytes; Standard Webhooks secrets are 24-64 bytes")
        return None
    return StandardWebhooksSigning(secret=secret)


def _parse_labels(raw: object, path: str, p: _Problems) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        p.add(path, 'must be a list of strings, such as ["sms", "production"]')
        return None
    for index, label in enumerate(raw):
        if not isinstance(label, str):
            p.add(f"{path}[{index}]", f"must be a string, not {label!r}")
    return tuple(label for label in raw if isinstance(label, str))


def parse_expiration(text: str) -> datetime | None:
    """An ISO 8601 date-time (ARM's `date-time`: RFC 3339), as UTC; one without an offset is read as UTC, as the
    property's name says. None when it is not one."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if "T" not in text.upper():
        return None  # a bare date is not a moment
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_expiration(moment: datetime) -> str:
    """How ARM writes a date-time: `2026-12-02T06:00:00Z` (fractional seconds only when there are some)."""
    pattern = "%Y-%m-%dT%H:%M:%S.%fZ" if moment.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return moment.astimezone(UTC).strftime(pattern)


def _parse_expiration(raw: object, path: str, p: _Problems) -> datetime | None:
    if raw is None:
        return None
    moment = parse_expiration(raw) if isinstance(raw, str) else None
    if moment is None:
        p.add(path, f"must be an ISO 8601 date-time such as 2030-01-01T00:00:00Z, not {raw!r}")
    return moment


def parse_subscription_spec(name: str, body: object, *, strict: bool = True) -> SubscriptionSpec:
    """Check an event-subscription body and build its spec, or raise SubscriptionSpecError with every problem.

    *body* is the ``properties`` object, bare or wrapped in ``{"properties": …}``. ``strict=False`` skips the
    rules added for issue 12 (webhook hosts, reserved header names, header values), to display old records only.
    """
    p = _Problems(strict=strict)
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        p.add("name", f"{name!r} is not a subscription name: use 3-64 letters, digits and hyphens")
    if not isinstance(body, Mapping):
        p.add(
            "",
            "the body must be a JSON object: the event subscription's properties, "
            'bare or wrapped in {"properties": …}',
        )
        raise SubscriptionSpecError(f"Event subscription {name!r} cannot be used", p.found)
    props: Mapping[str, Any] = body
    base = ""
    if "properties" in body:
        wrapped = body["properties"]
        if not isinstance(wrapped, Mapping):
            p.add("properties", "must be a JSON object holding destination, filter, retryPolicy …")
            raise SubscriptionSpecError(f"Event subscription {name!r} cannot be used", p.found)
        props, base = wrapped, "properties"
    spec = SubscriptionSpec(
        name=name,
        destination=_parse_destination(props.get("destination"), _join(base, "destination"), p),
        filter=_parse_filter(props.get("filter"), _join(base, "filter"), p),
        event_delivery_schema=_enum(
            props.get("eventDeliverySchema"),
            _join(base, "eventDeliverySchema"),
            p,
            EventDeliverySchema,
            EventDeliverySchema.EVENT_GRID,
        )
        or EventDeliverySchema.EVENT_GRID,
        retry_policy=_parse_retry_policy(props.get("retryPolicy"), _join(base, "retryPolicy"), p),
        dead_letter_destination=_parse_dead_letter(
            props.get("deadLetterDestination"), _join(base, "deadLetterDestination"), p
        ),
        standard_webhooks=_parse_standard_webhooks(props.get("standardWebhooks"), _join(base, "standardWebhooks"), p),
        labels=_parse_labels(props.get("labels"), _join(base, "labels"), p),
        expiration_time_utc=_parse_expiration(props.get("expirationTimeUtc"), _join(base, "expirationTimeUtc"), p),
    )
    if spec.standard_webhooks is not None and not isinstance(spec.destination, WebhookDestination):
        p.add(
            _join(base, "standardWebhooks"),
            "signs webhook deliveries only; remove it for a StorageQueue or AzureFunction destination",
        )
    if p.found:
        raise SubscriptionSpecError(f"Event subscription {name!r} cannot be used", p.found)
    return spec


# ------------------------------------------------------------------------------------------- rendering


def _base_url(url: str) -> str:
    """Azure's ``endpointBaseUrl``: the URL without ``user:password@``, query and fragment, safe to show.

    ARM returns ``endpointUrl`` as null and only ``getFullUrl`` gives the whole URL back; the base URL must not
    leak what the full one hides, so credentials in the authority go like ``?code=`` keys do.
    """
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _mapping_to_dict(mapping: DeliveryAttributeMapping, *, secrets: bool) -> dict[str, Any]:
    if isinstance(mapping, StaticDeliveryAttribute):
        shown = mapping.value if secrets or not mapping.is_secret else None
        return {
            "name": mapping.name,
            "type": DeliveryAttributeType.STATIC.value,
            "properties": {"value": shown, "isSecret": mapping.is_secret},
        }
    return {
        "name": mapping.name,
        "type": DeliveryAttributeType.DYNAMIC.value,
        "properties": {"sourceField": mapping.source_field},
    }


def _destination_to_dict(d: Destination, *, secrets: bool, full_url: bool) -> dict[str, Any]:
    if isinstance(d, StorageQueueDestination):
        return {
            "endpointType": STORAGE_QUEUE,
            "properties": {
                "resourceId": d.resource_id,
                "queueName": d.queue_name,
                "queueMessageTimeToLiveInSeconds": d.queue_message_time_to_live_seconds,
            },
        }
    if isinstance(d, AzureFunctionDestination):
        return {
            "endpointType": AZURE_FUNCTION,
            "properties": {
                "resourceId": d.resource_id,
                "maxEventsPerBatch": d.max_events_per_batch,
                "preferredBatchSizeInKilobytes": d.preferred_batch_size_in_kilobytes,
                "deliveryAttributeMappings": [
                    _mapping_to_dict(m, secrets=secrets) for m in d.delivery_attribute_mappings
                ],
            },
        }
    return {"endpointType": WEBHOOK, "properties": _webhook_properties(d, secrets=secrets, full_url=full_url)}


def _webhook_properties(d: WebhookDestination, *, secrets: bool, full_url: bool) -> dict[str, Any]:
    destination_props: dict[str, Any] = {
        "endpointUrl": d.endpoint_url if secrets or full_url else None,
        "maxEventsPerBatch": d.max_events_per_batch,
        "preferredBatchSizeInKilobytes": d.preferred_batch_size_in_kilobytes,
        "deliveryAttributeMappings": [_mapping_to_dict(m, secrets=secrets) for m in d.delivery_attribute_mappings],
    }
    if not secrets:
        destination_props["endpointBaseUrl"] = _base_url(d.endpoint_url)
    if d.entra_protected:
        destination_props["azureActiveDirectoryTenantId"] = d.azure_active_directory_tenant_id
        destination_props["azureActiveDirectoryApplicationIdOrUri"] = d.azure_active_directory_application_id_or_uri
    return destination_props


def _properties(spec: SubscriptionSpec, *, secrets: bool, full_url: bool) -> dict[str, Any]:
    dead = spec.dead_letter_destination
    out: dict[str, Any] = {
        "destination": _destination_to_dict(spec.destination, secrets=secrets, full_url=full_url),
        "filter": filter_to_dict(spec.filter),
        "eventDeliverySchema": spec.event_delivery_schema.value,
        "retryPolicy": {
            "maxDeliveryAttempts": spec.retry_policy.max_delivery_attempts,
            "eventTimeToLiveInMinutes": spec.retry_policy.event_time_to_live_minutes,
        },
        "deadLetterDestination": None
        if dead is None
        else {
            "endpointType": STORAGE_BLOB,
            "properties": {"resourceId": dead.resource_id, "blobContainerName": dead.blob_container_name},
        },
    }
    if spec.standard_webhooks is not None:
        out["standardWebhooks"] = {"secret": spec.standard_webhooks.secret if secrets else None}
    # ARM's GET shows both, null when not set (its examples echo `"labels": null`); the store keeps them only when
    # set, so records written before they existed compare equal to today's rendering.
    expiration = None if spec.expiration_time_utc is None else format_expiration(spec.expiration_time_utc)
    if not secrets or spec.labels is not None:
        out["labels"] = None if spec.labels is None else list(spec.labels)
    if not secrets or expiration is not None:
        out["expirationTimeUtc"] = expiration
    return out


def spec_to_public_dict(spec: SubscriptionSpec, *, include_full_endpoint_url: bool = False) -> dict[str, Any]:
    """``{"name", "properties"}`` in Azure's shape, secrets hidden as Azure hides them.

    Like Azure's GET, ``endpointUrl`` is null and ``endpointBaseUrl`` carries the URL without its query,
    unless *include_full_endpoint_url* (Azure's ``getFullUrl`` / ``--include-full-endpoint-url``). A secret
    Static attribute's value is null; the Standard Webhooks secret is always null. Callers add
    ``provisioningState``.
    """
    return {
        "name": spec.name,
        "properties": _properties(spec, secrets=False, full_url=include_full_endpoint_url),
    }


def spec_to_storage_dict(spec: SubscriptionSpec) -> dict[str, Any]:
    """Everything, secrets included, in the same shape the PUT body takes: for the store only."""
    return {"name": spec.name, "properties": _properties(spec, secrets=True, full_url=True)}


def spec_from_storage_dict(stored: Mapping[str, Any], *, strict: bool = True) -> SubscriptionSpec:
    """The spec :func:`spec_to_storage_dict` wrote; re-checked, so a damaged record fails loudly."""
    name = stored.get("name")
    if not isinstance(name, str):
        raise SubscriptionSpecError("Stored event subscription cannot be read", [Problem("name", "is missing")])
    return parse_subscription_spec(name, {"properties": stored.get("properties")}, strict=strict)
