"""The SMPP carrier's submits and connections against the memory session fake: the PDUs of a message, every
outcome, throttling, failover, routing, reconnects, bind refusals, the accept-time screen and the counters."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.carrier.port import Accepted, RecipientRefusal, Refused, Unknown
from smsgrid.carrier.smpp.adapter import NoConnectionAvailable, SmppCarrier
from smsgrid.carrier.smpp.connection import Backoff
from smsgrid.carrier.smpp.protocol import (
    ESM_CLASS_UDHI,
    TLV_MESSAGE_PAYLOAD,
    TLV_SAR_MSG_REF_NUM,
    TLV_SAR_SEGMENT_SEQNUM,
    TLV_SAR_TOTAL_SEGMENTS,
    CommandStatus,
    DataCoding,
)
from smsgrid.carrier.smpp.segmentation import Concatenation
from smsgrid.carrier.smpp.session_memory import HeldAnswer, MemorySessionFactory
from smsgrid.carrier.smpp.session_port import BindMode, BindRefused, ConnectFailed, GenericNack, NotSent, ResponseLost
from smsgrid.carrier.smpp.settings import Route
from smsgrid.sms.segments import count_segments
from tests.unit.smpp_adapter_support import HANDSET, SENDER, Rig, connection, message, rig

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def one() -> AsyncIterator[Rig]:
    made = await rig()
    await made.bound()
    yield made
    await made.carrier.stop()


# --- the PDUs of a message -----------------------------------------------------------------------------------


async def test_a_short_message_is_one_submit_sm_with_the_addresses_and_flags_of_the_send(one: Rig) -> None:
    outcome = await one.carrier.submit(message("hello", report_timeout_seconds=300))
    [record] = one.factory.submits
    fields = record.fields
    assert (fields.source_addr, fields.source_addr_ton, fields.source_addr_npi) == (SENDER[1:], 1, 1)
    assert (fields.destination_addr, fields.dest_addr_ton, fields.dest_addr_npi) == (HANDSET[1:], 1, 1)
    assert (fields.short_message, fields.data_coding, fields.esm_class) == (b"hello", DataCoding.SMSC_DEFAULT, 0)
    assert (fields.registered_delivery, fields.validity_period) == (1, "000000000500000R")
    assert isinstance(outcome, Accepted)
    assert (outcome.reference, outcome.part_references, outcome.news_at) == ("m1", (), None)
    assert [note.text for note in outcome.notes] == [
        "submit_sm part 1/1 on acme-1",
        "submit_sm_resp part 1/1 seq 1 on acme-1: ESME_ROK (0x00000000) id m1",
    ]


async def test_no_report_asked_means_no_receipt_asked_and_the_smsc_default_validity(one: Rig) -> None:
    await one.carrier.submit(message(delivery_report=False, report_timeout_seconds=None))
    [record] = one.factory.submits
    assert (record.fields.registered_delivery, record.fields.validity_period) == (0, "")


@pytest.mark.parametrize(
    ("body", "coding"),
    [("x" * 161, DataCoding.SMSC_DEFAULT), ("€" * 100, DataCoding.SMSC_DEFAULT), ("Ж" * 140, DataCoding.UCS2)],
    ids=["gsm7-2", "gsm7-escapes", "ucs2-3"],
)
async def test_a_long_message_is_as_many_udh_parts_as_the_api_counted(one: Rig, body: str, coding: int) -> None:
    outcome = await one.carrier.submit(message(body))
    expected = count_segments(body).segments
    assert len(one.factory.submits) == expected > 1
    references = tuple(f"m{n}" for n in range(1, expected + 1))
    assert isinstance(outcome, Accepted)
    assert (outcome.reference, outcome.part_references) == ("m1", references)
    udh_refs = set()
    for number, record in enumerate(one.factory.submits, start=1):
        fields = record.fields
        assert (fields.data_coding, fields.esm_class & ESM_CLASS_UDHI) == (coding, ESM_CLASS_UDHI)
        header = fields.short_message[:6]
        assert (header[:3], header[4], header[5]) == (bytes((5, 0, 3)), expected, number)
        udh_refs.add(header[3])
    assert len(udh_refs) == 1  # one reference ties the parts together
    texts = [note.text for note in outcome.notes]
    assert texts[0] == f"submit_sm part 1/{expected} on acme-1"
    assert sum(text.startswith("submit_sm_resp") for text in texts) == expected


async def test_consecutive_long_messages_get_different_references(one: Rig) -> None:
    await one.carrier.submit(message("x" * 200))
    await one.carrier.submit(message("y" * 200))
    first, _, second, _ = (record.fields.short_message[3] for record in one.factory.submits)
    assert first != second


async def test_sar_and_message_payload_connections() -> None:
    sar = await rig(connection(concatenation=Concatenation.SAR))
    await sar.bound()
    await sar.carrier.submit(message("x" * 161))
    parts = [record.fields for record in sar.factory.submits]
    assert [p.esm_class for p in parts] == [0, 0]
    tlvs = [{tlv.tag: tlv.value for tlv in p.tlvs} for p in parts]
    assert tlvs[0][TLV_SAR_MSG_REF_NUM] == tlvs[1][TLV_SAR_MSG_REF_NUM]
    assert [(t[TLV_SAR_TOTAL_SEGMENTS], t[TLV_SAR_SEGMENT_SEQNUM]) for t in tlvs] == [
        (b"\x02", b"\x01"),
        (b"\x02", b"\x02"),
    ]
    assert b"".join(p.short_message for p in parts) == b"x" * 161
    await sar.carrier.stop()

    payload = await rig(connection(concatenation=Concatenation.MESSAGE_PAYLOAD))
    await payload.bound()
    outcome = await payload.carrier.submit(message("x" * 161))
    [record] = payload.factory.submits
    assert (record.fields.short_message, record.fields.tlvs[0].tag) == (b"", TLV_MESSAGE_PAYLOAD)
    assert isinstance(outcome, Accepted)
    assert outcome.part_references == ()
    await payload.carrier.stop()


# --- outcomes ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (CommandStatus.ESME_RINVDSTADR, 4002),
        (CommandStatus.ESME_RINVSRCADR, 4001),
        (CommandStatus.ESME_RSUBMITFAIL, 5000),
        (CommandStatus.ESME_RUNKNOWNERR, 9999),
    ],
)
async def test_a_refused_first_part_is_refused_with_its_code(one: Rig, status: int, code: int) -> None:
    one.factory.answers.append(status)
    outcome = await one.carrier.submit(message("x" * 161))
    assert isinstance(outcome, Refused)
    assert outcome.code == code
    assert len(one.factory.submits) == 1  # part 2 never sent
    assert f"0x{status:08X}" in outcome.notes[-1].text


async def test_a_generic_nack_is_a_refusal_too(one: Rig) -> None:
    one.factory.answers.append(GenericNack(CommandStatus.ESME_RINVDSTADR))
    outcome = await one.carrier.submit(message())
    assert outcome == Refused(4002, None, outcome.notes)
    assert "generic_nack" in outcome.notes[-1].text


async def test_a_lost_response_is_unknown_and_never_sent_again(one: Rig) -> None:
    one.factory.answers.append(ResponseLost("response timer"))
    outcome = await one.carrier.submit(message())
    assert isinstance(outcome, Unknown)
    assert "response lost" in outcome.reason
    assert len(one.factory.submits) == 1
    assert one.carrier.connections()[0].unknown_outcomes_total == 1
    assert "no answer" in outcome.notes[-1].text


@pytest.mark.parametrize(
    "second_answer",
    [ResponseLost("dropped"), CommandStatus.ESME_RINVDSTADR, CommandStatus.ESME_RSYSERR, NotSent("closing")],
    ids=["lost", "refused", "failover", "not-sent"],
)
async def test_anything_but_acceptance_after_a_taken_part_is_unknown_and_stops_the_rest(
    one: Rig, second_answer: int | Exception
) -> None:
    one.factory.answers.extend([0, second_answer])
    outcome = await one.carrier.submit(message("x" * 400))  # 3 parts
    assert isinstance(outcome, Unknown)
    assert "parts taken: m1" in outcome.reason
    assert "part 2/3" in outcome.reason
    assert len(one.factory.submits) == 2  # part 3 never sent, part 2 never re-sent


async def test_throttled_answers_back_off_and_send_the_same_part_again(one: Rig) -> None:
    one.factory.answers.extend([0, CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL])
    outcome = await one.carrier.submit(message("x" * 161))
    assert isinstance(outcome, Accepted)
    assert outcome.part_references == ("m1", "m4")
    sent = [record.fields.short_message for record in one.factory.submits]
    assert sent[1] == sent[2] == sent[3]  # part 2, three times
    assert one.sleep.waits[:2] == [pytest.approx(1.0), pytest.approx(2.0)]  # the pause doubles while it repeats
    [status] = one.carrier.connections()
    assert status.throttled_total == 2
    assert status.tps_limit == pytest.approx(250.0)  # halved twice from 1000
    assert status.submitted_total == 4


async def test_throttled_past_the_bounded_wait_goes_to_the_next_connection() -> None:
    made = await rig(connection("a", weight=10), connection("b", weight=0), throttle_wait_seconds=0.5)
    await made.bound(2)
    made.factory.answers.append(CommandStatus.ESME_RTHROTTLED)
    outcome = await made.carrier.submit(message())
    assert isinstance(outcome, Accepted)
    first, second = made.factory.submits
    assert (first.session.target.system_id, first.session is second.session) == ("smsgrid", False)
    assert [status.throttled_total for status in made.carrier.connections()] == [1, 0]
    # The paused connection is not a candidate until its pause is over.
    assert [status.sending for status in made.carrier.connections()] == [False, True]
    assert "submit_sm_resp" in outcome.notes[1].text  # the first connection's answer is on the timeline
    await made.carrier.stop()


@pytest.mark.parametrize(
    "first_answer",
    [CommandStatus.ESME_RSYSERR, CommandStatus.ESME_RINVBNDSTS, NotSent("closing"), GenericNack(0)],
    ids=["syserr", "invbndsts", "not-sent", "nack-0"],
)
async def test_failover_answers_move_the_message_to_the_next_connection(first_answer: int | Exception) -> None:
    made = await rig(connection("a", weight=10), connection("b", weight=0))
    await made.bound(2)
    made.factory.answers.append(first_answer)
    outcome = await made.carrier.submit(message())
    assert isinstance(outcome, Accepted)
    first, second = made.factory.submits
    assert first.session is not second.session
    assert second.session is made.factory.opened[1]
    await made.carrier.stop()


async def test_no_connection_that_can_send_raises_not_sent() -> None:
    made = await rig(start=False)
    with pytest.raises(NoConnectionAvailable, match="not bound"):
        await made.carrier.submit(message())
    assert made.factory.submits == []


async def test_a_message_no_route_matches_raises_not_sent() -> None:
    made = await rig(connection(routes=(Route(to_prefix="+44"),)))
    await made.bound()
    with pytest.raises(NoConnectionAvailable, match="no connection has a route"):
        await made.carrier.submit(message(to="+14255550123"))
    await made.carrier.stop()


async def test_a_sender_with_no_possible_address_is_refused_as_invalid_from(one: Rig) -> None:
    outcome = await one.carrier.submit(message(sender="not a sender!"))
    assert isinstance(outcome, Refused)
    assert outcome.code == 4001
    assert one.factory.submits == []


async def test_an_answer_with_no_id_gets_a_reference_of_ours(one: Rig) -> None:
    from smsgrid.carrier.smpp.session_port import SubmitResponse

    one.factory.answers.append(SubmitResponse(0, None, 9))
    outcome = await one.carrier.submit(message(message_id="abc"))
    assert isinstance(outcome, Accepted)
    assert outcome.reference == "abc#1"


# --- routing ---------------------------------------------------------------------------------------------------


async def test_the_most_specific_route_wins_and_the_catch_all_takes_the_rest() -> None:
    made = await rig(connection("uk", routes=(Route(to_prefix="+44"),)), connection("any"))
    await made.bound(2)
    await made.carrier.submit(message(to="+447700900123"))
    await made.carrier.submit(message(to="+14255550123"))
    uk, anywhere = made.factory.opened
    assert [record.session for record in made.factory.submits] == [uk, anywhere]
    await made.carrier.stop()


async def test_a_sender_route_outranks_a_prefix() -> None:
    made = await rig(
        connection("prefix", routes=(Route(to_prefix="+1425"),)), connection("brand", routes=(Route(sender="CONTOSO"),))
    )
    await made.bound(2)
    await made.carrier.submit(message(sender="CONTOSO"))
    await made.carrier.submit(message())
    prefix, brand = made.factory.opened
    assert [record.session for record in made.factory.submits] == [brand, prefix]
    assert made.factory.submits[0].fields.source_addr_ton == 5  # alphanumeric
    await made.carrier.stop()


async def test_weights_share_the_messages() -> None:
    made = await rig(connection("big", weight=3), connection("small", weight=1))
    await made.bound(2)
    for _ in range(400):
        await made.carrier.submit(message())
    big = sum(record.session is made.factory.opened[0] for record in made.factory.submits)
    assert 260 <= big <= 340  # 3:1 → 300 expected; the seed makes the draw the same every run
    await made.carrier.stop()


# --- the accept-time screen ----------------------------------------------------------------------------------


async def test_refusal_when_no_route_or_every_route_is_down_too_long() -> None:
    made = await rig(
        connection("uk", routes=(Route(to_prefix="+44"),), connect_timeout_seconds=10.0),
        connection("brand", routes=(Route(sender="CONTOSO", to_prefix="+1"),), connect_timeout_seconds=10.0),
        start=False,
    )
    assert made.carrier.refusal("+33612345678") == RecipientRefusal()  # no route at all
    assert made.carrier.refusal("+447700900123") is None  # down, but not for longer than the connect timeout
    made.clock.advance(11)
    assert made.carrier.refusal("+447700900123") == RecipientRefusal()
    assert made.carrier.refusal("+14255550123") == RecipientRefusal()  # the sender is not known yet: route matches
    await made.carrier.start(made.sink)
    await made.bound(2)
    assert made.carrier.refusal("+447700900123") is None
    made.factory.opened[0].drop()
    await made.settle(lambda: not made.carrier.connections()[0].sending)
    made.clock.advance(5)
    assert made.carrier.refusal("+447700900123") is None  # a reconnect in progress is not refused
    await made.carrier.stop()


# --- sessions: reconnects, refused binds, TX + RX ------------------------------------------------------------


async def test_reconnects_back_off_exponentially_and_start_over_after_a_minute_up() -> None:
    factory = MemorySessionFactory()
    factory.binds.extend([ConnectFailed("refused")] * 4)
    made = await rig(connection(reconnect_min_seconds=1.0, reconnect_max_seconds=6.0), factory=factory)
    await made.bound()
    assert made.sleep.waits == [1.0, 2.0, 4.0, 6.0]  # capped
    made.clock.advance(59)
    made.factory.opened[-1].drop("short session")
    await made.bound()
    assert made.sleep.waits[-1] == 6.0  # up less than a minute: still backing off at the cap
    made.clock.advance(61)
    made.factory.opened[-1].drop("long session")
    await made.bound()
    assert made.sleep.waits[-1] == 1.0  # up more than a minute: the schedule starts over
    assert made.carrier.connections()[0].reconnects_total == 2
    await made.carrier.stop()


async def test_a_refused_bind_waits_the_cap_at_once_and_says_why() -> None:
    factory = MemorySessionFactory()
    factory.binds.append(BindRefused(CommandStatus.ESME_RINVPASWD))
    made = await rig(connection(reconnect_max_seconds=60.0), factory=factory, start=False)
    made.sleep.gate = asyncio.Event()
    await made.carrier.start(made.sink)
    await made.settle(lambda: made.sleep.waits != [])
    assert made.sleep.waits == [60.0]
    [status] = made.carrier.connections()
    assert (status.state, status.sending, status.next_attempt_at) == ("bind_refused", False, made.clock.now() + 60)
    assert status.last_error is not None
    assert "0x0000000E" in status.last_error
    made.sleep.gate.set()
    await made.bound()
    assert made.carrier.connections()[0].state == "bound"
    await made.carrier.stop()


async def test_transmitter_receiver_binds_two_sessions_and_reports_each_side() -> None:
    made = await rig(connection(bind="transmitter_receiver"))
    await made.bound(2)
    tx, rx = made.factory.opened
    assert (tx.bind, rx.bind) == (BindMode.TRANSMITTER, BindMode.RECEIVER)
    await made.carrier.submit(message())
    assert made.factory.submits[0].session is tx
    [status] = made.carrier.connections()
    assert (status.state, status.sending, status.receiving) == ("bound", True, True)
    made.sleep.gate = asyncio.Event()
    rx.drop()
    await made.settle(lambda: made.carrier.connections()[0].state == "backing_off")
    [status] = made.carrier.connections()
    assert (status.state, status.sending, status.receiving) == ("backing_off", True, False)
    assert status.last_error == "session ended: connection lost"
    await made.carrier.stop()


async def test_the_password_reaches_the_session_target_and_nothing_else() -> None:
    from pydantic import SecretStr

    made = await rig(connection(password=SecretStr("s3cret"), window=4))
    await made.bound()
    target = made.factory.opened[0].target
    assert (target.password, target.window, target.bind) == ("s3cret", 4, BindMode.TRANSCEIVER)
    assert "s3cret" not in repr(target)
    assert "s3cret" not in repr(made.carrier.connections())
    await made.carrier.stop()


async def test_stop_unbinds_every_session_and_reports_stopped() -> None:
    made = await rig(connection("a"), connection("b", bind="transmitter_receiver"))
    await made.bound(3)
    await made.carrier.stop()
    assert all(session.unbound for session in made.factory.opened)
    assert {status.state for status in made.carrier.connections()} == {"stopped"}
    assert not any(status.sending or status.receiving for status in made.carrier.connections())


async def test_counters_and_limits_in_connections(one: Rig) -> None:
    one.factory.answers.extend([0, ResponseLost("x")])
    await one.carrier.submit(message())
    await one.carrier.submit(message())
    [status] = one.carrier.connections()
    assert (status.name, status.kind, status.bind) == ("acme-1", "smpp", "transceiver")
    assert (status.submitted_total, status.unknown_outcomes_total, status.throttled_total) == (2, 1, 0)
    assert (status.window_size, status.window_in_use, status.tps_configured, status.tps_limit) == (
        10,
        0,
        1000.0,
        1000.0,
    )
    assert (status.reconnects_total, status.receipts_total, status.inbound_total) == (0, 0, 0)


async def test_window_in_use_shows_a_submit_waiting_for_its_answer(one: Rig) -> None:
    held = HeldAnswer()
    one.factory.answers.append(held)
    sending = asyncio.create_task(one.carrier.submit(message()))
    await held.submitted.wait()
    assert one.carrier.connections()[0].window_in_use == 1
    held.release(0)
    assert isinstance(await sending, Accepted)
    assert one.carrier.connections()[0].window_in_use == 0


async def test_poll_has_nothing_to_add_and_submits_reach_the_network(one: Rig) -> None:
    news = await one.carrier.poll(message(), "m1", one.clock.now())
    assert (news.report, news.silent, news.reply) == (None, False, None)
    assert SmppCarrier.submits_reach_network is True


def test_connection_names_must_be_unique() -> None:
    from smsgrid.clock import ManualClock

    with pytest.raises(ValueError, match="unique"):
        SmppCarrier([connection("a"), connection("a")], clock=ManualClock())


@given(
    low=st.floats(min_value=0.1, max_value=5.0),
    cap=st.floats(min_value=5.0, max_value=120.0),
    failures=st.integers(min_value=1, max_value=80),
    seed=st.integers(),
)
def test_law_full_jitter_stays_under_the_doubling_ceiling_and_the_cap(
    low: float, cap: float, failures: int, seed: int
) -> None:
    backoff = Backoff(low, cap)
    rng = Random(seed)
    for attempt in range(1, failures + 1):
        delay = backoff.next_delay(refused=False, uniform=rng.uniform)
        assert 0.0 <= delay <= min(cap, low * 2 ** (attempt - 1))
    assert backoff.next_delay(refused=True, uniform=rng.uniform) == cap
    backoff.session_ended(59.0)
    assert backoff.failures == failures + 1
    backoff.session_ended(60.0)
    assert backoff.failures == 0


async def test_without_a_factory_start_uses_the_stream_session_module(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    from smsgrid.clock import ManualClock
    from tests.unit.smpp_adapter_support import RecordingSink

    factory = MemorySessionFactory()
    stand_in = types.ModuleType("smsgrid.carrier.smpp.session")
    stand_in.StreamSessionFactory = lambda: factory  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "smsgrid.carrier.smpp.session", stand_in)
    carrier = SmppCarrier([connection()], clock=ManualClock())
    await carrier.start(RecordingSink())
    for _ in range(100):
        if factory.opened:
            break
        await asyncio.sleep(0)
    assert [session.target.host for session in factory.opened] == ["127.0.0.1"]
    await carrier.stop()
