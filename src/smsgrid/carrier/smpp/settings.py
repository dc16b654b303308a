"""One SMPP connection's settings as the adapter takes them (the `[[carrier.smpp]]` tables, already validated).

The configuration model (`smsgrid.config`) checks the TOML and builds these; the adapter imports nothing from
it, so tests build them directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from smsgrid.carrier.smpp.addresses import SHORT_CODE_DEFAULT, TonNpi
from smsgrid.carrier.smpp.gsm7 import Gsm7Form
from smsgrid.carrier.smpp.protocol import DataCoding
from smsgrid.carrier.smpp.segmentation import Concatenation


@dataclass(frozen=True, slots=True)
class Route:
    """Which messages a connection carries: a destination prefix ("+44", "+1425") and/or an exact sender.

    None matches anything; a connection with no routes carries any message."""

    to_prefix: str | None = None
    sender: str | None = None


@dataclass(frozen=True, slots=True)
class SmppConnectionSettings:
    name: str
    host: str
    port: int
    system_id: str
    password: SecretStr = field(default_factory=lambda: SecretStr(""))
    system_type: str = ""
    bind: str = "transceiver"  # or "transmitter_receiver" (a TX and an RX session)
    tls: bool = False
    tls_ca_file: Path | None = None
    window: int = 10
    tps: float = 50.0  # submit_sm per second on this connection (parts, not messages)
    weight: int = 1
    routes: tuple[Route, ...] = ()
    concatenation: Concatenation = Concatenation.UDH
    gsm7_form: Gsm7Form = Gsm7Form.UNPACKED
    gsm7_data_coding: int = DataCoding.SMSC_DEFAULT
    short_code_ton_npi: TonNpi = SHORT_CODE_DEFAULT
    national_country_code: str | None = None
    national_trunk_prefix: str = ""
    unknown_ton_is_international: bool = False
    enquire_link_seconds: float = 30.0
    response_timeout_seconds: float = 30.0
    connect_timeout_seconds: float = 10.0
    reconnect_min_seconds: float = 1.0
    reconnect_max_seconds: float = 60.0
    # An incomplete handset message is delivered with what arrived after this long (never dropped).
    reassembly_timeout_seconds: float = 600.0
