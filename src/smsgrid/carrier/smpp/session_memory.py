"""An in-memory SMPP session factory for tests: records submits, answers as scripted, pushes inbound PDUs.

The session port's fake, as carrier/memory.py is the carrier port's: the adapter's routing, throughput,
receipts and reassembly are tested against it with no socket and no timer.

- `MemorySessionFactory.binds`: what `open` does next, in order (`BindRefused`, `ConnectFailed` or any
  exception is raised; anything else binds); once empty, every open binds.
- `answers`: what the next `submit` (on any session of the factory) answers, in order: a command_status (an
  id `m<n>` is made up for status 0), a `SubmitResponse`, an exception (`NotSent`, `ResponseLost`,
  `GenericNack`…, raised), or a `HeldAnswer` the test releases later (receipts before responses). Once empty,
  every submit is accepted.
- `MemorySession.push(pdu)` hands a deliver_sm to the adapter's handler and returns the command_status the
  handler gave (what the session would send in deliver_sm_resp). `drop(reason)` ends the session from the
  network's side.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from smsgrid.carrier.smpp.session_port import (
    BindMode,
    InboundHandler,
    InboundPdu,
    NotSent,
    SessionTarget,
    SubmitResponse,
    SubmitSmFields,
)


@dataclass(eq=False)
class HeldAnswer:
    """An answer the test gives later: `release(answer)` with a status, a response or an exception."""

    submitted: asyncio.Event = field(default_factory=asyncio.Event)
    _answer: asyncio.Future[int | SubmitResponse | BaseException] | None = None

    def _future(self) -> asyncio.Future[int | SubmitResponse | BaseException]:
        if self._answer is None:
            self._answer = asyncio.get_running_loop().create_future()
        return self._answer

    def release(self, answer: int | SubmitResponse | BaseException) -> None:
        self._future().set_result(answer)


Scripted = int | SubmitResponse | BaseException | HeldAnswer


@dataclass(frozen=True, slots=True)
class SubmitRecord:
    session: MemorySession
    fields: SubmitSmFields
    sequence_number: int


class MemorySession:
    def __init__(self, factory: MemorySessionFactory, target: SessionTarget, handler: InboundHandler) -> None:
        self.factory = factory
        self.target = target
        self.handler = handler
        self.in_flight = 0
        self.unbound = False
        self.close_reason: str | None = None
        self._closed = asyncio.Event()

    @property
    def bind(self) -> BindMode:
        return self.target.bind

    @property
    def window_in_use(self) -> int:
        return self.in_flight

    @property
    def is_open(self) -> bool:
        return self.close_reason is None

    async def submit(self, fields: SubmitSmFields) -> SubmitResponse:
        if not self.is_open:
            raise NotSent("session closed")
        sequence = self.factory.next_sequence()
        self.factory.submits.append(SubmitRecord(self, fields, sequence))
        scripted: Scripted = self.factory.answers.popleft() if self.factory.answers else 0
        self.in_flight += 1
        try:
            if isinstance(scripted, HeldAnswer):
                scripted.submitted.set()
                scripted = await scripted._future()
        finally:
            self.in_flight -= 1
        if isinstance(scripted, BaseException):
            raise scripted
        if isinstance(scripted, SubmitResponse):
            return scripted
        message_id = f"m{sequence}" if scripted == 0 else None
        return SubmitResponse(scripted, message_id, sequence)

    async def unbind(self) -> None:
        self.unbound = True
        self.drop("unbound by us")

    async def wait_closed(self) -> str:
        await self._closed.wait()
        return self.close_reason or ""

    def drop(self, reason: str = "connection lost") -> None:
        if self.close_reason is None:
            self.close_reason = reason
            self._closed.set()

    async def push(self, pdu: InboundPdu) -> int:
        """The SMSC sends *pdu*; the command_status of the deliver_sm_resp the session would send."""
        return await self.handler(pdu)


@dataclass
class MemorySessionFactory:
    binds: deque[BaseException | None] = field(default_factory=deque)
    answers: deque[Scripted] = field(default_factory=deque)
    opened: list[MemorySession] = field(default_factory=list)
    submits: list[SubmitRecord] = field(default_factory=list)
    open_attempts: int = 0
    _sequence: int = 0
    bound: asyncio.Event = field(default_factory=asyncio.Event)  # set at each successful open

    def next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    async def open(self, target: SessionTarget, on_inbound: InboundHandler) -> MemorySession:
        self.open_attempts += 1
        outcome = self.binds.popleft() if self.binds else None
        if outcome is not None:
            raise outcome
        session = MemorySession(self, target, on_inbound)
        self.opened.append(session)
        self.bound.set()
        return session

    def live(self, bind: BindMode | None = None) -> MemorySession:
        """The newest open session (of *bind*, when given)."""
        for session in reversed(self.opened):
            if session.is_open and (bind is None or session.bind is bind):
                return session
        raise LookupError(f"no open {bind or ''} session")
