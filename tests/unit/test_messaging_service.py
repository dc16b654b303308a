"""Messaging without a process: the send path's per-recipient answers and the inbound path's keywords.

Store: the real SQLite adapter on tmp_path (tests/unit/messaging_support.py); carrier: the in-memory one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from smsgrid.acs.models import Recipient, SendRequest
from smsgrid.errors import RequestError
from smsgrid.messaging.inbound import HELP_REPLY_TAG
from smsgrid.metrics import OTHER_EVENT_TYPE
from tests.unit.messaging_support import HANDSET, SENDER, Core, event_data, open_core

pytestmark = pytest.mark.anyio

OTHER = "+14255550124"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    opened = await open_core(tmp_path, '[resource]\nshort_codes = ["12345"]\nalphanumeric_sender_ids = ["CONTOSO"]\n')
    yield opened
    await opened.store.close()


async def test_each_recipient_gets_its_own_answer(core: Core) -> None:
    core.carrier.refused.add(OTHER)
    request = SendRequest(
        from_number=SENDER,
        message="hi",
        recipients=(
            Recipient(HANDSET, HANDSET, None),
            Recipient("not a number", None, None),
            Recipient(OTHER, OTHER, None),
            Recipient("+14255550125", "+14255550125", "rid", repeatability_error="repeatabilityFirstSent missing"),
        ),
        enable_delivery_report=True,
        tag=None,
    )
    accepted, invalid, refused, rejected = await core.messaging.send(request)
    assert (accepted["httpStatusCode"], accepted["successful"], accepted["repeatabilityResult"]) == (
        202,
        True,
        "accepted",
    )
    assert str(accepted["messageId"]).startswith("Outgoing_")
    assert (invalid["httpStatusCode"], invalid["successful"]) == (400, False)
    assert refused == {"to": OTHER, "httpStatusCode": 503, "successful": False, "errorMessage": "ServiceUnavailable"}
    assert (rejected["httpStatusCode"], rejected["repeatabilityResult"]) == (400, "rejected")
    # Only the accepted recipient became carrier work.
    assert await core.dispatcher.run_once() == 1
    assert [m.to_number for m in core.carrier.submitted] == [HANDSET]
    assert core.count("smsgrid_messages_accepted_total") == 1


async def test_nothing_to_send_stores_nothing_and_wakes_nobody(core: Core) -> None:
    core.carrier.refused.add(HANDSET)
    [refused] = await core.send(HANDSET)
    assert refused["httpStatusCode"] == 503
    assert core.carrier_woken == []
    assert await core.dispatcher.run_once() == 0


async def test_an_opted_out_recipient_is_accepted_at_send_time(core: Core) -> None:
    await core.store.set_optouts(SENDER, [HANDSET], True, core.clock.at)
    message_id = await core.send_one()
    await core.dispatcher.run_once()
    assert core.store.result(message_id).status_code == 4007


async def test_a_repeated_request_id_answers_the_first_message_again(core: Core) -> None:
    first = await core.send_one(request_id="11111111-1111-4111-8111-111111111111")
    again = await core.send_one(request_id="11111111-1111-4111-8111-111111111111")
    assert again == first
    assert core.count("smsgrid_messages_accepted_total") == 1
    assert await core.dispatcher.run_once() == 1


@pytest.mark.parametrize(
    ("sender", "reason"), [("+18005550199", "not a sender of this resource"), ("bad sender!", "not a sender ACS")]
)
async def test_a_sender_the_resource_does_not_own_is_401(core: Core, sender: str, reason: str) -> None:
    with pytest.raises(RequestError) as raised:
        await core.send(HANDSET, sender=sender)
    assert (raised.value.status, raised.value.code) == (401, "Unauthorized")
    assert raised.value.headers is not None
    assert reason in raised.value.headers["x-smsgrid-reason"]
    assert core.carrier_woken == []


async def test_an_alphanumeric_and_a_short_code_sender_are_owned(core: Core) -> None:
    assert core.messaging.check_sender("CONTOSO").one_way
    assert not core.messaging.check_sender("12345").one_way


async def test_over_the_send_rate_is_429_with_retry_after(tmp_path: Path) -> None:
    core = await open_core(tmp_path, "[throttling]\ntoll_free_per_minute = 100\n")
    try:
        await core.send(*(f"+1425555{n:04d}" for n in range(100)))
        with pytest.raises(RequestError) as raised:
            await core.send(HANDSET)
        assert raised.value.status == 429
        assert raised.value.headers is not None
        assert int(raised.value.headers["Retry-After"]) >= 1
        assert core.count("smsgrid_send_requests_throttled_total") == 1
    finally:
        await core.store.close()


@pytest.mark.parametrize(("text", "opted_out"), [("STOP", True), ("stop", True), ("STOP please", False)])
async def test_stop_opts_the_handset_out(core: Core, text: str, opted_out: bool) -> None:
    await core.messaging.receive(HANDSET, SENDER, text)
    assert await core.store.check_optouts(SENDER, [HANDSET]) == [opted_out]


async def test_start_opts_the_handset_back_in(core: Core) -> None:
    await core.messaging.receive(HANDSET, SENDER, "STOP")
    await core.messaging.receive(HANDSET, SENDER, "START")
    assert await core.store.check_optouts(SENDER, [HANDSET]) == [False]
    assert [m.opt_change for m in core.store.inbound] == ["out", "in"]


async def test_help_is_answered_with_the_help_reply(core: Core) -> None:
    message_id = await core.messaging.receive(HANDSET, SENDER, "help")
    [inbound] = core.store.inbound
    assert inbound.message_id == message_id
    assert message_id.startswith("Incoming_")
    assert inbound.auto_reply is not None
    assert (inbound.auto_reply.from_number, inbound.auto_reply.to_number) == (SENDER, HANDSET)
    assert inbound.auto_reply.tag == HELP_REPLY_TAG
    assert inbound.auto_reply.body == core.messaging.settings.resource.help_reply


async def test_an_inbound_sms_is_committed_counted_and_woken(core: Core) -> None:
    await core.messaging.receive(HANDSET, "12345", "hello there")
    [inbound] = core.store.inbound
    data = event_data(inbound.event)
    assert (data["from"], data["to"], data["message"], data["segmentCount"]) == (
        HANDSET.removeprefix("+"),
        "12345",
        "hello there",
        1,
    )
    assert inbound.opt_change is None
    assert core.count("smsgrid_messages_received_total") == 1
    assert core.woken == [{"app"}]


@pytest.mark.parametrize(
    ("from_text", "to_text", "text", "code"),
    [
        ("nope", SENDER, "hi", "InvalidFromNumber"),
        (HANDSET, "+18005550199", "hi", "InvalidToNumber"),
        (HANDSET, "CONTOSO", "hi", "InvalidToNumber"),
        (HANDSET, SENDER, "x" * 5000, "BadRequest"),
    ],
)
async def test_an_inbound_sms_that_cannot_be_is_400(
    core: Core, from_text: str, to_text: str, text: str, code: str
) -> None:
    with pytest.raises(RequestError) as raised:
        await core.messaging.receive(from_text, to_text, text)
    assert (raised.value.status, raised.value.code) == (400, code)
    assert core.store.inbound == []


async def test_a_topic_publish_goes_through_the_same_commit_path(core: Core) -> None:
    # What api/topic_publishing.py does: commit, count, wake the matched subscriptions.
    item = {"id": "e-1", "eventType": "Contoso.Custom", "subject": "s", "data": {}, "dataVersion": "1"}
    event = core.dispatcher._events.from_item(item, message_id=None, published_at=core.clock.at)
    await core.publisher.commit(core.store.publish([event]), [event])
    assert core.store.published == [event]
    assert core.count("smsgrid_events_published_total", event_type=OTHER_EVENT_TYPE) == 1
    assert core.woken == [{"app"}]
