"""The carrier port: what smsgrid's core asks of a carrier, and what a carrier tells the core.

The core (smsgrid.messaging) owns the durable state of every message; an adapter (the simulator here, an SMPP
connection later) only speaks to the network. The contract, seen from an adapter:

- **At accept time** (`refusal`, synchronous, no I/O): may this recipient be taken at all? A refusal is answered
  per recipient inside the 202 (ACS's `503 ServiceUnavailable`); nothing is stored or sent for it. Most carriers
  refuse nothing here.
- **`submit(message)`**, once per message, after the message was committed. It returns when the carrier answered:
  `Accepted` with the carrier's reference (an SMPP `submit_sm_resp` message_id), `Refused` with a
  DeliveryStatusDetails code (a final failure), or `Unknown` when the answer was lost (the carrier may or may not
  have taken it). The core never submits the same message again on its own: a real SMS costs money and reaches a
  person. An exception from `submit` means "not sent": the core tries again later (no connection up).
  `Accepted.news_at` asks the core to `poll` at that time (the simulator knows when its report is due); a carrier
  that pushes its reports leaves it None.
- **`poll(message, reference, now)`**: what the carrier knows now about a message it accepted (SMPP `query_sm`;
  the simulator's planned outcome). The core polls at `news_at`, and once more when the sender's report timeout
  passes. `CarrierNews.silent` says the carrier will never report this message (the message stays "sent").
  `CarrierNews.reply` (a handset's answer the message caused) is read only with a final answer — a report,
  `silent`, or at the report timeout — and committed with it; any other inbound SMS goes to the sink.
- **Pushed news** (`CarrierSink`, given to `start`): a `DeliveryReport` names the message by the carrier's
  reference; it may arrive before `submit` returned (receipts before responses). An `InboundSms` is a handset's
  message to one of the resource's numbers. Both sink methods return only after the core committed what they
  caused, so an adapter acknowledges to the network (SMPP `deliver_sm_resp`) only after that return; if one
  raises, the adapter must not acknowledge (the network sends it again).

What stays in the core, never in an adapter: the Event Grid events and the stored report, the report timeout
(5002 "Message Delivery Timeout"), opted-out recipients (4007, never submitted), STOP/START/HELP, message ids.
An adapter imports nothing from smsgrid.messaging, smsgrid.delivery or smsgrid.store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class OutboundSms:
    """One message to one recipient, as the core hands it to a carrier."""

    message_id: str  # smsgrid's id; a carrier may use it as its own reference, never as a handset-visible value
    from_number: str  # E.164 number, short code or alphanumeric sender ID, as the send gave it
    to_number: str  # E.164
    body: str
    encoding: str  # GSM7 | UCS2 | MMS, as the API counted it
    segments: int
    delivery_report: bool  # enableDeliveryReport (SMPP registered_delivery)
    report_timeout_seconds: int | None  # deliveryReportTimeoutInSeconds / validityPeriodSeconds, unscaled
    tag: str | None
    created_at: float  # when the 202 was answered (epoch seconds)
    partner: str | None = None  # the Messaging Connect partner the send named


@dataclass(frozen=True, slots=True)
class RecipientRefusal:
    """A recipient the carrier refuses at accept time; answered inside the 202, never stored."""

    http_status: int = 503
    error_message: str = "ServiceUnavailable"


@dataclass(frozen=True, slots=True)
class Accepted:
    reference: str  # the carrier's id of the message; its delivery reports name it
    news_at: float | None = None  # poll at this time (epoch seconds); None: the carrier pushes its reports
    partner_message_id: str | None = None  # a Messaging Connect partner's own id (GET /deliveryReports)


@dataclass(frozen=True, slots=True)
class Refused:
    code: int  # a DeliveryStatusDetails code (smsgrid.sms.status_codes)
    details: str | None = None  # the text of the report; None: the code's standard text


@dataclass(frozen=True, slots=True)
class Unknown:
    reason: str  # why the answer is unknown, for the log and the operator


SubmitOutcome = Accepted | Refused | Unknown


@dataclass(frozen=True, slots=True)
class SegmentAttempt:
    """One try to hand the message to the handset, counted in segments."""

    at: float
    succeeded: int
    failed: int


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """The carrier's final word on one message (an SMPP receipt; several per-part receipts make one)."""

    reference: str
    status: Literal["Delivered", "Failed"]
    code: int  # a DeliveryStatusDetails code
    attempts: tuple[SegmentAttempt, ...]
    at: float  # when the carrier reported it
    details: str | None = None  # None: the code's standard text


@dataclass(frozen=True, slots=True)
class InboundSms:
    """A handset's message to one of the resource's numbers (an SMPP deliver_sm that is not a receipt)."""

    from_number: str  # E.164 of the handset
    to_number: str  # the resource's number or short code, as configured
    text: str  # reassembled and decoded
    at: float


@dataclass(frozen=True, slots=True)
class CarrierNews:
    """What `poll` found: a report, or not yet; and a handset's answer the message caused, if any."""

    report: DeliveryReport | None = None
    silent: bool = False  # the carrier will never report this message
    reply: InboundSms | None = None


class CarrierSink(Protocol):
    """The core's side of pushed news. Each call returns after its effects were committed."""

    async def delivery_report(self, report: DeliveryReport) -> None: ...
    async def inbound(self, message: InboundSms) -> None: ...


class RecipientScreen(Protocol):
    """The part of a carrier the send path asks synchronously, while it builds the 202."""

    def refusal(self, to_number: str) -> RecipientRefusal | None: ...


class Carrier(RecipientScreen, Protocol):
    """A carrier adapter (see the module docstring for the contract)."""

    async def start(self, sink: CarrierSink) -> None: ...
    async def stop(self) -> None: ...
    async def submit(self, message: OutboundSms) -> SubmitOutcome: ...
    async def poll(self, message: OutboundSms, reference: str, now: float) -> CarrierNews: ...
