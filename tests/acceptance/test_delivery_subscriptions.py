"""Event subscriptions through the admin API and the config file (SPEC §3, §4 "Admin API", "Configuration").

A real `smsgrid serve` and real webhook receivers: PUT/GET/DELETE/list, bare and `{"properties": …}` bodies,
every Event Grid limit answered with 400 `{"error":{"code","message"}}` naming the fields to change.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from smsgrid.testing import SmsgridProcess, WebhookSink, start_smsgrid
from smsgrid.testing.plugin import inbound

SENDER = "+14255550123"
OWNED = "+18005550100"
SMS_RECEIVED = "Microsoft.Communication.SMSReceived"


def webhook(url: str, **destination: Any) -> dict[str, Any]:
    return {"endpointType": "WebHook", "properties": {"endpointUrl": url, **destination}}


def poll_state(admin: httpx.Client, name: str, *, until: str, timeout: float = 10.0) -> str | None:
    """The subscription's provisioningState once it equals *until*, or the last one seen after *timeout*."""
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        response = admin.get(f"/admin/subscriptions/{name}")
        state = response.json()["properties"]["provisioningState"] if response.status_code == 200 else None
        if state == until:
            break
        time.sleep(0.05)
    return state


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    with start_smsgrid(tmp_path_factory.mktemp("subscriptions"), time_scale=0.001) as process:
        yield process


@pytest.fixture(scope="module")
def sink() -> Iterator[WebhookSink]:
    with WebhookSink() as receiver:
        yield receiver


@pytest.fixture
def admin(server: SmsgridProcess) -> Iterator[httpx.Client]:
    with server.admin() as client:
        yield client


def test_put_get_list_delete_with_a_bare_body(admin: httpx.Client, sink: WebhookSink) -> None:
    body = {
        "destination": webhook(sink.url, maxEventsPerBatch=10, preferredBatchSizeInKilobytes=128),
        "filter": {"includedEventTypes": [SMS_RECEIVED], "subjectBeginsWith": "/phonenumber/1800"},
        "retryPolicy": {"maxDeliveryAttempts": 5, "eventTimeToLiveInMinutes": 30},
    }
    created = admin.put("/admin/subscriptions/bare-body", json=body)
    assert created.status_code == 200, created.text
    props = created.json()["properties"]
    assert created.json()["name"] == "bare-body"
    assert props["provisioningState"] == "Succeeded"
    assert props["destination"]["properties"]["maxEventsPerBatch"] == 10
    assert props["destination"]["properties"]["preferredBatchSizeInKilobytes"] == 128
    assert props["filter"]["includedEventTypes"] == [SMS_RECEIVED]
    assert props["retryPolicy"] == {"maxDeliveryAttempts": 5, "eventTimeToLiveInMinutes": 30}

    fetched = admin.get("/admin/subscriptions/bare-body")
    assert fetched.status_code == 200
    assert fetched.json()["properties"] == props
    listed = admin.get("/admin/subscriptions")
    assert listed.status_code == 200
    assert "bare-body" in [s["name"] for s in listed.json()["value"]]

    assert admin.delete("/admin/subscriptions/bare-body").status_code == 204
    gone = admin.get("/admin/subscriptions/bare-body")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "NotFound"
    assert admin.delete("/admin/subscriptions/bare-body").status_code == 404
    assert "bare-body" not in [s["name"] for s in admin.get("/admin/subscriptions").json()["value"]]


def test_put_with_a_wrapped_body_and_update_in_place(admin: httpx.Client, sink: WebhookSink) -> None:
    wrapped = {"properties": {"destination": webhook(sink.url), "filter": {"subjectEndsWith": "0100"}}}
    first = admin.put("/admin/subscriptions/wrapped-body", json=wrapped)
    assert first.status_code == 200, first.text
    assert first.json()["properties"]["provisioningState"] == "Succeeded"
    assert first.json()["properties"]["filter"]["subjectEndsWith"] == "0100"

    changed = copy.deepcopy(wrapped)
    changed["properties"]["filter"] = {"subjectEndsWith": "0101", "isSubjectCaseSensitive": True}
    second = admin.put("/admin/subscriptions/wrapped-body", json=changed)
    assert second.status_code == 200, second.text
    assert admin.get("/admin/subscriptions/wrapped-body").json()["properties"]["filter"]["subjectEndsWith"] == "0101"
    names = [s["name"] for s in admin.get("/admin/subscriptions").json()["value"]]
    assert names.count("wrapped-body") == 1
    assert admin.delete("/admin/subscriptions/wrapped-body").status_code == 204


def _string_filter(index: int, values: int = 1) -> dict[str, Any]:
    return {"operatorType": "StringIn", "key": "data.Message", "values": [f"v{index}-{i}" for i in range(values)]}


def _attribute(index: int) -> dict[str, Any]:
    return {"name": f"X-Attr-{index}", "type": "Static", "properties": {"value": "v", "isSecret": False}}


# (what is wrong, the properties to merge into a valid body, the field path the message must name)
INVALID_BODIES: list[tuple[str, dict[str, Any], str]] = [
    (
        "26 advanced filters",
        {"filter": {"advancedFilters": [_string_filter(i) for i in range(26)]}},
        "filter.advancedFilters",
    ),
    (
        "26 advanced filter values in total",
        {"filter": {"advancedFilters": [_string_filter(0, 13), _string_filter(1, 13)]}},
        "filter.advancedFilters",
    ),
    ("maxEventsPerBatch 0", {"destination": {"maxEventsPerBatch": 0}}, "maxEventsPerBatch"),
    ("maxEventsPerBatch 5001", {"destination": {"maxEventsPerBatch": 5001}}, "maxEventsPerBatch"),
    (
        "preferredBatchSizeInKilobytes 0",
        {"destination": {"preferredBatchSizeInKilobytes": 0}},
        "preferredBatchSizeInKilobytes",
    ),
    (
        "preferredBatchSizeInKilobytes 1025",
        {"destination": {"preferredBatchSizeInKilobytes": 1025}},
        "preferredBatchSizeInKilobytes",
    ),
    ("maxDeliveryAttempts 0", {"retryPolicy": {"maxDeliveryAttempts": 0}}, "retryPolicy.maxDeliveryAttempts"),
    ("maxDeliveryAttempts 31", {"retryPolicy": {"maxDeliveryAttempts": 31}}, "retryPolicy.maxDeliveryAttempts"),
    (
        "eventTimeToLiveInMinutes 0",
        {"retryPolicy": {"eventTimeToLiveInMinutes": 0}},
        "retryPolicy.eventTimeToLiveInMinutes",
    ),
    (
        "eventTimeToLiveInMinutes 1441",
        {"retryPolicy": {"eventTimeToLiveInMinutes": 1441}},
        "retryPolicy.eventTimeToLiveInMinutes",
    ),
    (
        "11 delivery attributes",
        {"destination": {"deliveryAttributeMappings": [_attribute(i) for i in range(11)]}},
        "deliveryAttributeMappings",
    ),
    (
        "a delivery attribute named aeg-*",
        {"destination": {"deliveryAttributeMappings": [{**_attribute(0), "name": "aeg-custom"}]}},
        "deliveryAttributeMappings[0].name",
    ),
    ("an endpointType other than WebHook", {"destination": {"endpointType": "EventHub"}}, "destination.endpointType"),
    ("an unknown eventDeliverySchema", {"eventDeliverySchema": "CustomInputSchema"}, "eventDeliverySchema"),
]


def _body_with(sink_url: str, change: dict[str, Any]) -> dict[str, Any]:
    destination = webhook(sink_url)
    body: dict[str, Any] = {"destination": destination}
    for key, value in change.items():
        if key == "destination":
            for dkey, dvalue in value.items():
                if dkey == "endpointType":
                    destination["endpointType"] = dvalue
                else:
                    destination["properties"][dkey] = dvalue
        else:
            body[key] = value
    return body


@pytest.mark.parametrize(("wrong", "change", "field"), INVALID_BODIES, ids=[c[0] for c in INVALID_BODIES])
def test_an_invalid_body_is_400_naming_the_field(
    admin: httpx.Client, sink: WebhookSink, wrong: str, change: dict[str, Any], field: str
) -> None:
    for body in (_body_with(sink.url, change), {"properties": _body_with(sink.url, change)}):
        response = admin.put("/admin/subscriptions/invalid-one", json=body)
        assert response.status_code == 400, f"{wrong}: {response.text}"
        error = response.json()["error"]
        assert set(error) >= {"code", "message"}
        assert error["code"]
        assert field in error["message"], f"{wrong}: {error['message']}"
    # Nothing was stored, and no handshake was attempted for it.
    assert admin.get("/admin/subscriptions/invalid-one").status_code == 404


def test_every_problem_of_a_body_is_listed_at_once(admin: httpx.Client, sink: WebhookSink) -> None:
    body = {
        "properties": {
            "destination": webhook(
                sink.url,
                maxEventsPerBatch=5001,
                preferredBatchSizeInKilobytes=0,
                deliveryAttributeMappings=[{**_attribute(0), "name": "aeg-x"}],
            ),
            "retryPolicy": {"maxDeliveryAttempts": 31, "eventTimeToLiveInMinutes": 1441},
        }
    }
    response = admin.put("/admin/subscriptions/many-problems", json=body)
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    for field in (
        "maxEventsPerBatch",
        "preferredBatchSizeInKilobytes",
        "deliveryAttributeMappings[0].name",
        "maxDeliveryAttempts",
        "eventTimeToLiveInMinutes",
    ):
        assert field in message, message


def test_a_body_that_is_not_json_or_has_no_destination_is_400(admin: httpx.Client) -> None:
    not_json = admin.put(
        "/admin/subscriptions/broken-json", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400
    assert set(not_json.json()["error"]) >= {"code", "message"}
    no_destination = admin.put("/admin/subscriptions/no-destination", json={"filter": {}})
    assert no_destination.status_code == 400
    assert "destination" in no_destination.json()["error"]["message"]


def test_the_admin_api_needs_the_access_key(server: SmsgridProcess, sink: WebhookSink) -> None:
    body = {"destination": webhook(sink.url)}
    anonymous = httpx.put(f"{server.base_url}/admin/subscriptions/no-key", json=body)
    assert anonymous.status_code == 401
    wrong = httpx.put(
        f"{server.base_url}/admin/subscriptions/no-key", json=body, headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "Denied"


def test_config_file_subscriptions_are_validated_and_delivered(tmp_path: Path) -> None:
    with WebhookSink() as configured_sink, WebhookSink() as filtered_out:
        config = f"""
[subscriptions.from-config]
destination = {{ endpointType = "WebHook", properties = {{ endpointUrl = "{configured_sink.url}" }} }}
filter = {{ includedEventTypes = ["{SMS_RECEIVED}"] }}

[subscriptions.config-other-type]
destination = {{ endpointType = "WebHook", properties = {{ endpointUrl = "{filtered_out.url}" }} }}
filter = {{ includedEventTypes = ["Microsoft.Communication.SMSDeliveryReportReceived"] }}
"""
        data_dir = tmp_path / "configured"
        with start_smsgrid(data_dir, config=config, time_scale=0.001) as server:
            # Config-file subscriptions are validated in the background after start.
            configured_sink.wait_for(lambda s: len(s.validations()) == 1)
            with server.admin() as admin:
                state = poll_state(admin, "from-config", until="Succeeded")
                assert state == "Succeeded"
                names = {s["name"] for s in admin.get("/admin/subscriptions").json()["value"]}
                assert {"from-config", "config-other-type"} <= names
            message_id = inbound(server, SENDER, OWNED, "configured")
            event = configured_sink.wait_for_event(SMS_RECEIVED, where=lambda e: e.id == message_id)
            assert event.subject == "/phonenumber/18005550100"
            assert filtered_out.notifications() == []

            # A restart with the same, already validated config does not run the handshake again.
            server.restart()
            second = inbound(server, SENDER, OWNED, "after restart")
            configured_sink.wait_for_event(SMS_RECEIVED, where=lambda e: e.id == second)
            assert len(configured_sink.validations()) == 1
