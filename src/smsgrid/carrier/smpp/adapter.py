"""The SMPP carrier: every `[[carrier.smpp]]` connection behind the carrier port, routed and failed over.

- `submit`: the candidates by route (routing.py), in priority and weight order; the first that can send now
  (TX bound, not paused by throttling) gets the message (connection.py). A connection that did not take any
  of it (not bound, ESME_RSYSERR / ESME_RINVBNDSTS as an answer, throttled past the bounded wait) hands it to
  the next; nothing of it went out, so nothing is sent twice. If none takes it, `submit` raises
  `NoConnectionAvailable`: the port's "not sent", the core keeps it queued and tries again later.
- Outcomes: `Accepted` with each part's id and the timeline notes; `Refused(code)` for a refused first part;
  `Unknown` when an answer was lost, or when a part was refused or not taken after earlier parts went out —
  never re-sent.
- Receipts and handsets' messages come in through each connection's `InboundDesk` (inbound.py), acknowledged
  only after the core's sink returned. SMPP pushes, so `poll` has nothing to add (no query_sm).
- A housekeeping task gives up on incomplete handsets' messages after the reassembly timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import logging
from collections.abc import Sequence
from random import Random
from typing import cast

from smsgrid.carrier.port import (
    CarrierNews,
    CarrierNote,
    CarrierSink,
    CarrierUnavailable,
    ConnectionStatus,
    OutboundSms,
    RecipientRefusal,
    SubmitOutcome,
)
from smsgrid.carrier.smpp import routing
from smsgrid.carrier.smpp.connection import Sleep, SmppConnection, TimeSource, TryNext
from smsgrid.carrier.smpp.session_port import SessionFactory
from smsgrid.carrier.smpp.settings import SmppConnectionSettings

logger = logging.getLogger(__name__)

__all__ = ["NoConnectionAvailable", "SmppCarrier", "TimeSource"]


class NoConnectionAvailable(CarrierUnavailable):
    """No connection could take the message now (none bound, or each declined it): not sent, try later."""


class SmppCarrier:
    """Every `[[carrier.smpp]]` connection, routed and failed over, as one carrier."""

    submits_reach_network = True

    def __init__(
        self,
        connections: Sequence[SmppConnectionSettings],
        *,
        clock: TimeSource,
        session_factory: SessionFactory | None = None,
        sleep: Sleep = asyncio.sleep,
        random: Random | None = None,
        throttle_wait_seconds: float = 30.0,
        mo_part_ack_hold_seconds: float = 2.0,
    ) -> None:
        """*sleep* and *random* are seams for tests (reconnect and throttling waits, jitter and weights).
        *throttle_wait_seconds* bounds how long one message waits for a throttled connection before trying the
        next; *mo_part_ack_hold_seconds* how long a part of an incomplete handset message waits for the whole to
        be committed before it is acknowledged anyway (inbound.py says why)."""
        self._settings = tuple(connections)
        names = [settings.name for settings in self._settings]
        if len(set(names)) != len(names):
            raise ValueError(f"SMPP connection names must be unique: {names}")
        self._clock = clock
        self._session_factory = session_factory
        self._sleep = sleep
        self._random = random or Random()  # jitter and weights, not secrets
        self._links = {
            settings.name: SmppConnection(
                settings,
                clock=clock,
                sleep=sleep,
                random=self._random,
                throttle_wait_seconds=throttle_wait_seconds,
                hold_seconds=mo_part_ack_hold_seconds,
            )
            for settings in self._settings
        }
        self._routes = tuple(
            routing.RouteEntry(settings.name, settings.routes, settings.weight) for settings in self._settings
        )
        self._housekeeping: asyncio.Task[None] | None = None

    def connections(self) -> tuple[ConnectionStatus, ...]:
        now = self._clock.now()
        return tuple(link.status(now) for link in self._links.values())

    def refusal(self, to_number: str) -> RecipientRefusal | None:
        """A 503 inside the 202 when this recipient cannot be carried: no connection has a route for it, or every
        one that has has been down longer than its connect timeout. That is ACS's per-recipient answer when it
        cannot take a message (ServiceUnavailable), and nothing is stored for it, so no 202 promises a message
        that would only wait in the queue for a link that is not there. A short outage (a reconnect) is not
        refused: those messages wait in the core's queue and go when the link is back."""
        matching = routing.matching(self._routes, to_number)
        if not matching:
            return RecipientRefusal()
        now = self._clock.now()
        for entry in matching:
            link = self._links[entry.name]
            if link.down_for(now) <= link.settings.connect_timeout_seconds:
                return None
        return RecipientRefusal()

    async def start(self, sink: CarrierSink) -> None:
        factory = self._session_factory
        if factory is None:
            # Imported when needed: the adapter (and its tests, on the memory fake) need not load the wire code.
            session_module = importlib.import_module("smsgrid.carrier.smpp.session")
            factory = cast(SessionFactory, session_module.StreamSessionFactory())
        for link in self._links.values():
            link.desk.sink = sink
            link.start(factory)
        self._housekeeping = asyncio.create_task(self._expire_incomplete_forever(), name="smpp reassembly expiry")

    async def stop(self) -> None:
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
            self._housekeeping = None
        await asyncio.gather(*(link.stop() for link in self._links.values()))

    async def submit(self, message: OutboundSms) -> SubmitOutcome:
        names = routing.candidates(self._routes, message.to_number, message.from_number, self._random.random)
        declined: list[str] = []
        notes: list[CarrierNote] = []
        for name in names:
            link = self._links[name]
            now = self._clock.now()
            if not link.can_send(now):
                declined.append(link.why_not_sending(now))
                continue
            result = await link.send(message)
            if isinstance(result, TryNext):
                declined.append(result.reason)
                notes.extend(result.notes)
                continue
            if notes:  # what the connections before this one did goes on the timeline too
                return dataclasses.replace(result, notes=(*notes, *result.notes))
            return result
        reason = "; ".join(declined) if declined else "no connection has a route for it"
        raise NoConnectionAvailable(f"message {message.message_id} not sent: {reason}")

    async def poll(self, message: OutboundSms, reference: str, now: float) -> CarrierNews:
        """SMPP pushes its receipts; there is nothing to ask (no query_sm)."""
        return CarrierNews()

    async def expire_incomplete(self) -> int:
        """Deliver handsets' messages whose parts stopped coming before the reassembly timeout; how many."""
        now = self._clock.now()
        delivered = 0
        for link in self._links.values():
            delivered += await link.desk.expire(now)
        return delivered

    async def _expire_incomplete_forever(self) -> None:
        # A tenth of the shortest timeout: a message is given up at most 10 % late; between 1 s and a minute.
        timeout = min((s.reassembly_timeout_seconds for s in self._settings), default=600.0)
        interval = min(60.0, max(1.0, timeout / 10))
        while True:
            await asyncio.sleep(interval)  # not the test seam: tests call expire_incomplete themselves
            try:
                await self.expire_incomplete()
            except Exception:
                logger.exception("giving up on incomplete handset messages failed; trying again")
