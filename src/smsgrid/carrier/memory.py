"""An in-memory carrier for tests: records what it is given, answers as told, pushes what the test pushes.

Like httpx's MockTransport beside its HTTP transport: the core's carrier code is tested against this, with no
process, socket or timer. It implements the whole port (smsgrid.carrier.port).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from smsgrid.carrier.port import (
    Accepted,
    CarrierNews,
    CarrierSink,
    CarrierUnavailable,
    ConnectionStatus,
    DeliveryReport,
    InboundSms,
    OutboundSms,
    RecipientRefusal,
    SubmitOutcome,
)


class CarrierDown(CarrierUnavailable):
    """What `submit` raises for a recipient in `InMemoryCarrier.unreachable` (no connection up)."""


@dataclass
class InMemoryCarrier:
    # Recipients refused at accept time (a 503 inside the 202).
    refused: set[str] = field(default_factory=set)
    # The answer for a recipient's submit; anyone else: Accepted("ref-<n>") with no news_at.
    answers: dict[str, SubmitOutcome] = field(default_factory=dict)
    # Recipients whose submit raises CarrierDown.
    unreachable: set[str] = field(default_factory=set)
    # What `poll` answers, by reference; anything else: nothing yet.
    news: dict[str, CarrierNews] = field(default_factory=dict)
    # What the next `poll` raises (the carrier did not answer), once.
    poll_error: Exception | None = None
    # What the next `submit` raises (a bug in an adapter, not "unavailable"), once.
    submit_error: Exception | None = None
    # Reports pushed from inside `submit`, before it answers (receipts before responses), by recipient.
    report_before_answer: dict[str, DeliveryReport] = field(default_factory=dict)
    submitted: list[OutboundSms] = field(default_factory=list)
    polls: list[tuple[str, float]] = field(default_factory=list)
    sink: CarrierSink | None = None
    running: bool = False
    # Whether the core marks each submit before it (SMPP: True; the simulator: False).
    submits_reach_network: bool = False
    links: tuple[ConnectionStatus, ...] = ()

    def connections(self) -> tuple[ConnectionStatus, ...]:
        return self.links

    def refusal(self, to_number: str) -> RecipientRefusal | None:
        return RecipientRefusal() if to_number in self.refused else None

    async def start(self, sink: CarrierSink) -> None:
        self.sink = sink
        self.running = True

    async def stop(self) -> None:
        self.running = False

    async def submit(self, message: OutboundSms) -> SubmitOutcome:
        if message.to_number in self.unreachable:
            raise CarrierDown(message.to_number)
        if self.submit_error is not None:
            error, self.submit_error = self.submit_error, None
            raise error
        self.submitted.append(message)
        early = self.report_before_answer.get(message.to_number)
        if early is not None:
            await self.push_report(early)
        return self.answers.get(message.to_number, Accepted(f"ref-{len(self.submitted)}"))

    async def poll(self, message: OutboundSms, reference: str, now: float) -> CarrierNews:
        self.polls.append((reference, now))
        if self.poll_error is not None:
            error, self.poll_error = self.poll_error, None
            raise error
        return self.news.get(reference, CarrierNews())

    async def push_report(self, report: DeliveryReport) -> None:
        """The carrier reports; returns once the core committed it."""
        assert self.sink is not None, "start() first"
        await self.sink.delivery_report(report)

    async def push_inbound(self, message: InboundSms) -> None:
        """A handset texts one of the resource's numbers; returns once the core committed it."""
        assert self.sink is not None, "start() first"
        await self.sink.inbound(message)
