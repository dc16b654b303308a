"""SMS from handsets to the resource's numbers: the message, its SMSReceived event, STOP/START/HELP.

Whoever delivers the SMS — the admin API, the web UI, a carrier adapter's pushed message, a simulated handset's
reply — it becomes the same `InboundMessage`, committed with its event and opt-out change in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from smsgrid.config import Settings
from smsgrid.events.models import SmsReceivedData, sms_received_event
from smsgrid.events.timestamps import Timestamp
from smsgrid.messaging.publishing import EventFactory, EventPublisher
from smsgrid.metrics import Metrics
from smsgrid.sms import KeywordAction, classify_keyword, count_segments, incoming_message_id, outgoing_message_id
from smsgrid.sms.senders import Sender, classify_sender
from smsgrid.store.port import Store
from smsgrid.store.records import CarrierPlan, InboundMessage, OutgoingMessage

HELP_REPLY_TAG = "smsgrid:help-reply"


def resource_senders(settings: Settings) -> dict[str, Sender]:
    """The resource's numbers, short codes and sender IDs by their configured text."""
    resource = settings.resource
    senders: dict[str, Sender] = {}
    for text in (*resource.phone_numbers, *resource.short_codes, *resource.alphanumeric_sender_ids):
        sender = classify_sender(text)
        if sender is not None:  # the config loader already refused anything else
            senders[text] = sender
    return senders


class Inbox:
    def __init__(
        self,
        *,
        store: Store,
        events: EventFactory,
        publisher: EventPublisher,
        metrics: Metrics,
        senders: Mapping[str, Sender],
        help_reply: str,
    ) -> None:
        self._store = store
        self._events = events
        self._publisher = publisher
        self._metrics = metrics
        self._senders = senders
        self._help_reply = help_reply

    def message(
        self, from_number: str, to_number: str, text: str, now: float, parts: int | None = None
    ) -> InboundMessage:
        """The inbound SMS `text` from a handset to an owned number, with its event and opt-out change.

        *parts*: how many PDUs the network delivered it in (SMPP). SegmentCount is the larger of that and what the
        text counts: a sender may split shorter than it had to, and one `message_payload` PDU may hold several
        segments' worth."""
        segments = count_segments(text)
        segment_count = max(parts or 0, segments.segments)
        message_id = incoming_message_id(datetime.fromtimestamp(now, UTC))
        stamp = Timestamp.from_epoch_seconds(now)
        receiver = self._senders.get(to_number)
        data = SmsReceivedData(
            message_id=message_id,
            from_=from_number.removeprefix("+"),
            to=receiver.event_value if receiver is not None else to_number.removeprefix("+"),
            message=text,
            received_timestamp=stamp,
            segment_count=segment_count,
        )
        event = sms_received_event(data, topic=self._events.topic, event_time=stamp)
        action = classify_keyword(text)
        opt_change = {KeywordAction.OPT_OUT: "out", KeywordAction.OPT_IN: "in"}.get(action) if action else None
        auto_reply = self._help_answer(from_number, to_number, now) if action is KeywordAction.HELP else None
        return InboundMessage(
            message_id=message_id,
            from_number=from_number,
            to_number=to_number,
            body=text,
            encoding=str(segments.encoding),
            segments=segment_count,
            created_at=now,
            event=self._events.new_event(event, message_id=message_id, published_at=now),
            opt_change=opt_change,
            auto_reply=auto_reply,
        )

    def _help_answer(self, handset: str, number: str, now: float) -> OutgoingMessage:
        # Stored as delivered, never handed to a carrier: ACS answers HELP itself.
        help_segments = count_segments(self._help_reply)
        return OutgoingMessage(
            message_id=outgoing_message_id(datetime.fromtimestamp(now, UTC)),
            from_number=number,
            to_number=handset,
            body=self._help_reply,
            encoding=str(help_segments.encoding),
            segments=help_segments.segments,
            tag=HELP_REPLY_TAG,
            delivery_report=False,
            repeatability_request_id=None,
            created_at=now,
            plan=CarrierPlan(due_at=now),
        )

    async def receive(
        self, from_number: str, to_number: str, text: str, now: float, parts: int | None = None
    ) -> InboundMessage:
        """Commit one inbound SMS (already validated), count it, wake the delivery of its event."""
        inbound = self.message(from_number, to_number, text, now, parts)
        await self._publisher.commit(self._store.record_inbound(inbound), [inbound.event])
        self._metrics.messages_received.inc()
        return inbound

    def count_received(self, count: int) -> None:
        """Inbound SMS committed by someone else (handset replies, with the carrier's results)."""
        self._metrics.messages_received.inc(count)
