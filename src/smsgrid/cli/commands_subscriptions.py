"""`smsgrid subscriptions create|list|show|delete`: Event Grid event subscriptions through the admin API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from smsgrid.cli.options import (
    DEFAULT_CLIENT,
    EXIT_REFUSED,
    EXIT_USAGE,
    ClientOptions,
    client_command,
    fail,
    out,
    print_json,
)
from smsgrid.delivery.subscription_spec import EventDeliverySchema
from smsgrid.events.models import SMS_DELIVERY_REPORT_RECEIVED, SMS_RECEIVED

subscriptions_app = typer.Typer(help="Create, list, show and delete event subscriptions.", no_args_is_help=True)

# Short names people type; the full Event Grid names are accepted as they are.
EVENT_TYPE_ALIASES = {
    "smsreceived": SMS_RECEIVED,
    "received": SMS_RECEIVED,
    "smsdeliveryreportreceived": SMS_DELIVERY_REPORT_RECEIVED,
    "deliveryreport": SMS_DELIVERY_REPORT_RECEIVED,
    "all": "All",
}


def expand_event_types(values: list[str]) -> list[str]:
    """`--event-types SMSReceived,DeliveryReport` → full Event Grid type names (commas or repeats)."""
    names: list[str] = []
    for value in values:
        for part in value.split(","):
            name = part.strip()
            if name:
                names.append(EVENT_TYPE_ALIASES.get(name.casefold(), name))
    return names


def subscription_body(
    endpoint: str, event_types: list[str], schema: str | None, max_events_per_batch: int | None
) -> dict[str, Any]:
    """The event-subscription `properties` (SPEC §4) the options describe; the server checks it."""
    destination: dict[str, Any] = {"endpointUrl": endpoint}
    if max_events_per_batch is not None:
        destination["maxEventsPerBatch"] = max_events_per_batch
    body: dict[str, Any] = {"destination": {"endpointType": "WebHook", "properties": destination}}
    if event_types:
        body["filter"] = {"includedEventTypes": expand_event_types(event_types)}
    if schema is not None:
        body["eventDeliverySchema"] = schema
    return body


def _load_body(path: Path) -> dict[str, Any]:
    try:
        raw = orjson.loads(path.read_bytes())
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}.", EXIT_USAGE)
    except orjson.JSONDecodeError as exc:
        fail(f"{path} is not valid JSON: {exc}.", EXIT_USAGE)
    if not isinstance(raw, dict):
        fail(f"{path} must hold a JSON object: the subscription's properties (see docs/admin-api.md).", EXIT_USAGE)
    return raw


def _schema_choice(value: str | None) -> str | None:
    if value is None:
        return None
    for member in EventDeliverySchema:
        if member.value.casefold() == value.casefold():
            return member.value
    shorthand = {"eventgrid": EventDeliverySchema.EVENT_GRID, "cloudevents": EventDeliverySchema.CLOUD_EVENTS_V1_0}
    if value.casefold() in shorthand:
        return shorthand[value.casefold()].value
    choices = ", ".join(m.value for m in EventDeliverySchema)
    return fail(f"--schema must be one of {choices} (or eventgrid, cloudevents), not {value!r}.", EXIT_USAGE)


@subscriptions_app.command("create")
@client_command()
def create(
    name: Annotated[str, typer.Argument(help="3-64 letters, digits and hyphens.")],
    endpoint: Annotated[str | None, typer.Option("--endpoint", help="The webhook URL events are POSTed to.")] = None,
    event_types: Annotated[
        list[str] | None,
        typer.Option(
            "--event-types",
            help="Only these types (SMSReceived, SMSDeliveryReportReceived or full names); commas or repeats.",
        ),
    ] = None,
    schema: Annotated[
        str | None, typer.Option("--schema", help="EventGridSchema (default) or CloudEventSchemaV1_0.")
    ] = None,
    max_events_per_batch: Annotated[
        int | None, typer.Option("--max-events-per-batch", min=1, max=5000, help="Batch up to this many events.")
    ] = None,
    body_file: Annotated[
        Path | None, typer.Option("--body", help="A JSON file with the whole subscription body instead.")
    ] = None,
    opts: ClientOptions = DEFAULT_CLIENT,
) -> None:
    """Create or replace a subscription; the endpoint must answer the validation handshake first (SPEC §3)."""
    if body_file is not None:
        if endpoint or event_types or schema or max_events_per_batch:
            fail("--body FILE already holds the whole subscription; drop the other options.", EXIT_USAGE)
        body = _load_body(body_file)
    elif endpoint:
        body = subscription_body(endpoint, event_types or [], _schema_choice(schema), max_events_per_batch)
    else:
        fail("say where to deliver: --endpoint http://127.0.0.1:9000/events (or --body FILE).", EXIT_USAGE)
    with opts.connect() as client:
        answer = client.put_subscription(name, body)
    properties = answer.get("properties", {})
    state = properties.get("provisioningState")
    if opts.as_json:
        print_json(answer)
    else:
        colour = {"Succeeded": "green", "AwaitingManualAction": "yellow"}.get(str(state), "red")
        out.print(f"subscription {escape(name)}: [{colour}]{state}[/{colour}]")
        if properties.get("provisioningMessage"):
            out.print(escape(str(properties["provisioningMessage"])))
    if state == "Failed":
        raise typer.Exit(EXIT_REFUSED)


def _endpoint(item: dict[str, Any]) -> str:
    props = item.get("properties", {}).get("destination", {}).get("properties", {})
    return str(props.get("endpointUrl") or props.get("endpointBaseUrl") or "")


def _types(item: dict[str, Any]) -> str:
    types = item.get("properties", {}).get("filter", {}).get("includedEventTypes")
    if not types:
        return "All"
    return ", ".join(str(t).removeprefix("Microsoft.Communication.") for t in types)


@subscriptions_app.command("list")
@client_command()
def list_subscriptions(
    opts: ClientOptions = DEFAULT_CLIENT,
) -> None:
    """Every subscription with its state and endpoint health."""
    with opts.connect() as client:
        items = client.list_subscriptions()
    if opts.as_json:
        print_json(items)
        return
    if not items:
        out.print("No subscriptions: create one with `smsgrid subscriptions create NAME --endpoint URL`.")
        return
    table = Table()
    for column in ("name", "state", "schema", "event types", "endpoint", "failures"):
        table.add_column(column, overflow="fold")
    for item in items:
        props = item.get("properties", {})
        table.add_row(
            escape(str(item.get("name"))),
            str(props.get("provisioningState")),
            str(props.get("eventDeliverySchema")),
            escape(_types(item)),
            escape(_endpoint(item)),
            str(item.get("health", {}).get("consecutiveFailures", "")),
        )
    out.print(table)


@subscriptions_app.command("show")
@client_command()
def show(
    name: Annotated[str, typer.Argument(help="The subscription's name.")],
    opts: ClientOptions = DEFAULT_CLIENT,
    include_full_endpoint_url: Annotated[
        bool, typer.Option("--include-full-endpoint-url", help="Show the endpoint URL with its query (getFullUrl).")
    ] = False,
    include_attribute_secrets: Annotated[
        bool,
        typer.Option(
            "--include-attribute-secrets", help="Show secret delivery attribute values (getDeliveryAttributes)."
        ),
    ] = False,
) -> None:
    """One subscription as the admin API returns it (secrets hidden as Azure hides them, unless asked for with the
    flags `az eventgrid event-subscription show` has)."""
    with opts.connect() as client:
        item = client.get_subscription(name)
        destination = item.get("properties", {}).get("destination", {}).get("properties", {})
        if include_full_endpoint_url:
            destination["endpointUrl"] = client.subscription_full_url(name)
        if include_attribute_secrets:
            destination["deliveryAttributeMappings"] = client.subscription_delivery_attributes(name)
    if opts.as_json:
        print_json(item)
        return
    props = item.get("properties", {})
    out.print(f"[bold]{escape(name)}[/bold]  {props.get('provisioningState')}")
    out.print(f"  endpoint      {escape(_endpoint(item))}")
    out.print(f"  schema        {props.get('eventDeliverySchema')}")
    out.print(f"  event types   {escape(_types(item))}")
    retry = props.get("retryPolicy", {})
    out.print(
        f"  retry         {retry.get('maxDeliveryAttempts')} attempts, TTL {retry.get('eventTimeToLiveInMinutes')} min"
    )
    batch = props.get("destination", {}).get("properties", {}).get("maxEventsPerBatch")
    out.print(f"  batch         up to {batch} event(s)")
    if props.get("expirationTimeUtc"):
        out.print(f"  expires       {props['expirationTimeUtc']}")
    if props.get("labels"):
        out.print(f"  labels        {escape(', '.join(map(str, props['labels'])))}")
    audience = props.get("destination", {}).get("properties", {}).get("azureActiveDirectoryApplicationIdOrUri")
    if audience:
        out.print(f"  entra         bearer tokens for {escape(str(audience))}")
    health = item.get("health", {})
    out.print(f"  health        {health.get('consecutiveFailures', 0)} consecutive failure(s)")


@subscriptions_app.command("delete")
@client_command()
def delete(
    name: Annotated[str, typer.Argument(help="The subscription's name.")],
    opts: ClientOptions = DEFAULT_CLIENT,
) -> None:
    """Delete a subscription; its pending deliveries stop."""
    with opts.connect() as client:
        client.delete_subscription(name)
    if opts.as_json:
        print_json({"name": name, "deleted": True})
    else:
        out.print(f"deleted subscription {escape(name)}")
