"""Which carrier carries the messages: the SMPP connections of `[[carrier.smpp]]` when any is configured, else the
simulator (as before issue 14). The configuration model (`smsgrid.config`) imports no subsystem, so its
`[[carrier.smpp]]` tables become the adapter's `SmppConnectionSettings` here."""

from __future__ import annotations

from typing import Protocol

from smsgrid.carrier.port import Carrier
from smsgrid.carrier.simulator import CarrierSimulator
from smsgrid.carrier.smpp.adapter import SmppCarrier
from smsgrid.carrier.smpp.addresses import TonNpi
from smsgrid.carrier.smpp.gsm7 import Gsm7Form
from smsgrid.carrier.smpp.segmentation import Concatenation
from smsgrid.carrier.smpp.settings import Route, SmppConnectionSettings
from smsgrid.config import CarrierSettings, SmppConnection


class CarrierClock(Protocol):
    def now(self) -> float: ...
    def scaled(self, seconds: float) -> float: ...


def smpp_connection_settings(connection: SmppConnection) -> SmppConnectionSettings:
    """One validated `[[carrier.smpp]]` table as the adapter takes it (the password from either key)."""
    return SmppConnectionSettings(
        name=connection.name,
        host=connection.host,
        port=connection.port,
        system_id=connection.system_id,
        password=connection.secret,
        system_type=connection.system_type,
        bind=connection.bind,
        tls=connection.tls,
        tls_ca_file=connection.tls_ca_file,
        window=connection.window,
        tps=connection.tps,
        weight=connection.weight,
        routes=tuple(Route(to_prefix=route.to, sender=route.from_) for route in connection.routes),
        concatenation=Concatenation(connection.concatenation),
        gsm7_form=Gsm7Form(connection.gsm7),
        gsm7_data_coding=connection.gsm7_data_coding,
        short_code_ton_npi=TonNpi(*connection.short_code_ton_npi),
        national_country_code=connection.national_country_code or None,
        national_trunk_prefix=connection.national_trunk_prefix,
        unknown_ton_is_international=connection.unknown_ton_is_international,
        enquire_link_seconds=connection.enquire_link_seconds,
        response_timeout_seconds=connection.response_timeout_seconds,
        connect_timeout_seconds=connection.connect_timeout_seconds,
        reconnect_min_seconds=connection.reconnect_min_seconds,
        reconnect_max_seconds=connection.reconnect_max_seconds,
        reassembly_timeout_seconds=connection.reassembly_timeout_seconds,
    )


def build_carrier(settings: CarrierSettings, *, clock: CarrierClock) -> Carrier:
    """`SmppCarrier` over every `[[carrier.smpp]]` connection, or the simulator when there is none."""
    if settings.smpp:
        return SmppCarrier([smpp_connection_settings(c) for c in settings.smpp], clock=clock)
    return CarrierSimulator(settings, scaled=clock.scaled)


def carrier_kind(settings: CarrierSettings) -> str:
    """What carries the messages, as the admin API and the CLI name it: "smpp" or "simulator"."""
    return "smpp" if settings.smpp else "simulator"
