"""The project's own SMSC for faults: an asyncio server that misbehaves on purpose, one scenario at a time or several.

In-process (tests that need to change the scenario while the ESME runs)::

    async with FaultSmsc(Scenario(throttle_every=3)) as smsc:
        ...                                   # point the ESME at smsc.port
        smsc.set_scenario(throttle_every=0, receipts=False)
        assert len(smsc.received("submit_sm")) == 4

As a process (tests/smsc/launch.py starts it)::

    python -m tests.smsc.fault_smsc --port 0 --scenario withhold_responses=true --log pdus.jsonl --spool mo/

The first stdout line is "listening on PORT". submit_sm / deliver_sm go through smpp34's codec; binds, responses,
nacks and garbage are hand-framed (tests/smsc/wire.py) — smpp34's own Server can neither refuse a bind nor send a
generic_nack or a malformed PDU. Every PDU in both directions is recorded (`records`, and `--log` as JSON lines in
the same format as net_smpp_smsc.pl's log). MO: `send_mo()` in-process, or spool files (wire.SpoolMo) as a process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import smpp34

from tests.smsc import wire

GARBAGE_KINDS = ("unknown_command", "bad_length", "huge_length")
RETRY_LATER = {0x64, 0x58, 0x14}  # ESME_RX_T_APPN, ESME_RTHROTTLED, ESME_RMSGQFUL: the SMSC tries again


@dataclass(frozen=True, slots=True)
class Scenario:
    """What the SMSC does wrong (all off: a well-behaved SMSC). Every field combines with the others."""

    refuse_bind: int = 0  # answer every bind with this command_status (then close); 0 accepts
    drop_after_pdus: int = 0  # close a connection, unanswered, when it has received this many PDUs (binds count)
    throttle_every: int = 0  # answer ESME_RTHROTTLED to every Nth submit_sm of a connection
    throttle_seconds: float = 0.0  # answer ESME_RTHROTTLED to every submit_sm for this long after it is set
    window_full_at: int = 0  # hold submit_sm answers until this many are outstanding on the connection, then all
    withhold_responses: bool = False  # never answer submit_sm (the outcome stays unknown to the ESME)
    receipts_before_responses: bool = False  # a part's receipt goes out before its submit_sm_resp
    receipts: bool = True  # False: receipts are lost (none sent)
    receipt_stat: str = "DELIVRD"
    receipt_err: str = "000"
    ids: str = "decimal"  # message ids in submit_sm_resp: "decimal" or "hex"
    receipt_id_base: str = "same"  # ids in receipts: "same" as the response, or "decimal" / "hex"
    mo_out_of_order: bool = False  # the parts of an MO go out last first
    mo_duplicates: bool = False  # the first part of an MO goes out twice (again after the last)
    garbage_after_bind: tuple[str, ...] = ()  # GARBAGE_KINDS sent right after each successful bind

    def __post_init__(self) -> None:
        if self.ids not in ("decimal", "hex") or self.receipt_id_base not in ("same", "decimal", "hex"):
            raise ValueError("ids is decimal or hex; receipt_id_base is same, decimal or hex")
        if self.receipt_stat not in wire.MESSAGE_STATES:
            raise ValueError(f"receipt_stat must be one of {sorted(wire.MESSAGE_STATES)}")
        unknown = set(self.garbage_after_bind) - set(GARBAGE_KINDS)
        if unknown:
            raise ValueError(f"unknown garbage {sorted(unknown)}; known: {GARBAGE_KINDS}")

    @classmethod
    def parse(cls, items: Sequence[str]) -> Scenario:
        """From "name=value" strings (the command line): ints, floats, true/false, words, comma lists."""
        changes: dict[str, Any] = {}
        types = {f.name: f.type for f in dataclasses.fields(cls)}
        for item in items:
            name, _, text = item.partition("=")
            kind = types.get(name)
            if kind is None:
                raise ValueError(f"unknown scenario setting {name!r}; known: {sorted(types)}")
            if kind == "int":
                changes[name] = int(text, 0)
            elif kind == "float":
                changes[name] = float(text)
            elif kind == "bool":
                changes[name] = text.lower() in ("1", "true", "yes", "on")
            elif kind == "str":
                changes[name] = text
            else:
                changes[name] = tuple(filter(None, text.split(",")))
        return cls(**changes)


@dataclass(frozen=True, slots=True)
class PduRecord:
    """One PDU on the wire; `fields` holds the decoded body of the PDUs that have one worth asserting on."""

    t: float
    conn: int
    dir: str  # "in" (from the ESME) or "out"
    command: str
    command_id: int
    status: int
    seq: int
    fields: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "t": self.t,
                "pid": os.getpid(),
                "conn": self.conn,
                "dir": self.dir,
                "command": self.command,
                "command_id": self.command_id,
                "status": self.status,
                "seq": self.seq,
                **self.fields,
            }
        )


def _message_fields(message: smpp34.SubmitSm | smpp34.DeliverSm) -> dict[str, Any]:
    return {
        "source_addr": message.source_addr,
        "source_addr_ton": message.source_addr_ton,
        "source_addr_npi": message.source_addr_npi,
        "destination_addr": message.destination_addr,
        "dest_addr_ton": message.dest_addr_ton,
        "dest_addr_npi": message.dest_addr_npi,
        "esm_class": message.esm_class,
        "data_coding": message.data_coding,
        "registered_delivery": message.registered_delivery,
        "validity_period": message.validity_period,
        "short_message_hex": message.short_message.hex(),
        "tlvs": {f"0x{t.tag:04x}": t.value.hex() for t in message.tlvs},
    }


@dataclass
class _HeldAnswer:
    sequence: int
    number: int  # the message id's number; written in the scenario's base
    submit: smpp34.SubmitSm


class _Connection:
    def __init__(self, number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.number = number
        self.reader = reader
        self.writer = writer
        self.bind: str | None = None
        self.received = 0
        self.submits = 0
        self.unanswered = 0  # submit_sm without a submit_sm_resp yet
        self.held: list[_HeldAnswer] = []
        self.answers: dict[int, asyncio.Future[int]] = {}  # our deliver_sm's sequence -> its resp status
        self._sequence = 0

    def next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    @property
    def receives(self) -> bool:
        return self.bind in ("receiver", "transceiver")


class FaultSmsc:
    """An asyncio SMSC; `async with` starts it on a free loopback port (`port`) and stops it."""

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_path: Path | None = None,
        spool: Path | None = None,
        system_id: str = "FAULTSMSC",
    ) -> None:
        self._host = host
        self._requested_port = port
        self._log_path = log_path
        self._spool = spool
        self._system_id = system_id
        self._scenario = Scenario()
        self._throttle_until = 0.0
        self.set_scenario(scenario or Scenario())
        self.records: list[PduRecord] = []
        self.connections: list[_Connection] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # ours (the spool poller)
        self._serving: set[asyncio.Task[Any]] = set()  # one per connection, made by asyncio.start_server
        self._next_connection = 0
        self._next_message = 0
        self.max_unanswered = 0  # the most submit_sm one connection ever had without an answer (its window)
        self._log: Any = None
        self._changed = asyncio.Event()
        self.port = 0

    # ---- control -------------------------------------------------------------------------------------------------
    @property
    def scenario(self) -> Scenario:
        return self._scenario

    def set_scenario(self, scenario: Scenario | None = None, **changes: Any) -> None:
        """Replace the scenario, or change some of its settings; takes effect with the next PDU."""
        self._scenario = dataclasses.replace(scenario or self._scenario, **changes)
        if scenario is not None or "throttle_seconds" in changes:  # the throttle period starts when it is set
            self._throttle_until = time.monotonic() + self._scenario.throttle_seconds

    def received(self, command: str) -> list[PduRecord]:
        """PDUs of one kind the ESMEs sent, in order."""
        return [r for r in self.records if r.dir == "in" and r.command == command]

    def sent(self, command: str) -> list[PduRecord]:
        return [r for r in self.records if r.dir == "out" and r.command == command]

    def bound(self) -> list[_Connection]:
        return [c for c in self.connections if c.bind is not None]

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait (bounded) until *condition* holds; it is checked after every PDU. Raises TimeoutError."""
        async with asyncio.timeout(timeout):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    async def send_mo(self, parts: Sequence[wire.SpoolMo], timeout: float = 10.0) -> list[int]:
        """Send a handset message (one deliver_sm per part) to a receiving bind; the deliver_sm_resp statuses.

        The scenario's mo_out_of_order / mo_duplicates apply. A part with no answer in time (or a connection
        that closed) reads as -1."""
        receivers = [c for c in self.connections if c.receives]
        if not receivers:
            raise RuntimeError("no receiver or transceiver bound")
        connection = receivers[0]
        order = list(parts)
        if self._scenario.mo_out_of_order:
            order.reverse()
        if self._scenario.mo_duplicates and order:
            order.append(order[0])
        statuses = []
        for part in order:
            answer = await self._deliver(
                connection,
                smpp34.DeliverSm(
                    part.source_addr,
                    part.destination_addr,
                    part.short_message(),
                    source_addr_ton=part.source_addr_ton,
                    source_addr_npi=part.source_addr_npi,
                    dest_addr_ton=part.dest_addr_ton,
                    dest_addr_npi=part.dest_addr_npi,
                    esm_class=part.full_esm_class(),
                    data_coding=part.data_coding,
                    tlvs=[smpp34.Tlv(tag, value) for tag, value in part.tlv_pairs()],
                    sequence_number=connection.next_sequence(),
                ),
            )
            try:
                statuses.append(await asyncio.wait_for(answer, timeout))
            except TimeoutError:
                statuses.append(-1)
        return statuses

    async def send_garbage(self, kind: str, connection: _Connection | None = None) -> None:
        target = connection or self.bound()[0]
        await self._write(target, self._garbage(kind, target.next_sequence()), garbage=kind)

    async def drop_all(self) -> None:
        """Close every connection at once, as an SMSC restart would."""
        for connection in list(self.connections):
            connection.writer.close()

    # ---- lifecycle -----------------------------------------------------------------------------------------------
    async def __aenter__(self) -> FaultSmsc:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        if self._log_path is not None:
            self._log = self._log_path.open("a", buffering=1)
        self._server = await asyncio.start_server(self._serve, self._host, self._requested_port)
        self.port = self._server.sockets[0].getsockname()[1]
        if self._spool is not None:
            self._spawn(self._poll_spool(self._spool))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # Closing a connection ends its reader with EOF; cancelling start_server's task instead makes asyncio 3.11
        # log the CancelledError as an unhandled exception.
        for connection in list(self.connections):
            connection.writer.close()
        if self._serving:
            await asyncio.wait(self._serving, timeout=2)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        if self._log is not None:
            self._log.close()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- one connection ------------------------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._serving.add(task)
        self._next_connection += 1
        connection = _Connection(self._next_connection, reader, writer)
        self.connections.append(connection)
        try:
            while not writer.is_closing():
                try:
                    data = await wire.read_pdu(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                except wire.FramingError as error:
                    self._record(connection, "in", 0, 0, 0, {"garbage": str(error)}, command="garbage")
                    await self._write(connection, wire.pdu(wire.GENERIC_NACK, 0, status=wire.ESME_RINVCMDLEN))
                    break
                connection.received += 1
                drop_at = self._scenario.drop_after_pdus
                if drop_at and connection.received >= drop_at:
                    _, command_id, status, sequence = wire.header_of(data)
                    self._record(connection, "in", command_id, status, sequence, {"dropped": True})
                    break
                await self._handle(connection, data)
        finally:
            writer.close()
            for answer in connection.answers.values():
                if not answer.done():
                    answer.set_result(-1)
            self.connections.remove(connection)
            self._notify()
            if task is not None:
                self._serving.discard(task)

    async def _handle(self, connection: _Connection, data: bytes) -> None:
        _, command_id, status, sequence = wire.header_of(data)
        body = data[wire.HEADER_LENGTH :]
        if command_id in wire.BINDS:
            bind = wire.parse_bind(body)
            self._record(connection, "in", command_id, status, sequence, {"system_id": bind.system_id})
            refusal = self._scenario.refuse_bind
            if refusal:
                await self._write(connection, wire.pdu(command_id | wire.RESPONSE, sequence, status=refusal))
                connection.writer.close()
                return
            connection.bind = wire.BINDS[command_id]
            await self._write(
                connection, wire.pdu(command_id | wire.RESPONSE, sequence, wire.message_id_body(self._system_id))
            )
            for kind in self._scenario.garbage_after_bind:
                await self._write(connection, self._garbage(kind, connection.next_sequence()), garbage=kind)
        elif command_id == wire.SUBMIT_SM:
            await self._submit(connection, data, sequence)
        elif command_id in (wire.DELIVER_SM | wire.RESPONSE, wire.GENERIC_NACK):
            self._record(connection, "in", command_id, status, sequence)
            answer = connection.answers.pop(sequence, None)
            if answer is not None and not answer.done():
                answer.set_result(status if command_id != wire.GENERIC_NACK else status or wire.ESME_RINVCMDID)
        elif command_id == wire.ENQUIRE_LINK:
            self._record(connection, "in", command_id, status, sequence)
            await self._write(connection, wire.pdu(wire.ENQUIRE_LINK | wire.RESPONSE, sequence))
        elif command_id == wire.UNBIND:
            self._record(connection, "in", command_id, status, sequence)
            await self._write(connection, wire.pdu(wire.UNBIND | wire.RESPONSE, sequence))
            connection.writer.close()
        elif command_id & wire.RESPONSE:
            self._record(connection, "in", command_id, status, sequence)
        else:
            self._record(connection, "in", command_id, status, sequence)
            await self._write(connection, wire.pdu(wire.GENERIC_NACK, sequence, status=wire.ESME_RINVCMDID))

    async def _submit(self, connection: _Connection, data: bytes, sequence: int) -> None:
        decoded = smpp34.decode(data)
        if not isinstance(decoded, smpp34.SubmitSm):
            self._record(connection, "in", wire.SUBMIT_SM, 0, sequence, {"undecodable": True})
            await self._write(connection, wire.pdu(wire.GENERIC_NACK, sequence, status=wire.ESME_RSYSERR))
            return
        self._record(connection, "in", wire.SUBMIT_SM, 0, sequence, _message_fields(decoded))
        scenario = self._scenario
        connection.submits += 1
        connection.unanswered += 1
        self.max_unanswered = max(self.max_unanswered, connection.unanswered)
        if scenario.withhold_responses:
            return
        throttled = time.monotonic() < self._throttle_until or (
            scenario.throttle_every and connection.submits % scenario.throttle_every == 0
        )
        if throttled:
            connection.unanswered -= 1
            await self._write(connection, wire.pdu(wire.SUBMIT_SM | wire.RESPONSE, sequence, status=0x58))
            return
        self._next_message += 1
        number = 100_000_000 + 1000 + self._next_message
        held = _HeldAnswer(sequence, number, decoded)
        if scenario.window_full_at:
            connection.held.append(held)
            if len(connection.held) < scenario.window_full_at:
                return
            answers, connection.held = connection.held, []
        else:
            answers = [held]
        for answer in answers:
            await self._answer(connection, answer)

    async def _answer(self, connection: _Connection, answer: _HeldAnswer) -> None:
        scenario = self._scenario
        connection.unanswered -= 1
        number = answer.number
        message_id = wire.message_id_text(number, scenario.ids)
        response = wire.pdu(wire.SUBMIT_SM | wire.RESPONSE, answer.sequence, wire.message_id_body(message_id))
        wants = answer.submit.registered_delivery & 0x03
        failure = scenario.receipt_stat != "DELIVRD"
        if not scenario.receipts or not (wants == 1 or (wants == 2 and failure)):
            await self._write(connection, response)
            return
        base = scenario.ids if scenario.receipt_id_base == "same" else scenario.receipt_id_base
        receipt_id = wire.message_id_text(number, base)
        submit = answer.submit
        receipt = smpp34.DeliverSm(
            submit.destination_addr,
            submit.source_addr,
            wire.receipt_text(
                receipt_id,
                scenario.receipt_stat,
                scenario.receipt_err,
                wire.without_udh(submit.short_message, submit.esm_class),
                time.strftime("%y%m%d%H%M", time.gmtime()),
            ),
            source_addr_ton=submit.dest_addr_ton,
            source_addr_npi=submit.dest_addr_npi,
            dest_addr_ton=submit.source_addr_ton,
            dest_addr_npi=submit.source_addr_npi,
            esm_class=0x04,
            tlvs=[
                # C-Octet String with its NUL, as §5.3.2.12 says (Net::SMPP's SMSC sends it without).
                smpp34.Tlv(wire.TLV_RECEIPTED_MESSAGE_ID, receipt_id.encode() + b"\0"),
                smpp34.Tlv(wire.TLV_MESSAGE_STATE, bytes([wire.MESSAGE_STATES[scenario.receipt_stat]])),
            ],
            sequence_number=connection.next_sequence(),
        )
        if scenario.receipts_before_responses:
            await self._deliver(connection, receipt)
            await self._write(connection, response)
        else:
            await self._write(connection, response)
            await self._deliver(connection, receipt)

    async def _deliver(self, connection: _Connection, message: smpp34.DeliverSm) -> asyncio.Future[int]:
        answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        connection.answers[message.sequence_number] = answer
        await self._write(connection, message.encode())
        return answer

    def _garbage(self, kind: str, sequence: int) -> bytes:
        if kind == "unknown_command":
            return wire.pdu(0x00000099, sequence)
        if kind == "bad_length":  # command_length shorter than the header itself
            return wire.HEADER.pack(8, wire.ENQUIRE_LINK, 0, sequence)
        if kind == "huge_length":
            return wire.HEADER.pack(0x00FFFFFF, wire.SUBMIT_SM, 0, sequence)
        raise ValueError(f"unknown garbage {kind!r}")

    async def _write(self, connection: _Connection, data: bytes, garbage: str = "") -> None:
        if connection.writer.is_closing():
            return
        _, command_id, status, sequence = wire.header_of(data)
        fields: dict[str, Any] = {"garbage": garbage} if garbage else {}
        if command_id == wire.DELIVER_SM and not garbage:
            decoded = smpp34.decode(data)
            if isinstance(decoded, smpp34.DeliverSm):
                fields = _message_fields(decoded)
        elif command_id == wire.SUBMIT_SM | wire.RESPONSE and status == 0:
            fields = {"message_id": wire.read_cstring(data, wire.HEADER_LENGTH)[0]}
        self._record(connection, "out", command_id, status, sequence, fields)
        connection.writer.write(data)
        with contextlib.suppress(ConnectionError):
            await connection.writer.drain()

    def _record(
        self,
        connection: _Connection,
        direction: str,
        command_id: int,
        status: int,
        sequence: int,
        fields: dict[str, Any] | None = None,
        command: str | None = None,
    ) -> None:
        record = PduRecord(
            time.time(),
            connection.number,
            direction,
            command or wire.command_name(command_id),
            command_id,
            status,
            sequence,
            fields or {},
        )
        self.records.append(record)
        if self._log is not None:
            self._log.write(record.to_json() + "\n")
        self._notify()

    def _notify(self) -> None:
        self._changed.set()

    # ---- MO from a spool directory (process mode) ----------------------------------------------------------------
    async def _poll_spool(self, spool: Path) -> None:
        while True:
            await asyncio.sleep(0.05)
            if not any(c.receives for c in self.connections):
                continue
            while (claim := await asyncio.to_thread(_claim_spool_file, spool)) is not None:
                original, claimed, mo = claim
                status = (await self.send_mo([mo]))[-1]
                await asyncio.to_thread(_settle_spool_file, original, claimed, status)
                if status != 0:
                    break  # a refused or unanswered MO waits for the next poll, not a tight loop


def _claim_spool_file(spool: Path) -> tuple[Path, Path, wire.SpoolMo] | None:
    """The first spool file, renamed so no other poller takes it (rename is atomic), and its MO."""
    for path in sorted(spool.glob("[!.]*.json")):
        claimed = path.with_name(f".{path.name}.claimed-{os.getpid()}")
        try:
            path.rename(claimed)
        except OSError:
            continue
        try:
            return path, claimed, wire.SpoolMo.from_json(claimed.read_text())
        except (ValueError, TypeError):
            claimed.rename(path.with_name(path.name + ".unreadable"))
    return None


def _settle_spool_file(original: Path, claimed: Path, status: int) -> None:
    """Delivered: gone. "Try later" or no answer: back in the spool. Refused: set aside with the status."""
    if status == 0:
        claimed.unlink()
    elif status in RETRY_LATER or status == -1:
        claimed.rename(original)
    else:
        claimed.rename(original.with_name(f"{original.name}.rejected-0x{status:02x}"))


async def _main(port: int, scenario: Scenario, log_path: Path | None, spool: Path | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with FaultSmsc(scenario, port=port, log_path=log_path, spool=spool) as smsc:
        print(f"listening on {smsc.port}", flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--scenario", action="append", default=[], help="name=value (repeatable)")
    parser.add_argument("--log", type=Path, default=None)
    parser.add_argument("--spool", type=Path, default=None)
    args = parser.parse_args(argv)
    asyncio.run(_main(args.port, Scenario.parse(args.scenario), args.log, args.spool))


if __name__ == "__main__":
    main()
