"""The carrier dispatcher against the in-memory carrier: claims, submits, commits, the core's own reports.

Store: the real SQLite adapter on tmp_path, wrapped to record what was committed (tests/unit/messaging_support.py).
Time: a manual clock; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from smsgrid.carrier.port import (
    Accepted,
    CarrierNews,
    DeliveryReport,
    InboundSms,
    Refused,
    SegmentAttempt,
    Unknown,
)
from smsgrid.messaging import carrier_dispatch
from smsgrid.messaging.carrier_dispatch import (
    LEASE_SECONDS,
    NEVER,
    TIMEOUT_CODE,
    TIMEOUT_DETAILS,
    UNAVAILABLE_RETRY,
)
from smsgrid.store.records import CarrierPlan
from tests.unit.messaging_support import HANDSET, SENDER, Core, event_data, open_core

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    opened = await open_core(tmp_path)
    yield opened
    await opened.store.close()


async def eventually(condition: Callable[[], bool]) -> None:
    """Let the dispatcher's loop run until `condition` holds; yields only, so no timing is asserted."""
    for _ in range(1_000_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the dispatcher's loop never got there")


def delivered(reference: str, at: float, segments: int = 1) -> DeliveryReport:
    return DeliveryReport(reference, "Delivered", 2000, (SegmentAttempt(at - 1, segments, 0),), at)


async def test_a_committed_message_is_submitted_once_with_what_the_carrier_needs(core: Core) -> None:
    message_id = await core.send_one(message="x" * 161, timeout=300, tag="t-1", partner="Connect_Partner")
    assert core.carrier_woken == [True]  # the 202 woke the dispatcher
    assert await core.dispatcher.run_once() == 1
    [sent] = core.carrier.submitted
    assert (sent.message_id, sent.from_number, sent.to_number, sent.body) == (message_id, SENDER, HANDSET, "x" * 161)
    assert (sent.encoding, sent.segments, sent.delivery_report, sent.tag) == ("GSM7", 2, True, "t-1")
    assert (sent.report_timeout_seconds, sent.partner, sent.created_at) == (300, "Connect_Partner", core.clock.at)
    # Accepted without news_at: the job waits for a pushed report until the timeout, with the reference committed.
    [(waiting_id, plan)] = core.store.plans
    assert (waiting_id, plan.reference, plan.due_at) == (message_id, "ref-1", core.clock.at + 300)
    core.clock.advance(299)
    assert await core.dispatcher.run_once() == 0
    assert len(core.carrier.submitted) == 1
    assert core.store.finished == []


async def test_a_pushed_report_becomes_the_event_and_the_stored_report(core: Core) -> None:
    message_id = await core.send_one(tag="t-2")
    core.carrier.answers[HANDSET] = Accepted("smsc-7", partner_message_id="P-1")
    await core.dispatcher.run_once()
    core.clock.advance(2)
    await core.carrier.push_report(delivered("smsc-7", core.clock.at))
    result = core.store.result(message_id)
    assert (result.status, result.status_code) == ("delivered", 2000)
    data = event_data(result.event)
    assert (data["messageId"], data["from"], data["to"]) == (message_id, SENDER.removeprefix("+"), HANDSET)
    assert (data["deliveryStatus"], data["deliveryStatusDetails"], data["tag"]) == ("Delivered", "No error.", "t-2")
    assert [(a["segmentsSucceeded"], a["segmentsFailed"]) for a in data["deliveryAttempts"]] == [(1, 0)]
    assert result.report is not None
    assert (result.report["from"], result.report["messagingConnectPartnerMessageId"]) == (SENDER, "P-1")
    # Committed, counted, and the matched subscription woken.
    assert core.woken[-1] == {"app"}
    event_type = "Microsoft.Communication.SMSDeliveryReportReceived"
    assert core.count("smsgrid_events_published_total", event_type=event_type) == 1
    # A second report for the same message (a duplicate receipt) changes nothing.
    await core.carrier.push_report(delivered("smsc-7", core.clock.at))
    assert len(core.store.finished) == 1


async def test_a_report_naming_its_message_in_another_base_is_found_through_its_other_spellings(core: Core) -> None:
    message_id = await core.send_one()
    core.carrier.answers[HANDSET] = Accepted("ab00")  # the SMSC answered in lower-case hex
    await core.dispatcher.run_once()
    # Its receipt says 43776 (the same number in decimal): the adapter lists the spellings to try, in order.
    report = dataclasses.replace(delivered("43776", core.clock.at), reference_forms=("AB00", "ab00"))
    await core.carrier.push_report(report)
    result = core.store.result(message_id)
    assert (result.status, result.status_code) == ("delivered", 2000)


async def test_a_report_whose_spellings_all_miss_waits_as_an_early_report(core: Core) -> None:
    message_id = await core.send_one()
    core.carrier.answers[HANDSET] = Accepted("ab00")
    await core.dispatcher.run_once()
    await core.carrier.push_report(dataclasses.replace(delivered("7", core.clock.at), reference_forms=("07",)))
    assert core.store.finished == []
    job = await core.store.carrier_job_by_reference("ab00")
    assert job is not None  # still waiting for its own receipt
    assert job.message_id == message_id


async def test_no_report_in_time_is_the_timeout_report_and_a_late_one_is_dropped(core: Core) -> None:
    message_id = await core.send_one(timeout=60)
    await core.dispatcher.run_once()
    core.clock.advance(60)
    assert await core.dispatcher.run_once() == 1
    result = core.store.result(message_id)
    assert (result.status, result.status_code) == ("failed", TIMEOUT_CODE)
    data = event_data(result.event)
    assert (data["deliveryStatus"], data["deliveryStatusDetails"]) == ("Failed", TIMEOUT_DETAILS)
    assert all(a["segmentsSucceeded"] == 0 for a in data["deliveryAttempts"])
    # The carrier was asked once more at the timeout, then its late report is not a second report.
    assert [ref for ref, _ in core.carrier.polls] == ["ref-1"]
    await core.carrier.push_report(delivered("ref-1", core.clock.at))
    assert len(core.store.finished) == 1


async def test_the_timeout_follows_the_time_scale(tmp_path: Path) -> None:
    core = await open_core(tmp_path, time_scale=0.001)
    try:
        message_id = await core.send_one(timeout=60)
        await core.dispatcher.run_once()
        core.clock.advance(0.059)
        await core.dispatcher.run_once()
        assert core.store.finished == []
        core.clock.advance(0.002)
        await core.dispatcher.run_once()
        assert core.store.result(message_id).status_code == TIMEOUT_CODE
    finally:
        await core.store.close()


async def test_the_carrier_is_polled_at_its_news_time(core: Core) -> None:
    message_id = await core.send_one(report=False)
    core.carrier.answers[HANDSET] = Accepted("r-9", news_at=core.clock.at + 5)
    await core.dispatcher.run_once()
    core.clock.advance(4)
    assert await core.dispatcher.run_once() == 0
    core.clock.advance(1)
    core.carrier.news["r-9"] = CarrierNews(report=delivered("r-9", core.clock.at))
    assert await core.dispatcher.run_once() == 1
    result = core.store.result(message_id)
    # Without enableDeliveryReport the message's state changes, but no event or report is made (SPEC §2).
    assert (result.status, result.event, result.report) == ("delivered", None, None)


async def test_news_already_due_is_asked_for_in_the_same_round(core: Core) -> None:
    message_id = await core.send_one()
    core.carrier.answers[HANDSET] = Accepted("now", news_at=core.clock.at)
    core.carrier.news["now"] = CarrierNews(report=delivered("now", core.clock.at))
    await core.dispatcher.run_once()
    assert core.store.plans == []  # finished without a wait being committed
    assert core.store.result(message_id).status == "delivered"


async def test_nothing_yet_keeps_waiting_until_the_timeout(core: Core) -> None:
    await core.send_one(timeout=100)
    core.carrier.answers[HANDSET] = Accepted("slow", news_at=core.clock.at + 10)
    await core.dispatcher.run_once()
    core.clock.advance(10)
    await core.dispatcher.run_once()  # polled: nothing yet
    assert [plan.due_at for _, plan in core.store.plans] == [core.clock.at, core.clock.at + 90]


async def test_without_a_timeout_a_job_waits_for_a_pushed_report_forever(core: Core) -> None:
    await core.send_one()
    await core.dispatcher.run_once()
    assert core.store.plans[0][1].due_at == NEVER


async def test_a_silent_carrier_leaves_the_message_sent_and_its_reply_is_received(core: Core) -> None:
    message_id = await core.send_one()
    core.carrier.answers[HANDSET] = Accepted("quiet", news_at=core.clock.at)
    core.carrier.news["quiet"] = CarrierNews(silent=True, reply=InboundSms(HANDSET, SENDER, "STOP", core.clock.at))
    await core.dispatcher.run_once()
    result = core.store.result(message_id)
    assert (result.status, result.status_code, result.event) == ("sent", None, None)
    assert result.reply is not None
    assert (result.reply.from_number, result.reply.to_number, result.reply.opt_change) == (HANDSET, SENDER, "out")
    assert core.count("smsgrid_messages_received_total") == 1
    assert await core.store.check_optouts(SENDER, [HANDSET]) == [True]
    assert core.woken[-1] == {"app"}  # the reply's SMSReceived


async def test_an_opted_out_recipient_is_never_submitted_and_fails_with_4007(core: Core) -> None:
    await core.store.set_optouts(SENDER, [HANDSET], True, core.clock.at)
    message_id = await core.send_one(timeout=60)
    await core.dispatcher.run_once()
    assert core.carrier.submitted == []
    result = core.store.result(message_id)
    assert (result.status, result.status_code) == ("failed", 4007)
    assert event_data(result.event)["deliveryStatusDetails"] == "Sender blocked for given recipient."


async def test_a_refusal_is_a_final_failure_with_its_code(core: Core) -> None:
    message_id = await core.send_one()
    core.carrier.answers[HANDSET] = Refused(4004)
    await core.dispatcher.run_once()
    result = core.store.result(message_id)
    assert (result.status, result.status_code) == ("failed", 4004)
    assert event_data(result.event)["deliveryStatusDetails"].startswith("Message failed to deliver since")


async def test_a_lost_answer_fails_with_9999_and_is_never_submitted_again(
    core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    message_id = await core.send_one()
    core.carrier.answers[HANDSET] = Unknown("connection dropped before submit_sm_resp")
    with caplog.at_level(logging.WARNING, "smsgrid.carrier"):
        await core.dispatcher.run_once()
    assert (core.store.result(message_id).status, core.store.result(message_id).status_code) == ("failed", 9999)
    assert "not submitted again" in caplog.text
    core.clock.advance(LEASE_SECONDS + 1)
    assert await core.dispatcher.run_once() == 0
    assert len(core.carrier.submitted) == 1


async def test_a_carrier_that_is_down_gets_the_message_again_in_a_few_seconds(
    core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    message_id = await core.send_one()
    core.carrier.unreachable.add(HANDSET)
    with caplog.at_level(logging.WARNING, "smsgrid.carrier"):
        assert await core.dispatcher.run_once() == 1
    assert (core.carrier.submitted, core.store.finished) == ([], [])
    [(_, plan)] = core.store.plans
    assert (plan.reference, plan.due_at) == (None, core.clock.at + UNAVAILABLE_RETRY)
    assert "tried again in 2 s" in caplog.text
    assert "Traceback" not in caplog.text  # an outage is one line, not a stack per message
    core.carrier.unreachable.clear()
    core.clock.advance(UNAVAILABLE_RETRY)
    await core.dispatcher.run_once()
    assert [m.message_id for m in core.carrier.submitted] == [message_id]


async def test_a_submit_that_fails_unexpectedly_is_logged_and_taken_again_after_the_lease(
    core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    message_id = await core.send_one()
    core.carrier.submit_error = RuntimeError("a bug in the adapter")
    with caplog.at_level(logging.ERROR, "smsgrid.carrier"):
        assert await core.dispatcher.run_once() == 1
    assert (core.carrier.submitted, core.store.finished, core.store.plans) == ([], [], [])
    assert "submitted again" in caplog.text
    assert "a bug in the adapter" in caplog.text
    core.clock.advance(LEASE_SECONDS)
    await core.dispatcher.run_once()
    assert [m.message_id for m in core.carrier.submitted] == [message_id]


async def test_a_poll_that_fails_is_asked_again_later(core: Core, caplog: pytest.LogCaptureFixture) -> None:
    message_id = await core.send_one()
    core.carrier.answers[HANDSET] = Accepted("p", news_at=core.clock.at + 1)
    await core.dispatcher.run_once()
    core.carrier.poll_error = ConnectionError("query_sm timed out")
    core.clock.advance(1)
    with caplog.at_level(logging.ERROR, "smsgrid.carrier"):
        await core.dispatcher.run_once()
    assert core.store.finished == []
    assert "asking again" in caplog.text
    core.carrier.news["p"] = CarrierNews(report=delivered("p", core.clock.at))
    core.clock.advance(LEASE_SECONDS)
    await core.dispatcher.run_once()
    assert core.store.result(message_id).status == "delivered"


async def test_a_receipt_before_the_submit_answer_is_not_lost(core: Core) -> None:
    message_id = await core.send_one()
    core.carrier.answers[HANDSET] = Accepted("fast")
    core.carrier.report_before_answer[HANDSET] = delivered("fast", core.clock.at)
    await core.dispatcher.run_once()
    assert core.store.result(message_id).status == "delivered"
    assert core.store.plans == []


async def test_a_receipt_while_the_wait_is_committed_is_matched_after_the_commit(core: Core) -> None:
    message_id = await core.send_one()
    core.carrier.answers[HANDSET] = Accepted("mid")
    update = core.store.update_carrier_plans

    async def update_then_receipt(plans: object, notes: object = ()) -> None:
        # The receipt comes while the plan is being written: the store does not know the reference yet.
        await core.carrier.push_report(delivered("mid", core.clock.at))
        await update(plans, notes)  # type: ignore[arg-type]

    core.store.update_carrier_plans = update_then_receipt  # type: ignore[method-assign]
    await core.dispatcher.run_once()
    assert core.store.result(message_id).status == "delivered"


async def test_an_early_receipt_is_matched_when_its_job_appears(core: Core) -> None:
    await core.carrier.push_report(delivered("later", core.clock.at))  # nothing waits for "later" yet
    assert core.store.finished == []
    message_id = await core.send_one()
    await core.dispatcher.run_once()  # submitted as ref-1: not the early one
    # Another worker's submit committed "later" for this message meanwhile.
    await core.store.update_carrier_plans([(message_id, CarrierPlan(carrier_dispatch.NEVER, reference="later"))])
    await core.carrier.push_report(delivered("unrelated", core.clock.at))  # any early report asks again
    await core.dispatcher.run_once()
    assert core.store.result(message_id).status == "delivered"


async def test_early_receipts_are_forgotten_after_a_while(core: Core) -> None:
    await core.carrier.push_report(delivered("old", core.clock.at))
    core.clock.advance(carrier_dispatch.EARLY_REPORT_SECONDS + 1)
    await core.carrier.push_report(delivered("new", core.clock.at))
    assert set(core.dispatcher._early) == {"new"}


async def test_a_pushed_inbound_sms_is_received_with_its_event(core: Core) -> None:
    await core.carrier.push_inbound(InboundSms(HANDSET, SENDER, "HELP", core.clock.at))
    [inbound] = core.store.inbound
    assert (inbound.from_number, inbound.to_number, inbound.body) == (HANDSET, SENDER, "HELP")
    assert inbound.auto_reply is not None
    assert inbound.auto_reply.to_number == HANDSET
    assert event_data(inbound.event)["to"] == SENDER.removeprefix("+")
    assert core.count("smsgrid_messages_received_total") == 1
    assert core.woken == [{"app"}]


async def test_a_store_outage_is_logged_once_and_the_work_is_retried(
    core: Core, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(carrier_dispatch, "IDLE_POLL_SECONDS", 0.001)
    message_id = await core.send_one()
    core.store.outage_claims = 2
    with caplog.at_level(logging.INFO, "smsgrid.carrier"):
        await core.dispatcher.start()
        try:
            # The claim after the outage submitted it and committed the wait, and the loop saw the store back.
            await eventually(lambda: bool(core.store.plans) and not core.dispatcher._outage.ongoing)
        finally:
            await core.dispatcher.stop()
    assert [m.message_id for m in core.carrier.submitted] == [message_id]
    assert not core.carrier.running  # stopping the dispatcher stops its carrier
    assert caplog.text.count("the store is unavailable") == 1
    assert caplog.text.count("the store is available again") == 1


async def test_an_unexpected_error_is_logged_and_the_loop_goes_on(
    core: Core, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(carrier_dispatch, "IDLE_POLL_SECONDS", 0.001)
    core.store.broken_next_due = 1
    with caplog.at_level(logging.ERROR, "smsgrid.carrier"):
        await core.dispatcher.start()
        try:
            await eventually(lambda: "carrier step failed" in caplog.text and core.dispatcher._task is not None)
            await core.carrier.push_report(delivered("x", core.clock.at))  # the loop still takes work
            await eventually(lambda: not core.dispatcher._recheck_early)
        finally:
            await core.dispatcher.stop()
    assert "carrier step failed" in caplog.text


async def test_stop_before_start_is_harmless(core: Core) -> None:
    await core.dispatcher.stop()
    assert not core.carrier.running


async def test_an_inbound_sms_in_more_parts_than_its_text_needs_reports_the_parts(core: Core) -> None:
    text = "Добрый день, это длинное сообщение"  # 34 UCS-2 characters: one segment, sent in two by the handset
    await core.carrier.push_inbound(InboundSms(HANDSET, SENDER, text, core.clock.at, segments=2))
    await core.carrier.push_inbound(InboundSms(HANDSET, SENDER, "x" * 200, core.clock.at, segments=1))
    split, payload = core.store.inbound
    assert event_data(split.event)["segmentCount"] == 2
    assert event_data(payload.event)["segmentCount"] == 2  # one message_payload PDU, two segments' worth of text
