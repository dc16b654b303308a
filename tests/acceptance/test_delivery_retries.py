"""Retries and dead-letters (SPEC §3 "Success and retry", "Dead-letter"; §4 `GET /admin/deadletters`).

At time-scale 0.001 the schedule 10 s, 30 s, 1 min … plays as 10 ms, 30 ms, 60 ms …, the 503 floor is 30 ms and
a TTL of one minute lasts 60 ms. Each test has its own subscription, hence its own pump and endpoint health.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from smsgrid.testing import ReceivedRequest, SmsgridProcess, WebhookSink, start_smsgrid
from smsgrid.testing.plugin import inbound, subscribe

HANDSET = "+14255550123"
OWNED = "+18005550100"
SMS_RECEIVED = "Microsoft.Communication.SMSReceived"
CONFIG = """
[delivery]
timeout_seconds = 2
"""
DEAD_LETTER_CONTAINER = "smsgrid-deadletters"
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    with start_smsgrid(tmp_path_factory.mktemp("retries"), config=CONFIG, time_scale=0.001) as process:
        yield process


@pytest.fixture(scope="module")
def ttl_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    """The TTL tests at a tenth of the speed: one minute of TTL is 600 ms, so a loaded machine that takes tens of
    milliseconds to make the first attempt does not run the TTL out before it (the check is made at each attempt)."""
    with start_smsgrid(tmp_path_factory.mktemp("retries-ttl"), config=CONFIG, time_scale=0.01) as process:
        yield process


class FailFirst:
    """Answers `status` to the first `times` attempts at each event, then 200; `hang` seconds instead of a status."""

    def __init__(self, times: int, status: int = 200, hang: float = 0.0) -> None:
        self.times = times
        self.status = status
        self.hang = hang
        self.seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, request: ReceivedRequest) -> int:
        event_id = request.headers["aeg-output-event-id"]
        with self._lock:
            self.seen[event_id] += 1
            attempt = self.seen[event_id]
        if attempt > self.times:
            return 200
        if self.hang:
            time.sleep(self.hang)
        return self.status


def subscribe_alone(server: SmsgridProcess, name: str, url: str, **properties: Any) -> None:
    """Subscribe to this test's own events only: the module's server is shared by every test in it."""
    own = {"operatorType": "StringBeginsWith", "key": "data.Message", "values": [f"{name}:"]}
    subscribe(server, name, url, filter={"advancedFilters": [own]}, **properties)


def send_to(server: SmsgridProcess, name: str, text: str) -> str:
    """An inbound SMS that only subscription *name* takes; returns its event id."""
    return inbound(server, HANDSET, OWNED, f"{name}: {text}")


def attempts_at(sink: WebhookSink, event_id: str) -> list[ReceivedRequest]:
    return [r for r in sink.notifications() if r.headers["aeg-output-event-id"] == event_id]


def event_record(server: SmsgridProcess, event_id: str) -> dict[str, Any]:
    with server.admin() as admin:
        response = admin.get(f"/admin/events/{event_id}")
    assert response.status_code == 200, response.text
    record: dict[str, Any] = response.json()
    return record


def delivery_to(server: SmsgridProcess, event_id: str, subscription: str) -> dict[str, Any]:
    deliveries: list[dict[str, Any]] = event_record(server, event_id)["deliveries"]
    [delivery] = [d for d in deliveries if d["subscription"] == subscription]
    return delivery


def wait_until(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """The first truthy result of `check()`, polled; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def dead_letter_of(server: SmsgridProcess, event_id: str, subscription: str, **query: str) -> dict[str, Any] | None:
    with server.admin() as admin:
        response = admin.get("/admin/deadletters", params=query)
    assert response.status_code == 200, response.text
    for record in response.json()["value"]:
        if record["eventId"] == event_id and record["subscription"] == subscription:
            found: dict[str, Any] = record
            return found
    return None


def wait_dead_letter(server: SmsgridProcess, event_id: str, subscription: str) -> dict[str, Any]:
    found: dict[str, Any] = wait_until(lambda: dead_letter_of(server, event_id, subscription))
    return found


def with_destination(url: str, **props: Any) -> dict[str, Any]:
    return {"endpointType": "WebHook", "properties": {"endpointUrl": url, **props}}


def dead_letter_to_blobs() -> dict[str, Any]:
    return {
        "endpointType": "StorageBlob",
        "properties": {"blobContainerName": DEAD_LETTER_CONTAINER, "resourceId": "/subscriptions/x/storage"},
    }


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(500, "GenericError"), (503, "Busy"), (404, "NotFound"), (408, "TimedOut"), (429, "Busy")],
)
def test_a_failing_status_is_retried_and_every_attempt_is_recorded(
    server: SmsgridProcess, status: int, outcome: str
) -> None:
    name = f"retry-{status}"
    with WebhookSink(responder=FailFirst(2, status)) as sink:
        subscribe_alone(server, name, sink.url)
        event_id = send_to(server, name, f"retried after {status}")
        sink.wait_for(lambda s: len(attempts_at(s, event_id)) >= 3)
        assert [r.headers["aeg-delivery-count"] for r in attempts_at(sink, event_id)] == ["1", "2", "3"]
        # Every attempt carries the same event.
        assert {r.json()[0]["id"] for r in attempts_at(sink, event_id)} == {event_id}

        delivery = wait_until(lambda: (d := delivery_to(server, event_id, name))["state"] == "delivered" and d)
        assert delivery["deliveryCount"] == 3
        attempts = delivery["attempts"]
        assert [a["attempt"] for a in attempts] == [1, 2, 3]
        assert [a["statusCode"] for a in attempts] == [status, status, 200]
        assert [a["outcome"] for a in attempts] == [outcome, outcome, "Succeeded"]
        assert all(ISO_UTC.fullmatch(a["time"]) for a in attempts)
        assert all(a["durationMs"] >= 0 for a in attempts)
        assert dead_letter_of(server, event_id, name) is None


def test_a_timeout_is_retried(server: SmsgridProcess) -> None:
    # The server waits timeout_seconds = 2 for an answer; the first attempt gets none for 4 s.
    with WebhookSink(responder=FailFirst(1, hang=4.0)) as sink:
        subscribe_alone(server, "retry-timeout", sink.url)
        event_id = send_to(server, "retry-timeout", "retried after a timeout")
        delivery = wait_until(
            lambda: (d := delivery_to(server, event_id, "retry-timeout"))["state"] == "delivered" and d
        )
        first, *rest = delivery["attempts"]
        assert first["outcome"] == "TimedOut"
        assert first["statusCode"] is None
        assert rest[-1]["outcome"] == "Succeeded"
        counts = [r.headers["aeg-delivery-count"] for r in attempts_at(sink, event_id)]
        assert counts[:2] == ["1", "2"]


@pytest.mark.parametrize(
    ("status", "outcome", "reason"),
    [
        (400, "BadRequest", "UndeliverableDueToHttpBadRequest"),
        (401, "Unauthorized", "UndeliverableDueToHttpUnauthorized"),
        (403, "Forbidden", "UndeliverableDueToHttpForbidden"),
        (413, "PayloadTooLarge", "UndeliverableDueToHttpRequestEntityTooLarge"),
    ],
)
def test_a_refusing_status_is_dead_lettered_at_once(
    server: SmsgridProcess, status: int, outcome: str, reason: str
) -> None:
    name = f"no-retry-{status}"
    with WebhookSink(responder=lambda request: status) as sink:
        subscribe_alone(server, name, sink.url)
        event_id = send_to(server, name, f"refused with {status}")
        record = wait_dead_letter(server, event_id, name)
        assert record["deadLetterReason"] == reason
        assert record["deliveryAttempts"] == 1
        assert record["lastDeliveryOutcome"] == outcome
        assert record["lastHttpStatusCode"] == status
        assert ISO_UTC.fullmatch(record["publishTime"])
        assert ISO_UTC.fullmatch(record["lastDeliveryAttemptTime"])
        assert record["event"]["id"] == event_id
        assert delivery_to(server, event_id, name)["state"] == "deadlettered"
        # Recorded before the dead-letter: exactly one request, never retried.
        assert [r.headers["aeg-delivery-count"] for r in attempts_at(sink, event_id)] == ["1"]


def test_max_delivery_attempts_ends_in_a_dead_letter(server: SmsgridProcess) -> None:
    with WebhookSink(responder=lambda request: 503) as sink:
        subscribe_alone(server, "max-attempts", sink.url, retryPolicy={"maxDeliveryAttempts": 3})
        event_id = send_to(server, "max-attempts", "never accepted")
        record = wait_dead_letter(server, event_id, "max-attempts")
        assert record["deadLetterReason"] == "MaxDeliveryAttemptsExceeded"
        assert record["deliveryAttempts"] == 3
        assert record["lastDeliveryOutcome"] == "Busy"
        assert record["lastHttpStatusCode"] == 503
        assert [r.headers["aeg-delivery-count"] for r in attempts_at(sink, event_id)] == ["1", "2", "3"]
        attempts = delivery_to(server, event_id, "max-attempts")["attempts"]
        assert [a["statusCode"] for a in attempts] == [503, 503, 503]


def test_event_time_to_live_ends_in_a_dead_letter(ttl_server: SmsgridProcess) -> None:
    # One minute of TTL is 600 ms here; 503s are retried no sooner than 300 ms, so the TTL ends it.
    server = ttl_server
    with WebhookSink(responder=lambda request: 503) as sink:
        subscribe_alone(
            server, "ttl-ends", sink.url, retryPolicy={"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1}
        )
        event_id = send_to(server, "ttl-ends", "too late")
        record = wait_dead_letter(server, event_id, "ttl-ends")
        assert record["deadLetterReason"] == "TimeToLiveExceeded"
        assert 1 <= record["deliveryAttempts"] < 30
        assert record["deliveryAttempts"] == len(attempts_at(sink, event_id))
        assert delivery_to(server, event_id, "ttl-ends")["state"] == "deadlettered"


def test_a_time_to_live_dead_letter_reports_the_last_attempt(ttl_server: SmsgridProcess) -> None:
    server = ttl_server
    with WebhookSink(responder=lambda request: 503) as sink:
        subscribe_alone(server, "ttl-last-attempt", sink.url, retryPolicy={"eventTimeToLiveInMinutes": 1})
        event_id = send_to(server, "ttl-last-attempt", "too late, after 503s")
        record = wait_dead_letter(server, event_id, "ttl-last-attempt")
        assert record["deadLetterReason"] == "TimeToLiveExceeded"
        assert record["lastHttpStatusCode"] == 503
        assert record["lastDeliveryOutcome"] == "Busy"
        assert record["lastDeliveryAttemptTime"] is not None


def blobs_of(server: SmsgridProcess, subscription: str) -> list[Path]:
    root = server.data_dir / "deadletters" / DEAD_LETTER_CONTAINER / subscription.upper()
    return sorted(root.rglob("*.json")) if root.exists() else []


def test_dead_letters_are_written_as_blobs_when_a_destination_is_set(server: SmsgridProcess) -> None:
    with WebhookSink(responder=lambda request: 400) as sink:
        subscribe_alone(server, "blob-eventgrid", sink.url, deadLetterDestination=dead_letter_to_blobs())
        event_id = send_to(server, "blob-eventgrid", "to the blob")
        wait_dead_letter(server, event_id, "blob-eventgrid")
        [blob] = wait_until(lambda: blobs_of(server, "blob-eventgrid"))
    # <data dir>/deadletters/{container}/{SUB-NAME-UPPER}/{YYYY}/{M}/{D}/{H}/{guid}.json
    relative = blob.relative_to(server.data_dir / "deadletters")
    container, upper, year, month, day, hour, file_name = relative.parts
    assert (container, upper) == (DEAD_LETTER_CONTAINER, "BLOB-EVENTGRID")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.json", file_name)
    written = datetime(int(year), int(month), int(day), int(hour), tzinfo=UTC)
    assert abs((datetime.now(UTC) - written).total_seconds()) < 2 * 3600
    assert month == str(int(month)), "Azure writes the month, day and hour without leading zeros"
    [document] = orjson.loads(blob.read_bytes())
    assert document["id"] == event_id
    assert document["eventType"] == SMS_RECEIVED
    assert document["data"]["message"] == "blob-eventgrid: to the blob"
    assert document["deadLetterReason"] == "UndeliverableDueToHttpBadRequest"
    assert document["deliveryAttempts"] == 1
    assert document["lastDeliveryOutcome"] == "BadRequest"
    assert document["lastHttpStatusCode"] == 400
    assert ISO_UTC.fullmatch(document["publishTime"])
    assert ISO_UTC.fullmatch(document["lastDeliveryAttemptTime"])


def test_cloud_events_dead_letter_blobs_use_lower_case_fields(server: SmsgridProcess) -> None:
    with WebhookSink(responder=lambda request: 403) as sink:
        subscribe_alone(
            server,
            "blob-cloudevents",
            sink.url,
            eventDeliverySchema="CloudEventSchemaV1_0",
            deadLetterDestination=dead_letter_to_blobs(),
        )
        event_id = send_to(server, "blob-cloudevents", "cloud dead letter")
        wait_dead_letter(server, event_id, "blob-cloudevents")
        [blob] = wait_until(lambda: blobs_of(server, "blob-cloudevents"))
    [document] = orjson.loads(blob.read_bytes())
    assert document["id"] == event_id
    assert document["specversion"] == "1.0"
    assert document["type"] == SMS_RECEIVED
    assert document["deadletterreason"] == "UndeliverableDueToHttpForbidden"
    assert document["deliveryattempts"] == 1
    assert document["lastdeliveryoutcome"] == "Forbidden"
    assert document["lasthttpstatuscode"] == 403
    assert "publishtime" in document
    assert "lastdeliveryattempttime" in document


def test_no_blob_without_a_dead_letter_destination(server: SmsgridProcess) -> None:
    with WebhookSink(responder=lambda request: 400) as sink:
        subscribe_alone(server, "no-blob", sink.url)
        event_id = send_to(server, "no-blob", "recorded, not written")
        wait_dead_letter(server, event_id, "no-blob")
    assert blobs_of(server, "no-blob") == []


def test_a_dead_letter_can_be_redelivered(server: SmsgridProcess) -> None:
    accept = threading.Event()
    with WebhookSink(responder=lambda request: 200 if accept.is_set() else 400) as sink:
        subscribe_alone(server, "redeliver-me", sink.url)
        event_id = send_to(server, "redeliver-me", "second chance")
        record = wait_dead_letter(server, event_id, "redeliver-me")
        accept.set()
        with server.admin() as admin:
            redelivered = admin.post(f"/admin/deadletters/{record['id']}/redeliver")
            assert redelivered.status_code == 202, redelivered.text
            sink.wait_for(lambda s: len(attempts_at(s, event_id)) == 2)
            again = admin.post(f"/admin/deadletters/{record['id']}/redeliver")
            assert again.status_code == 409
            assert again.json()["error"]["code"] == "Conflict"
            missing = admin.post("/admin/deadletters/999999/redeliver")
            assert missing.status_code == 404
        # A redelivery is a fresh delivery: its count starts at 1 again.
        assert [r.headers["aeg-delivery-count"] for r in attempts_at(sink, event_id)] == ["1", "1"]
        assert attempts_at(sink, event_id)[1].json()[0]["id"] == event_id
        assert dead_letter_of(server, event_id, "redeliver-me") is None
        shown = dead_letter_of(server, event_id, "redeliver-me", includeRedelivered="true")
        assert shown is not None
        assert shown["redeliveredAt"] is not None
        # The original delivery stays dead-lettered; the redelivery is a second delivery, and it succeeded.
        states = wait_until(
            lambda: (
                (found := sorted(d["state"] for d in event_record(server, event_id)["deliveries"]))
                == ["deadlettered", "delivered"]
                and found
            )
        )
        assert states == ["deadlettered", "delivered"]
