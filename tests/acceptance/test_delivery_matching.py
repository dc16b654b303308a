"""Which subscriptions get which events, end to end (SPEC §3 "Filters").

One server, one webhook receiver per subscription, one set of real SMS events: inbound messages to three
owned numbers and delivery reports of messages sent with the official SmsClient. Each subscription must get
exactly the events its filter selects; the admin API's per-event delivery list shows the routing decision.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from azure.communication.sms import SmsClient
from azure.core.credentials import AzureKeyCredential

from smsgrid.testing import SmsgridProcess, WebhookSink, start_smsgrid
from smsgrid.testing.plugin import inbound, subscribe
from tests.support_sms import close_sms_client

HANDSET = "+14255550123"
SMS_RECEIVED = "Microsoft.Communication.SMSReceived"
DELIVERY_REPORT = "Microsoft.Communication.SMSDeliveryReportReceived"
CONFIG = """
[resource]
phone_numbers = ["+18005550100", "+18005550101", "+18005550199"]

[carrier]
delay_ms = 0
"""
# A GSM-7 message of 200 characters takes two segments (SPEC §2 "Segments").
LONG_ORDER = "order " + "x" * 194


@dataclass(frozen=True)
class Corpus:
    server: SmsgridProcess
    sinks: dict[str, WebhookSink]
    ids: dict[str, str]  # label → event id


# name → (filter, labels of the events it must get)
SUBSCRIPTIONS: dict[str, tuple[dict[str, Any], set[str]]] = {
    "no-filter": ({}, {"pizza@0100", "hello@0101", "order@0199", "report-vip@0100", "report-bulk@0101"}),
    "types-all": (
        {"includedEventTypes": ["All"]},
        {"pizza@0100", "hello@0101", "order@0199", "report-vip@0100", "report-bulk@0101"},
    ),
    "types-reports": ({"includedEventTypes": [DELIVERY_REPORT]}, {"report-vip@0100", "report-bulk@0101"}),
    "types-lowercase": ({"includedEventTypes": [SMS_RECEIVED.lower()]}, {"pizza@0100", "hello@0101", "order@0199"}),
    "begins-any-case": (
        {"subjectBeginsWith": "/PhoneNumber/1800555010"},
        {"pizza@0100", "hello@0101", "report-vip@0100", "report-bulk@0101"},
    ),
    "begins-case-sensitive": ({"subjectBeginsWith": "/PhoneNumber/", "isSubjectCaseSensitive": True}, set()),
    "ends-case-sensitive": (
        {"subjectEndsWith": "0101", "isSubjectCaseSensitive": True},
        {"hello@0101", "report-bulk@0101"},
    ),
    "contains-any-case": (
        {"advancedFilters": [{"operatorType": "StringContains", "key": "data.Message", "values": ["PIZZA"]}]},
        {"pizza@0100"},
    ),
    "two-segments": (
        {"advancedFilters": [{"operatorType": "NumberGreaterThanOrEquals", "key": "data.segmentCount", "value": 2}]},
        {"order@0199"},
    ),
    "tag-vip-reports": (
        {
            "includedEventTypes": [DELIVERY_REPORT],
            "advancedFilters": [{"operatorType": "StringIn", "key": "data.Tag", "values": ["VIP", "gold"]}],
        },
        {"report-vip@0100"},
    ),
    "tag-not-bulk": (
        # A missing key passes StringNotIn: the SMSReceived events have no Tag.
        {"advancedFilters": [{"operatorType": "StringNotIn", "key": "data.Tag", "values": ["bulk"]}]},
        {"pizza@0100", "hello@0101", "order@0199", "report-vip@0100"},
    ),
    "no-tag": (
        {"advancedFilters": [{"operatorType": "IsNullOrUndefined", "key": "data.Tag"}]},
        {"pizza@0100", "hello@0101", "order@0199"},
    ),
    "and-of-filters": (
        {
            "subjectEndsWith": "99",
            "advancedFilters": [
                {"operatorType": "StringBeginsWith", "key": "data.To", "values": ["1800555"]},
                {"operatorType": "NumberInRange", "key": "data.segmentCount", "values": [[2, 3]]},
            ],
        },
        {"order@0199"},
    ),
    "event-type-key": (
        {"advancedFilters": [{"operatorType": "StringEndsWith", "key": "eventType", "values": ["ReportReceived"]}]},
        {"report-vip@0100", "report-bulk@0101"},
    ),
}


def stop_side_by_side(sinks: list[WebhookSink]) -> None:
    with ThreadPoolExecutor(max_workers=len(sinks)) as pool:
        list(pool.map(WebhookSink.stop, sinks))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    with ExitStack() as stack:
        server = stack.enter_context(
            start_smsgrid(tmp_path_factory.mktemp("matching"), config=CONFIG, time_scale=0.001)
        )
        sinks = {name: WebhookSink().start() for name in SUBSCRIPTIONS}
        # Each sink takes up to half a second to shut down; stop them side by side.
        stack.callback(stop_side_by_side, list(sinks.values()))
        for name, (event_filter, _) in SUBSCRIPTIONS.items():
            answer = subscribe(server, name, sinks[name].url, filter=event_filter)
            assert answer["properties"]["provisioningState"] == "Succeeded"
        ids = {
            "pizza@0100": inbound(server, HANDSET, "+18005550100", "Pizza please"),
            "hello@0101": inbound(server, HANDSET, "+18005550101", "hello"),
            "order@0199": inbound(server, HANDSET, "+18005550199", LONG_ORDER),
        }
        client = SmsClient(server.base_url, AzureKeyCredential(server.access_key))
        try:
            for label, sender, tag in (
                ("report-vip@0100", "+18005550100", "vip"),
                ("report-bulk@0101", "+18005550101", "bulk"),
            ):
                [sent] = client.send(from_=sender, to=HANDSET, message=label, enable_delivery_report=True, tag=tag)
                assert sent.successful
                ids[label] = sent.message_id
        finally:
            close_sms_client(client)
        # Every event goes to the unfiltered subscription; once it has them all, all are routed and committed.
        every = set(ids.values())
        sinks["no-filter"].wait_for(lambda s: every <= {e.id for e in s.events()}, timeout=20.0)
        yield Corpus(server, sinks, ids)


@pytest.mark.parametrize("name", list(SUBSCRIPTIONS))
def test_a_subscription_gets_exactly_the_events_its_filter_selects(corpus: Corpus, name: str) -> None:
    expected = {corpus.ids[label] for label in SUBSCRIPTIONS[name][1]}
    sink = corpus.sinks[name]
    sink.wait_for(lambda s: expected <= {e.id for e in s.events()}, timeout=20.0)
    received = {e.id for e in sink.events()}
    assert received == expected, {label for label, i in corpus.ids.items() if i in received}

    # The routing decision as the admin API shows it: a delivery to this subscription exists iff it matched.
    with corpus.server.admin() as admin:
        for label, event_id in corpus.ids.items():
            event = admin.get(f"/admin/events/{event_id}").json()
            routed = {d["subscription"] for d in event["deliveries"]}
            assert (name in routed) == (event_id in expected), label


def test_the_event_types_are_the_ones_published(corpus: Corpus) -> None:
    by_id = {e.id: e for e in corpus.sinks["no-filter"].events()}
    assert by_id[corpus.ids["pizza@0100"]].event_type == SMS_RECEIVED
    assert by_id[corpus.ids["report-vip@0100"]].event_type == DELIVERY_REPORT
    assert by_id[corpus.ids["order@0199"]].subject == "/phonenumber/18005550199"
