"""Sending and receiving SMS: validated requests become durable messages, carrier work and events."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from smsgrid.acs.models import SendRequest
from smsgrid.carrier.port import RecipientRefusal, RecipientScreen
from smsgrid.config import Settings
from smsgrid.errors import InvalidPhoneNumberError, RequestError
from smsgrid.events.models import phone_subject
from smsgrid.messaging.carrier_dispatch import TimeSource
from smsgrid.messaging.inbound import Inbox, resource_senders
from smsgrid.messaging.throttling import WINDOW_SECONDS, SendThrottle
from smsgrid.metrics import Metrics
from smsgrid.sms import ACS_INVALID_TO, check_message_length, count_segments, outgoing_message_id, parse_e164
from smsgrid.sms.senders import Sender, classify_sender
from smsgrid.store.port import Store
from smsgrid.store.records import CarrierPlan, OutgoingMessage

log = logging.getLogger("smsgrid.messaging")


def unauthorized_sender(reason: str) -> RequestError:
    """ACS answers a `from` the resource may not use with 401 and this exact body (azure-sdk-for-python
    recording test_send_sms_unauthorized_from_phone_number; a malformed sender got 401 too, in
    test_send_sms_fake_from_phone_number). The reason, which Azure does not give, goes in a header."""
    return RequestError(401, "Unauthorized", "", {"x-smsgrid-reason": reason})


class Messaging:
    """The send path (`POST /sms`) and the inbound path of the API (`POST /admin/inbound`, the web UI)."""

    def __init__(
        self,
        *,
        store: Store,
        settings: Settings,
        clock: TimeSource,
        carrier: RecipientScreen,
        inbox: Inbox,
        wake_carrier: Callable[[], None],
        metrics: Metrics,
    ) -> None:
        self.metrics = metrics
        self.store = store
        self.settings = settings
        self.clock = clock
        self.carrier = carrier
        self.inbox = inbox
        self._wake_carrier = wake_carrier
        self.senders: dict[str, Sender] = resource_senders(settings)
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
        raise RequestError(
            429,
            "TooManyRequests",
            f"{throttled.scope} is over its send rate of {throttled.limit} messages per "
            f"{throttled.window:g} s (ACS service limits); retry after {seconds} s.",
            {"Retry-After": seconds, "retry-after-ms": str(max(1, round(throttled.retry_after * 1000)))},
        )

    async def send(self, request: SendRequest) -> list[dict[str, Any]]:
        """Commit every valid recipient's message and carrier work, then answer per recipient (SPEC §2)."""
        sender = self.check_sender(request.from_number)
        # A recipient whose repeatability was rejected is neither sent nor counted against the send rate; one the
        # carrier refuses at once is answered inside the 202 and not counted either.
        refusals: dict[str, RecipientRefusal | None] = {
            recipient.number: self.carrier.refusal(recipient.number)
            for recipient in request.recipients
            if recipient.number is not None and recipient.repeatability_error is None
        }
        units = sum(
            1 for recipient in request.recipients if recipient.number in refusals and not refusals[recipient.number]
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
        partner = request.messaging_connect.partner if request.messaging_connect is not None else None
        if partner is not None:
            options["messagingConnectPartner"] = partner  # its keys are never stored
        # Handed to the carrier at once (the dispatcher submits it as soon as it is committed).
        plan = CarrierPlan(due_at=now, report_timeout_seconds=request.report_timeout_seconds, partner=partner)
        for recipient in request.recipients:
            if recipient.number is None or recipient.repeatability_error is not None:
                continue
            if refusals[recipient.number] is not None:
                continue
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
            refusal = refusals[recipient.number]
            if refusal is not None:
                # Not stored or sent (azure-rest-api-specs, Sms SmsSend.json examples 2024-02-05 .. 2026-01-23).
                results.append(
                    {
                        "to": recipient.to,
                        "httpStatusCode": refusal.http_status,
                        "successful": False,
                        "errorMessage": refusal.error_message,
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

    async def receive(self, from_text: str, to_text: str, message: str) -> str:
        """`POST /admin/inbound`: validate, then commit through the inbox; returns the message id."""
        try:
            from_number = parse_e164(from_text)
        except InvalidPhoneNumberError:
            raise RequestError(400, "InvalidFromNumber", "Invalid From phone number format.") from None
        receiver = self.senders.get(to_text)
        if receiver is None:
            owned = ", ".join(s.text for s in self.senders.values() if not s.one_way)
            raise RequestError(
                400,
                "InvalidToNumber",
                f"{to_text} is not a number or short code of this resource; owned: {owned}.",
            )
        if receiver.one_way:
            raise RequestError(
                400,
                "InvalidToNumber",
                f"{to_text} is an alphanumeric sender ID: it cannot receive SMS (ACS SMS FAQ). Send to a "
                "phone number or short code of this resource.",
            )
        to_number = receiver.text
        problem = check_message_length(message)
        if problem:
            raise RequestError(400, "BadRequest", problem)
        inbound = await self.inbox.receive(from_number, to_number, message, self.clock.now())
        return inbound.message_id


__all__ = ["Messaging", "phone_subject"]
