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
  person. An exception from `submit` means "not sent": the core tries again later (`CarrierUnavailable`: no
  connection up, again in a few seconds; anything else is a bug, logged with its traceback).
  `Accepted.news_at` asks the core to `poll` at that time (the simulator knows when its report is due); a carrier
  that pushes its reports leaves it None.
- **`poll(message, reference, now)`**: what the carrier knows now about a message it accepted (SMPP `query_sm`;
  the simulator's planned outcome). The core polls at `news_at`, and once more when the sender's report timeout
  passes. `CarrierNews.silent` says the carrier will never report this message (the message stays "sent").
  `CarrierNews.reply` (a handset's answer the message caused) is read only with a final answer — a report,
  `silent`, or at the report timeout — and committed with it; any other inbound SMS goes to the sink.
- **Pushed news** (`CarrierSink`, given to `start`): a `DeliveryReport` names the message by the carrier's
  reference; it may arrive before `submit` returned (receipts before responses). A long message the carrier took
  as several parts (`Accepted.part_references`, one SMPP `submit_sm_resp` id per part) gets one report per part,
  each naming its part's reference; the core commits each part's word and makes the message's one report (one
  `SMSDeliveryReportReceived`, SegmentsSucceeded / SegmentsFailed counted over the parts) when every part has a
  final one, or at the report timeout. An `InboundSms` is a handset's
  message to one of the resource's numbers. Both sink methods return only after the core committed what they
  caused, so an adapter acknowledges to the network (SMPP `deliver_sm_resp`) only after that return; if one
  raises, the adapter must not acknowledge (the network sends it again).

- **Submits that reach a network** (`Carrier.submits_reach_network`, True for SMPP): the core commits a
  "submitting" mark before `submit` and the outcome after it; a job found still marked after a crash is an
  `Unknown` outcome, never submitted again. The simulator says False (a re-run costs nothing).
- **Notes** (`CarrierNote`, on every outcome and report): what the adapter wants on the message's timeline (each
  PDU with its connection and sequence number), committed in the same transaction as what carries them.
- **Connections** (`connections()`): each link's state for /metrics, the UI and `smsgrid carriers`; none for the
  simulator.

What stays in the core, never in an adapter: the Event Grid events and the stored report, the report timeout
(5002 "Message Delivery Timeout"), opted-out recipients (4007, never submitted), STOP/START/HELP, message ids.
An adapter imports nothing from smsgrid.messaging, smsgrid.delivery or smsgrid.store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol


class CarrierUnavailable(Exception):
    """What `submit` raises to say "not sent, nothing can take it now" (no connection up): the core keeps the
    message queued and tries again in a few seconds, with one log line instead of a traceback."""


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
class CarrierNote:
    """One line for the message's timeline (e.g. "submit_sm part 1/2 seq 7 on acme-1"), committed by the core."""

    at: float
    text: str


@dataclass(frozen=True, slots=True)
class Accepted:
    reference: str  # the carrier's id of the message; its delivery reports name it
    news_at: float | None = None  # poll at this time (epoch seconds); None: the carrier pushes its reports
    partner_message_id: str | None = None  # a Messaging Connect partner's own id (GET /deliveryReports)
    # A message taken as several parts: every part's reference in part order (`reference` is the first). Each
    # part's report names its own; empty means `reference` names the only part.
    part_references: tuple[str, ...] = ()
    notes: tuple[CarrierNote, ...] = ()


@dataclass(frozen=True, slots=True)
class Refused:
    code: int  # a DeliveryStatusDetails code (smsgrid.sms.status_codes)
    details: str | None = None  # the text of the report; None: the code's standard text
    notes: tuple[CarrierNote, ...] = ()


@dataclass(frozen=True, slots=True)
class Unknown:
    reason: str  # why the answer is unknown, for the log and the operator
    notes: tuple[CarrierNote, ...] = ()


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
    notes: tuple[CarrierNote, ...] = ()
    # Other spellings of `reference` to try, in order, when it names nothing waiting: an SMSC may write in its
    # receipt, in decimal, the id it answered in hex (and the reverse), and after a restart the adapter no longer
    # knows which one it was given.
    reference_forms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InboundSms:
    """A handset's message to one of the resource's numbers (an SMPP deliver_sm that is not a receipt)."""

    from_number: str  # E.164 of the handset, or exactly as received when `from_kept_as_received`
    to_number: str  # the resource's number or short code, as configured
    text: str  # reassembled and decoded
    at: float
    # The network gave a number that cannot be proven E.164 (SMPP TON unknown/national with no country set): it
    # is kept exactly as received and the core logs it; never rewritten into someone else's number.
    from_kept_as_received: bool = False
    segments: int = 1  # how many PDUs the handset's message came in (SMSReceived's SegmentCount counts them)


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


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """One carrier link as /metrics, the admin API, the UI and `smsgrid carriers` show it."""

    name: str
    kind: str  # "smpp"
    state: str  # connecting | bound | backing_off | bind_refused | stopped
    bind: str  # transceiver | transmitter_receiver
    sending: bool  # a message can be submitted on it now
    receiving: bool  # receipts and handsets' messages can arrive on it now
    window_in_use: int
    window_size: int
    tps_limit: float  # the current submit_sm/s limit (lowered while the SMSC throttles)
    tps_configured: float
    submitted_total: int  # submit_sm sent (parts)
    throttled_total: int  # ESME_RTHROTTLED / ESME_RMSGQFUL answers
    unknown_outcomes_total: int  # submits whose answer was lost (never re-sent)
    receipts_total: int
    inbound_total: int
    reconnects_total: int
    last_error: str | None = None
    next_attempt_at: float | None = None  # when backing off: the next connect (epoch seconds)
    since: float | None = None  # when it entered `state`


class Carrier(RecipientScreen, Protocol):
    """A carrier adapter (see the module docstring for the contract)."""

    @property
    def submits_reach_network(self) -> bool: ...
    def connections(self) -> tuple[ConnectionStatus, ...]: ...
    async def start(self, sink: CarrierSink) -> None: ...
    async def stop(self) -> None: ...
    async def submit(self, message: OutboundSms) -> SubmitOutcome: ...
    async def poll(self, message: OutboundSms, reference: str, now: float) -> CarrierNews: ...
