"""Receiver outage: the webhook answers 503, or is down altogether, across five retry steps, then returns.

Played at `--time-scale 0.001` so Event Grid's schedule (10 s, 30 s, 1 min, 5 min, 10 min, with the 503 floor
of 30 s; SPEC §3) passes in about a second. Nothing here waits on a clock: the receiver answers by
`aeg-delivery-count`, and the "down" phase lasts until the admin API shows five recorded attempts per event.

Checked (SPEC §3, §4):
- every event arrives;
- the `aeg-delivery-count` of every request the receiver saw is the number of an attempt recorded for that
  event in `GET /admin/events/{id}`, with the status the receiver answered, and the successful request's count
  is the number of attempts recorded;
- a subscription whose TTL runs out dead-letters with `TimeToLiveExceeded`, one with `maxDeliveryAttempts`
  3 with `MaxDeliveryAttemptsExceeded` after exactly 3 attempts; both are listed by `GET /admin/deadletters`
  and written as dead-letter blobs.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from reliability.clients import admin_get, arrivals, handset, inbound, subscribe, wait_until
from reliability.tcp_gate import TcpGate
from smsgrid.testing import SmsgridProcess, WebhookSink, start_smsgrid
from smsgrid.testing.webhook_sink import ReceivedRequest

TIME_SCALE = 0.001
FAILED_STEPS = 5  # the receiver fails this many attempts, then takes the event
CONFIG = """
[carrier]
delay_ms = 10
"""
DEAD_LETTER_CONTAINER = "deadletters"


def _message_filter(prefix: str) -> dict[str, Any]:
    return {"advancedFilters": [{"operatorType": "StringBeginsWith", "key": "data.Message", "values": [prefix]}]}


def _dead_letter_destination() -> dict[str, Any]:
    return {"endpointType": "StorageBlob", "properties": {"blobContainerName": DEAD_LETTER_CONTAINER}}


def _messages(request: ReceivedRequest) -> list[str]:
    # camelCase by default, PascalCase with [resource] data_casing = "pascal"
    datas = [item.get("data") or {} for item in orjson.loads(request.body)]
    return [str(data.get("message", data.get("Message", ""))) for data in datas]


def outage_responder(request: ReceivedRequest) -> int:
    """503 to the first five attempts of a `outage-503-*` event, 200 to everything else."""
    count = int(request.headers.get("aeg-delivery-count", "0"))
    if any(m.startswith("outage-503-") for m in _messages(request)) and count <= FAILED_STEPS:
        return 503
    return 200


@dataclass
class OutageFigures:
    events: int = 0
    arrived: int = 0
    attempts_recorded: int = 0
    requests_seen: int = 0
    count_mismatches: int = 0  # events whose aeg-delivery-count values disagree with the recorded attempts
    min_failed_attempts: int = 0  # fewest failed attempts before success, over all outage events
    ttl_dead_letters: int = 0
    max_attempt_dead_letters: int = 0
    dead_letter_problems: int = 0
    dead_letter_blobs: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.events > 0
            and self.arrived == self.events
            and self.count_mismatches == 0
            and self.min_failed_attempts >= FAILED_STEPS
            and self.dead_letter_problems == 0
        )

    def lines(self) -> list[str]:
        return [
            f"events through the outage         {self.events} (503 x{FAILED_STEPS}, then down x{FAILED_STEPS}+)",
            f"arrived                           {self.arrived}",
            f"attempts recorded / requests seen {self.attempts_recorded} / {self.requests_seen}",
            f"aeg-delivery-count mismatches     {self.count_mismatches}",
            f"fewest failed attempts per event  {self.min_failed_attempts}",
            f"TimeToLiveExceeded dead letters   {self.ttl_dead_letters}",
            f"MaxDeliveryAttemptsExceeded       {self.max_attempt_dead_letters}",
            f"dead-letter blobs written         {self.dead_letter_blobs}",
            f"dead-letter problems              {self.dead_letter_problems}",
            f"wall time                         {self.seconds:.1f} s",
        ]


def _attempts_of(server: SmsgridProcess, event_id: str, subscription: str) -> tuple[str, list[dict[str, Any]]]:
    event = admin_get(server, f"/admin/events/{event_id}")
    for delivery in event["deliveries"]:
        if delivery["subscription"] == subscription:
            return delivery["state"], delivery["attempts"]
    return "missing", []


def _check_counts(
    event_id: str, seen: dict[int, int], state: str, attempts: list[dict[str, Any]], problems: list[str]
) -> bool:
    """`seen`: aeg-delivery-count -> status the receiver answered. True when it agrees with `attempts`."""
    recorded = {a["attempt"]: a for a in attempts}
    ok = state == "delivered" and sorted(recorded) == list(range(1, len(attempts) + 1))
    for count, status in seen.items():
        if count not in recorded or recorded[count]["statusCode"] != status:
            ok = False
    succeeded = [count for count, status in seen.items() if status == 200]
    if succeeded != [len(attempts)]:
        ok = False
    # Attempts the receiver never saw must be the refused-connection ones (no status).
    for number, attempt in recorded.items():
        if number not in seen and attempt["statusCode"] is not None:
            ok = False
    if not ok:
        problems.append(f"{event_id}: receiver saw {seen}, server recorded {state} {attempts}")
    return ok


def run_receiver_outage(work_dir: Path, *, events: int = 10, dead_letters: int = 3) -> OutageFigures:
    figures = OutageFigures()
    started = time.monotonic()
    with (
        WebhookSink(responder=outage_responder) as sink,
        WebhookSink(responder=lambda _: 503) as ttl_sink,
        WebhookSink(responder=lambda _: 500) as max_sink,
        TcpGate(sink.url) as gate,
    ):
        server = start_smsgrid(work_dir / "receiver-outage", config=CONFIG, time_scale=TIME_SCALE, throttling=False)
        try:
            subscribe(server, "outage", gate.url, filter=_message_filter("outage-"))
            subscribe(
                server,
                "ttl",
                ttl_sink.url,
                filter=_message_filter("ttl-"),
                retryPolicy={"eventTimeToLiveInMinutes": 1, "maxDeliveryAttempts": 30},
                deadLetterDestination=_dead_letter_destination(),
            )
            subscribe(
                server,
                "max-attempts",
                max_sink.url,
                filter=_message_filter("max-"),
                retryPolicy={"eventTimeToLiveInMinutes": 1440, "maxDeliveryAttempts": 3},
                deadLetterDestination=_dead_letter_destination(),
            )
            half = max(1, events // 2)
            # Phase 1: the receiver is up but answers 503 five times per event.
            busy = [inbound(server, handset(i), f"outage-503-{i}") for i in range(half)]
            wait_until(lambda: _arrived(sink) >= set(busy), 60, 0.1)
            # Phase 2: the receiver is down (connection refused) until every event has had five attempts.
            gate.close()
            down = [inbound(server, handset(100 + i), f"outage-down-{i}") for i in range(events - half)]
            wait_until(lambda: all(len(_attempts_of(server, e, "outage")[1]) >= FAILED_STEPS for e in down), 60, 0.2)
            gate.open()
            wait_until(lambda: _arrived(sink) >= set(down), 60, 0.1)
            # Phase 3: endpoints that never take the event.
            ttl_ids = [inbound(server, handset(200 + i), f"ttl-{i}") for i in range(dead_letters)]
            max_ids = [inbound(server, handset(300 + i), f"max-{i}") for i in range(dead_letters)]
            wanted = set(ttl_ids) | set(max_ids)
            wait_until(lambda: wanted <= {d["eventId"] for d in _dead_letters(server)}, 60, 0.2)

            _judge_outage(server, sink, busy + down, figures)
            _judge_dead_letters(server, max_sink, ttl_ids, max_ids, figures)
        finally:
            server.stop()
    figures.seconds = time.monotonic() - started
    return figures


def _arrived(sink: WebhookSink) -> set[str]:
    """Event ids the receiver took (answered 200)."""
    return {r.json()[0]["id"] for r in sink.notifications() if outage_responder(r) == 200}


def _dead_letters(server: SmsgridProcess) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = admin_get(server, "/admin/deadletters", limit=1000)["value"]
    return found


def _judge_outage(server: SmsgridProcess, sink: WebhookSink, event_ids: list[str], figures: OutageFigures) -> None:
    seen: dict[str, dict[int, int]] = defaultdict(dict)
    for request in sink.notifications():
        for item in request.json():
            seen[item["id"]][int(request.headers["aeg-delivery-count"])] = outage_responder(request)
        figures.requests_seen += 1
    figures.events = len(event_ids)
    figures.arrived = len(set(event_ids) & _arrived(sink))
    failed_counts = []
    for event_id in event_ids:
        state, attempts = _attempts_of(server, event_id, "outage")
        figures.attempts_recorded += len(attempts)
        failed_counts.append(sum(1 for a in attempts if a["statusCode"] != 200))
        if not _check_counts(event_id, seen[event_id], state, attempts, figures.problems):
            figures.count_mismatches += 1
    figures.min_failed_attempts = min(failed_counts, default=0)


def _judge_dead_letters(
    server: SmsgridProcess, max_sink: WebhookSink, ttl_ids: list[str], max_ids: list[str], figures: OutageFigures
) -> None:
    by_event = {d["eventId"]: d for d in _dead_letters(server)}
    for event_id in ttl_ids:
        found = by_event.get(event_id)
        if found and found["deadLetterReason"] == "TimeToLiveExceeded" and found["subscription"] == "ttl":
            figures.ttl_dead_letters += 1
        else:
            figures.dead_letter_problems += 1
            figures.problems.append(f"ttl {event_id}: {found}")
    sink_counts: dict[str, list[int]] = defaultdict(list)
    for arrival in arrivals(max_sink):
        sink_counts[arrival.event_id].append(arrival.delivery_count)
    for event_id in max_ids:
        found = by_event.get(event_id)
        if (
            found
            and found["deadLetterReason"] == "MaxDeliveryAttemptsExceeded"
            and found["deliveryAttempts"] == 3
            and found["lastHttpStatusCode"] == 500
            and sorted(sink_counts[event_id]) == [1, 2, 3]
        ):
            figures.max_attempt_dead_letters += 1
        else:
            figures.dead_letter_problems += 1
            figures.problems.append(f"max-attempts {event_id}: {found}, receiver saw {sink_counts[event_id]}")
    blobs = list((server.data_dir / "deadletters" / DEAD_LETTER_CONTAINER).rglob("*.json"))
    reasons = [doc["deadLetterReason"] for blob in blobs for doc in orjson.loads(blob.read_bytes())]
    figures.dead_letter_blobs = len(reasons)
    if sorted(reasons) != sorted(
        ["MaxDeliveryAttemptsExceeded"] * len(max_ids) + ["TimeToLiveExceeded"] * len(ttl_ids)
    ):
        figures.dead_letter_problems += 1
        figures.problems.append(f"dead-letter blobs: {reasons}")
