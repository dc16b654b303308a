"""The dispatcher's side of SMPP (issue 14) against the in-memory carrier: long messages reported per part, submit
marks and unknown outcomes, carrier notes, numbers kept as received.

Store: the real SQLite adapter on tmp_path, wrapped to record what was committed (tests/unit/messaging_support.py).
Time: a manual clock; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from smsgrid.carrier.port import (
    Accepted,
    CarrierNews,
    CarrierNote,
    DeliveryReport,
    InboundSms,
    OutboundSms,
    Refused,
    SegmentAttempt,
    SubmitOutcome,
    Unknown,
)
from smsgrid.messaging.carrier_dispatch import (
    LEASE_SECONDS,
    TIMEOUT_CODE,
    TIMEOUT_DETAILS,
    UNAVAILABLE_RETRY,
    UNKNOWN_OUTCOME_DETAILS,
)
from smsgrid.store.records import CarrierPlan
from tests.unit.messaging_support import HANDSET, SENDER, Core, event_data, open_core

pytestmark = pytest.mark.anyio

PARTS = ("p-1", "p-2", "p-3")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    opened = await open_core(tmp_path)
    opened.carrier.submits_reach_network = True  # as the SMPP adapter
    yield opened
    await opened.store.close()


def part(reference: str, at: float, *, code: int = 2000, details: str | None = None) -> DeliveryReport:
    ok = code == 2000
    attempt = SegmentAttempt(at, int(ok), int(not ok))
    return DeliveryReport(reference, "Delivered" if ok else "Failed", code, (attempt,), at, details)


async def send_long(core: Core, *, timeout: int | None = 600) -> str:
    """A three-segment message the carrier takes as three parts, submitted and waiting."""
    message_id = await core.send_one(message="x" * 400, timeout=timeout)
    core.carrier.answers[HANDSET] = Accepted("p-1", part_references=PARTS)
    await core.dispatcher.run_once()
    return message_id


def attempts(core: Core, message_id: str) -> list[tuple[str, int, int]]:
    data = event_data(core.store.result(message_id).event)
    return [(a["timestamp"], a["segmentsSucceeded"], a["segmentsFailed"]) for a in data["deliveryAttempts"]]


# -- long messages ---------------------------------------------------------------------------------------------


async def test_parts_reported_in_any_order_make_one_delivered_report_when_the_last_comes(core: Core) -> None:
    message_id = await send_long(core)
    start = core.clock.at
    await core.carrier.push_report(part("p-3", start + 5))
    await core.carrier.push_report(part("p-1", start + 9))
    assert core.store.finished == []  # a part is missing: no report yet
    assert [(ref, recorded) for _, ref, _, recorded in core.store.part_reports] == [("p-3", True), ("p-1", True)]
    await core.carrier.push_report(part("p-2", start + 7))
    result = core.store.result(message_id)
    assert (result.status, result.status_code) == ("delivered", 2000)
    data = event_data(result.event)
    assert (data["deliveryStatus"], data["deliveryStatusDetails"]) == ("Delivered", "No error.")
    # One attempt, at the latest part's time, counting the three parts.
    [(_, succeeded, failed)] = attempts(core, message_id)
    assert (succeeded, failed) == (3, 0)
    assert data["deliveryAttempts"][0]["timestamp"] == "2027-01-15T08:00:09Z"
    assert len(core.store.part_reports) == 2  # the last part's word went with the finish, not on its own


async def test_a_failing_part_fails_the_message_with_the_first_failing_parts_code(core: Core) -> None:
    message_id = await send_long(core)
    at = core.clock.at
    await core.carrier.push_report(part("p-3", at + 1, code=5000))
    await core.carrier.push_report(part("p-2", at + 2, code=4006, details="Absent subscriber"))
    await core.carrier.push_report(part("p-1", at + 3))
    result = core.store.result(message_id)
    assert (result.status, result.status_code) == ("failed", 4006)  # part 2 comes before part 3, whatever came first
    assert event_data(result.event)["deliveryStatusDetails"] == "Absent subscriber"
    assert [(s, f) for _, s, f in attempts(core, message_id)] == [(1, 2)]


async def test_a_duplicate_part_report_is_ignored(core: Core) -> None:
    message_id = await send_long(core)
    at = core.clock.at
    await core.carrier.push_report(part("p-1", at + 1))
    await core.carrier.push_report(part("p-1", at + 2, code=5000))  # the SMSC sent part 1's receipt again
    await core.carrier.push_report(part("p-2", at + 3))
    assert core.store.finished == []  # still waiting for part 3
    await core.carrier.push_report(part("p-3", at + 4))
    assert core.store.result(message_id).status == "delivered"
    assert [(s, f) for _, s, f in attempts(core, message_id)] == [(3, 0)]


async def test_parts_reported_at_once_are_all_counted(core: Core) -> None:
    message_id = await send_long(core)
    at = core.clock.at
    await asyncio.gather(*(core.carrier.push_report(part(ref, at + 1)) for ref in PARTS))
    assert core.store.result(message_id).status == "delivered"
    assert [(s, f) for _, s, f in attempts(core, message_id)] == [(3, 0)]
    assert core.dispatcher._part_turns == {}  # nothing left behind


async def test_a_parts_word_survives_a_restart(tmp_path: Path, core: Core) -> None:
    message_id = await send_long(core)
    at = core.clock.at
    await core.carrier.push_report(part("p-2", at + 1, code=4006))
    await core.store.close()  # the process stops; a new one opens the same database
    again = await open_core(tmp_path)
    try:
        again.clock.at = at + 2
        await again.carrier.push_report(part("p-1", at + 2))
        await again.carrier.push_report(part("p-3", at + 3))
        result = again.store.result(message_id)
        assert (result.status, result.status_code) == ("failed", 4006)
        assert [(s, f) for _, s, f in attempts(again, message_id)] == [(2, 1)]
    finally:
        await again.store.close()


async def test_at_the_timeout_the_missing_parts_count_as_failed(core: Core) -> None:
    message_id = await send_long(core, timeout=60)
    at = core.clock.at
    await core.carrier.push_report(part("p-1", at + 1))
    await core.carrier.push_report(part("p-2", at + 2, code=4006))
    core.clock.advance(60)
    await core.dispatcher.run_once()
    result = core.store.result(message_id)
    assert (result.status, result.status_code) == ("failed", TIMEOUT_CODE)
    assert event_data(result.event)["deliveryStatusDetails"] == TIMEOUT_DETAILS
    assert [(s, f) for _, s, f in attempts(core, message_id)] == [(1, 2)]  # part 3 never reported
    await core.carrier.push_report(part("p-3", at + 61))  # too late: the one report was sent
    assert len(core.store.finished) == 1


async def test_a_part_reported_while_the_timeout_is_decided_is_counted(core: Core) -> None:
    message_id = await send_long(core, timeout=60)
    at = core.clock.at
    await core.carrier.push_report(part("p-1", at + 1))
    poll = core.carrier.poll

    async def poll_while_part_2_reports(message: OutboundSms, reference: str, now: float) -> CarrierNews:
        await core.carrier.push_report(part("p-2", at + 59))  # after the claim read the parts, before the finish
        return await poll(message, reference, now)

    core.carrier.poll = poll_while_part_2_reports  # type: ignore[method-assign]
    core.clock.advance(60)
    await core.dispatcher.run_once()
    assert core.store.result(message_id).status_code == TIMEOUT_CODE
    assert [(s, f) for _, s, f in attempts(core, message_id)] == [(2, 1)]


async def test_part_receipts_before_the_submits_answer_are_kept_for_their_parts(core: Core) -> None:
    message_id = await core.send_one(message="x" * 400)
    core.carrier.answers[HANDSET] = Accepted("p-1", part_references=PARTS)
    core.carrier.report_before_answer[HANDSET] = part("p-2", core.clock.at, code=4006)
    await core.dispatcher.run_once()
    assert core.store.finished == []
    assert [(ref, recorded) for _, ref, _, recorded in core.store.part_reports] == [("p-2", True)]
    await core.carrier.push_report(part("p-1", core.clock.at + 1))
    await core.carrier.push_report(part("p-3", core.clock.at + 2))
    assert core.store.result(message_id).status_code == 4006


async def test_a_message_taken_as_one_part_is_a_single_reference_message(core: Core) -> None:
    message_id = await core.send_one()
    core.carrier.answers[HANDSET] = Accepted("only", part_references=("only",))
    await core.dispatcher.run_once()
    assert core.store.plans[-1][1].part_references == ()
    await core.carrier.push_report(part("only", core.clock.at + 1))
    assert core.store.result(message_id).status == "delivered"
    assert core.store.part_reports == []


# -- submit marks and unknown outcomes -----------------------------------------------------------------------------


async def test_the_mark_is_committed_before_the_submit_and_cleared_by_its_answer(core: Core) -> None:
    message_id = await core.send_one()
    seen: list[CarrierPlan] = []
    submit = core.carrier.submit

    async def submit_seeing_the_store(message: OutboundSms) -> SubmitOutcome:
        [(_, marked)] = core.store.plans  # committed before the carrier was asked
        seen.append(marked)
        return await submit(message)

    core.carrier.submit = submit_seeing_the_store  # type: ignore[method-assign]
    await core.dispatcher.run_once()
    [mark] = seen
    assert (mark.submitting_since, mark.reference, mark.due_at) == (core.clock.at, None, core.clock.at + LEASE_SECONDS)
    [_, (_, accepted)] = core.store.plans
    assert (accepted.reference, accepted.submitting_since) == ("ref-1", None)
    assert len(core.carrier.submitted) == 1
    assert message_id == core.carrier.submitted[0].message_id


async def test_one_transaction_marks_the_whole_claimed_batch(core: Core) -> None:
    await core.send("+14255550001", "+14255550002", "+14255550003")
    await core.dispatcher.run_once()
    marks, accepted = core.store.plans[:3], core.store.plans[3:]
    assert all(plan.submitting_since == core.clock.at for _, plan in marks)
    assert [plan.reference for _, plan in accepted] == ["ref-1", "ref-2", "ref-3"]


async def test_without_network_submits_the_transactions_are_todays(core: Core) -> None:
    core.carrier.submits_reach_network = False  # the simulator
    await core.send_one()
    await core.dispatcher.run_once()
    [(_, accepted)] = core.store.plans  # only the accepted plan: no mark
    assert (accepted.reference, accepted.submitting_since) == ("ref-1", None)


async def test_a_job_cut_off_mid_submit_is_an_unknown_outcome_never_sent_again(
    tmp_path: Path, core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    message_id = await core.send_one()
    entered = asyncio.Event()

    async def submit_until_the_crash(message: OutboundSms) -> SubmitOutcome:
        core.carrier.submitted.append(message)
        entered.set()
        await asyncio.Event().wait()  # the answer never comes: the process dies first
        raise AssertionError("unreachable")

    core.carrier.submit = submit_until_the_crash  # type: ignore[method-assign]
    crashing = asyncio.create_task(core.dispatcher.run_once())
    await entered.wait()
    crashing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await crashing
    await core.store.close()

    again = await open_core(tmp_path)  # the restart
    again.carrier.submits_reach_network = True
    try:
        again.clock.at = core.clock.at + LEASE_SECONDS  # the crashed claim's lease ran out
        with caplog.at_level(logging.WARNING, "smsgrid.carrier"):
            assert await again.dispatcher.run_once() == 1
        assert again.carrier.submitted == []  # never submitted again
        result = again.store.result(message_id)
        assert (result.status, result.status_code) == ("failed", 9999)
        assert event_data(result.event)["deliveryStatusDetails"] == UNKNOWN_OUTCOME_DETAILS
        assert message_id in caplog.text
        assert "unknown outcome" in caplog.text
        assert again.dispatcher.unknown_outcomes_total == 1
    finally:
        await again.store.close()


async def test_a_submit_that_raises_clears_its_mark_and_is_submitted_later(core: Core) -> None:
    message_id = await core.send_one()
    core.carrier.unreachable.add(HANDSET)  # no connection up: "not sent"
    await core.dispatcher.run_once()
    [_, (_, cleared)] = core.store.plans
    assert (cleared.submitting_since, cleared.reference) == (None, None)
    assert cleared.due_at == core.clock.at + UNAVAILABLE_RETRY
    assert core.store.finished == []
    core.carrier.unreachable.clear()
    core.clock.advance(UNAVAILABLE_RETRY)
    await core.dispatcher.run_once()
    [sent] = core.carrier.submitted
    assert sent.message_id == message_id
    assert core.store.plans[-1][1].reference == "ref-1"
    assert core.dispatcher.unknown_outcomes_total == 0


async def test_a_lost_answer_says_so_in_the_report_and_is_counted(core: Core, caplog: pytest.LogCaptureFixture) -> None:
    message_id = await core.send_one()
    core.carrier.answers[HANDSET] = Unknown("no submit_sm_resp in 30 s")
    with caplog.at_level(logging.WARNING, "smsgrid.carrier"):
        await core.dispatcher.run_once()
    result = core.store.result(message_id)
    assert (result.status, result.status_code) == ("failed", 9999)
    assert event_data(result.event)["deliveryStatusDetails"] == UNKNOWN_OUTCOME_DETAILS
    assert f"unknown outcome for message {message_id}" in caplog.text
    assert core.dispatcher.unknown_outcomes_total == 1
    core.clock.advance(3600)
    await core.dispatcher.run_once()
    assert len(core.carrier.submitted) == 1


# -- notes -------------------------------------------------------------------------------------------------------


def note(at: float, text: str) -> tuple[CarrierNote, ...]:
    return (CarrierNote(at, text),)


async def test_notes_are_committed_with_the_plan_each_part_and_the_finish(core: Core) -> None:
    message_id = await core.send_one(message="x" * 400)
    at = core.clock.at
    core.carrier.answers[HANDSET] = Accepted(
        "p-1",
        part_references=("p-1", "p-2"),
        notes=(CarrierNote(at, "submit_sm part 1/2 seq 7 on acme-1"), CarrierNote(at, "submit_sm part 2/2 seq 8")),
    )
    await core.dispatcher.run_once()
    assert [n.text for _, n in core.store.plan_notes] == [
        "submit_sm part 1/2 seq 7 on acme-1",
        "submit_sm part 2/2 seq 8",
    ]
    await core.carrier.push_report(replace(part("p-2", at + 2), notes=note(at + 2, "deliver_sm p-2 DELIVRD")))
    await core.carrier.push_report(replace(part("p-1", at + 3), notes=note(at + 3, "deliver_sm p-1 DELIVRD")))
    assert [n.text for n in core.store.result(message_id).notes] == ["deliver_sm p-1 DELIVRD"]
    stored = await core.store.carrier_notes(message_id)
    assert [(n.at - at, n.text) for n in stored] == [
        (0, "submit_sm part 1/2 seq 7 on acme-1"),
        (0, "submit_sm part 2/2 seq 8"),
        (2, "deliver_sm p-2 DELIVRD"),
        (3, "deliver_sm p-1 DELIVRD"),
    ]


async def test_a_refusals_and_an_unknown_outcomes_notes_go_with_the_finish(core: Core) -> None:
    refused, lost = await core.send("+14255550001", "+14255550002")
    at = core.clock.at
    core.carrier.answers["+14255550001"] = Refused(4002, notes=note(at, "submit_sm_resp 0x0B RINVDSTADR"))
    core.carrier.answers["+14255550002"] = Unknown("timer", notes=note(at, "submit_sm seq 9: no response"))
    await core.dispatcher.run_once()
    assert [n.text for n in await core.store.carrier_notes(refused["messageId"])] == ["submit_sm_resp 0x0B RINVDSTADR"]
    assert [n.text for n in await core.store.carrier_notes(lost["messageId"])] == ["submit_sm seq 9: no response"]


async def test_a_single_reports_notes_go_with_the_finish(core: Core) -> None:
    message_id = await core.send_one()
    await core.dispatcher.run_once()
    at = core.clock.at
    report = DeliveryReport("ref-1", "Delivered", 2000, (SegmentAttempt(at, 1, 0),), at, notes=note(at, "receipt"))
    await core.carrier.push_report(report)
    assert [n.text for n in await core.store.carrier_notes(message_id)] == ["receipt"]


# -- inbound ----------------------------------------------------------------------------------------------------


async def test_a_number_kept_as_received_is_logged_and_passed_on_unchanged(
    core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    raw = "0711222333"  # national, no country configured: cannot be proven E.164
    with caplog.at_level(logging.WARNING, "smsgrid.carrier"):
        await core.carrier.push_inbound(InboundSms(raw, SENDER, "STOP", core.clock.at, from_kept_as_received=True))
    [stored] = core.store.inbound
    assert (stored.from_number, stored.to_number, stored.opt_change) == (raw, SENDER, "out")
    assert raw in caplog.text
    assert SENDER in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, "smsgrid.carrier"):
        await core.carrier.push_inbound(InboundSms(HANDSET, SENDER, "hello", core.clock.at, segments=2))
    assert caplog.text == ""  # an E.164 number is nothing to warn about
