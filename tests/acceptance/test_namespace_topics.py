"""Event Grid namespace topics with pull delivery (issue 15 item 1, docs/namespace-topics.md).

The official `azure-eventgrid` clients, `EventGridPublisherClient(namespace_topic=…)` and
`EventGridConsumerClient`, sync and async, against a real smsgrid: publish, receive (long poll), acknowledge,
release, reject, renew locks, lock expiry and max delivery count; an SMS sent with the ACS SDK arrives as a
CloudEvent through `receive`.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from azure.communication.sms import SmsClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridConsumerClient, EventGridPublisherClient
from azure.eventgrid.aio import EventGridConsumerClient as AsyncConsumerClient
from azure.eventgrid.aio import EventGridPublisherClient as AsyncPublisherClient
from azure.identity import ClientSecretCredential

from smsgrid.config import WELL_KNOWN_CLIENT_ID, WELL_KNOWN_CLIENT_SECRET, WELL_KNOWN_TENANT_ID
from smsgrid.testing import SmsgridProcess, start_smsgrid
from smsgrid.testing.plugin import inbound

# One topic per test, so that no test sees another's events.
CONFIG = """
[carrier]
delay_ms = 50

[namespace_topics.basic.subscriptions.workers]
[namespace_topics.filtered.subscriptions.created-only]
filtersConfiguration = { includedEventTypes = ["Contoso.Order.Created"] }
[namespace_topics.advanced.subscriptions.big-orders]
filtersConfiguration = { filters = [ { operatorType = "NumberGreaterThanOrEquals", key = "data.total", value = 100 }, { operatorType = "StringBeginsWith", key = "subject", values = ["/orders/"] } ] }
[namespace_topics.released.subscriptions.workers]
[namespace_topics.rejected.subscriptions.workers]
deliveryConfiguration = { deliveryMode = "Queue", queue = { deadLetterDestinationWithResourceIdentity = { endpointType = "StorageBlob" } } }
[namespace_topics.longpoll.subscriptions.workers]
[namespace_topics.asynchronous.subscriptions.workers]
[namespace_topics.entra.subscriptions.workers]
[namespace_topics.older.subscriptions.workers]

[namespace_topics.sms]
route_sms_events = true
[namespace_topics.sms.subscriptions.reader]
[namespace_topics.sms.subscriptions.inbound-only]
filtersConfiguration = { includedEventTypes = ["Microsoft.Communication.SMSReceived"] }
"""  # noqa: E501

# Short locks: at time scale 0.05 a 60 s lock lasts 3 s and a 10 s release delay 0.5 s.
FAST_CONFIG = """
[namespace_topics.empty.subscriptions.idle]
[namespace_topics.jobs]
[namespace_topics.jobs.subscriptions.twice]
deliveryConfiguration = { deliveryMode = "Queue", queue = { receiveLockDurationInSeconds = 60, maxDeliveryCount = 2, deadLetterDestinationWithResourceIdentity = { endpointType = "StorageBlob" } } }
"""  # noqa: E501


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    with start_smsgrid(tmp_path_factory.mktemp("ns"), config=CONFIG, throttling=False) as process:
        yield process


@pytest.fixture(scope="module")
def fast_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    with start_smsgrid(tmp_path_factory.mktemp("nsfast"), config=FAST_CONFIG, time_scale=0.05) as process:
        yield process


def publisher(server: SmsgridProcess, topic: str) -> EventGridPublisherClient:
    return EventGridPublisherClient(server.base_url, AzureKeyCredential(server.access_key), namespace_topic=topic)


def consumer(server: SmsgridProcess, topic: str, subscription: str = "workers") -> EventGridConsumerClient:
    return EventGridConsumerClient(
        server.base_url, AzureKeyCredential(server.access_key), namespace_topic=topic, subscription=subscription
    )


def order(kind: str = "Contoso.Order.Created", **data: Any) -> CloudEvent[Any]:
    return CloudEvent(source="/contoso/orders", type=kind, data=data or {"n": 1}, id=str(uuid.uuid4()))


def data_of(detail: Any) -> dict[str, Any]:
    data = detail.event.data
    assert isinstance(data, dict)
    return data


def test_publish_receive_acknowledge_with_the_sync_clients(server: SmsgridProcess) -> None:
    events = [order(n=1), order(n=2)]
    with publisher(server, "basic") as pub:
        pub.send(events)
    with consumer(server, "basic") as client:
        got = client.receive(max_events=10, max_wait_time=10)
        mine = [d for d in got if d.event.id in {e.id for e in events}]
        assert sorted(data_of(d)["n"] for d in mine) == [1, 2]
        assert all(d.broker_properties.delivery_count == 1 for d in mine)
        assert {d.event.source for d in mine} == {"/contoso/orders"}
        tokens = [d.broker_properties.lock_token for d in got]
        result = client.acknowledge(lock_tokens=tokens)
        assert sorted(result.succeeded_lock_tokens) == sorted(tokens)
        assert result.failed_lock_tokens == []
        again = client.acknowledge(lock_tokens=tokens[:1])
        assert again.succeeded_lock_tokens == []
        assert [f.lock_token for f in again.failed_lock_tokens] == tokens[:1]
        assert again.failed_lock_tokens[0].error.code == "TokenLost"


def test_a_filtered_subscription_gets_only_its_event_types(server: SmsgridProcess) -> None:
    created, shipped = order(), order("Contoso.Order.Shipped")
    with publisher(server, "filtered") as pub:
        pub.send([shipped, created])
    with consumer(server, "filtered", "created-only") as client:
        got = client.receive(max_events=10, max_wait_time=10)
        assert [d.event.id for d in got] == [created.id]
        client.acknowledge(lock_tokens=[got[0].broker_properties.lock_token])


def test_advanced_filters_pick_events_by_cloud_event_keys_from_toml_and_the_admin_api(server: SmsgridProcess) -> None:
    with server.admin() as admin:
        rush = {"filtersConfiguration": {"filters": [
            {"operatorType": "StringContains", "key": "data.note", "values": ["rush"]},
            {"operatorType": "StringIn", "key": "source", "values": ["/contoso/orders"]}]}}  # fmt: skip
        created = admin.put("/admin/namespaces/topics/advanced/eventSubscriptions/rush", json={"properties": rush})
        assert created.status_code == 201
        assert (
            created.json()["properties"]["filtersConfiguration"]["filters"] == rush["filtersConfiguration"]["filters"]
        )
        bad = admin.put(
            "/admin/namespaces/topics/advanced/eventSubscriptions/bad",
            json={"properties": {"filtersConfiguration": {"filters": [{"operatorType": "NumberIn", "key": "data.n"}]}}},
        )
        assert bad.status_code == 400
        assert "filtersConfiguration.filters[0].values" in bad.json()["error"]["message"]

    def sale(subject: str, total: int, note: str) -> CloudEvent[Any]:
        return CloudEvent(source="/contoso/orders", type="Contoso.Order.Created", subject=subject,
                          data={"total": total, "note": note}, id=str(uuid.uuid4()))  # fmt: skip

    big, small, refund, urgent = (
        sale("/orders/1", 250, "normal"), sale("/orders/2", 20, "normal"),
        sale("/refunds/3", 500, "normal"), sale("/orders/4", 5, "RUSH please"),
    )  # fmt: skip
    with publisher(server, "advanced") as pub:
        pub.send([big, small, refund, urgent])
    with consumer(server, "advanced", "big-orders") as client:
        got = client.receive(max_events=10, max_wait_time=10)
        assert [d.event.id for d in got] == [big.id]
        client.acknowledge(lock_tokens=[d.broker_properties.lock_token for d in got])
    with consumer(server, "advanced", "rush") as client:
        got = client.receive(max_events=10, max_wait_time=10)
        assert [d.event.id for d in got] == [urgent.id]
        client.acknowledge(lock_tokens=[d.broker_properties.lock_token for d in got])


def test_release_makes_the_event_come_back_with_its_delivery_counted(server: SmsgridProcess) -> None:
    event = order()
    with publisher(server, "released") as pub:
        pub.send(event)
    with consumer(server, "released") as client:
        (first,) = client.receive(max_events=10, max_wait_time=10)
        released = client.release(lock_tokens=[first.broker_properties.lock_token])
        assert released.succeeded_lock_tokens == [first.broker_properties.lock_token]
        (second,) = client.receive(max_events=10, max_wait_time=10)
        assert second.event.id == event.id
        assert second.broker_properties.delivery_count == 2
        client.acknowledge(lock_tokens=[second.broker_properties.lock_token])


def test_release_refuses_a_delay_azure_does_not_offer(server: SmsgridProcess) -> None:
    with consumer(server, "released") as client, pytest.raises(HttpResponseError) as caught:
        client.release(lock_tokens=["AAAA"], release_delay=5)
    assert caught.value.status_code == 400
    assert "releaseDelayInSeconds" in str(caught.value)


def test_reject_dead_letters_and_renew_lock_keeps_the_event(server: SmsgridProcess) -> None:
    kept, rejected = order(n="kept"), order(n="rejected")
    with publisher(server, "rejected") as pub:
        pub.send([kept, rejected])
    with consumer(server, "rejected") as client:
        got = {d.event.id: d.broker_properties.lock_token for d in client.receive(max_events=10, max_wait_time=10)}
        renewed = client.renew_locks(lock_tokens=[got[kept.id]])
        assert renewed.succeeded_lock_tokens == [got[kept.id]]
        result = client.reject(lock_tokens=[got[rejected.id]])
        assert result.succeeded_lock_tokens == [got[rejected.id]]
        assert client.acknowledge(lock_tokens=[got[kept.id]]).succeeded_lock_tokens == [got[kept.id]]
    with server.admin() as admin:
        dead = admin.get("/admin/namespaces/topics/rejected/eventSubscriptions/workers/deadletters").json()["value"]
    assert [(d["event"]["id"], d["deadLetterReason"]) for d in dead] == [(rejected.id, "Rejected")]


def test_receive_waits_for_an_event_published_while_it_waits(server: SmsgridProcess) -> None:
    event = order(n="late")
    got: list[Any] = []

    def wait() -> None:
        with consumer(server, "longpoll") as client:
            got.extend(client.receive(max_events=1, max_wait_time=60))

    waiter = threading.Thread(target=wait)
    waiter.start()
    with publisher(server, "longpoll") as pub:
        pub.send(event)
    waiter.join(timeout=90)
    assert [d.event.id for d in got] == [event.id]
    with consumer(server, "longpoll") as client:
        client.acknowledge(lock_tokens=[got[0].broker_properties.lock_token])


def test_the_async_clients_publish_and_receive(server: SmsgridProcess) -> None:
    event = order(n="async")

    async def run() -> list[str]:
        credential = AzureKeyCredential(server.access_key)
        async with AsyncPublisherClient(server.base_url, credential, namespace_topic="asynchronous") as pub:
            await pub.send([event])
        async with AsyncConsumerClient(
            server.base_url, credential, namespace_topic="asynchronous", subscription="workers"
        ) as client:
            got = await client.receive(max_events=5, max_wait_time=10)
            result = await client.acknowledge(lock_tokens=[d.broker_properties.lock_token for d in got])
            assert result.failed_lock_tokens == []
            return [d.event.id for d in got]

    assert asyncio.run(run()) == [event.id]


def test_an_sms_sent_with_the_acs_sdk_arrives_as_a_cloud_event(server: SmsgridProcess) -> None:
    sms = SmsClient(server.base_url, AzureKeyCredential(server.access_key))
    try:
        [sent] = sms.send(from_="+18005550100", to="+14255550199", message="hi", enable_delivery_report=True)
    finally:
        sms._sms_service_client.close()
    assert sent.successful
    with consumer(server, "sms", "reader") as client:
        report: Any = None
        for _ in range(10):
            for detail in client.receive(max_events=10, max_wait_time=10):
                client.acknowledge(lock_tokens=[detail.broker_properties.lock_token])
                if data_of(detail).get("messageId") == sent.message_id:
                    report = detail.event
            if report is not None:
                break
    assert report is not None
    assert report.type == "Microsoft.Communication.SMSDeliveryReportReceived"
    assert report.source.lower().endswith("/communicationservices/local")
    assert report.data["deliveryStatus"] == "Delivered"


def test_the_2023_11_01_api_version_works_too(server: SmsgridProcess) -> None:
    event = order(n="2023")
    key = AzureKeyCredential(server.access_key)
    with EventGridPublisherClient(server.base_url, key, namespace_topic="older", api_version="2023-11-01") as pub:
        pub.send(event)
    with EventGridConsumerClient(
        server.base_url, key, namespace_topic="older", subscription="workers", api_version="2023-11-01"
    ) as client:
        (got,) = client.receive(max_events=5, max_wait_time=10)
        assert got.event.id == event.id
        assert client.acknowledge(lock_tokens=[got.broker_properties.lock_token]).failed_lock_tokens == []


def test_an_inbound_sms_arrives_as_sms_received_in_a_filtered_subscription(server: SmsgridProcess) -> None:
    message_id = inbound(server, "+14255550142", "+18005550100", "to the topic")
    with consumer(server, "sms", "inbound-only") as client:
        got = client.receive(max_events=10, max_wait_time=10)
        client.acknowledge(lock_tokens=[d.broker_properties.lock_token for d in got])
    received = [d for d in got if data_of(d).get("messageId") == message_id]
    assert [d.event.type for d in received] == ["Microsoft.Communication.SMSReceived"]
    assert data_of(received[0])["message"] == "to the topic"
    assert received[0].event.subject == "/phonenumber/18005550100"


def test_a_wrong_key_is_refused_with_401(server: SmsgridProcess) -> None:
    wrong = EventGridPublisherClient(server.base_url, AzureKeyCredential("wrong"), namespace_topic="basic")
    with wrong, pytest.raises(ClientAuthenticationError):
        wrong.send(order())


def test_an_entra_token_works_over_tls(server: SmsgridProcess) -> None:
    credential = ClientSecretCredential(
        WELL_KNOWN_TENANT_ID,
        WELL_KNOWN_CLIENT_ID,
        WELL_KNOWN_CLIENT_SECRET,
        authority=server.tls_url,
        disable_instance_discovery=True,
        connection_verify=str(server.cert_path),
    )
    event = order(n="entra")
    verify = str(server.cert_path)
    with EventGridPublisherClient(server.tls_url, credential, namespace_topic="entra", connection_verify=verify) as p:
        p.send(event)
    with EventGridConsumerClient(
        server.tls_url, credential, namespace_topic="entra", subscription="workers", connection_verify=verify
    ) as client:
        got = client.receive(max_events=5, max_wait_time=10)
        assert [d.event.id for d in got] == [event.id]
        client.acknowledge(lock_tokens=[got[0].broker_properties.lock_token])


def test_a_token_for_another_audience_is_refused(server: SmsgridProcess) -> None:
    credential = ClientSecretCredential(
        WELL_KNOWN_TENANT_ID,
        WELL_KNOWN_CLIENT_ID,
        WELL_KNOWN_CLIENT_SECRET,
        authority=server.tls_url,
        disable_instance_discovery=True,
        connection_verify=str(server.cert_path),
    )
    token = credential.get_token("https://communication.azure.com//.default").token
    response = httpx.post(
        f"{server.tls_url}/topics/basic/eventsubscriptions/workers:receive?api-version=2024-06-01&maxWaitTime=10",
        headers={"Authorization": f"Bearer {token}"},
        verify=ssl.create_default_context(cafile=str(server.cert_path)),
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "Unauthorized"


def test_bad_cloud_events_are_answered_400_naming_the_problem(server: SmsgridProcess) -> None:
    response = httpx.post(
        f"{server.base_url}/topics/basic:publish?api-version=2024-06-01",
        headers={
            "Authorization": f"SharedAccessKey {server.access_key}",
            "Content-Type": "application/cloudevents-batch+json; charset=utf-8",
        },
        content=b'[{"id": "1", "specversion": "1.0", "type": "T"}]',
    )
    assert response.status_code == 400
    assert response.headers["x-ms-error-code"] == "BadRequest"
    assert "[0].source: is required" in response.json()["error"]["message"]


def test_admin_api_creates_topics_and_subscriptions_with_arm_bodies(server: SmsgridProcess) -> None:
    with server.admin() as admin:
        topic = admin.put("/admin/namespaces/topics/made", json={"properties": {"eventRetentionInDays": 2}})
        assert topic.status_code == 201
        assert topic.json()["properties"]["eventRetentionInDays"] == 2
        body = {
            "properties": {
                "deliveryConfiguration": {
                    "deliveryMode": "Queue",
                    "queue": {"receiveLockDurationInSeconds": 120, "maxDeliveryCount": 3, "eventTimeToLive": "P1D"},
                },
                "eventDeliverySchema": "CloudEventSchemaV1_0",
            }
        }
        sub = admin.put("/admin/namespaces/topics/made/eventSubscriptions/sub1", json=body)
        assert sub.status_code == 201
        props = sub.json()["properties"]
        assert props["provisioningState"] == "Succeeded"
        assert props["deliveryConfiguration"]["queue"]["receiveLockDurationInSeconds"] == 120
        assert sub.json()["id"].endswith(
            "/providers/Microsoft.EventGrid/namespaces/local/topics/made/eventSubscriptions/sub1"
        )
        bad = admin.put(
            "/admin/namespaces/topics/made/eventSubscriptions/sub2",
            json={"properties": {"deliveryConfiguration": {"queue": {"receiveLockDurationInSeconds": 5}}}},
        )
        assert bad.status_code == 400
        assert "receiveLockDurationInSeconds" in bad.json()["error"]["message"]
        listed = admin.get("/admin/namespaces/topics/made/eventSubscriptions").json()["value"]
        assert [s["name"] for s in listed] == ["sub1"]
    with publisher(server, "made") as pub:
        pub.send(order(n="made"))
    with consumer(server, "made", "sub1") as client:
        (got,) = client.receive(max_events=5, max_wait_time=10)
        client.acknowledge(lock_tokens=[got.broker_properties.lock_token])
    with server.admin() as admin:
        assert admin.delete("/admin/namespaces/topics/made/eventSubscriptions/sub1").status_code == 204
        assert admin.get("/admin/namespaces/topics/made/eventSubscriptions/sub1").status_code == 404
        assert admin.delete("/admin/namespaces/topics/made").status_code == 204


def test_an_expired_lock_redelivers_and_max_delivery_count_dead_letters(fast_server: SmsgridProcess) -> None:
    event = order(n="slow worker")
    with publisher(fast_server, "jobs") as pub:
        pub.send(event)
    with consumer(fast_server, "jobs", "twice") as client:
        (first,) = client.receive(max_events=1, max_wait_time=10)
        assert first.broker_properties.delivery_count == 1
        # Not acknowledged: when its lock ends the event comes back (the long poll wakes for it).
        (second,) = client.receive(max_events=1, max_wait_time=30)
        assert second.event.id == event.id
        assert second.broker_properties.delivery_count == 2
        late = client.acknowledge(lock_tokens=[first.broker_properties.lock_token])
        assert [f.error.code for f in late.failed_lock_tokens] == ["TokenLost"]
        # The second delivery was the last one: released, it is dead-lettered, not delivered again.
        client.release(lock_tokens=[second.broker_properties.lock_token])
    with fast_server.admin() as admin:
        dead = admin.get("/admin/namespaces/topics/jobs/eventSubscriptions/twice/deadletters").json()["value"]
    assert [(d["event"]["id"], d["deadLetterReason"], d["deliveryCount"]) for d in dead] == [
        (event.id, "MaxDeliveryCountExceeded", 2)
    ]


def test_queues_locks_and_admin_topics_survive_a_restart(tmp_path_factory: pytest.TempPathFactory) -> None:
    with start_smsgrid(tmp_path_factory.mktemp("nsrestart"), config=CONFIG) as process:
        with process.admin() as admin:
            assert admin.put("/admin/namespaces/topics/made", json={}).status_code == 201
            assert admin.put("/admin/namespaces/topics/made/eventSubscriptions/sub1", json={}).status_code == 201
        locked, waiting = order(n="locked"), order(n="waiting")
        with publisher(process, "made") as pub:
            pub.send(locked)
            pub.send(waiting)
        with consumer(process, "made", "sub1") as client:
            (first,) = client.receive(max_events=1, max_wait_time=10)
        assert first.event.id == locked.id
        process.restart()
        with consumer(process, "made", "sub1") as client:
            # The lock outlived the restart: its token still settles the event, which is not handed out again.
            result = client.acknowledge(lock_tokens=[first.broker_properties.lock_token])
            assert result.succeeded_lock_tokens == [first.broker_properties.lock_token]
            (second,) = client.receive(max_events=10, max_wait_time=10)
            assert second.event.id == waiting.id
            assert second.broker_properties.delivery_count == 1
            client.acknowledge(lock_tokens=[second.broker_properties.lock_token])


def test_a_receive_with_nothing_to_hand_out_answers_an_empty_list(fast_server: SmsgridProcess) -> None:
    with consumer(fast_server, "empty", "idle") as client:
        assert client.receive(max_events=10, max_wait_time=10) == []
        with pytest.raises(HttpResponseError) as caught:
            client.receive(max_events=101)
    assert caught.value.status_code == 400
    assert "maxEvents" in str(caught.value)
