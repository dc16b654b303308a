"""The asyncio SMPP session against SMSCs on loopback: smpp34's Server and Net::SMPP (neither written by us), and
small raw asyncio servers in this file for the faults those cannot produce (refused binds, silence, garbage).

Every wait is bounded (`fail_after`); timers under test are set short (a fraction of a second)."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import smpp34
from anyio import fail_after
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from smsgrid.carrier.smpp.protocol import (
    TLV_MESSAGE_PAYLOAD,
    TLV_MESSAGE_STATE,
    TLV_RECEIPTED_MESSAGE_ID,
    TLV_SAR_MSG_REF_NUM,
    TLV_SAR_SEGMENT_SEQNUM,
    TLV_SAR_TOTAL_SEGMENTS,
    CommandStatus,
)
from smsgrid.carrier.smpp.session import INBOUND_HANDLERS, StreamSession, StreamSessionFactory
from smsgrid.carrier.smpp.session_port import (
    BindMode,
    BindRefused,
    ConnectFailed,
    GenericNack,
    InboundHandler,
    InboundPdu,
    NotSent,
    ResponseLost,
    SessionTarget,
    SubmitResponse,
    SubmitSmFields,
    Tlv,
)

pytestmark = pytest.mark.anyio

BOUND = 10.0  # seconds any single step of a test may take before it counts as a hang


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def target_at(port: int, **overrides: object) -> SessionTarget:
    base = SessionTarget(
        host="127.0.0.1",
        port=port,
        system_id="smsgrid",
        password="pw",
        connect_timeout=3.0,
        response_timeout=3.0,
        enquire_link_interval=60.0,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def fields(destination: str = "447700900123", *, text: bytes = b"hello", **overrides: object) -> SubmitSmFields:
    base = SubmitSmFields(
        source_addr="447700900456",
        source_addr_ton=1,
        source_addr_npi=1,
        destination_addr=destination,
        dest_addr_ton=1,
        dest_addr_npi=1,
        short_message=text,
        data_coding=0,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


async def accept_all(pdu: InboundPdu) -> int:
    return 0


@asynccontextmanager
async def opened(target: SessionTarget, handler: InboundHandler = accept_all) -> AsyncIterator[StreamSession]:
    with fail_after(BOUND):
        session = await StreamSessionFactory().open(target, handler)
    try:
        yield session
    finally:
        with fail_after(BOUND):
            await session.unbind()
        assert_no_session_tasks()


def assert_no_session_tasks() -> None:
    """Once closed, a session leaves no reader, keep-alive or handler task behind."""
    left = [task.get_name() for task in asyncio.all_tasks() if task.get_name().startswith("smpp-")]
    assert left == []


# --- a raw SMSC for faults ----------------------------------------------------------------------------------

BIND_TRANSCEIVER_RESP = 0x80000009
SUBMIT_SM = 0x04
SUBMIT_SM_RESP = 0x80000004
DELIVER_SM_RESP = 0x80000005
UNBIND = 0x06
UNBIND_RESP = 0x80000006
ENQUIRE_LINK = 0x15
ENQUIRE_LINK_RESP = 0x80000015
DATA_SM = 0x103
DATA_SM_RESP = 0x80000103
GENERIC_NACK = 0x80000000


@dataclass(frozen=True)
class WirePdu:
    command_id: int
    command_status: int
    sequence_number: int
    body: bytes


def wire(command_id: int, sequence: int, body: bytes = b"", status: int = 0) -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, status, sequence) + body


async def read_pdu(reader: asyncio.StreamReader) -> WirePdu:
    length, command_id, status, sequence = struct.unpack(">IIII", await reader.readexactly(16))
    return WirePdu(command_id, status, sequence, await reader.readexactly(length - 16))


Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawSmsc:
    """An asyncio server that runs *script* for each connection; its tasks end with the `async with`."""

    def __init__(self, script: Script, tls: ssl.SSLContext | None = None) -> None:
        self._script = script
        self._tls = tls
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def __aenter__(self) -> RawSmsc:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self._tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._script(reader, writer)
        # Cancelled by __aexit__: end quietly (3.11's start_server callback logs a cancelled handler as an error).
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


async def answer_bind(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, status: int = 0) -> WirePdu:
    bind = await read_pdu(reader)
    writer.write(wire(bind.command_id | 0x80000000, bind.sequence_number, b"FAULT\x00", status))
    return bind


async def ignore_all_but_unbind(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Ignore every PDU except an unbind, which is answered (so the session's unbind ends at once)."""
    while True:
        pdu = await read_pdu(reader)
        if pdu.command_id == UNBIND:
            writer.write(wire(UNBIND_RESP, pdu.sequence_number))
            return


# --- against smpp34's Server (Rust; an SMSC we did not write) -------------------------------------------------


@asynccontextmanager
async def smpp34_server() -> AsyncIterator[tuple[smpp34.Server, int]]:
    port = free_port()
    server = smpp34.Server("127.0.0.1", port)
    await server.start()
    try:
        yield server, port
    finally:
        await server.stop()


async def next_event(server: smpp34.Server) -> smpp34.Esme | smpp34.SubmitSmEvent | smpp34.Unbound:
    with fail_after(BOUND):
        return await server.next()


async def bound_to_smpp34(
    server: smpp34.Server, target: SessionTarget, handler: InboundHandler
) -> tuple[StreamSession, smpp34.Esme]:
    opening = asyncio.ensure_future(StreamSessionFactory().open(target, handler))
    esme = await next_event(server)
    assert isinstance(esme, smpp34.Esme)
    with fail_after(BOUND):
        session = await opening
    return session, esme


async def test_smpp34_server_sees_every_field_and_tlv_and_its_id_comes_back() -> None:
    async with smpp34_server() as (server, port):
        session, esme = await bound_to_smpp34(server, target_at(port), accept_all)
        assert esme.system_id == "smsgrid"
        assert session.bind is BindMode.TRANSCEIVER
        assert session.is_open
        sar = (Tlv(TLV_SAR_MSG_REF_NUM, b"\x00\x2a"), Tlv(TLV_SAR_TOTAL_SEGMENTS, b"\x02"))
        submitted = asyncio.ensure_future(
            session.submit(
                fields(
                    text="Hé".encode("utf-16-be"),
                    data_coding=8,
                    registered_delivery=1,
                    source_addr="Contoso",
                    source_addr_ton=5,
                    source_addr_npi=0,
                    tlvs=(*sar, Tlv(TLV_SAR_SEGMENT_SEQNUM, b"\x01")),
                )
            )
        )
        event = await next_event(server)
        assert isinstance(event, smpp34.SubmitSmEvent)
        assert (event.source_addr, event.source_addr_ton, event.source_addr_npi) == ("Contoso", 5, 0)
        assert (event.destination_addr, event.dest_addr_ton, event.dest_addr_npi) == ("447700900123", 1, 1)
        assert (event.data_coding, event.registered_delivery) == (8, 1)
        assert event.short_message == "Hé".encode("utf-16-be")
        assert [(t.tag, t.value) for t in event.tlvs] == [
            (TLV_SAR_MSG_REF_NUM, b"\x00\x2a"),
            (TLV_SAR_TOTAL_SEGMENTS, b"\x02"),
            (TLV_SAR_SEGMENT_SEQNUM, b"\x01"),
        ]
        assert session.window_in_use == 1
        event.accept("msg-7f3a")
        with fail_after(BOUND):
            response = await submitted
        assert response.command_status == 0
        assert response.message_id == "msg-7f3a"
        assert session.window_in_use == 0
        with fail_after(BOUND):
            await session.unbind()
        assert isinstance(await next_event(server), smpp34.Unbound)
        assert await session.wait_closed() == "unbound"
        assert not session.is_open
        assert_no_session_tasks()


async def test_smpp34_server_rejection_comes_back_as_its_status() -> None:
    async with smpp34_server() as (server, port):
        session, _ = await bound_to_smpp34(server, target_at(port), accept_all)
        submitted = asyncio.ensure_future(session.submit(fields()))
        event = await next_event(server)
        assert isinstance(event, smpp34.SubmitSmEvent)
        event.reject(CommandStatus.ESME_RTHROTTLED)
        with fail_after(BOUND):
            response = await submitted
        assert response.command_status == 0x58
        assert response.message_id is None
        with fail_after(BOUND):
            await session.unbind()


async def test_smpp34_receipt_is_acknowledged_only_after_the_handler_returned() -> None:
    entered = asyncio.Event()
    release = asyncio.Event()
    seen: list[InboundPdu] = []

    async def committing_handler(pdu: InboundPdu) -> int:
        seen.append(pdu)
        entered.set()
        await release.wait()  # the adapter's commit, held open by the test
        return 0

    async with smpp34_server() as (server, port):
        session, esme = await bound_to_smpp34(server, target_at(port), committing_handler)
        delivering = asyncio.ensure_future(
            esme.deliver_sm(
                "447700900456",
                b"id:msg-1 sub:001 dlvrd:001 submit date:2612021300 done date:2612021301 stat:DELIVRD err:000",
                source_addr="447700900123",
                source_addr_ton=1,
                source_addr_npi=1,
                esm_class=0x04,
                tlvs=[smpp34.Tlv(TLV_RECEIPTED_MESSAGE_ID, b"msg-1\x00"), smpp34.Tlv(TLV_MESSAGE_STATE, b"\x02")],
            )
        )
        with fail_after(BOUND):
            await entered.wait()
        # A whole submit round trip after the deliver_sm: an early ack would have been on the wire before it.
        submitted = asyncio.ensure_future(session.submit(fields()))
        event = await next_event(server)
        assert isinstance(event, smpp34.SubmitSmEvent)
        event.accept("after")
        with fail_after(BOUND):
            await submitted
        assert not delivering.done()
        release.set()
        with fail_after(BOUND):
            answer = await delivering
        assert answer.command_status == 0
        [receipt] = seen
        assert receipt.command == "deliver_sm"
        assert receipt.esm_class == 0x04
        assert (receipt.source_addr, receipt.source_addr_ton) == ("447700900123", 1)
        assert receipt.tlv(TLV_RECEIPTED_MESSAGE_ID) == b"msg-1\x00"
        assert receipt.tlv(TLV_MESSAGE_STATE) == b"\x02"
        assert b"stat:DELIVRD" in receipt.short_message
        with fail_after(BOUND):
            await session.unbind()


async def test_smpp34_a_failing_handler_answers_try_again_later() -> None:
    async def broken_handler(pdu: InboundPdu) -> int:
        raise RuntimeError("the store is down")

    async with smpp34_server() as (server, port):
        session, esme = await bound_to_smpp34(server, target_at(port), broken_handler)
        with fail_after(BOUND):
            answer = await esme.deliver_sm("447700900456", b"STOP", source_addr="447700900123")
        assert answer.command_status == 0x64
        assert session.is_open
        with fail_after(BOUND):
            await session.unbind()


# --- against Net::SMPP (Debian libnet-smpp-perl) ------------------------------------------------------------

PERL_SMSC = r"""
use strict; use warnings; use Net::SMPP;
my $port = $ARGV[0]; my $next_id = 1000;
my $srv = Net::SMPP->new_listen('127.0.0.1', port => $port, smpp_version => 0x34) or die "listen: $!";
$SIG{CHLD} = 'IGNORE'; $| = 1;
print "listening\n";
my $c;
while (1) { $c = $srv->accept or next; my $pid = fork; last if !$pid; }
undef $srv;
while (my $pdu = $c->read_pdu()) {
    my $cmd = $pdu->{cmd};
    if ($cmd == 0x09 || $cmd == 0x01 || $cmd == 0x02) {
        my $m = {0x09 => 'bind_transceiver_resp', 0x01 => 'bind_receiver_resp',
                 0x02 => 'bind_transmitter_resp'}->{$cmd};
        $c->$m(system_id => 'PERLSMSC', seq => $pdu->{seq});
    } elsif ($cmd == 0x15) { $c->enquire_link_resp(seq => $pdu->{seq});
    } elsif ($cmd == 0x06) { $c->unbind_resp(seq => $pdu->{seq}); exit 0;
    } elsif ($cmd == 0x04) {
        my $id = $next_id++;
        $c->submit_sm_resp(message_id => "$id", seq => $pdu->{seq});
        if ($pdu->{registered_delivery} & 1) {
            $c->deliver_sm(source_addr => $pdu->{destination_addr}, destination_addr => $pdu->{source_addr},
                esm_class => 0x04,
                short_message => "id:$id sub:001 dlvrd:001 submit date:2612021300 "
                    . "done date:2612021301 stat:DELIVRD err:000 text:",
                receipted_message_id => "$id", message_state => pack('C', 2), async => 1);
        }
        if ($pdu->{destination_addr} eq '999') {
            $c->deliver_sm(source_addr => '447700900123', source_addr_ton => 1, source_addr_npi => 1,
                destination_addr => $pdu->{source_addr}, short_message => 'STOP', async => 1);
        }
    } elsif (!($cmd & 0x80000000)) { $c->generic_nack(seq => $pdu->{seq}, status => 3); }
}
"""


def require_net_smpp() -> None:
    found = shutil.which("perl") is not None and (
        subprocess.run(["perl", "-MNet::SMPP", "-e", "1"], capture_output=True, check=False).returncode == 0
    )
    if not found:
        missing = "Net::SMPP is not installed (apt-get install libnet-smpp-perl)"
        # In CI a missing tool is a broken environment, not a reason to pass quietly (house rules).
        if os.environ.get("CI") == "true":
            pytest.fail(missing)
        pytest.skip(missing)


@asynccontextmanager
async def net_smpp_smsc(tmp_path: Path) -> AsyncIterator[int]:
    script = tmp_path / "perl_smsc.pl"
    script.write_text(PERL_SMSC)
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        "perl", str(script), str(port), stdout=asyncio.subprocess.PIPE, start_new_session=True
    )
    try:
        assert process.stdout is not None
        with fail_after(BOUND):
            assert await process.stdout.readline() == b"listening\n"
        yield port
    finally:
        # The script forks a child per bind; the whole process group is ours.
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with fail_after(BOUND):
            await process.wait()


async def test_net_smpp_bind_submit_receipt_and_handset_message(tmp_path: Path) -> None:
    require_net_smpp()
    inbound: asyncio.Queue[InboundPdu] = asyncio.Queue()

    async def collect(pdu: InboundPdu) -> int:
        await inbound.put(pdu)
        return 0

    async with net_smpp_smsc(tmp_path) as port, opened(target_at(port), collect) as session:
        with fail_after(BOUND):
            first = await session.submit(fields(registered_delivery=1))
        assert first == SubmitResponse(command_status=0, message_id="1000", sequence_number=first.sequence_number)
        with fail_after(BOUND):
            receipt = await inbound.get()
        assert receipt.command == "deliver_sm"
        assert receipt.esm_class == 0x04
        assert receipt.tlv(TLV_RECEIPTED_MESSAGE_ID) in (b"1000", b"1000\x00")
        assert receipt.tlv(TLV_MESSAGE_STATE) == b"\x02"
        assert receipt.short_message.startswith(b"id:1000 ")

        with fail_after(BOUND):
            second = await session.submit(fields("999"))
        assert second.message_id == "1001"
        with fail_after(BOUND):
            handset = await inbound.get()
        assert (handset.source_addr, handset.source_addr_ton, handset.source_addr_npi) == ("447700900123", 1, 1)
        assert handset.destination_addr == "447700900456"
        assert handset.esm_class & 0x3C == 0
        assert handset.short_message == b"STOP"
    assert await session.wait_closed() == "unbound"


# --- against raw fault servers ------------------------------------------------------------------------------


async def test_a_refused_bind_raises_bind_refused_with_the_status() -> None:
    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer_bind(reader, writer, status=0x0E)
        await ignore_all_but_unbind(reader, writer)

    async with RawSmsc(refuse) as smsc:
        with fail_after(BOUND), pytest.raises(BindRefused) as refused:
            await StreamSessionFactory().open(target_at(smsc.port), accept_all)
    assert refused.value.command_status == 0x0E


async def test_a_bind_answered_with_generic_nack_is_refused() -> None:
    async def nack(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        bind = await read_pdu(reader)
        writer.write(wire(GENERIC_NACK, bind.sequence_number, status=0x03))
        await ignore_all_but_unbind(reader, writer)

    async with RawSmsc(nack) as smsc:
        with fail_after(BOUND), pytest.raises(BindRefused) as refused:
            await StreamSessionFactory().open(target_at(smsc.port), accept_all)
    assert refused.value.command_status == 0x03


async def test_the_bind_fields_reach_the_smsc() -> None:
    binds: list[WirePdu] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        binds.append(await answer_bind(reader, writer))
        await ignore_all_but_unbind(reader, writer)

    async with RawSmsc(record) as smsc:
        target = target_at(
            smsc.port, bind=BindMode.RECEIVER, system_type="VMA", addr_ton=1, addr_npi=1, address_range="^44"
        )
        async with opened(target) as session:
            assert session.bind is BindMode.RECEIVER
            with pytest.raises(NotSent, match="receiver"):
                await session.submit(fields())
    [bind] = binds
    assert (bind.command_id, bind.sequence_number) == (0x01, 1)
    assert bind.body == b"smsgrid\x00pw\x00VMA\x00\x34\x01\x01^44\x00"


async def test_a_silent_smsc_fails_the_connect_after_the_connect_timeout() -> None:
    async with RawSmsc(ignore_all_but_unbind) as smsc:
        with fail_after(BOUND), pytest.raises(ConnectFailed, match="within"):
            await StreamSessionFactory().open(target_at(smsc.port, connect_timeout=0.3), accept_all)


async def test_a_connect_cancelled_while_waiting_for_the_bind_answer_closes_its_connection() -> None:
    bind_arrived = asyncio.Event()
    hung_up = asyncio.Event()

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_pdu(reader)
        bind_arrived.set()
        assert await reader.read() == b""
        hung_up.set()

    async with RawSmsc(never_answer) as smsc:
        opening = asyncio.ensure_future(StreamSessionFactory().open(target_at(smsc.port), accept_all))
        with fail_after(BOUND):
            await bind_arrived.wait()
        opening.cancel()
        with pytest.raises(asyncio.CancelledError):
            await opening
        with fail_after(BOUND):
            await hung_up.wait()


async def test_nobody_listening_fails_the_connect() -> None:
    with fail_after(BOUND), pytest.raises(ConnectFailed):
        await StreamSessionFactory().open(target_at(free_port()), accept_all)


async def test_a_password_too_long_for_smpp_is_refused_before_connecting() -> None:
    # Nothing listens on this port: a ValueError (not ConnectFailed) proves no connection was tried.
    with pytest.raises(ValueError, match="password"):
        await StreamSessionFactory().open(target_at(free_port(), password="ninechars"), accept_all)
    with pytest.raises(ValueError, match="system_id"):
        await StreamSessionFactory().open(target_at(free_port(), system_id="s" * 16), accept_all)


async def test_an_unanswered_submit_is_response_lost_after_the_response_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer_bind(reader, writer)
        await ignore_all_but_unbind(reader, writer)

    async with RawSmsc(silent) as smsc, opened(target_at(smsc.port, response_timeout=0.3)) as session:
        with fail_after(BOUND), pytest.raises(ResponseLost, match="submit_sm"):
            await session.submit(fields())
        assert session.window_in_use == 0
        assert session.is_open  # one lost answer does not end the session


async def test_a_connection_dropped_with_a_submit_outstanding_is_response_lost() -> None:
    async def drop_on_submit(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer_bind(reader, writer)
        assert (await read_pdu(reader)).command_id == SUBMIT_SM
        # the script returns: RawSmsc closes the connection with the submit unanswered

    async with RawSmsc(drop_on_submit) as smsc, opened(target_at(smsc.port)) as session:
        with fail_after(BOUND), pytest.raises(ResponseLost):
            await session.submit(fields())
        with fail_after(BOUND):
            reason = await session.wait_closed()
        assert "closed" in reason
        with pytest.raises(NotSent):
            await session.submit(fields())


async def test_generic_nack_to_a_submit_raises_generic_nack() -> None:
    async def nack(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer_bind(reader, writer)
        submit = await read_pdu(reader)
        writer.write(wire(GENERIC_NACK, submit.sequence_number, status=0x03))
        await ignore_all_but_unbind(reader, writer)

    async with RawSmsc(nack) as smsc, opened(target_at(smsc.port)) as session:
        with fail_after(BOUND), pytest.raises(GenericNack) as nacked:
            await session.submit(fields())
        assert nacked.value.command_status == 0x03
        assert session.is_open


@pytest.mark.parametrize(
    "garbage",
    [
        struct.pack(">I", 0x7FFFFFF0) + b"\x00" * 12,  # 2 GiB announced
        struct.pack(">I", 4) + b"\x00" * 12,  # shorter than its own header
    ],
)
async def test_an_absurd_length_closes_the_session_without_reading_on(garbage: bytes) -> None:
    async def babble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer_bind(reader, writer)
        await read_pdu(reader)  # the submit
        writer.write(garbage)
        await ignore_all_but_unbind(reader, writer)

    async with RawSmsc(babble) as smsc, opened(target_at(smsc.port)) as session:
        with fail_after(BOUND), pytest.raises(ResponseLost):
            await session.submit(fields())
        with fail_after(BOUND):
            reason = await session.wait_closed()
        assert "command_length" in reason
        assert not session.is_open
        assert_no_session_tasks()


async def test_a_response_nobody_awaits_is_dropped_and_the_session_goes_on() -> None:
    async def stray(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer_bind(reader, writer)
        submit = await read_pdu(reader)
        writer.write(wire(SUBMIT_SM_RESP, 0x7000, b"stray\x00"))  # answers nothing outstanding
        writer.write(wire(SUBMIT_SM_RESP, submit.sequence_number, b"real\x00"))
        await ignore_all_but_unbind(reader, writer)

    async with RawSmsc(stray) as smsc, opened(target_at(smsc.port)) as session:
        with fail_after(BOUND):
            response = await session.submit(fields())
        assert response.message_id == "real"


async def test_submit_after_unbind_is_not_sent_and_unbind_waits_for_the_answer() -> None:
    received: list[WirePdu] = []

    async def polite(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer_bind(reader, writer)
        while True:
            pdu = await read_pdu(reader)
            received.append(pdu)
            if pdu.command_id == UNBIND:
                writer.write(wire(UNBIND_RESP, pdu.sequence_number))
                return

    async with RawSmsc(polite) as smsc:
        with fail_after(BOUND):
            session = await StreamSessionFactory().open(target_at(smsc.port), accept_all)
        with fail_after(BOUND):
            await session.unbind()
        assert await session.wait_closed() == "unbound"
        with pytest.raises(NotSent):
            await session.submit(fields())
        with fail_after(BOUND):
            await session.unbind()  # idempotent
    assert [pdu.command_id for pdu in received] == [UNBIND]


async def test_unbind_lets_a_written_submit_get_its_answer_first() -> None:
    async def slow_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer_bind(reader, writer)
        submit = await read_pdu(reader)
        submit_arrived.set()
        # Only once the session has started unbinding (a second submit is refused) does the answer come.
        await refused_while_unbinding.wait()
        writer.write(wire(SUBMIT_SM_RESP, submit.sequence_number, b"late-but-here\x00"))
        unbind = await read_pdu(reader)
        assert unbind.command_id == UNBIND
        writer.write(wire(UNBIND_RESP, unbind.sequence_number))

    submit_arrived = asyncio.Event()
    refused_while_unbinding = asyncio.Event()
    async with RawSmsc(slow_answer) as smsc:
        with fail_after(BOUND):
            session = await StreamSessionFactory().open(target_at(smsc.port), accept_all)
        submitted = asyncio.ensure_future(session.submit(fields()))
        with fail_after(BOUND):
            await submit_arrived.wait()
        unbinding = asyncio.ensure_future(session.unbind())
        await asyncio.sleep(0)  # one step of unbind: it stops taking submits before its first wait
        assert not session.is_open
        with pytest.raises(NotSent):
            await session.submit(fields())
        refused_while_unbinding.set()
        with fail_after(BOUND):
            response = await submitted
            await unbinding
        assert response.message_id == "late-but-here"
        assert await session.wait_closed() == "unbound"


async def test_the_window_holds_the_third_submit_until_an_answer_frees_a_slot() -> None:
    order: list[str] = []
    answer_first = asyncio.Event()
    two_arrived = asyncio.Event()

    async def windowed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer_bind(reader, writer)
        first, second = await read_pdu(reader), await read_pdu(reader)
        order.extend(["submit", "submit"])
        two_arrived.set()
        await answer_first.wait()
        # An enquire_link round trip: a third submit already written would arrive before its response.
        writer.write(wire(ENQUIRE_LINK, 0x6000))
        probe = await read_pdu(reader)
        order.append("enquire_link_resp" if probe.command_id == ENQUIRE_LINK_RESP else "submit")
        writer.write(wire(SUBMIT_SM_RESP, first.sequence_number, b"one\x00"))
        third = await read_pdu(reader)
        order.append("submit" if third.command_id == SUBMIT_SM else hex(third.command_id))
        writer.write(wire(SUBMIT_SM_RESP, second.sequence_number, b"two\x00"))
        writer.write(wire(SUBMIT_SM_RESP, third.sequence_number, b"three\x00"))
        await ignore_all_but_unbind(reader, writer)

    async with RawSmsc(windowed) as smsc, opened(target_at(smsc.port, window=2)) as session:
        submits = [asyncio.ensure_future(session.submit(fields(text=bytes([n])))) for n in range(3)]
        with fail_after(BOUND):
            await two_arrived.wait()
        assert session.window_in_use == 2
        assert not any(s.done() for s in submits)
        answer_first.set()
        with fail_after(BOUND):
            responses = await asyncio.gather(*submits)
        assert [r.message_id for r in responses] == ["one", "two", "three"]
        assert order == ["submit", "submit", "enquire_link_resp", "submit"]
        assert session.window_in_use == 0


async def test_submits_waiting_for_the_window_are_not_sent_when_the_session_closes() -> None:
    async def hold_then_drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer_bind(reader, writer)
        await read_pdu(reader)
        submit_arrived.set()
        await dropped.wait()

    submit_arrived = asyncio.Event()
    dropped = asyncio.Event()
    async with RawSmsc(hold_then_drop) as smsc, opened(target_at(smsc.port, window=1)) as session:
        written = asyncio.ensure_future(session.submit(fields()))
        waiting = asyncio.ensure_future(session.submit(fields()))
        with fail_after(BOUND):
            await submit_arrived.wait()
        assert session.window_in_use == 1
        dropped.set()  # the script returns and the connection closes
        with fail_after(BOUND):
            outcomes = await asyncio.gather(written, waiting, return_exceptions=True)
        assert isinstance(outcomes[0], ResponseLost)
        assert isinstance(outcomes[1], NotSent)


async def test_the_smscs_enquire_link_is_answered_with_its_sequence() -> None:
    answers: asyncio.Queue[WirePdu] = asyncio.Queue()

    async def probe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer_bind(reader, writer)
        writer.write(wire(ENQUIRE_LINK, 4711))
        await answers.put(await read_pdu(reader))
        await ignore_all_but_unbind(reader, writer)

    async with RawSmsc(probe) as smsc, opened(target_at(smsc.port)):
        with fail_after(BOUND):
            answer = await answers.get()
    assert (answer.command_id, answer.sequence_number, answer.command_status) == (ENQUIRE_LINK_RESP, 4711, 0)


async def test_silence_brings_an_enquire_link_and_an_unanswered_one_ends_the_session() -> None:
    links: list[WirePdu] = []

    async def answers_one_link(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer_bind(reader, writer)
        first = await read_pdu(reader)
        links.append(first)
        writer.write(wire(ENQUIRE_LINK_RESP, first.sequence_number))
        links.append(await read_pdu(reader))  # the second goes unanswered
        await ignore_all_but_unbind(reader, writer)

    target = target_at(0, enquire_link_interval=0.1, response_timeout=1.0)
    async with RawSmsc(answers_one_link) as smsc:
        with fail_after(BOUND):
            session = await StreamSessionFactory().open(replace(target, port=smsc.port), accept_all)
        with fail_after(BOUND):
            reason = await session.wait_closed()
        assert "enquire_link" in reason
        assert_no_session_tasks()
        assert [link.command_id for link in links] == [ENQUIRE_LINK, ENQUIRE_LINK]
        assert links[1].sequence_number != links[0].sequence_number
        with pytest.raises(NotSent):
            await session.submit(fields())


async def test_the_smscs_unbind_is_answered_and_closes_the_session() -> None:
    answers: asyncio.Queue[WirePdu] = asyncio.Queue()

    async def unbinder(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer_bind(reader, writer)
        writer.write(wire(UNBIND, 77))
        await answers.put(await read_pdu(reader))
        await ignore_all_but_unbind(reader, writer)

    async with RawSmsc(unbinder) as smsc:
        with fail_after(BOUND):
            session = await StreamSessionFactory().open(target_at(smsc.port), accept_all)
        with fail_after(BOUND):
            reason = await session.wait_closed()
        assert reason == "the SMSC unbound"
        assert_no_session_tasks()
        with pytest.raises(NotSent):
            await session.submit(fields())
    answer = answers.get_nowait()
    assert (answer.command_id, answer.sequence_number) == (UNBIND_RESP, 77)


async def test_inbound_handlers_are_bounded_and_every_pdu_is_answered() -> None:
    running = 0
    most = 0
    release = asyncio.Event()
    all_busy = asyncio.Event()
    limit = INBOUND_HANDLERS  # more than the window (2): a waiting receipt must not stop submit answers
    sent = limit + 8
    answers: asyncio.Queue[WirePdu] = asyncio.Queue()

    async def slow_commit(pdu: InboundPdu) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        if running == limit:
            all_busy.set()
        await release.wait()
        running -= 1
        return 0

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer_bind(reader, writer)
        writer.write(
            b"".join(
                smpp34.DeliverSm("447700900123", "447700900456", b"part %d" % n, sequence_number=n).encode()
                for n in range(1, sent + 1)
            )
        )
        # The session answers an enquire_link from us only once it reads again: by then every handler slot is busy.
        writer.write(wire(ENQUIRE_LINK, 500))
        while (pdu := await read_pdu(reader)).command_id != UNBIND:
            await answers.put(pdu)
        writer.write(wire(UNBIND_RESP, pdu.sequence_number))

    async with RawSmsc(flood) as smsc, opened(target_at(smsc.port, window=2), slow_commit):
        with fail_after(BOUND):
            await all_busy.wait()
        assert answers.empty()  # nothing acknowledged while the handlers commit
        release.set()
        with fail_after(BOUND):
            got = [await answers.get() for _ in range(sent + 1)]
    assert most == limit
    delivered = sorted(a.sequence_number for a in got if a.command_id == DELIVER_SM_RESP)
    assert delivered == list(range(1, sent + 1))
    assert [a.sequence_number for a in got if a.command_id == ENQUIRE_LINK_RESP] == [500]


def data_sm_body(payload: bytes) -> bytes:
    tlv = struct.pack(">HH", TLV_MESSAGE_PAYLOAD, len(payload)) + payload
    return b"\x00\x01\x01447700900123\x00\x00\x0012345\x00\x00\x00\x08" + tlv


async def test_data_sm_reaches_the_handler_and_its_status_goes_back() -> None:
    answers: asyncio.Queue[WirePdu] = asyncio.Queue()
    seen: list[InboundPdu] = []

    async def refuse_for_good(pdu: InboundPdu) -> int:
        seen.append(pdu)
        return 0x65

    async def mo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer_bind(reader, writer)
        writer.write(wire(DATA_SM, 31, data_sm_body("Привет".encode("utf-16-be"))))
        await answers.put(await read_pdu(reader))
        await ignore_all_but_unbind(reader, writer)

    async with RawSmsc(mo) as smsc, opened(target_at(smsc.port), refuse_for_good):
        with fail_after(BOUND):
            answer = await answers.get()
    assert (answer.command_id, answer.sequence_number, answer.command_status, answer.body) == (
        DATA_SM_RESP,
        31,
        0x65,
        b"\x00",
    )
    [pdu] = seen
    assert (pdu.command, pdu.source_addr, pdu.destination_addr, pdu.data_coding) == (
        "data_sm",
        "447700900123",
        "12345",
        8,
    )
    assert pdu.tlv(TLV_MESSAGE_PAYLOAD) == "Привет".encode("utf-16-be")


async def test_unknown_and_unreadable_requests_get_generic_nack() -> None:
    answers: asyncio.Queue[WirePdu] = asyncio.Queue()

    async def odd(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer_bind(reader, writer)
        writer.write(wire(0x00000099, 5))  # no such command
        await answers.put(await read_pdu(reader))
        writer.write(wire(DATA_SM, 6, b"\x00\x01"))  # a data_sm cut short
        await answers.put(await read_pdu(reader))
        writer.write(wire(0x00000005, 7, b"\x00\x01\x01"))  # a deliver_sm cut short
        await answers.put(await read_pdu(reader))
        await ignore_all_but_unbind(reader, writer)

    async with RawSmsc(odd) as smsc, opened(target_at(smsc.port)) as session:
        with fail_after(BOUND):
            got = [await answers.get() for _ in range(3)]
        assert session.is_open
    assert [(a.command_id, a.sequence_number, a.command_status) for a in got] == [
        (GENERIC_NACK, 5, 0x03),
        (GENERIC_NACK, 6, 0x02),
        (GENERIC_NACK, 7, 0x02),
    ]


# --- TLS ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path


def self_signed(folder: Path, name_in_certificate: x509.GeneralName | None = None) -> Certificate:
    folder.mkdir()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smsc.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([name_in_certificate or x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    files = Certificate(folder / "cert.pem", folder / "key.pem")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return files


def server_tls(certificate: Certificate) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert, certificate.key)
    return context


async def test_tls_binds_when_the_ca_file_trusts_the_smsc_and_submits_over_it(tmp_path: Path) -> None:
    certificate = self_signed(tmp_path / "smsc")

    async def over_tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer_bind(reader, writer)
        submit = await read_pdu(reader)
        writer.write(wire(SUBMIT_SM_RESP, submit.sequence_number, b"tls-1\x00"))
        unbind = await read_pdu(reader)
        writer.write(wire(UNBIND_RESP, unbind.sequence_number))

    async with (
        RawSmsc(over_tls, tls=server_tls(certificate)) as smsc,
        opened(target_at(smsc.port, tls=True, tls_ca_file=certificate.cert)) as session,
    ):
        with fail_after(BOUND):
            response = await session.submit(fields())
        assert response.message_id == "tls-1"


async def test_tls_refuses_an_smsc_whose_certificate_is_not_trusted(tmp_path: Path) -> None:
    certificate = self_signed(tmp_path / "smsc")
    stranger = self_signed(tmp_path / "other")

    async with RawSmsc(answer_bind_then_wait, tls=server_tls(certificate)) as smsc:
        for ca_file in (None, stranger.cert):
            with fail_after(BOUND), pytest.raises(ConnectFailed, match="CERTIFICATE_VERIFY_FAILED"):
                await StreamSessionFactory().open(target_at(smsc.port, tls=True, tls_ca_file=ca_file), accept_all)


async def test_tls_refuses_a_trusted_certificate_for_another_name(tmp_path: Path) -> None:
    elsewhere = self_signed(tmp_path / "smsc", x509.DNSName("smsc.example"))

    async with RawSmsc(answer_bind_then_wait, tls=server_tls(elsewhere)) as smsc:
        with fail_after(BOUND), pytest.raises(ConnectFailed, match="IP address mismatch"):
            await StreamSessionFactory().open(target_at(smsc.port, tls=True, tls_ca_file=elsewhere.cert), accept_all)


async def answer_bind_then_wait(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await answer_bind(reader, writer)
    await ignore_all_but_unbind(reader, writer)
