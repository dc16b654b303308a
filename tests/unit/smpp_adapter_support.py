"""The SMPP carrier wired to the memory session fake, a manual clock, a sleep that only moves that clock, and a
sink that records what the core would commit. No socket, no timer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random
from typing import Any

from smsgrid.carrier.port import DeliveryReport, InboundSms, OutboundSms
from smsgrid.carrier.smpp.adapter import SmppCarrier
from smsgrid.carrier.smpp.session_memory import MemorySessionFactory
from smsgrid.carrier.smpp.session_port import InboundPdu, Tlv
from smsgrid.carrier.smpp.settings import SmppConnectionSettings
from smsgrid.clock import ManualClock

SENDER = "+18005550100"
HANDSET = "+14255550123"
OURS = "18005550100"


class ClockSleep:
    """asyncio.sleep's stand-in: records each wait and moves the manual clock by it instead of waiting."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.waits: list[float] = []
        self.gate: asyncio.Event | None = None  # when set: each wait also waits for the test to open it

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.gate is not None:
            await self.gate.wait()
        self.clock.advance(seconds)
        await asyncio.sleep(0)


@dataclass
class RecordingSink:
    reports: list[DeliveryReport] = field(default_factory=list)
    inbound_messages: list[InboundSms] = field(default_factory=list)
    failures: int = 0  # the next this many calls raise (the core could not commit)
    gate: asyncio.Event | None = None  # when set: each call waits for it (commit in progress)

    async def _maybe_fail(self) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise RuntimeError("store unavailable")

    async def delivery_report(self, report: DeliveryReport) -> None:
        await self._maybe_fail()
        self.reports.append(report)

    async def inbound(self, message: InboundSms) -> None:
        await self._maybe_fail()
        self.inbound_messages.append(message)


class MidRandom(Random):
    """Jitter at the top of its range (the schedule's ceiling shows) and weights drawn from a seed."""

    def uniform(self, a: float, b: float) -> float:
        return b


def connection(name: str = "acme-1", **overrides: Any) -> SmppConnectionSettings:
    values: dict[str, Any] = {"host": "127.0.0.1", "port": 2775, "system_id": "smsgrid", "tps": 1000.0}
    values.update(overrides)
    return SmppConnectionSettings(name=name, **values)


def message(body: str = "hello", to: str = HANDSET, sender: str = SENDER, **overrides: Any) -> OutboundSms:
    values: dict[str, Any] = {
        "message_id": "msg-1",
        "from_number": sender,
        "to_number": to,
        "body": body,
        "encoding": "GSM7",
        "segments": 1,
        "delivery_report": True,
        "report_timeout_seconds": None,
        "tag": None,
        "created_at": 1_700_000_000.0,
    }
    values.update(overrides)
    return OutboundSms(**values)


def deliver_sm(
    short_message: bytes = b"",
    *,
    esm_class: int = 0,
    data_coding: int = 0,
    source: str = "14255550123",
    source_ton: int = 1,
    destination: str = OURS,
    tlvs: tuple[Tlv, ...] = (),
) -> InboundPdu:
    return InboundPdu(
        command="deliver_sm",
        sequence_number=1,
        service_type="",
        source_addr=source,
        source_addr_ton=source_ton,
        source_addr_npi=1,
        destination_addr=destination,
        dest_addr_ton=1,
        dest_addr_npi=1,
        esm_class=esm_class,
        data_coding=data_coding,
        short_message=short_message,
        tlvs=tlvs,
    )


@dataclass
class Rig:
    carrier: SmppCarrier
    factory: MemorySessionFactory
    clock: ManualClock
    sleep: ClockSleep
    sink: RecordingSink

    async def settle(self, condition: Callable[[], bool] = lambda: True) -> None:
        """Let the connection tasks run until *condition* holds (yields only; nothing is timed)."""
        for _ in range(10_000):
            if condition():
                return
            await asyncio.sleep(0)
        raise AssertionError("the carrier's tasks never got there")

    async def bound(self, count: int = 1) -> None:
        await self.settle(lambda: sum(1 for s in self.factory.opened if s.is_open) >= count)


async def rig(
    *settings: SmppConnectionSettings,
    factory: MemorySessionFactory | None = None,
    seed: int = 7,
    start: bool = True,
    **options: Any,
) -> Rig:
    clock = ManualClock()
    sleep = ClockSleep(clock)
    factory = factory or MemorySessionFactory()
    carrier = SmppCarrier(
        settings or (connection(),),
        clock=clock,
        session_factory=factory,
        sleep=sleep,
        random=MidRandom(seed),
        **options,
    )
    sink = RecordingSink()
    made = Rig(carrier, factory, clock, sleep, sink)
    if start:
        await carrier.start(sink)
    return made
