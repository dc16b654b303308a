"""Sending and receiving SMS: validated requests become durable messages, carrier work and events."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from smsgrid.acs.models import SendRequest
from smsgrid.carrier.rules import decide, plan_for
from smsgrid.clock import Clock
from smsgrid.config import Settings
from smsgrid.errors import InvalidPhoneNumberError, InvalidRequest, Throttled, Unauthorized
from smsgrid.events.models import SmsReceivedData, phone_subject, sms_received_event
from smsgrid.events.timestamps import Timestamp
from smsgrid.messaging.publishing import EventFactory
from smsgrid.messaging.throttling import WINDOW_SECONDS, SendThrottle
from smsgrid.metrics import Metrics
from smsgrid.sms import (
    ACS_INVALID_TO,
    KeywordAction,
    check_message_length,
    classify_keyword,
    count_segments,
    incoming_message_id,
    outgoing_message_id,
    parse_e164,
)
from smsgrid.sms.senders import Sender, classify_sender
from smsgrid.store.port import Store
from smsgrid.store.records import CarrierPlan, InboundMessage, OutgoingMessage

log = logging.getLogger("smsgrid.messaging")

# What the carrier plan "ServiceUnavailable" answers for one recipient inside the 202; the recipient is not
# stored or sent (azure-rest-api-specs, Sms SmsSend.json examples 2024-02-05 .. 2026-01-23).
SERVICE_UNAVAILABLE = "ServiceUnavailable"


def unauthorized_sender(reason: str) -> Unauthorized:
    """ACS refuses a `from` the resource may not use as unauthorised (azure-sdk-for-python recording
    test_send_sms_unauthorized_from_phone_number; a malformed sender too, in test_send_sms_fake_from_phone_number).
    `reason` must be ASCII: the API answers it in a header (smsgrid.api.errors)."""
    return Unauthorized(reason)


class Messaging:
    def __init__(
        self,
        *,
        store: Store,
        settings: Settings,
        clock: Clock,
        events: EventFactory,
        wake_carrier: Callable[[], None],
        wake_dispatcher: Callable[[], None],
        metrics: Metrics,
    ) -> None:
        self.metrics = metrics
        self.store = store
        self.settings = settings
        self.clock = clock
        self.events = events
        self._wake_carrier = wake_carrier
        self._wake_dispatcher = wake_dispatcher
        resource = settings.resource
        self.senders: dict[str, Sender] = {}
        for text in (*resource.phone_numbers, *resource.short_codes, *resource.alphanumeric_sender_ids):
            sender = classify_sender(text)
            if sender is not None:  # the config loader already refused anything else
                self.senders[text] = sender
        self.throttle = SendThrottle(settings.throttling, window=clock.scaled(WINDOW_SECONDS))  # --time-scale too

    def check_sender(self, from_text: str) -> Sender:
        """The resource's sender `from_text`, or 401 as ACS answers (see unauthorized_sender)."""
        sender = self.senders.get(from_text)
        if sender is not None:
            return sender
        owned = ", ".join(self.senders)
        # ascii(): the reason travels in an HTTP header, which takes no raw non-ASCII text.
        shown = ascii(from_text if len(from_text) <= 64 else from_text[:64] + "...")
        if classify_sender(from_text) is None:
            reason = (
                f"{shown} is not a sender ACS accepts: an E.164 number (+14255550123), a 5-6 digit "
                f"short code or an alphanumeric sender ID (1-11 letters, digits, spaces). Owned: {owned}."
            )
        else:
            reason = (
                f"{shown} is not a sender of this resource (owned: {owned}); add it to [resource] "
                "phone_numbers, short_codes or alphanumeric_sender_ids in the config."
            )
        log.warning("send refused with 401: %s", reason)
        raise unauthorized_sender(reason)

    def check_throttle(self, sender: Sender, units: int) -> None:
        """429 with Retry-After when `sender` is over ACS's send rate (messaging/throttling.py)."""
        throttled = self.throttle.check(sender, units, time.monotonic())
        if throttled is None:
            return
        self.metrics.requests_throttled.inc()
        seconds = throttled.retry_after_header
        raise Throttled(
            f"{throttled.scope} is over its send rate of {throttled.limit} messages per "
            f"{throttled.window:g} s (ACS service limits); retry after {seconds} s.",
            throttled.retry_after,
        )

    async def send(self, request: SendRequest) -> list[dict[str, Any]]:
        """Commit every valid recipient's message and carrier work, then answer per recipient (SPEC §2)."""
        sender = self.check_sender(request.from_number)
        # A recipient whose repeatability was rejected is neither sent nor counted against the send rate.
        decisions = {
            recipient.number: decide(recipient.number, self.settings.carrier)
            for recipient in request.recipients
            if recipient.number is not None and recipient.repeatability_error is None
        }
        units = sum(
            1
            for recipient in request.recipients
            if recipient.number in decisions and decisions[recipient.number].outcome != SERVICE_UNAVAILABLE
        )
        self.check_throttle(sender, units)
        now = self.clock.now()
        moment = datetime.fromtimestamp(now, UTC)
        segments = count_segments(request.message)
        # An MMS is one message, not split into SMS segments (its report counts it as one).
        encoding, segment_count = ("MMS", 1) if request.attachments else (str(segments.encoding), segments.segments)
        attachments = tuple((a.mime_type, a.content) for a in request.attachments)
        outgoing: list[OutgoingMessage] = []
        options: dict[str, Any] = {}
        if request.report_timeout_seconds is not None:
            options["reportTimeoutSeconds"] = request.report_timeout_seconds
        if request.messaging_connect is not None:
            options["messagingConnectPartner"] = request.messaging_connect.partner  # its keys are never stored
        for recipient in request.recipients:
            if recipient.number is None or recipient.repeatability_error is not None:
                continue
            decision = decisions[recipient.number]
            if decision.outcome == SERVICE_UNAVAILABLE:
                continue
            plan = plan_for(
                decision,
                now=now,
                scaled=self.clock.scaled,
                report_timeout_seconds=request.report_timeout_seconds,
                partner=request.messaging_connect.partner if request.messaging_connect else None,
            )
            outgoing.append(
                OutgoingMessage(
                    message_id=outgoing_message_id(moment),
                    from_number=request.from_number,
                    to_number=recipient.number,
                    body=request.message,
                    encoding=encoding,
                    segments=segment_count,
                    tag=request.tag,
                    delivery_report=request.enable_delivery_report,
                    repeatability_request_id=recipient.repeatability_request_id,
                    created_at=now,
                    plan=plan,
                    api_version=request.api_version,
                    send_options=options,
                    attachments=attachments,
                )
            )
        committed = await self.store.accept_messages(outgoing) if outgoing else []
        if outgoing:
            self.metrics.messages_accepted.inc(sum(1 for r in committed if not r.repeated))
            self._wake_carrier()
        accepted = iter(committed)
        results: list[dict[str, Any]] = []
        for recipient in request.recipients:
            if recipient.repeatability_error is not None:
                # Repeatable but without a readable first-sent time: rejected, nothing stored
                # (azure-rest-api-specs, Sms 2026-01-23 examples/SmsSend.json).
                results.append(
                    {
                        "to": recipient.to,
                        "httpStatusCode": 400,
                        "repeatabilityResult": "rejected",
                        "errorMessage": recipient.repeatability_error,
                        "successful": False,
                    }
                )
                continue
            if recipient.number is None:
                results.append(
                    {
                        "to": recipient.to,
                        "httpStatusCode": 400,
                        "successful": False,
                        "errorMessage": ACS_INVALID_TO,
                    }
                )
                continue
            if decisions[recipient.number].outcome == SERVICE_UNAVAILABLE:
                results.append(
                    {
                        "to": recipient.to,
                        "httpStatusCode": 503,
                        "successful": False,
                        "errorMessage": SERVICE_UNAVAILABLE,
                    }
                )
                continue
            result = next(accepted)
            results.append(
                {
                    "to": recipient.to,
                    "messageId": result.message_id,
                    "httpStatusCode": 202,
                    "repeatabilityResult": "accepted",
                    "successful": True,
                }
            )
        return results

    def inbound(self, from_number: str, to_number: str, message: str, now: float) -> InboundMessage:
        """An SMS from a handset to an owned number: the message, its SMSReceived event, opt-out changes."""
        segments = count_segments(message)
        message_id = incoming_message_id(datetime.fromtimestamp(now, UTC))
        stamp = Timestamp.from_epoch_seconds(now)
        data = SmsReceivedData(
            message_id=message_id,
            from_=from_number.removeprefix("+"),
            to=self.senders[to_number].event_value if to_number in self.senders else to_number.removeprefix("+"),
            message=message,
            received_timestamp=stamp,
            segment_count=segments.segments,
        )
        event = sms_received_event(data, topic=self.events.topic, event_time=stamp)
        action = classify_keyword(message)
        opt_change = {KeywordAction.OPT_OUT: "out", KeywordAction.OPT_IN: "in"}.get(action) if action else None
        auto_reply = None
        if action is KeywordAction.HELP:
            help_text = self.settings.resource.help_reply
            help_segments = count_segments(help_text)
            auto_reply = OutgoingMessage(
                message_id=outgoing_message_id(datetime.fromtimestamp(now, UTC)),
                from_number=to_number,
                to_number=from_number,
                body=help_text,
                encoding=str(help_segments.encoding),
                segments=help_segments.segments,
                tag="smsgrid:help-reply",
                delivery_report=False,
                repeatability_request_id=None,
                created_at=now,
                plan=CarrierPlan("Delivered", 2000, now),
            )
        return InboundMessage(
            message_id=message_id,
            from_number=from_number,
            to_number=to_number,
            body=message,
            encoding=str(segments.encoding),
            segments=segments.segments,
            created_at=now,
            event=self.events.new_event(event, message_id=message_id, published_at=now),
            opt_change=opt_change,
            auto_reply=auto_reply,
        )

    async def receive(self, from_text: str, to_text: str, message: str) -> str:
        """`POST /admin/inbound`: validate, commit, wake the dispatcher; returns the message id."""
        try:
            from_number = parse_e164(from_text)
        except InvalidPhoneNumberError:
            raise InvalidRequest("InvalidFromNumber", "Invalid From phone number format.") from None
        receiver = self.senders.get(to_text)
        if receiver is None:
            owned = ", ".join(s.text for s in self.senders.values() if not s.one_way)
            raise InvalidRequest(
                "InvalidToNumber",
                f"{to_text} is not a number or short code of this resource; owned: {owned}.",
            )
        if receiver.one_way:
            raise InvalidRequest(
                "InvalidToNumber",
                f"{to_text} is an alphanumeric sender ID: it cannot receive SMS (ACS SMS FAQ). Send to a "
                "phone number or short code of this resource.",
            )
        to_number = receiver.text
        problem = check_message_length(message)
        if problem:
            raise InvalidRequest("BadRequest", problem)
        inbound = self.inbound(from_number, to_number, message, self.clock.now())
        await self.store.record_inbound(inbound)
        self.metrics.messages_received.inc()
        self.metrics.record_published([inbound.event])
        self._wake_dispatcher()
        return inbound.message_id


__all__ = ["Messaging", "phone_subject"]
