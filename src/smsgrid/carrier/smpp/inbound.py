"""What the SMSC sends us (deliver_sm / data_sm) → receipts and handsets' messages for the core's sink.

The pure readings (`is_receipt`, `read_receipt`, `receipt_report`, `inbound_part`, `inbound_sms`) and the
correlation of receipt ids with `submit_sm_resp` ids (`ReceiptIndex`) are plain functions and values; the
`InboundDesk` is the handler a connection gives its sessions. It returns the command_status of the
deliver_sm_resp, which the session sends only after the handler returned, so everything is committed by the
core's sink before the SMSC hears "delivered":

- **receipt, final state** → one `DeliveryReport` for *that part* (reference = the part's submit_sm_resp id;
  the core makes the message's one report from its parts) → 0 once the sink returned;
- **receipt, intermediate state** (ENROUTE, ACCEPTD…) → 0, nothing for the core (debug log only);
- **handset's message** → `Reassembler`; when complete, one `InboundSms` → 0 once the sink returned;
- **a part of an incomplete message**: its ack is held until the whole message was committed, so a crash
  before that makes the SMSC deliver the part again. The hold is bounded (`hold_seconds`): an SMSC that sends
  the next part only after the previous one was acknowledged (window 1, common) would otherwise wait for
  nothing, and a session reads no further PDU while all its inbound slots are held; past the bound the part is
  acknowledged and lives in memory until the message completes (a crash then loses it, and the message is
  delivered without it, the missing part numbers logged);
- the sink raised → ESME_RX_T_APPN (0x64, "try again later"): the SMSC delivers it again;
- a coding or header we cannot read → ESME_RX_R_APPN (0x65, refused for good), logged.

An incomplete message is given up after the reassembly timeout (`expire`): what arrived is delivered joined,
with `segments` = the announced total; an MO is never dropped silently.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

from smsgrid.carrier.port import CarrierNote, CarrierSink, DeliveryReport, InboundSms, SegmentAttempt
from smsgrid.carrier.smpp import receipts
from smsgrid.carrier.smpp.addresses import AddressPolicy, InboundAddressKind, inbound_address
from smsgrid.carrier.smpp.gsm7 import Gsm7Form
from smsgrid.carrier.smpp.protocol import (
    ESM_CLASS_DELIVERY_RECEIPT,
    ESM_CLASS_INTERMEDIATE_NOTIFICATION,
    ESM_CLASS_TYPE_MASK,
    TLV_MESSAGE_PAYLOAD,
    TLV_MESSAGE_STATE,
    TLV_NETWORK_ERROR_CODE,
    TLV_RECEIPTED_MESSAGE_ID,
    TLV_SAR_MSG_REF_NUM,
    TLV_SAR_SEGMENT_SEQNUM,
    TLV_SAR_TOTAL_SEGMENTS,
)
from smsgrid.carrier.smpp.reassembly import (
    AddOutcome,
    AssembledMessage,
    InboundPart,
    MalformedPartError,
    Reassembler,
    UnsupportedCodingError,
    decode_part,
)
from smsgrid.carrier.smpp.segmentation import Concat
from smsgrid.carrier.smpp.session_port import ESME_RX_R_APPN, ESME_RX_T_APPN, InboundPdu
from smsgrid.carrier.smpp.status_map import (
    ReceiptVerdict,
    network_error,
    receipt_verdict,
    state_from_stat,
    state_from_tlv,
)
from smsgrid.sms.status_codes import DeliveryStatusCode

logger = logging.getLogger(__name__)

ESME_ROK = 0
_RECEIPT_TYPES = (ESM_CLASS_DELIVERY_RECEIPT, ESM_CLASS_INTERMEDIATE_NOTIFICATION)


# --- receipts ---------------------------------------------------------------------------------------------------


def _text_of(pdu: InboundPdu) -> bytes:
    if pdu.short_message:
        return pdu.short_message
    return pdu.tlv(TLV_MESSAGE_PAYLOAD) or b""


def _receipt_text(pdu: InboundPdu) -> str:
    # Receipt text is ASCII by every SMSC's convention; latin-1 reads any octet, so nothing raises here.
    return _text_of(pdu).decode("latin-1")


def is_receipt(pdu: InboundPdu) -> bool:
    """A receipt by its esm_class (delivery receipt or intermediate notification), or by its text when an SMSC
    leaves the esm_class at 0 (some do) and the text carries both ``id:`` and ``stat:``."""
    if pdu.esm_class & ESM_CLASS_TYPE_MASK in _RECEIPT_TYPES:
        return True
    return pdu.esm_class & ESM_CLASS_TYPE_MASK == 0 and receipts.looks_like_receipt_text(_receipt_text(pdu))


@dataclass(frozen=True, slots=True)
class ReceiptReading:
    message_id: str | None  # as written (NULs and spaces trimmed); None when the receipt names no message
    verdict: ReceiptVerdict
    error: int | None
    summary: str  # for the timeline: the receipt's text, or its TLVs when it has none


def read_receipt(pdu: InboundPdu) -> ReceiptReading:
    """The id, state and error of a receipt: the TLVs first (typed), else the ``id:… stat:… err:…`` text."""
    text = _receipt_text(pdu)
    parsed = receipts.parse_receipt_text(text)
    tlv_id = pdu.tlv(TLV_RECEIPTED_MESSAGE_ID)
    raw_id = tlv_id.decode("latin-1") if tlv_id is not None else parsed.message_id
    message_id = raw_id.replace("\x00", "").strip() if raw_id is not None else None
    state_tlv = pdu.tlv(TLV_MESSAGE_STATE)
    state = state_from_tlv(state_tlv[0]) if state_tlv else state_from_stat(parsed.stat)
    error_tlv = pdu.tlv(TLV_NETWORK_ERROR_CODE)
    error = network_error(error_tlv) if error_tlv is not None else parsed.err_code
    summary = text.rstrip("\x00").strip()
    if not summary:
        state_text = state_tlv[0] if state_tlv else None
        summary = f"receipted_message_id={message_id} message_state={state_text} network_error={error}"
    return ReceiptReading(message_id or None, receipt_verdict(state, error), error, summary)


def receipt_report(reading: ReceiptReading, reference: str, at: float, connection: str) -> DeliveryReport:
    """The per-part report of a final receipt: one attempt, this one segment succeeded or failed."""
    verdict = reading.verdict
    if not verdict.final or verdict.code is None:
        raise ValueError("only a final receipt makes a report")
    delivered = verdict.code == DeliveryStatusCode.DELIVERED
    details = None if verdict.state is not None else f"unreadable receipt: {reading.summary}"
    return DeliveryReport(
        reference=reference,
        status="Delivered" if delivered else "Failed",
        code=int(verdict.code),
        attempts=(SegmentAttempt(at, 1 if delivered else 0, 0 if delivered else 1),),
        at=at,
        details=details,
        notes=(CarrierNote(at, f"receipt on {connection}: {reading.summary}"),),
    )


class ReceiptIndex:
    """submit_sm_resp ids of parts still waiting for a receipt, by every key `receipts.submit_keys` gives, so a
    receipt that writes the id another way (decimal for a hex answer…) finds its part. In memory and bounded:
    after a restart, or past `capacity`, a receipt's id is used as written and the core tries its other spellings
    (`receipts.reference_spellings`), so the index only has to cover the receipts that are due soon."""

    # Ids whose receipt never comes (lost receipts) stay until pushed out, ~800 bytes each (measured with
    # tracemalloc), so the bound is what keeps a long run's memory flat: 100,000 ≈ 80 MB per connection at worst,
    # half an hour at 50 submits/s (it was 500,000: ~390 MB). Smaller would cost more: a receipt whose id was
    # pushed out waits (bounded) for in-flight answers before it goes to the core under its other spellings.
    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._keys_of: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._ids_by_key: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._keys_of)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._keys_of

    def add(self, message_id: str) -> None:
        if message_id in self._keys_of:
            return
        keys = receipts.submit_keys(message_id)
        self._keys_of[message_id] = keys
        for key in keys:
            self._ids_by_key.setdefault(key, set()).add(message_id)
        while len(self._keys_of) > self._capacity:
            self.remove(next(iter(self._keys_of)))

    def remove(self, message_id: str) -> None:
        for key in self._keys_of.pop(message_id, ()):
            ids = self._ids_by_key.get(key)
            if ids is not None:
                ids.discard(message_id)
                if not ids:
                    del self._ids_by_key[key]

    def match(self, receipt_id: str) -> str | None:
        """The one waiting id this receipt names: its keys in order, the first that matches exactly one id.
        A key matching several ids is ambiguous and skipped (logged), never guessed."""
        for key in receipts.receipt_keys(receipt_id):
            ids = self._ids_by_key.get(key)
            if not ids:
                continue
            if len(ids) == 1:
                return next(iter(ids))
            logger.warning("receipt id %r is ambiguous under %s: %s", receipt_id, key, sorted(ids))
        return None


class Correlation:
    """The index and the submits still waiting for their answer on one connection: a receipt that arrives
    before its submit_sm_resp (SMSCs do that) waits, bounded, for the answer that names it."""

    def __init__(self) -> None:
        self.index = ReceiptIndex()
        self.in_flight = 0
        self._changed = asyncio.Event()
        self._waiting = 0  # receipts waiting for an answer; none (the usual case): no event to set per submit

    def submitting(self) -> None:
        self.in_flight += 1

    def answered(self, accepted_id: str | None) -> None:
        """A submit ended (*accepted_id*: the id to wait receipts for, if any); wakes receipts waiting."""
        self.in_flight -= 1
        if accepted_id is not None:
            self.index.add(accepted_id)
        if self._waiting:
            self._changed.set()
            self._changed = asyncio.Event()

    async def resolve(self, receipt_id: str, wait_seconds: float) -> str:
        """The submit_sm_resp id *receipt_id* names; if none yet and submits are in flight, wait for their answers
        (at most *wait_seconds*); in the end the id as written."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        while True:
            found = self.index.match(receipt_id)
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if self.in_flight <= 0 or remaining <= 0:
                return receipt_id
            self._waiting += 1
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return receipt_id
            finally:
                self._waiting -= 1


# --- handsets' messages -----------------------------------------------------------------------------------------


def inbound_part(pdu: InboundPdu) -> InboundPart:
    """The text-carrying fields of a deliver_sm / data_sm; SAR TLVs read when all three are there."""
    reference = pdu.tlv(TLV_SAR_MSG_REF_NUM)
    total = pdu.tlv(TLV_SAR_TOTAL_SEGMENTS)
    sequence = pdu.tlv(TLV_SAR_SEGMENT_SEQNUM)
    sar = None
    if reference is not None and total is not None and sequence is not None:
        if len(reference) != 2 or len(total) != 1 or len(sequence) != 1:
            raise MalformedPartError("sar_* TLVs of the wrong length")
        sar = Concat(int.from_bytes(reference, "big"), total[0], sequence[0])
    return InboundPart(
        source=pdu.source_addr,
        destination=pdu.destination_addr,
        data_coding=pdu.data_coding,
        esm_class=pdu.esm_class,
        short_message=pdu.short_message,
        sar=sar,
        message_payload=pdu.tlv(TLV_MESSAGE_PAYLOAD),
    )


@dataclass(frozen=True, slots=True)
class Addressing:
    """The TON/NPI an MO came with (its parts share them), kept to read the numbers when it completes."""

    source_ton: int
    source_npi: int
    dest_ton: int
    dest_npi: int

    @classmethod
    def of(cls, pdu: InboundPdu) -> Addressing:
        return cls(pdu.source_addr_ton, pdu.source_addr_npi, pdu.dest_addr_ton, pdu.dest_addr_npi)


def inbound_sms(
    message: AssembledMessage, addressing: Addressing, policy: AddressPolicy, at: float
) -> tuple[InboundSms, str | None]:
    """The core's InboundSms for an assembled message, and why its sender was kept as received (None: E.164)."""
    sender = inbound_address(message.source, addressing.source_ton, addressing.source_npi, policy)
    ours = inbound_address(message.destination, addressing.dest_ton, addressing.dest_npi, policy)
    kept = sender.kind is InboundAddressKind.KEPT
    sms = InboundSms(
        from_number=sender.text,
        to_number=ours.text,
        text=message.text,
        at=at,
        from_kept_as_received=kept,
        segments=message.segment_count,
    )
    return sms, (sender.reason if kept else None)


_GroupKey = tuple[str, str, int, int]  # source, destination, reference, total: the Reassembler's grouping


@dataclass(slots=True)
class _HeldMessage:
    """An incomplete MO: how its parts were addressed, and the answer its held parts wait for."""

    addressing: Addressing
    answer: asyncio.Future[int] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class _ClockLike(Protocol):
    def now(self) -> float: ...


class InboundDesk:
    """One connection's inbound handler (see the module docstring). `sink` is set when the carrier starts."""

    def __init__(
        self,
        connection: str,
        *,
        clock: _ClockLike,
        correlation: Correlation,
        policy: AddressPolicy,
        gsm7_form: Gsm7Form,
        reassembly_timeout: float,
        receipt_wait_seconds: float,
        hold_seconds: float,
    ) -> None:
        self.connection = connection
        self.sink: CarrierSink | None = None
        self.receipts_total = 0
        self.inbound_total = 0
        self._clock = clock
        self._correlation = correlation
        self._policy = policy
        self._gsm7_form = gsm7_form
        self._reassembly_timeout = reassembly_timeout
        self._receipt_wait = receipt_wait_seconds
        self._hold_seconds = hold_seconds
        self._reassembler = Reassembler(gsm7_form)
        self._held: dict[_GroupKey, _HeldMessage] = {}
        # Given up on, but the sink failed: tried again at each expiry round (their parts are still held).
        self._undelivered: list[tuple[AssembledMessage, _HeldMessage]] = []

    @property
    def reassemblies_pending(self) -> int:
        return self._reassembler.pending

    async def handle(self, pdu: InboundPdu) -> int:
        sink = self.sink
        if sink is None:  # not started: the SMSC will deliver it again
            return ESME_RX_T_APPN
        if is_receipt(pdu):
            return await self._receipt(pdu, sink)
        return await self._handset_message(pdu, sink)

    async def _receipt(self, pdu: InboundPdu, sink: CarrierSink) -> int:
        reading = read_receipt(pdu)
        if reading.message_id is None:
            # Nothing can ever be matched to it; asking the SMSC to repeat it would only repeat this.
            logger.warning("receipt on %s names no message, dropped: %s", self.connection, reading.summary)
            return ESME_ROK
        if not reading.verdict.final:
            logger.debug("intermediate receipt on %s: %s", self.connection, reading.summary)
            return ESME_ROK
        reference = await self._correlation.resolve(reading.message_id, self._receipt_wait)
        report = receipt_report(reading, reference, self._clock.now(), self.connection)
        if (
            reference not in self._correlation.index
        ):  # not waiting here (a restart emptied the index): the core tries each
            report = dataclasses.replace(report, reference_forms=receipts.reference_spellings(reference)[1:])
        try:
            await sink.delivery_report(report)
        except Exception:
            logger.exception(
                "receipt for %s on %s not committed; the SMSC will send it again", reference, self.connection
            )
            return ESME_RX_T_APPN
        self._correlation.index.remove(reference)
        self.receipts_total += 1
        return ESME_ROK

    async def _handset_message(self, pdu: InboundPdu, sink: CarrierSink) -> int:
        try:
            part = inbound_part(pdu)
            result = self._reassembler.add(part, self._clock.now())
        except (MalformedPartError, UnsupportedCodingError) as error:
            logger.warning("handset message on %s refused (0x65): %s", self.connection, error)
            return ESME_RX_R_APPN
        if result.outcome is AddOutcome.COMPLETE:
            assert result.message is not None
            message = result.message
            held = None
            if message.reference is not None:
                key = (message.source, message.destination, message.reference, message.segment_count)
                held = self._held.pop(key, None)
            status = await self._deliver(message, Addressing.of(pdu), sink)
            if held is not None and not held.answer.done():
                held.answer.set_result(status)
            return status
        concat = decode_part(part, self._gsm7_form).concat
        assert concat is not None, "only parts of a long message wait or repeat"
        key = (part.source, part.destination, concat.reference, concat.total)
        held = self._held.get(key)
        if held is None:
            if result.outcome is AddOutcome.DUPLICATE:
                return ESME_ROK  # a part of a message already committed
            held = self._held[key] = _HeldMessage(Addressing.of(pdu))
        return await self._hold(held)

    async def _hold(self, held: _HeldMessage) -> int:
        if self._hold_seconds <= 0:
            return ESME_ROK
        try:
            return await asyncio.wait_for(asyncio.shield(held.answer), self._hold_seconds)
        except TimeoutError:
            return ESME_ROK  # see the module docstring: the SMSC may be waiting for this ack to send the rest

    async def _deliver(self, message: AssembledMessage, addressing: Addressing, sink: CarrierSink) -> int:
        sms, kept_reason = inbound_sms(message, addressing, self._policy, self._clock.now())
        if kept_reason is not None:  # the core logs it as a warning with the message; here only for tracing
            logger.debug("handset number %r on %s kept as received: %s", message.source, self.connection, kept_reason)
        try:
            await sink.inbound(sms)
        except Exception:
            logger.exception("handset message on %s not committed; the SMSC will send it again", self.connection)
            self._reassembler.forget(message)
            return ESME_RX_T_APPN
        self.inbound_total += 1
        return ESME_ROK

    async def expire(self, now: float) -> int:
        """Deliver the incomplete messages older than the reassembly timeout with what arrived; how many."""
        sink = self.sink
        if sink is None:
            return 0
        due = self._undelivered
        self._undelivered = []
        for message in self._reassembler.expire(now, self._reassembly_timeout):
            assert message.reference is not None
            key = (message.source, message.destination, message.reference, message.segment_count)
            held = self._held.pop(key, None) or _HeldMessage(Addressing(0, 0, 0, 0))
            logger.warning(
                "handset message on %s from %r given up incomplete: parts %s never came",
                self.connection,
                message.source,
                list(message.missing),
            )
            due.append((message, held))
        delivered = 0
        for message, held in due:
            status = await self._deliver(message, held.addressing, sink)
            if status != ESME_ROK:
                self._undelivered.append((message, held))
                continue
            delivered += 1
            if not held.answer.done():
                held.answer.set_result(status)
        return delivered

    def release_held(self) -> None:
        """The connection stops: held parts are answered "try again later" (the SMSC delivers them again)."""
        for held in self._held.values():
            if not held.answer.done():
                held.answer.set_result(ESME_RX_T_APPN)
        self._held.clear()
