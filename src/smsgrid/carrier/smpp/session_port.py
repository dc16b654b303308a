"""The SMPP session port: one bound ESME session to one SMSC, as the adapter sees it.

The adapter (routing, throughput, receipts, reassembly) talks to this port; `session.py` implements it over
asyncio streams with smpp34's codec for submit_sm / deliver_sm, and tests use a fake. The session owns the wire:
framing, sequence numbers, the window of outstanding requests, enquire_link, generic_nack, unbind. It decides
nothing about messages.

Two promises the adapter builds on:

- **An inbound PDU is acknowledged only after the handler returned**, with the command_status it returned
  (`deliver_sm_resp` / `data_sm_resp`). The adapter's handler commits what the PDU caused before returning, so a
  crash before the ack makes the SMSC send it again instead of losing it. (smpp34's own client acknowledges
  deliver_sm before the application sees it; that is why the session is not smpp34's `Client`.)
- **`submit` tells "not sent" from "sent, answer lost"**: `NotSent` means the PDU never left (the session was
  closed or closing before it was written): safe to try elsewhere. `ResponseLost` means it was written and no
  answer came (response timer, or the connection dropped): the SMSC may have taken it, so the outcome is
  unknown and the adapter must never re-send it. A `SubmitResponse` (any command_status) or `GenericNack` is a
  definite answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal, Protocol


class BindMode(StrEnum):
    """The bind PDU a session opens with (SMPP 3.4 §4.1)."""

    TRANSCEIVER = "transceiver"
    TRANSMITTER = "transmitter"
    RECEIVER = "receiver"


@dataclass(frozen=True, slots=True)
class SessionTarget:
    """Where and how one session binds."""

    host: str
    port: int
    system_id: str  # at most 15 characters (16 octets with the NUL)
    password: str = ""  # at most 8 characters (9 octets with the NUL); never logged
    system_type: str = ""
    bind: BindMode = BindMode.TRANSCEIVER
    tls: bool = False
    tls_ca_file: Path | None = None  # extra trusted CAs; the system store is always used
    window: int = 10  # requests this session may have outstanding (submit_sm, enquire_link)
    connect_timeout: float = 10.0  # TCP connect + TLS handshake + bind response
    response_timeout: float = 30.0  # a submit_sm or enquire_link without an answer: the answer is lost
    enquire_link_interval: float = 30.0  # seconds of silence before an enquire_link
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""

    def __repr__(self) -> str:  # the password never reaches a log through a repr
        return f"SessionTarget({self.host}:{self.port}, system_id={self.system_id!r}, bind={self.bind.value})"


@dataclass(frozen=True, slots=True)
class Tlv:
    tag: int
    value: bytes


@dataclass(frozen=True, slots=True)
class SubmitSmFields:
    """Every field of one submit_sm the adapter decides (one part of a message)."""

    source_addr: str
    source_addr_ton: int
    source_addr_npi: int
    destination_addr: str
    dest_addr_ton: int
    dest_addr_npi: int
    short_message: bytes
    data_coding: int
    esm_class: int = 0
    registered_delivery: int = 0
    validity_period: str = ""  # "" = the SMSC's default; else the relative form YYMMDDhhmmss000R
    service_type: str = ""
    protocol_id: int = 0
    priority_flag: int = 0
    tlvs: tuple[Tlv, ...] = ()


@dataclass(frozen=True, slots=True)
class SubmitResponse:
    """The SMSC's submit_sm_resp: command_status 0 with its message_id, or a refusal status."""

    command_status: int
    message_id: str | None  # None when refused (or when an SMSC leaves it empty)
    sequence_number: int


@dataclass(frozen=True, slots=True)
class InboundPdu:
    """A deliver_sm or data_sm the SMSC sent: a receipt or a handset's message (the adapter tells which)."""

    command: Literal["deliver_sm", "data_sm"]
    sequence_number: int
    service_type: str
    source_addr: str
    source_addr_ton: int
    source_addr_npi: int
    destination_addr: str
    dest_addr_ton: int
    dest_addr_npi: int
    esm_class: int
    data_coding: int
    short_message: bytes  # empty for data_sm (its text travels in message_payload)
    tlvs: tuple[Tlv, ...] = ()
    registered_delivery: int = 0

    def tlv(self, tag: int) -> bytes | None:
        """The first TLV with *tag*, or None."""
        return next((t.value for t in self.tlvs if t.tag == tag), None)


# Returns the command_status of the response the session then sends: 0 (ESME_ROK) once the PDU's effects are
# committed, ESME_RX_T_APPN (0x64, "try again later") when they could not be, ESME_RX_R_APPN (0x65) to refuse
# for good (a coding the adapter cannot read). The session sends the response only after this returns.
InboundHandler = Callable[[InboundPdu], Awaitable[int]]

ESME_RX_T_APPN = 0x64
ESME_RX_R_APPN = 0x65


class SessionError(Exception):
    """Base of what a session raises."""


class ConnectFailed(SessionError):
    """No TCP/TLS connection, or no bind response in time."""


class BindRefused(SessionError):
    """The SMSC answered the bind with an error (wrong password, unknown system_id, …)."""

    def __init__(self, command_status: int) -> None:
        super().__init__(f"bind refused with command_status 0x{command_status:08X}")
        self.command_status = command_status


class NotSent(SessionError):
    """The submit_sm never left: the session is closed or closing. Safe to send elsewhere."""


class ResponseLost(SessionError):
    """The submit_sm was written and no answer came (timer, or the connection dropped): outcome unknown."""


class GenericNack(SessionError):
    """The SMSC answered with generic_nack: it did not take the PDU."""

    def __init__(self, command_status: int) -> None:
        super().__init__(f"generic_nack with command_status 0x{command_status:08X}")
        self.command_status = command_status


class SmppSession(Protocol):
    """One bound session. Created bound by `SessionFactory.open`; ends by `unbind`, the SMSC, or the network."""

    @property
    def bind(self) -> BindMode: ...
    @property
    def window_in_use(self) -> int: ...
    @property
    def is_open(self) -> bool: ...

    async def submit(self, fields: SubmitSmFields) -> SubmitResponse:
        """Send one submit_sm and wait for its answer. Waits for room in the window first.

        Raises NotSent, ResponseLost or GenericNack (see the module docstring)."""
        ...

    async def unbind(self) -> None:
        """Stop taking submits, wait (bounded) for the outstanding ones, send unbind, close. Idempotent."""
        ...

    async def wait_closed(self) -> str:
        """Wait until the session ended, for whatever reason; returns the reason for the log."""
        ...


class SessionFactory(Protocol):
    async def open(self, target: SessionTarget, on_inbound: InboundHandler) -> SmppSession:
        """Connect, bind, and start reading. Raises ConnectFailed or BindRefused."""
        ...
