"""The messaging core wired as runtime.py wires it, against the in-memory carrier, a manual clock and the real
SQLite store on tmp_path (wrapped to record what the core committed). No process, socket or timer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import orjson

from smsgrid.acs.models import MessagingConnect, Recipient, SendRequest
from smsgrid.carrier.memory import InMemoryCarrier
from smsgrid.config import Settings
from smsgrid.events.models import DataCasing
from smsgrid.messaging.carrier_dispatch import CarrierDispatcher
from smsgrid.messaging.inbound import Inbox, resource_senders
from smsgrid.messaging.publishing import EventFactory, EventPublisher
from smsgrid.messaging.service import Messaging
from smsgrid.metrics import Metrics
from smsgrid.settings import load_settings
from smsgrid.store.port import Store, open_store
from smsgrid.store.records import CarrierPlan, CarrierResult, InboundMessage, NewEvent, NoteRecord, PartReport

SENDER = "+18005550100"
HANDSET = "+14255550123"
TOPIC = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Communication/communicationServices/acs"


@dataclass
class ManualClock:
    """Time moves only when the test says so."""

    at: float = 1_800_000_000.0
    time_scale: float = 1.0

    def now(self) -> float:
        return self.at

    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale

    def advance(self, seconds: float) -> None:
        self.at += seconds


class EverySubscription:
    """The router: every event goes to the one subscription "app"."""

    def route(self, item: dict[str, Any]) -> tuple[str, ...]:
        return ("app",)


class RecordingStore:
    """The real store, remembering what the core committed through it (the write side only)."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner
        self.finished: list[CarrierResult] = []
        self.plans: list[tuple[str, CarrierPlan]] = []
        self.plan_notes: list[tuple[str, NoteRecord]] = []
        self.part_reports: list[tuple[str, str, PartReport, bool]] = []  # (message, reference, report, recorded)
        self.inbound: list[InboundMessage] = []
        self.published: list[NewEvent] = []
        self.outage_claims = 0  # the next claims fail as if the database were down
        self.broken_next_due = 0  # the next asks for the next due time fail unexpectedly (a bug)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def claim_carrier_jobs(self, now: float, limit: int, lease_until: float) -> Any:
        if self.outage_claims:
            from smsgrid.errors import StoreUnavailableError

            self.outage_claims -= 1
            raise StoreUnavailableError("the database is down (test)")
        return await self._inner.claim_carrier_jobs(now, limit, lease_until)

    async def next_carrier_due(self) -> float | None:
        if self.broken_next_due:
            self.broken_next_due -= 1
            raise RuntimeError("a bug (test)")
        return await self._inner.next_carrier_due()

    async def finish_carrier_jobs(self, results: Sequence[CarrierResult], now: float) -> None:
        await self._inner.finish_carrier_jobs(results, now)
        self.finished.extend(results)

    async def update_carrier_plans(
        self, plans: Sequence[tuple[str, CarrierPlan]], notes: Sequence[tuple[str, NoteRecord]] = ()
    ) -> None:
        await self._inner.update_carrier_plans(plans, notes)
        self.plans.extend(plans)
        self.plan_notes.extend(notes)

    async def record_carrier_part(
        self, message_id: str, reference: str, report: PartReport, notes: Sequence[NoteRecord] = ()
    ) -> bool:
        recorded = await self._inner.record_carrier_part(message_id, reference, report, notes)
        self.part_reports.append((message_id, reference, report, recorded))
        return recorded

    async def record_inbound(self, message: InboundMessage) -> None:
        await self._inner.record_inbound(message)
        self.inbound.append(message)

    async def publish(self, events: Sequence[NewEvent]) -> None:
        await self._inner.publish(events)
        self.published.extend(events)

    def result(self, message_id: str) -> CarrierResult:
        [found] = [r for r in self.finished if r.message_id == message_id]
        return found


@dataclass
class Core:
    store: RecordingStore
    carrier: InMemoryCarrier
    clock: ManualClock
    metrics: Metrics
    messaging: Messaging
    dispatcher: CarrierDispatcher
    inbox: Inbox
    publisher: EventPublisher
    woken: list[set[str]] = field(default_factory=list)
    carrier_woken: list[bool] = field(default_factory=list)

    async def send(
        self,
        *to: str,
        message: str = "hello",
        report: bool = True,
        timeout: int | None = None,
        tag: str | None = None,
        partner: str | None = None,
        request_id: str | None = None,
        sender: str = SENDER,
    ) -> list[dict[str, Any]]:
        request = SendRequest(
            from_number=sender,
            message=message,
            recipients=tuple(
                Recipient(to=n, number=n if n.startswith("+") else None, repeatability_request_id=request_id)
                for n in to
            ),
            enable_delivery_report=report,
            tag=tag,
            report_timeout_seconds=timeout,
            messaging_connect=MessagingConnect(partner, ()) if partner else None,
        )
        return await self.messaging.send(request)

    async def send_one(self, to: str = HANDSET, **options: Any) -> str:
        [result] = await self.send(to, **options)
        assert result["httpStatusCode"] == 202, result
        return str(result["messageId"])

    def count(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


def event_data(event: NewEvent | None) -> dict[str, Any]:
    assert event is not None
    data: dict[str, Any] = orjson.loads(event.item)["data"]
    return data


async def open_core(tmp_path: Path, config: str = "", *, time_scale: float = 1.0) -> Core:
    settings: Settings
    if config:
        path = tmp_path / "smsgrid.toml"
        path.write_text(config)
        settings = load_settings(path, env={})
    else:
        settings = load_settings(None, env={})
    store = RecordingStore(open_store(f"sqlite:///{tmp_path / 'smsgrid.db'}"))
    clock = ManualClock(time_scale=time_scale)
    metrics = Metrics()
    woken: list[set[str]] = []
    carrier_woken: list[bool] = []

    def wake(names: Iterable[str]) -> None:
        woken.append(set(names))

    events = EventFactory(topic=TOPIC, casing=DataCasing.CAMEL, router=EverySubscription())
    publisher = EventPublisher(metrics=metrics, wake=wake)
    as_store = cast(Store, store)
    inbox = Inbox(
        store=as_store,
        events=events,
        publisher=publisher,
        metrics=metrics,
        senders=resource_senders(settings),
        help_reply=settings.resource.help_reply,
    )
    carrier = InMemoryCarrier()
    dispatcher = CarrierDispatcher(
        store=as_store, carrier=carrier, inbox=inbox, events=events, publisher=publisher, clock=clock
    )
    messaging = Messaging(
        store=as_store,
        settings=settings,
        clock=clock,
        carrier=carrier,
        inbox=inbox,
        wake_carrier=lambda: carrier_woken.append(True),
        metrics=metrics,
    )
    await carrier.start(dispatcher)
    return Core(store, carrier, clock, metrics, messaging, dispatcher, inbox, publisher, woken, carrier_woken)
