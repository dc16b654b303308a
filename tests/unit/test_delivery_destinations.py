"""StorageQueue and AzureFunction destinations (docs/destinations.md): how their ARM bodies parse and render,
the `[storage_accounts]` / `[function_apps]` sections, and what one queue message holds."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.config import FunctionApp, StorageAccount, load_settings
from smsgrid.delivery.destinations.send import destination_config_problem, queue_message_text
from smsgrid.delivery.subscription_spec import (
    AzureFunctionDestination,
    EventDeliverySchema,
    StorageQueueDestination,
    parse_subscription_spec,
    spec_from_storage_dict,
    spec_to_public_dict,
    spec_to_storage_dict,
)
from smsgrid.errors import ConfigError, SubscriptionSpecError

STORAGE_ID = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/devstoreaccount1"
FUNCTION_ID = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/sms-app/functions/OnSms"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def queue_body(**props: Any) -> dict[str, Any]:
    return {"destination": {"endpointType": "StorageQueue", "properties": {"resourceId": STORAGE_ID, **props}}}


def paths_of(body: dict[str, Any]) -> list[str]:
    with pytest.raises(SubscriptionSpecError) as raised:
        parse_subscription_spec("sub-a", body)
    return [p.path for p in raised.value.problems]


def test_a_storage_queue_destination_parses_and_reads_back_in_azures_shape() -> None:
    body = queue_body(queueName="sms-events", queueMessageTimeToLiveInSeconds=-1)
    spec = parse_subscription_spec("sub-a", body)
    assert spec.destination == StorageQueueDestination(
        resource_id=STORAGE_ID,
        account="devstoreaccount1",
        queue_name="sms-events",
        queue_message_time_to_live_seconds=-1,
    )
    # Never batched: Event Grid writes one message per event.
    assert spec.destination.max_events_per_batch == 1
    assert spec_to_public_dict(spec)["properties"]["destination"] == body["destination"]
    assert spec_from_storage_dict(spec_to_storage_dict(spec)) == spec


def test_an_azure_function_destination_parses_and_reads_back_in_azures_shape() -> None:
    body = {
        "destination": {
            "endpointType": "azurefunction",  # enum strings in any case, as ARM accepts them
            "properties": {"resourceId": FUNCTION_ID, "maxEventsPerBatch": 10, "preferredBatchSizeInKilobytes": 128},
        }
    }
    spec = parse_subscription_spec("sub-a", body)
    assert spec.destination == AzureFunctionDestination(
        resource_id=FUNCTION_ID,
        function_app="sms-app",
        function_name="OnSms",
        max_events_per_batch=10,
        preferred_batch_size_in_kilobytes=128,
    )
    shown = spec_to_public_dict(spec)["properties"]["destination"]
    assert shown["endpointType"] == "AzureFunction"
    assert shown["properties"]["resourceId"] == FUNCTION_ID
    assert spec_from_storage_dict(spec_to_storage_dict(spec)) == spec


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (queue_body(), "destination.properties.queueName"),
        (queue_body(queueName="Has_Upper"), "destination.properties.queueName"),
        (queue_body(queueName="a--b"), "destination.properties.queueName"),
        (
            queue_body(queueName="q-1", queueMessageTimeToLiveInSeconds=0),
            "destination.properties.queueMessageTimeToLiveInSeconds",
        ),
        (
            queue_body(queueName="q-1", queueMessageTimeToLiveInSeconds=-2),
            "destination.properties.queueMessageTimeToLiveInSeconds",
        ),
        (
            queue_body(queueName="q-1", queueMessageTimeToLiveInSeconds="1"),
            "destination.properties.queueMessageTimeToLiveInSeconds",
        ),
        (
            {
                "destination": {
                    "endpointType": "StorageQueue",
                    "properties": {"resourceId": FUNCTION_ID, "queueName": "q-1"},
                }
            },
            "destination.properties.resourceId",
        ),
        (
            {"destination": {"endpointType": "StorageQueue", "properties": {"queueName": "q-1"}}},
            "destination.properties.resourceId",
        ),
        (
            {"destination": {"endpointType": "AzureFunction", "properties": {"resourceId": STORAGE_ID}}},
            "destination.properties.resourceId",
        ),
        (
            {
                "destination": {
                    "endpointType": "AzureFunction",
                    "properties": {"resourceId": FUNCTION_ID, "maxEventsPerBatch": 0},
                }
            },
            "destination.properties.maxEventsPerBatch",
        ),
        ({"destination": {"endpointType": "ServiceBusQueue", "properties": {}}}, "destination.endpointType"),
        (
            {
                **queue_body(queueName="q-1"),
                "standardWebhooks": {"secret": "whsec_" + base64.b64encode(bytes(32)).decode()},
            },
            "standardWebhooks",
        ),
    ],
)
def test_bad_destination_properties_name_the_field(body: dict[str, Any], path: str) -> None:
    assert path in paths_of(body)


EVENT: dict[str, Any] = {
    "id": "e-1",
    "topic": "/subscriptions/s/resourceGroups/g/providers/microsoft.communication/communicationservices/local",
    "subject": "/phonenumber/18005550100",
    "eventType": "Microsoft.Communication.SMSReceived",
    "eventTime": "2026-12-02T05:00:00.0000000Z",
    "data": {"messageId": "m-1", "from": "+14255550123", "to": "+18005550100", "message": "hi"},
    "dataVersion": "1.0",
    "metadataVersion": "1",
}


@given(st.text(max_size=200))
def test_a_queue_message_is_base64_of_the_one_event_in_the_event_grid_schema(message: str) -> None:
    spec = parse_subscription_spec("sub-a", queue_body(queueName="q-1"))
    item = orjson.dumps({**EVENT, "data": {**EVENT["data"], "message": message}})
    decoded = json.loads(base64.b64decode(queue_message_text(spec, item), validate=True))
    assert decoded == json.loads(item)


def test_a_queue_message_in_the_cloud_events_schema_is_one_cloud_event() -> None:
    spec = parse_subscription_spec(
        "sub-a", {**queue_body(queueName="q-1"), "eventDeliverySchema": "CloudEventSchemaV1_0"}
    )
    assert spec.event_delivery_schema is EventDeliverySchema.CLOUD_EVENTS_V1_0
    decoded = json.loads(base64.b64decode(queue_message_text(spec, orjson.dumps(EVENT))))
    assert decoded["specversion"] == "1.0"
    assert decoded["type"] == EVENT["eventType"]
    assert decoded["data"] == EVENT["data"]


def test_a_destination_whose_account_or_app_is_not_configured_is_refused_with_what_to_add() -> None:
    queue = parse_subscription_spec("sub-a", queue_body(queueName="q-1")).destination
    function = parse_subscription_spec(
        "sub-a", {"destination": {"endpointType": "AzureFunction", "properties": {"resourceId": FUNCTION_ID}}}
    ).destination
    assert "[storage_accounts.devstoreaccount1]" in (destination_config_problem(queue, {}, {}) or "")
    assert "[function_apps.sms-app]" in (destination_config_problem(function, {}, {}) or "")
    account = StorageAccount(
        name="devstoreaccount1", key=AZURITE_KEY, queue_endpoint="http://127.0.0.1:10001/devstoreaccount1"
    )
    app = FunctionApp(name="SMS-App", endpoint="http://127.0.0.1:7071")
    assert destination_config_problem(queue, {"devstoreaccount1": account}, {}) is None
    # Site names are case-insensitive in Azure.
    assert destination_config_problem(function, {}, {"sms-app": app}) is None


def test_storage_accounts_and_function_apps_are_read_from_the_toml(tmp_path: Path) -> None:
    config = tmp_path / "smsgrid.toml"
    config.write_text(
        "[storage_accounts.devstoreaccount1]\n"
        'queue_endpoint = "http://127.0.0.1:10001/devstoreaccount1/"\n'
        'blob_endpoint = "http://127.0.0.1:10000/devstoreaccount1"\n'
        f'key = "{AZURITE_KEY}"\n'
        "[function_apps.SMS-App]\n"
        'endpoint = "http://127.0.0.1:7071"\n'
        'key = "host-key"\n'
    )
    settings = load_settings(config, env={})
    account = settings.storage_accounts["devstoreaccount1"]
    assert account.queue_endpoint == "http://127.0.0.1:10001/devstoreaccount1"
    assert account.blob_endpoint == "http://127.0.0.1:10000/devstoreaccount1"
    assert settings.function_apps["sms-app"] == FunctionApp(
        name="SMS-App", endpoint="http://127.0.0.1:7071", key="host-key"
    )
    # Keys stay out of reprs (logs, tracebacks).
    assert AZURITE_KEY not in repr(settings)
    assert "host-key" not in repr(settings)


@pytest.mark.parametrize(
    ("toml", "path"),
    [
        ('[storage_accounts.a1]\nqueue_endpoint = "ftp://x"\nkey = "AAAA"\n', "storage_accounts.a1.queue_endpoint"),
        ('[storage_accounts.a1]\nqueue_endpoint = "http://x"\nkey = "not base64!"\n', "storage_accounts.a1.key"),
        ('[storage_accounts.a1]\nkey = "AAAA"\n', "storage_accounts.a1"),
        (
            '[storage_accounts.a1]\nqueue_endpoint = "http://x"\nkey = "AAAA"\nendpoint = "x"\n',
            "storage_accounts.a1.endpoint",
        ),
        ("[function_apps.f1]\n", "function_apps.f1.endpoint"),
        ('[function_apps.f1]\nendpoint = "http://x"\nkey = 3\n', "function_apps.f1.key"),
    ],
)
def test_bad_destination_sections_name_the_key(tmp_path: Path, toml: str, path: str) -> None:
    config = tmp_path / "smsgrid.toml"
    config.write_text(toml)
    with pytest.raises(ConfigError) as raised:
        load_settings(config, env={})
    assert path in [p.path for p in raised.value.problems]
    assert "not base64!" not in str(raised.value)


def test_config_check_names_a_subscription_whose_storage_account_is_missing(tmp_path: Path) -> None:
    from smsgrid.cli.commands_config import check_config

    config = tmp_path / "smsgrid.toml"
    config.write_text(
        "[subscriptions.to-queue.destination]\n"
        'endpointType = "StorageQueue"\n'
        f'properties = {{ resourceId = "{STORAGE_ID}", queueName = "sms" }}\n'
    )
    _, problems = check_config(config)
    assert [(p.path, "[storage_accounts.devstoreaccount1]" in p.reason) for p in problems] == [
        ("subscriptions.to-queue.destination", True)
    ]
    with config.open("a") as file:
        file.write(
            f'[storage_accounts.devstoreaccount1]\nqueue_endpoint = "http://127.0.0.1:10001/x"\nkey = "{AZURITE_KEY}"\n'
        )
    assert check_config(config)[1] == []


@pytest.mark.parametrize(
    ("status", "webhook_retries", "resource_retries"),
    [
        (400, False, False),
        (401, False, True),
        (403, False, False),
        (413, False, False),
        (404, True, True),
        (500, True, True),
    ],
)
def test_azure_resource_destinations_retry_a_401_that_ends_a_webhook_delivery(
    status: int, webhook_retries: bool, resource_retries: bool
) -> None:
    # delivery-and-retry, "Retry schedule": Azure resources 400, 413, 403; webhooks also 401.
    from smsgrid.delivery.outcomes import classify
    from smsgrid.delivery.retry import RetryAt, RetryPolicy, decide_after_attempt

    def retries(azure_resource: bool) -> bool:
        decision = decide_after_attempt(
            attempt=1,
            status=status,
            outcome=classify(status, None),
            published_at=0.0,
            now=1.0,
            policy=RetryPolicy(),
            time_scale=1.0,
            jitter=0.0,
            azure_resource=azure_resource,
        )
        return isinstance(decision, RetryAt)

    assert retries(False) is webhook_retries
    assert retries(True) is resource_retries


def test_the_ui_form_does_not_turn_a_queue_subscription_into_a_broken_webhook() -> None:
    from smsgrid.ui.forms import FormError, subscription_properties

    stored = queue_body(queueName="sms-events")
    with pytest.raises(FormError, match="StorageQueue"):
        subscription_properties({"endpoint_url": ["http://127.0.0.1:9000/events"]}, stored)


NAME = st.from_regex(r"[a-z0-9]([a-z0-9-]{1,20}[a-z0-9])", fullmatch=True)


@given(
    method=st.sampled_from(["POST", "PUT"]),
    path=st.lists(NAME, min_size=1, max_size=4),
    query=st.dictionaries(st.sampled_from(["messagettl", "visibilitytimeout", "timeout", "comp"]), NAME, max_size=3),
    length=st.integers(0, 70_000),
    extra=st.dictionaries(st.sampled_from(["x-ms-blob-type", "x-ms-client-request-id", "x-ms-meta-a"]), NAME),
)
def test_shared_key_signatures_match_the_official_storage_sdk(
    method: str, path: list[str], query: dict[str, str], length: int, extra: dict[str, str]
) -> None:
    # The SDK's own signer (azure-storage-queue's SharedKeyCredentialPolicy, a private class) is the reference.
    from azure.core.pipeline import PipelineContext, PipelineRequest
    from azure.core.pipeline.transport import HttpRequest
    from azure.storage.queue._shared.authentication import SharedKeyCredentialPolicy

    from smsgrid.delivery.destinations.storage import shared_key_signature

    url = "http://127.0.0.1:10001/devstoreaccount1/" + "/".join(path)
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    headers = {
        "x-ms-date": "Wed, 02 Dec 2026 05:00:00 GMT",
        "x-ms-version": "2021-12-02",
        "Content-Type": "application/json",
        "Content-Length": str(length),
        **extra,
    }
    request = HttpRequest(method, url, headers=dict(headers))
    policy: Any = SharedKeyCredentialPolicy  # untyped in the SDK
    policy("devstoreaccount1", AZURITE_KEY).on_request(PipelineRequest(request, PipelineContext(None)))
    assert (
        shared_key_signature("devstoreaccount1", AZURITE_KEY, method, url, headers) == request.headers["Authorization"]
    )
