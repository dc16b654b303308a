"""One bound SMPP 3.4 ESME session over asyncio streams: the `session_port.SmppSession` the adapter uses.

Tasks: one reader (which also runs the close sequence), one keep-alive, and one per inbound deliver_sm / data_sm
being handled — at most `window` of those; while they are all busy the reader stops reading, so a flood of PDUs
waits in the SMSC rather than in memory. A submit creates no task: it waits on a future keyed by its sequence
number, which the reader resolves. PDUs written in one turn of the event loop leave in one `write` (one system
call for a burst of submits instead of one each); a writer waits for drain only once the transport's buffer is
past `_DRAIN_ABOVE` (the window already bounds what can be queued).

The window counts submit_sm only: the keep-alive's enquire_link never queues behind a full window of slow
submits (a link check that waits for the traffic it checks would prove nothing).

Closing, for whatever reason, goes through `_begin_close` (idempotent): no more submits (NotSent), requests
still in the outbox never left (NotSent), the answers still awaited are lost (ResponseLost), the transport
closes and the reader runs `_finish`, which lets handlers in flight finish (bounded), stops the other tasks and
sets `wait_closed`. Nothing is ever retried here.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import deque
from dataclasses import dataclass

from smsgrid.carrier.smpp.pdus import (
    BIND_COMMAND,
    DATA_SM,
    DELIVER_SM,
    ENQUIRE_LINK,
    ENQUIRE_LINK_RESP,
    GENERIC_NACK,
    HEADER_LENGTH,
    RESPONSE_BIT,
    SUBMIT_SM_RESP,
    UNBIND,
    UNBIND_RESP,
    MalformedPdu,
    PduHeader,
    encode_bind,
    encode_generic_nack,
    encode_pdu,
    encode_response,
    encode_submit_sm,
    next_sequence,
    parse_data_sm,
    parse_deliver_sm,
    parse_header,
    parse_message_id,
)
from smsgrid.carrier.smpp.protocol import CommandStatus
from smsgrid.carrier.smpp.session_port import (
    ESME_RX_T_APPN,
    BindMode,
    BindRefused,
    ConnectFailed,
    GenericNack,
    InboundHandler,
    InboundPdu,
    NotSent,
    ResponseLost,
    SessionError,
    SessionTarget,
    SubmitResponse,
    SubmitSmFields,
)

log = logging.getLogger("smsgrid.carrier.smpp")

_DRAIN_ABOVE = 64 * 1024  # octets waiting in the transport before a writer waits for the socket
_CLOSE_WAIT = 2.0  # seconds to wait for the transport to finish closing (a TLS close_notify may go unanswered)


# Inbound PDUs being handled at once, per session (at least the window); past it the reader waits.
INBOUND_HANDLERS = 64


class _Expired(Exception):
    """A request's response timer ran out (internal: `_request` turns it into ResponseLost)."""


def _expire(answer: asyncio.Future[_Answer]) -> None:
    if not answer.done():
        answer.set_exception(_Expired())


@dataclass(frozen=True, slots=True)
class _Answer:
    command_id: int
    command_status: int
    body: bytes


class _Window:
    """Slots for outstanding submit_sm, granted in arrival order; `fail` turns every waiter into NotSent."""

    def __init__(self, size: int) -> None:
        self._size = size
        self.in_use = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._refusal: str | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    async def acquire(self) -> None:
        if self._refusal is not None:
            raise NotSent(self._refusal)
        if self.in_use < self._size and not self._waiters:
            self._take()
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.release()  # granted just as the caller was cancelled: hand the slot on
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise

    def _take(self) -> None:
        self.in_use += 1
        self._idle.clear()

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes straight on: in_use does not change
                return
        self.in_use -= 1
        if self.in_use == 0:
            self._idle.set()

    def fail(self, reason: str) -> None:
        self._refusal = reason
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(NotSent(reason))

    async def wait_idle(self, timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            pass


class StreamSession:
    """A bound session; made by `StreamSessionFactory.open`, never directly."""

    def __init__(
        self,
        target: SessionTarget,
        on_inbound: InboundHandler,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        first_sequence: int,
    ) -> None:
        self._target = target
        self._on_inbound = on_inbound
        self._reader = reader
        self._writer = writer
        self._sequence = first_sequence
        self._loop = asyncio.get_running_loop()
        self._window = _Window(target.window)
        # Handlers may wait (a receipt for its submit's answer, a part for the rest of its message): their own
        # bounded pool, larger than the submit window, so they rarely stop the reader from reading submit answers.
        self._inbound_slots = asyncio.Semaphore(max(target.window, INBOUND_HANDLERS))
        self._inbound_tasks: set[asyncio.Task[None]] = set()
        self._pending: dict[int, tuple[int, asyncio.Future[_Answer]]] = {}
        # PDUs waiting for this turn's write: (sequence of a request, or None for a response, PDU)
        self._outbox: list[tuple[int | None, bytes]] = []
        self._flush_scheduled = False
        self._stopping: str | None = None  # set: no more submits
        self._close_reason: str | None = None  # set: closing or closed
        self._unbind_sent = False
        self._closed = asyncio.Event()
        self._last_heard = self._loop.time()
        self._name = f"{target.system_id}@{target.host}:{target.port}"
        self._reader_task = asyncio.create_task(self._read_loop(), name=f"smpp-reader {self._name}")
        self._keepalive_task = asyncio.create_task(self._keep_alive(), name=f"smpp-keepalive {self._name}")

    @property
    def bind(self) -> BindMode:
        return self._target.bind

    @property
    def window_in_use(self) -> int:
        return self._window.in_use

    @property
    def is_open(self) -> bool:
        """Bound and taking submits."""
        return self._stopping is None

    # --- submit -------------------------------------------------------------------------------------------

    async def submit(self, fields: SubmitSmFields) -> SubmitResponse:
        if self._stopping is not None:
            raise NotSent(self._stopping)
        if self._target.bind is BindMode.RECEIVER:
            raise NotSent("a receiver session cannot submit (SMPP 3.4 §2.2)")
        await self._window.acquire()
        try:
            if self._stopping is not None:
                raise NotSent(self._stopping)
            sequence = self._take_sequence()
            answer = await self._request(encode_submit_sm(fields, sequence), sequence, SUBMIT_SM_RESP, "submit_sm")
        finally:
            self._window.release()
        if answer.command_id == GENERIC_NACK:
            raise GenericNack(answer.command_status)
        message_id = parse_message_id(answer.body) if answer.command_status == CommandStatus.ESME_ROK else None
        return SubmitResponse(answer.command_status, message_id, sequence)

    def _take_sequence(self) -> int:
        sequence = self._sequence
        self._sequence = next_sequence(sequence)
        return sequence

    async def _request(self, pdu: bytes, sequence: int, expected: int, what: str) -> _Answer:
        """Write a request and wait for its response (or a generic_nack with its sequence)."""
        if self._close_reason is not None or self._writer.is_closing():
            raise NotSent(self._close_reason or "the connection is closed")
        answer: asyncio.Future[_Answer] = self._loop.create_future()
        self._pending[sequence] = (expected, answer)
        timeout = self._target.response_timeout
        # One plain timer per request (asyncio.timeout costs about twice as much, and this runs per submit).
        timer = self._loop.call_later(timeout, _expire, answer)
        try:
            self._queue(pdu, sequence)
            # Once written the PDU may have reached the SMSC: every failure is then ResponseLost. (A close before
            # the write fails the future with NotSent, in _begin_close.)
            try:
                if self._writer.transport.get_write_buffer_size() > _DRAIN_ABOVE:
                    async with asyncio.timeout(timeout):
                        await self._writer.drain()
                return await answer
            except (TimeoutError, _Expired):
                raise ResponseLost(f"no answer to {what} within {timeout} s") from None
            except ConnectionError as exc:
                raise ResponseLost(f"the connection failed after {what} was written: {exc}") from exc
        finally:
            timer.cancel()
            self._pending.pop(sequence, None)

    def _send(self, pdu: bytes) -> None:
        """Write a response; dropped when the connection is gone (the SMSC then sends the request again)."""
        if self._close_reason is None and not self._writer.is_closing():
            self._queue(pdu, None)

    def _queue(self, pdu: bytes, request_sequence: int | None) -> None:
        self._outbox.append((request_sequence, pdu))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        # A transport already closing has lost its connection: what waits here never left, and the reader is
        # about to close the session, which reports those requests as NotSent.
        if self._outbox and not self._writer.is_closing():
            self._writer.write(b"".join(pdu for _, pdu in self._outbox))
            self._outbox.clear()

    # --- reading ------------------------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        reason = "the SMSC closed the connection"
        try:
            while True:
                try:
                    head = await self._reader.readexactly(HEADER_LENGTH)
                    header = parse_header(head)
                    body = await self._reader.readexactly(header.command_length - HEADER_LENGTH)
                except MalformedPdu as exc:
                    reason = f"unreadable stream from the SMSC: {exc}"
                    log.warning("SMPP %s: %s; closing", self._name, reason)
                    break
                except (EOFError, OSError) as exc:  # IncompleteReadError is an EOFError; TLS errors are OSErrors
                    if self._unbind_sent:
                        reason = "unbound"  # the SMSC may close right after its unbind_resp
                    elif not isinstance(exc, EOFError):
                        reason = f"the connection failed: {exc}"
                    break
                self._last_heard = self._loop.time()
                if header.is_response:
                    self._take_answer(header, body)
                elif not await self._serve_request(header, head, body):
                    reason = "the SMSC unbound"
                    break
        except asyncio.CancelledError:
            reason = self._close_reason or "closed"
        except Exception:  # a bug here must still close the session cleanly, not leave it half alive
            log.exception("SMPP %s: the reader failed", self._name)
            reason = "internal error in the session reader"
        finally:
            await self._finish(reason)

    def _take_answer(self, header: PduHeader, body: bytes) -> None:
        entry = self._pending.get(header.sequence_number)
        if entry is None:
            log.warning(
                "SMPP %s: dropped response 0x%08X with sequence %d that answers nothing outstanding",
                self._name,
                header.command_id,
                header.sequence_number,
            )
            return
        expected, answer = entry
        if header.command_id not in (expected, GENERIC_NACK):
            log.warning(
                "SMPP %s: dropped response 0x%08X to sequence %d, which awaits 0x%08X",
                self._name,
                header.command_id,
                header.sequence_number,
                expected,
            )
            return
        if not answer.done():
            answer.set_result(_Answer(header.command_id, header.command_status, body))

    async def _serve_request(self, header: PduHeader, head: bytes, body: bytes) -> bool:
        """Answer (or hand over) one request from the SMSC; False when it was an unbind (the session ends)."""
        command_id, sequence = header.command_id, header.sequence_number
        if command_id == ENQUIRE_LINK:
            self._send(encode_response(ENQUIRE_LINK, sequence))
        elif command_id in (DELIVER_SM, DATA_SM):
            await self._hand_over(header, head, body)
        elif command_id == UNBIND:
            self._stop_submits("the SMSC unbound")
            await self._wait_inbound(self._target.response_timeout)  # handlers in flight get to answer first
            self._send(encode_response(UNBIND, sequence))
            return False
        else:
            log.warning("SMPP %s: answered unknown command 0x%08X with generic_nack", self._name, command_id)
            self._send(encode_generic_nack(sequence, CommandStatus.ESME_RINVCMDID))
        return True

    async def _hand_over(self, header: PduHeader, head: bytes, body: bytes) -> None:
        if self._unbind_sent:
            # Not acknowledged, so the SMSC keeps it and sends it again on a later bind.
            log.debug("SMPP %s: 0x%08X left unanswered while unbinding", self._name, header.command_id)
            return
        try:
            pdu = (
                parse_deliver_sm(head + body)
                if header.command_id == DELIVER_SM
                else parse_data_sm(header.sequence_number, body)
            )
        except MalformedPdu as exc:
            log.warning("SMPP %s: answered an unreadable PDU with generic_nack: %s", self._name, exc)
            self._send(encode_generic_nack(header.sequence_number, CommandStatus.ESME_RINVCMDLEN))
            return
        await self._inbound_slots.acquire()
        task = asyncio.create_task(self._handle_inbound(pdu, header.command_id), name="smpp-inbound")
        self._inbound_tasks.add(task)
        task.add_done_callback(self._inbound_tasks.discard)

    async def _handle_inbound(self, pdu: InboundPdu, command_id: int) -> None:
        """The port's first promise: the response goes out only after the handler returned, with its status."""
        try:
            try:
                status = await self._on_inbound(pdu)
            except Exception:
                log.exception(
                    "SMPP %s: the handler of %s sequence %d failed; answering ESME_RX_T_APPN",
                    self._name,
                    pdu.command,
                    pdu.sequence_number,
                )
                status = ESME_RX_T_APPN
            self._send(encode_response(command_id, pdu.sequence_number, status))
            if self._writer.transport.get_write_buffer_size() > _DRAIN_ABOVE:
                try:
                    await self._writer.drain()
                except ConnectionError:
                    pass  # the reader sees the failure and closes the session
        finally:
            self._inbound_slots.release()

    async def _wait_inbound(self, timeout: float) -> None:
        if self._inbound_tasks:
            await asyncio.wait(set(self._inbound_tasks), timeout=timeout)

    # --- keep-alive ---------------------------------------------------------------------------------------

    async def _keep_alive(self) -> None:
        interval = self._target.enquire_link_interval
        while True:
            silent_for = self._loop.time() - self._last_heard
            if silent_for < interval:
                await asyncio.sleep(interval - silent_for)
                continue
            sequence = self._take_sequence()
            try:
                await self._request(encode_pdu(ENQUIRE_LINK, sequence), sequence, ENQUIRE_LINK_RESP, "enquire_link")
            except NotSent:
                return
            except ResponseLost as exc:
                self._begin_close(f"the link is dead: {exc}")
                return
            self._last_heard = self._loop.time()

    # --- ending -------------------------------------------------------------------------------------------

    async def unbind(self) -> None:
        if self._stopping is None:
            self._stop_submits("the session is unbinding")
            timeout = self._target.response_timeout
            await self._window.wait_idle(timeout)  # the submits already written get their answers
            await self._wait_inbound(timeout)
            if not self._writer.is_closing():
                self._unbind_sent = True
                sequence = self._take_sequence()
                try:
                    await self._request(encode_pdu(UNBIND, sequence), sequence, UNBIND_RESP, "unbind")
                except SessionError as exc:
                    log.info("SMPP %s: unbind not answered (%s); closing anyway", self._name, exc)
            self._begin_close("unbound")
        await self._closed.wait()

    async def wait_closed(self) -> str:
        await self._closed.wait()
        return self._close_reason or "closed"

    def _stop_submits(self, reason: str) -> None:
        if self._stopping is None:
            self._stopping = reason
            self._window.fail(reason)

    def _begin_close(self, reason: str) -> None:
        if self._close_reason is not None:
            return
        self._close_reason = reason
        self._stop_submits(reason)
        # Requests still in the outbox never left: NotSent. Responses in it go out if the connection still can.
        unsent = {sequence for sequence, _ in self._outbox if sequence is not None}
        responses = b"".join(pdu for sequence, pdu in self._outbox if sequence is None)
        self._outbox.clear()
        if responses and not self._writer.is_closing():
            self._writer.write(responses)
        lost = f"the session closed before the answer came: {reason}"
        for sequence, (_, answer) in self._pending.items():
            if not answer.done():
                answer.set_exception(NotSent(reason) if sequence in unsent else ResponseLost(lost))
        self._writer.close()
        if asyncio.current_task() is not self._reader_task:
            self._reader_task.cancel()

    async def _finish(self, reason: str) -> None:
        """Run once by the reader as it ends: stop every other task, close the transport, wake wait_closed."""
        self._begin_close(reason)
        log.info("SMPP %s: session closed: %s", self._name, self._close_reason)
        self._keepalive_task.cancel()
        # Handlers in flight are committing what a PDU caused: let them finish (bounded) rather than cut a
        # commit in half. Their answers cannot be sent any more; the SMSC sends those PDUs again.
        await self._wait_inbound(self._target.response_timeout)
        leftovers = [self._keepalive_task, *self._inbound_tasks]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)
        await _close_quietly(self._writer)
        self._closed.set()


class StreamSessionFactory:
    """Opens `StreamSession`s: TCP or TLS, then the bind, all within the target's connect_timeout."""

    async def open(self, target: SessionTarget, on_inbound: InboundHandler) -> StreamSession:
        if target.window < 1:
            raise ValueError(f"window must be at least 1, not {target.window}")
        bind_pdu = encode_bind(  # ValueError on a field SMPP cannot carry, before any connection
            target.bind,
            1,
            system_id=target.system_id,
            password=target.password,
            system_type=target.system_type,
            addr_ton=target.addr_ton,
            addr_npi=target.addr_npi,
            address_range=target.address_range,
        )
        writer: asyncio.StreamWriter | None = None
        where = f"{target.host}:{target.port}"
        try:
            async with asyncio.timeout(target.connect_timeout):
                tls = _tls_context(target) if target.tls else None
                reader, writer = await asyncio.open_connection(
                    target.host, target.port, ssl=tls, server_hostname=target.host if tls else None
                )
                writer.write(bind_pdu)
                answer = await _bind_answer(reader, BIND_COMMAND[target.bind] | RESPONSE_BIT)
        except TimeoutError as exc:
            await _close_quietly(writer)
            raise ConnectFailed(f"no connection and bind to {where} within {target.connect_timeout} s") from exc
        except (OSError, EOFError, MalformedPdu) as exc:
            await _close_quietly(writer)
            raise ConnectFailed(f"cannot connect and bind to {where}: {exc!r}") from exc
        except asyncio.CancelledError:  # the adapter stopping mid-connect: no transport left open behind it
            if writer is not None:
                writer.close()
            raise
        if answer.command_status != CommandStatus.ESME_ROK:
            await _close_quietly(writer)
            raise BindRefused(answer.command_status)
        log.info("SMPP %s@%s: bound as %s", target.system_id, where, target.bind.value)
        return StreamSession(target, on_inbound, reader, writer, first_sequence=next_sequence(1))


def _tls_context(target: SessionTarget) -> ssl.SSLContext:
    context = ssl.create_default_context()  # the system's trust store, hostname checked
    if target.tls_ca_file is not None:
        context.load_verify_locations(cafile=str(target.tls_ca_file))
    return context


async def _bind_answer(reader: asyncio.StreamReader, expected: int) -> _Answer:
    """The bind's response (or generic_nack); anything the SMSC sends before it is skipped."""
    while True:
        header = parse_header(await reader.readexactly(HEADER_LENGTH))
        body = await reader.readexactly(header.command_length - HEADER_LENGTH)
        if header.sequence_number == 1 and header.command_id in (expected, GENERIC_NACK):
            return _Answer(header.command_id, header.command_status, body)


async def _close_quietly(writer: asyncio.StreamWriter | None) -> None:
    if writer is None:
        return
    writer.close()
    try:
        async with asyncio.timeout(_CLOSE_WAIT):
            await writer.wait_closed()
    except (OSError, TimeoutError):
        pass
