"""The SMPP carrier: `[[carrier.smpp]]` connections behind the carrier port (skeleton; issue 14 fills it in)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from smsgrid.carrier.port import (
    CarrierNews,
    CarrierSink,
    ConnectionStatus,
    OutboundSms,
    RecipientRefusal,
    SubmitOutcome,
)
from smsgrid.carrier.smpp.session_port import SessionFactory
from smsgrid.carrier.smpp.settings import SmppConnectionSettings


class TimeSource(Protocol):
    def now(self) -> float: ...


class SmppCarrier:
    """Every `[[carrier.smpp]]` connection, routed and failed over, as one carrier."""

    submits_reach_network = True

    def __init__(
        self,
        connections: Sequence[SmppConnectionSettings],
        *,
        clock: TimeSource,
        session_factory: SessionFactory | None = None,
    ) -> None:
        self._settings = tuple(connections)
        self._clock = clock
        self._session_factory = session_factory

    def connections(self) -> tuple[ConnectionStatus, ...]:
        raise NotImplementedError

    def refusal(self, to_number: str) -> RecipientRefusal | None:
        raise NotImplementedError

    async def start(self, sink: CarrierSink) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def submit(self, message: OutboundSms) -> SubmitOutcome:
        raise NotImplementedError

    async def poll(self, message: OutboundSms, reference: str, now: float) -> CarrierNews:
        raise NotImplementedError
