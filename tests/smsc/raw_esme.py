"""A minimal pipelined ESME on asyncio streams and smpp34's codec, with no smsgrid code in it.

It exists for two things: the smoke tests of the test SMSCs (bind, submit, receipt, MO) and the benchmark's SMSC
ceiling (submit_sm pushed with a window, receipts counted). It answers every deliver_sm with `deliver_status`
at once (None: never answers, like an ESME that died before its commit) and keeps the decoded PDUs in
`delivered`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import smpp34

from tests.smsc import wire


class RawEsme:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._sequence = 0
        self._answers: dict[int, asyncio.Future[tuple[int, int, bytes]]] = {}
        self.delivered: list[smpp34.DeliverSm] = []
        self.receipts = 0
        self.last_delivered_at = 0.0  # time.time() of the latest deliver_sm
        self.deliver_status: int | None = wire.ESME_ROK
        self.closed = asyncio.Event()
        self._arrived = asyncio.Event()
        self._reading = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def bind(
        cls,
        host: str,
        port: int,
        *,
        system_id: str = "rawesme",
        password: str = "pw",
        command_id: int = wire.BIND_TRANSCEIVER,
        timeout: float = 5.0,
    ) -> RawEsme:
        """Connect and bind; raises ConnectionError when the SMSC refuses the bind."""
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        esme = cls(reader, writer)
        command_status, _, _ = await asyncio.wait_for(
            esme.request(command_id, wire.bind_body(system_id, password)), timeout
        )
        if command_status != wire.ESME_ROK:
            await esme.close()
            raise ConnectionError(f"bind refused with command_status 0x{command_status:08X}")
        return esme

    def next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    def request(self, command_id: int, body: bytes = b"") -> asyncio.Future[tuple[int, int, bytes]]:
        """Send a hand-framed request; the future gives (command_status, response command_id, response body)."""
        sequence = self.next_sequence()
        answer = self._expect(sequence)
        self._writer.write(wire.pdu(command_id, sequence, body))
        return answer

    def submit(self, message: smpp34.SubmitSm) -> asyncio.Future[tuple[int, int, bytes]]:
        """Send a submit_sm built without a sequence number (one is given here); its answer as in `request`."""
        sequence = self.next_sequence()
        answer = self._expect(sequence)
        self._writer.write(_with_sequence(message.encode(), sequence))
        return answer

    async def wait_delivered(self, count: int, timeout: float = 10.0) -> list[smpp34.DeliverSm]:
        async with asyncio.timeout(timeout):
            while len(self.delivered) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.delivered

    async def unbind(self, timeout: float = 5.0) -> None:
        with contextlib.suppress(TimeoutError, ConnectionError):
            await asyncio.wait_for(self.request(wire.UNBIND), timeout)
        await self.close()

    async def close(self) -> None:
        self._writer.close()
        self._reading.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await self._reading

    def _expect(self, sequence: int) -> asyncio.Future[tuple[int, int, bytes]]:
        answer: asyncio.Future[tuple[int, int, bytes]] = asyncio.get_running_loop().create_future()
        self._answers[sequence] = answer
        return answer

    async def _read(self) -> None:
        try:
            while True:
                data = await wire.read_pdu(self._reader)
                _, command_id, status, sequence = wire.header_of(data)
                if command_id == wire.DELIVER_SM:
                    decoded = smpp34.decode(data)
                    if isinstance(decoded, smpp34.DeliverSm):
                        self.delivered.append(decoded)
                        self.receipts += decoded.esm_class & 0x3C == 0x04
                        self.last_delivered_at = time.time()
                    if self.deliver_status is not None:
                        self._writer.write(
                            wire.pdu(wire.DELIVER_SM | wire.RESPONSE, sequence, b"\0", status=self.deliver_status)
                        )
                    self._arrived.set()
                elif command_id == wire.ENQUIRE_LINK:
                    self._writer.write(wire.pdu(wire.ENQUIRE_LINK | wire.RESPONSE, sequence))
                elif command_id & wire.RESPONSE:
                    answer = self._answers.pop(sequence, None)
                    if answer is not None and not answer.done():
                        answer.set_result((status, command_id, data[wire.HEADER_LENGTH :]))
                else:
                    self._writer.write(wire.pdu(wire.GENERIC_NACK, sequence, status=wire.ESME_RINVCMDID))
        except (asyncio.IncompleteReadError, ConnectionError, wire.FramingError):
            pass
        finally:
            self._writer.close()  # nothing more can be read: the connection is over
            self.closed.set()
            for answer in self._answers.values():
                if not answer.done():
                    answer.set_exception(ConnectionError("connection closed before the answer"))
                    answer.exception()  # marks it seen: a caller that never awaits it is no error here
            self._answers.clear()


def _with_sequence(data: bytes, sequence: int) -> bytes:
    return data[:12] + sequence.to_bytes(4, "big") + data[16:]
