"""One attempt to a StorageQueue or AzureFunction destination, as an `HttpResult` the pump judges.

- StorageQueue: one message per event, the event's JSON in the subscription's schema, base64-encoded (Event
  Grid's storage-queue handler writes Base64 messages; azure-docs issue 102923). No handshake, no headers.
- AzureFunction: the Event Grid trigger URL of the Functions host,
  `{host}/runtime/webhooks/eventgrid?functionName={name}` (Azure Functions, "Event Grid trigger", manual
  webhook URL), with the webhook body and `aeg-*` headers and the host key as `x-functions-key`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from urllib.parse import quote

import orjson

from smsgrid.config import FunctionApp, StorageAccount
from smsgrid.delivery.destinations.storage import put_message
from smsgrid.delivery.handshake import CLOUD_EVENTS_ORIGIN
from smsgrid.delivery.subscription_spec import (
    AzureFunctionDestination,
    EventDeliverySchema,
    StorageQueueDestination,
    SubscriptionSpec,
)
from smsgrid.delivery.transport import HttpResult, Transport
from smsgrid.delivery.wire import build_body, build_headers
from smsgrid.events.render import event_grid_item_to_cloud_event


def queue_message_text(spec: SubscriptionSpec, item: bytes) -> str:
    """The queue message of one stored Event Grid item: one event object (not an array), base64 of its JSON."""
    if spec.event_delivery_schema is EventDeliverySchema.CLOUD_EVENTS_V1_0:
        item = orjson.dumps(event_grid_item_to_cloud_event(orjson.loads(item)))
    return base64.b64encode(item).decode("ascii")


def function_trigger_url(app: FunctionApp, function_name: str) -> str:
    return f"{app.endpoint}/runtime/webhooks/eventgrid?functionName={quote(function_name)}"


async def send_to_storage_queue(
    transport: Transport,
    spec: SubscriptionSpec,
    destination: StorageQueueDestination,
    accounts: Mapping[str, StorageAccount],
    items: Sequence[bytes],
) -> HttpResult:
    account = accounts.get(destination.account)
    if account is None:
        # A configuration gap, not the endpoint's fault: retried on the schedule, so fixing the config and
        # restarting delivers the events (docs/destinations.md).
        return HttpResult(
            None, "connect", 0.0, error_text=f"storage account {destination.account!r} is not in [storage_accounts]"
        )
    # The pump hands queues one event at a time (max_events_per_batch is 1); a longer batch is sent whole or not.
    result: HttpResult | None = None
    for item in items:
        result = await put_message(
            transport,
            account,
            destination.queue_name,
            queue_message_text(spec, item),
            destination.queue_message_time_to_live_seconds,
        )
        if result.error is not None or result.status is None or not 200 <= result.status <= 204:
            return result
    assert result is not None, "a batch holds at least one event"
    return result


async def send_to_function(
    transport: Transport,
    spec: SubscriptionSpec,
    destination: AzureFunctionDestination,
    apps: Mapping[str, FunctionApp],
    items: Sequence[bytes],
    delivery_count: int,
) -> HttpResult:
    app = apps.get(destination.function_app.casefold())
    if app is None:
        return HttpResult(
            None, "connect", 0.0, error_text=f"function app {destination.function_app!r} is not in [function_apps]"
        )
    body, content_type = build_body(spec, items)
    headers = build_headers(
        spec,
        first_item=orjson.loads(items[0]),
        delivery_count=delivery_count,
        content_type=content_type,
        origin=CLOUD_EVENTS_ORIGIN,
    )
    if app.key is not None:
        headers["x-functions-key"] = app.key
    return await transport.request(
        "POST", function_trigger_url(app, destination.function_name), body=body, headers=headers, keep_body=0
    )


def destination_config_problem(
    destination: object, accounts: Mapping[str, StorageAccount], apps: Mapping[str, FunctionApp]
) -> str | None:
    """Why *destination* cannot be delivered to with this configuration, or None.

    Azure refuses an event subscription whose destination resource does not exist; here the resource is a
    configuration section, so a PUT naming a missing one is refused with what to add.
    """
    if isinstance(destination, StorageQueueDestination):
        account = accounts.get(destination.account)
        if account is None:
            return (
                f"destination.properties.resourceId names the storage account {destination.account!r}, which is "
                f"not configured; add [storage_accounts.{destination.account}] with queue_endpoint and key"
            )
        if account.queue_endpoint is None:
            return f"[storage_accounts.{destination.account}] has no queue_endpoint; add one"
    if isinstance(destination, AzureFunctionDestination) and destination.function_app.casefold() not in apps:
        return (
            f"destination.properties.resourceId names the function app {destination.function_app!r}, which is not "
            f'configured; add [function_apps.{destination.function_app}] with endpoint = "http://127.0.0.1:7071"'
        )
    return None
