"""One configured `[[carrier.smpp]]` connection: its session(s), reconnects, throughput, and submits.

- **Sessions**: `transceiver` runs one TRX session; `transmitter_receiver` a TX and an RX session, each with
  its own task and back-off, reported as one connection ("sending" when TX is bound, "receiving" when RX is).
- **Reconnect** (`Backoff`, pure): capped exponential back-off with full jitter (1 s doubling to 60 s by
  default), reset after a session that stayed bound 60 s. A refused bind (wrong password, unknown system_id)
  waits the cap at once and says so in the state: a wrong password must not hammer the SMSC.
- **Submits** (`send`): a message's parts go one after the other on the TX session, each taking a token of the
  connection's `Throughput` and waiting for its answer before the next (so a refusal of part 1 stops the rest).
  A semaphore of `window` permits bounds the messages in progress: each holds at most one PDU outstanding, so
  a message never stalls half-way behind other messages' PDUs in the session's window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from random import Random
from typing import Protocol

from smsgrid.carrier.port import (
    Accepted,
    CarrierNote,
    ConnectionStatus,
    OutboundSms,
    Refused,
    SubmitOutcome,
    Unknown,
)
from smsgrid.carrier.smpp.inbound import Correlation, InboundDesk
from smsgrid.carrier.smpp.outbound import UnsendableMessage, address_policy, encoding_preference, submit_sm_parts
from smsgrid.carrier.smpp.protocol import CommandStatus
from smsgrid.carrier.smpp.session_port import (
    BindMode,
    BindRefused,
    GenericNack,
    NotSent,
    SessionFactory,
    SessionTarget,
    SmppSession,
    SubmitSmFields,
)
from smsgrid.carrier.smpp.settings import SmppConnectionSettings
from smsgrid.carrier.smpp.status_map import SubmitAction, SubmitVerdict, submit_verdict
from smsgrid.carrier.smpp.throughput import Throughput

logger = logging.getLogger(__name__)

# A receipt ahead of its submit_sm_resp waits at most this long for it. Short on purpose: a session reads no
# further PDUs while all its inbound slots (its window) are taken by waiting handlers, and the responses it
# would read are the ones such receipts wait for; a wait well under the response timer cannot turn a stalled
# reader into lost responses (unknown outcomes). Past it, the receipt names its id as written.
RECEIPT_WAIT_MAX_SECONDS = 5.0
RESET_AFTER_SECONDS = 60.0  # a session bound this long proves the SMSC well again: the back-off starts over
UNBIND_TIMEOUT_SECONDS = 5.0

Sleep = Callable[[float], Awaitable[None]]


class TimeSource(Protocol):
    def now(self) -> float: ...


def receipt_wait_seconds(response_timeout: float) -> float:
    return min(RECEIPT_WAIT_MAX_SECONDS, response_timeout / 4)


@dataclass(slots=True)
class Backoff:
    """The reconnect schedule of one session. Pure: the jitter's randomness is passed in."""

    min_seconds: float = 1.0
    max_seconds: float = 60.0
    failures: int = 0

    def next_delay(self, *, refused: bool, uniform: Callable[[float, float], float]) -> float:
        """The wait before the next connect after a failure (or a session that ended)."""
        self.failures += 1
        if refused:
            return self.max_seconds
        ceiling = min(self.max_seconds, self.min_seconds * 2 ** min(self.failures - 1, 32))
        return uniform(0.0, ceiling)  # "full jitter": binds of many ESMEs do not line up after an SMSC restart

    def session_ended(self, up_seconds: float) -> None:
        if up_seconds >= RESET_AFTER_SECONDS:
            self.failures = 0


@dataclass(slots=True)
class _Side:
    """One session of the connection (the TRX, or the TX or the RX) and its state."""

    mode: BindMode
    backoff: Backoff
    state: str = "connecting"
    since: float | None = None
    session: SmppSession | None = None
    last_error: str | None = None
    next_attempt_at: float | None = None
    binds: int = 0

    @property
    def bound(self) -> bool:
        return self.session is not None and self.session.is_open


@dataclass(frozen=True, slots=True)
class TryNext:
    """This connection did not take the message (not bound, failover verdict, throttled too long): nothing of it
    went out, so another connection may carry it."""

    reason: str
    notes: tuple[CarrierNote, ...] = ()


@dataclass(slots=True)
class _Progress:
    """A message's parts so far on this connection."""

    total: int
    accepted: list[str] = field(default_factory=list)
    notes: list[CarrierNote] = field(default_factory=list)


class SmppConnection:
    def __init__(
        self,
        settings: SmppConnectionSettings,
        *,
        clock: TimeSource,
        sleep: Sleep,
        random: Random,
        throttle_wait_seconds: float,
        hold_seconds: float,
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self._clock = clock
        self._sleep = sleep
        self._random = random
        self._throttle_wait = throttle_wait_seconds
        self._preference = encoding_preference(settings)
        self._policy = address_policy(settings)
        self.throughput = Throughput(settings.tps)
        self.correlation = Correlation()
        self.desk = InboundDesk(
            settings.name,
            clock=clock,
            correlation=self.correlation,
            policy=self._policy,
            gsm7_form=settings.gsm7_form,
            reassembly_timeout=settings.reassembly_timeout_seconds,
            receipt_wait_seconds=receipt_wait_seconds(settings.response_timeout_seconds),
            hold_seconds=hold_seconds,
        )
        modes = (
            (BindMode.TRANSMITTER, BindMode.RECEIVER)
            if settings.bind == "transmitter_receiver"
            else (BindMode.TRANSCEIVER,)
        )
        self._sides = tuple(
            _Side(mode, Backoff(settings.reconnect_min_seconds, settings.reconnect_max_seconds)) for mode in modes
        )
        self._messages = asyncio.Semaphore(max(1, settings.window))
        self._reference = random.randrange(0x10000)  # the long-message reference; SMSCs keep theirs per ESME
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._down_since = clock.now()
        self.submitted_total = 0
        self.throttled_total = 0
        self.unknown_outcomes_total = 0
        self.reconnects_total = 0

    # --- state ------------------------------------------------------------------------------------------------

    @property
    def _tx(self) -> _Side:
        return self._sides[0]

    @property
    def _rx(self) -> _Side:
        return self._sides[-1]

    def can_send(self, now: float) -> bool:
        return self._tx.bound and not self.throughput.paused(now)

    def why_not_sending(self, now: float) -> str:
        if not self._tx.bound:
            return f"{self.name}: not bound ({self._tx.state})"
        return f"{self.name}: paused by throttling until {self.throughput.paused_until:.0f}"

    def down_for(self, now: float) -> float:
        """How long the TX side has not been bound (0 while it is)."""
        return 0.0 if self._tx.bound else max(0.0, now - self._down_since)

    def status(self, now: float) -> ConnectionStatus:
        sides = self._sides
        if self._stopping:
            state = "stopped"
        elif any(side.state == "bind_refused" for side in sides):
            state = "bind_refused"
        elif all(side.bound for side in sides):
            state = "bound"
        elif any(side.state == "backing_off" for side in sides):
            state = "backing_off"
        else:
            state = "connecting"
        waiting = [side.next_attempt_at for side in sides if side.next_attempt_at is not None]
        errors = [side.last_error for side in sides if side.last_error]
        tx_session = self._tx.session
        return ConnectionStatus(
            name=self.name,
            kind="smpp",
            state=state,
            bind=self.settings.bind,
            sending=self.can_send(now),
            receiving=self._rx.bound,
            window_in_use=tx_session.window_in_use if tx_session is not None and tx_session.is_open else 0,
            window_size=self.settings.window,
            tps_limit=self.throughput.rate(now),
            tps_configured=self.settings.tps,
            submitted_total=self.submitted_total,
            throttled_total=self.throttled_total,
            unknown_outcomes_total=self.unknown_outcomes_total,
            receipts_total=self.desk.receipts_total,
            inbound_total=self.desk.inbound_total,
            reconnects_total=self.reconnects_total,
            last_error=errors[-1] if errors else None,
            next_attempt_at=min(waiting) if waiting and state != "bound" else None,
            since=max((side.since for side in sides if side.since is not None), default=None),
        )

    # --- sessions ---------------------------------------------------------------------------------------------

    def target(self, mode: BindMode) -> SessionTarget:
        s = self.settings
        return SessionTarget(
            host=s.host,
            port=s.port,
            system_id=s.system_id,
            password=s.password.get_secret_value(),
            system_type=s.system_type,
            bind=mode,
            tls=s.tls,
            tls_ca_file=s.tls_ca_file,
            window=s.window,
            connect_timeout=s.connect_timeout_seconds,
            response_timeout=s.response_timeout_seconds,
            enquire_link_interval=s.enquire_link_seconds,
        )

    def start(self, factory: SessionFactory) -> None:
        self._stopping = False
        self._down_since = self._clock.now()
        for side in self._sides:
            self._tasks.append(asyncio.create_task(self._run(side, factory), name=f"smpp {self.name} {side.mode}"))

    async def stop(self) -> None:
        """Unbind every session (bounded) and end the tasks; held inbound parts are answered "try again"."""
        self._stopping = True
        for side in self._sides:
            session = side.session
            if session is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(session.unbind(), UNBIND_TIMEOUT_SECONDS)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self.desk.release_held()
        for side in self._sides:
            side.session = None
            side.state = "stopped"
            side.since = self._clock.now()

    def _enter(self, side: _Side, state: str) -> None:
        if side.state != state:
            side.state = state
            side.since = self._clock.now()

    async def _run(self, side: _Side, factory: SessionFactory) -> None:
        """Bind, wait for the session to end, back off, bind again — until stopped."""
        while not self._stopping:
            self._enter(side, "connecting")
            side.next_attempt_at = None
            refused = False
            try:
                session = await factory.open(self.target(side.mode), self.desk.handle)
            except BindRefused as error:
                refused = True
                side.last_error = f"bind refused: {error}"
                logger.error(
                    "SMPP %s %s: %s; next try in %.0f s", self.name, side.mode, error, side.backoff.max_seconds
                )
            except Exception as error:  # ConnectFailed, or anything the network throws at a connect
                side.last_error = f"connect failed: {error}"
                logger.warning("SMPP %s %s: connect failed: %s", self.name, side.mode, error)
            else:
                await self._bound(side, session)
                if self._stopping:
                    return
            delay = side.backoff.next_delay(refused=refused, uniform=self._random.uniform)
            side.next_attempt_at = self._clock.now() + delay
            self._enter(side, "bind_refused" if refused else "backing_off")
            await self._sleep(delay)

    async def _bound(self, side: _Side, session: SmppSession) -> None:
        side.session = session
        side.binds += 1
        if side.binds > 1:
            self.reconnects_total += 1
        bound_at = self._clock.now()
        self._enter(side, "bound")
        side.last_error = None
        logger.info("SMPP %s bound as %s", self.name, side.mode)
        try:
            reason = await session.wait_closed()
        finally:
            side.session = None
            if side is self._tx:
                self._down_since = self._clock.now()
        side.backoff.session_ended(self._clock.now() - bound_at)
        if not self._stopping:
            side.last_error = f"session ended: {reason}"
            logger.warning("SMPP %s %s session ended: %s", self.name, side.mode, reason)

    # --- submits ----------------------------------------------------------------------------------------------

    def _next_reference(self) -> int:
        self._reference = (self._reference + 1) & 0xFFFF
        return self._reference

    async def send(self, message: OutboundSms) -> SubmitOutcome | TryNext:
        """Submit every part of *message* here (see the module docstring for what each answer leads to)."""
        async with self._messages:
            try:
                parts = submit_sm_parts(message, self._preference, self._policy, self._next_reference())
            except UnsendableMessage as error:
                return Refused(error.code, str(error))
            progress = _Progress(len(parts))
            waited = 0.0
            for number, fields in enumerate(parts, start=1):
                while True:
                    session = self._tx.session
                    if session is None or not session.is_open:
                        return self._not_taken(progress, number, "not bound")
                    now = self._clock.now()
                    delay = self.throughput.take(now)
                    if delay > 0:
                        if waited + delay > self._throttle_wait:
                            return self._not_taken(progress, number, f"throttled for over {self._throttle_wait:.0f} s")
                        waited += delay
                        await self._sleep(delay)
                        continue
                    label = f"part {number}/{progress.total}"
                    progress.notes.append(CarrierNote(now, f"submit_sm {label} on {self.name}"))
                    decided = await self._submit_one(
                        session, fields, label=label, progress=progress, fallback_id=f"{message.message_id}#{number}"
                    )
                    if decided is None:  # accepted: the next part
                        break
                    if decided.action is SubmitAction.BACK_OFF:
                        self.throttled_total += 1
                        self.throughput.throttled(self._clock.now())
                        continue  # the SMSC did not take it: the same part again, once the pause is over
                    if decided.action is SubmitAction.UNKNOWN:
                        return self._unknown(progress, number, "no answer to the submit_sm (response lost)")
                    if decided.action is SubmitAction.FAILOVER:
                        return self._not_taken(progress, number, "failover answer")
                    assert decided.code is not None
                    if progress.accepted:
                        return self._unknown(progress, number, f"part {number} refused after earlier parts were taken")
                    return Refused(decided.code, None, tuple(progress.notes))
            first = progress.accepted[0]
            references = tuple(progress.accepted) if progress.total > 1 else ()
            return Accepted(first, part_references=references, notes=tuple(progress.notes))

    async def _submit_one(
        self, session: SmppSession, fields: SubmitSmFields, *, label: str, progress: _Progress, fallback_id: str
    ) -> SubmitVerdict | None:
        """One submit_sm; None when accepted (its id appended), else the verdict."""
        self.correlation.submitting()
        accepted_id: str | None = None
        try:
            response = await session.submit(fields)
        except NotSent:
            self.correlation.answered(None)
            progress.notes.append(CarrierNote(self._clock.now(), f"submit_sm {label} not sent on {self.name}"))
            return SubmitVerdict(SubmitAction.FAILOVER)
        except GenericNack as nack:
            self.correlation.answered(None)
            self.submitted_total += 1
            progress.notes.append(
                CarrierNote(self._clock.now(), f"generic_nack {label} on {self.name}: {_status(nack.command_status)}")
            )
            if nack.command_status == CommandStatus.ESME_ROK:  # nonsense from the SMSC, but still "not taken"
                return SubmitVerdict(SubmitAction.FAILOVER)
            return submit_verdict(nack.command_status)
        except Exception as error:
            # ResponseLost (or anything the port did not promise): written, or maybe written, and no answer. The
            # SMSC may have taken it, so it is never sent again.
            self.correlation.answered(None)
            self.submitted_total += 1
            self.unknown_outcomes_total += 1
            progress.notes.append(
                CarrierNote(self._clock.now(), f"submit_sm {label} on {self.name}: no answer ({error})")
            )
            return SubmitVerdict(SubmitAction.UNKNOWN)
        self.submitted_total += 1
        verdict = submit_verdict(response.command_status)
        if verdict.action is SubmitAction.ACCEPTED:
            # An SMSC that answers ROK with no id leaves nothing to match receipts with; the reference is ours.
            accepted_id = response.message_id or fallback_id
            progress.accepted.append(accepted_id)
        if verdict.action is SubmitAction.ACCEPTED and fields.registered_delivery:
            self.correlation.answered(accepted_id)
        else:
            self.correlation.answered(None)
        progress.notes.append(
            CarrierNote(
                self._clock.now(),
                f"submit_sm_resp {label} seq {response.sequence_number} on {self.name}: "
                f"{_status(response.command_status)}" + (f" id {response.message_id}" if response.message_id else ""),
            )
        )
        return None if verdict.action is SubmitAction.ACCEPTED else verdict

    def _not_taken(self, progress: _Progress, number: int, reason: str) -> TryNext | Unknown:
        """Part *number* was not taken: another connection may carry the message only if no part went out."""
        if not progress.accepted:
            return TryNext(f"{self.name}: {reason}", tuple(progress.notes))
        return self._unknown(progress, number, f"part {number} not taken ({reason}) after earlier parts were")

    def _unknown(self, progress: _Progress, number: int, reason: str) -> Unknown:
        taken = ", ".join(progress.accepted) or "none"
        return Unknown(
            f"{reason} on {self.name}; part {number}/{progress.total}; parts taken: {taken}; not re-sent",
            tuple(progress.notes),
        )


def _status(command_status: int) -> str:
    try:
        return f"{CommandStatus(command_status).name} (0x{command_status:08X})"
    except ValueError:
        return f"0x{command_status:08X}"
