"""The namespace data plane's and admin API's refusals over HTTP (smsgrid.api.namespaces): a missing or unknown
api-version, unknown topics and subscriptions, publish bodies that are not CloudEvents, bad lock-token bodies; each
answered with its status, Azure's error code and a message that says what to send. One server for the module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from smsgrid.testing import SmsgridProcess, start_smsgrid

CONFIG = """
[namespace_topics.orders.subscriptions.workers]
"""

VERSION = {"api-version": "2024-06-01"}
CLOUD_EVENTS = "application/cloudevents+json; charset=utf-8"
BATCH = "application/cloudevents-batch+json; charset=utf-8"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    with start_smsgrid(tmp_path_factory.mktemp("ns-refusals"), config=CONFIG, throttling=False) as process:
        yield process


@pytest.fixture(scope="module")
def client(server: SmsgridProcess) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"SharedAccessKey {server.access_key}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as http:
        yield http


def refusal(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    return str(error["message"])


def publish(
    client: httpx.Client, body: bytes, content_type: str = CLOUD_EVENTS, topic: str = "orders"
) -> httpx.Response:
    return client.post(f"/topics/{topic}:publish", params=VERSION, content=body, headers={"content-type": content_type})


def event(**fields: Any) -> dict[str, Any]:
    return {"id": "1", "source": "/orders", "type": "Contoso.Order.Created", "specversion": "1.0", **fields}


def test_the_api_version_is_required_and_must_be_a_known_one(client: httpx.Client) -> None:
    missing = client.post("/topics/orders:publish", content=b"{}", headers={"content-type": CLOUD_EVENTS})
    assert refusal(missing, 400, "BadRequest") == "The api-version query parameter is required; use 2024-06-01."
    unknown = client.post(
        "/topics/orders:publish", params={"api-version": "2018-01-01"}, json={}, headers={"content-type": CLOUD_EVENTS}
    )
    message = refusal(unknown, 400, "BadRequest")
    assert message == "The api-version '2018-01-01' is not supported; use 2023-11-01 or 2024-06-01."


def test_publishing_to_an_unknown_topic_or_without_a_cloud_events_type_is_refused(client: httpx.Client) -> None:
    nowhere = publish(client, orjson.dumps(event()), topic="nowhere")
    assert refusal(nowhere, 404, "NotFound") == "No namespace topic named 'nowhere'."
    assert nowhere.headers["x-ms-error-code"] == "NotFound"
    text = publish(client, b"hello", content_type="text/plain")
    assert "application/cloudevents+json" in refusal(text, 400, "BadRequest")


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"{not json", CLOUD_EVENTS, "The body is not valid JSON"),
        (b'{"id": "1"}', BATCH, "must be a JSON array of CloudEvents"),
        (b"[]", BATCH, "The body is an empty array; send at least one CloudEvent."),
    ],
)
def test_a_body_that_is_not_a_cloud_event_or_batch_is_refused_as_a_whole(
    client: httpx.Client, body: bytes, content_type: str, expected: str
) -> None:
    assert expected in refusal(publish(client, body, content_type), 400, "BadRequest")


def test_every_bad_event_of_a_batch_is_named_by_its_index(client: httpx.Client) -> None:
    batch = [
        "an event",
        event(specversion="0.3"),
        event(data={"total": 1}, data_base64="AQ=="),
        {"id": "", "source": "/orders", "specversion": "1.0"},
    ]
    message = refusal(publish(client, orjson.dumps(batch), BATCH), 400, "BadRequest")
    assert message == (
        "The events cannot be published: "
        "[0]: must be a CloudEvent object {id, source, type, specversion}; "
        "[1].specversion: must be '1.0'; "
        "[2]: has both data and data_base64; send one; "
        "[3].id: is required (a non-empty string); "
        "[3].type: is required (a non-empty string)."
    )


def test_a_single_event_with_both_payloads_is_named_as_the_event(client: httpx.Client) -> None:
    body = orjson.dumps(event(data="x", data_base64="AQ=="))
    message = refusal(publish(client, body), 400, "BadRequest")
    assert message == "The events cannot be published: event: has both data and data_base64; send one."


def test_receiving_from_an_unknown_topic_or_subscription_is_not_found(client: httpx.Client) -> None:
    no_topic = client.post("/topics/nowhere/eventsubscriptions/workers:receive", params=VERSION)
    assert refusal(no_topic, 404, "NotFound") == "No namespace topic named 'nowhere'."
    no_sub = client.post("/topics/orders/eventsubscriptions/nobody:receive", params=VERSION)
    assert refusal(no_sub, 404, "NotFound") == "No event subscription named 'nobody' on topic 'orders'."
    assert no_sub.headers["x-ms-error-code"] == "NotFound"


@pytest.mark.parametrize(
    "body", [{}, {"lockTokens": []}, {"lockTokens": "token"}, {"lockTokens": ["ok", ""]}, {"lockTokens": [1]}]
)
def test_settling_needs_a_list_of_lock_tokens(client: httpx.Client, body: dict[str, Any]) -> None:
    response = client.post("/topics/orders/eventsubscriptions/workers:acknowledge", params=VERSION, json=body)
    message = refusal(response, 400, "BadRequest")
    assert message == 'The body must be {"lockTokens": [...]} with 1 to 100 lock tokens from receive.'


def test_at_most_a_hundred_lock_tokens_are_settled_per_call(client: httpx.Client) -> None:
    tokens = [f"token-{n}" for n in range(101)]
    response = client.post(
        "/topics/orders/eventsubscriptions/workers:reject", params=VERSION, json={"lockTokens": tokens}
    )
    assert refusal(response, 400, "BadRequest") == "At most 100 lock tokens per call; 101 sent."


def test_the_admin_api_shows_one_topic_and_one_subscription_as_arm_resources(server: SmsgridProcess) -> None:
    with server.admin() as admin:
        topic = admin.get("/admin/namespaces/topics/orders")
        subscription = admin.get("/admin/namespaces/topics/orders/eventSubscriptions/workers")
        missing = admin.get("/admin/namespaces/topics/nowhere")
    assert topic.status_code == 200
    assert topic.json()["name"] == "orders"
    assert topic.json()["type"] == "Microsoft.EventGrid/namespaces/topics"
    assert topic.json()["properties"]["eventRetentionInDays"] == 1
    assert subscription.status_code == 200
    assert subscription.json()["id"] == topic.json()["id"] + "/eventSubscriptions/workers"
    assert subscription.json()["properties"]["deliveryConfiguration"]["deliveryMode"] == "Queue"
    assert refusal(missing, 404, "NotFound") == "No namespace topic named 'nowhere'."
