"""The carrier's connections in `/metrics`: read from `Carrier.connections()` when scraped (a custom collector),
never pushed, one series per connection labelled with its name and kind."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from smsgrid.carrier.memory import InMemoryCarrier
from smsgrid.carrier.port import ConnectionStatus
from smsgrid.metrics import Metrics, exposition

BOUND = ConnectionStatus(
    name="acme-1",
    kind="smpp",
    state="bound",
    bind="transceiver",
    sending=True,
    receiving=True,
    window_in_use=3,
    window_size=10,
    tps_limit=25.0,
    tps_configured=50.0,
    submitted_total=120,
    throttled_total=4,
    unknown_outcomes_total=1,
    receipts_total=110,
    inbound_total=7,
    reconnects_total=2,
    last_error="ESME_RTHROTTLED",
)
BACKING_OFF = dataclasses.replace(
    BOUND,
    name="acme-2",
    bind="transmitter_receiver",
    state="backing_off",
    sending=False,
    receiving=False,
    window_in_use=0,
    submitted_total=0,
    next_attempt_at=1_800_000_000.0,
)


def samples(text: bytes) -> dict[tuple[str, str], float]:
    """(sample name, connection) → value, for the carrier's series."""
    found: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            if sample.name.startswith("smsgrid_carrier_connection_"):
                assert sample.labels["kind"] == "smpp"
                found[(sample.name, sample.labels["connection"])] = sample.value
    return found


def test_each_connection_is_exported_with_its_name_and_kind() -> None:
    metrics = Metrics()
    metrics.watch_carrier(InMemoryCarrier(links=(BOUND, BACKING_OFF)).connections)
    found = samples(generate_latest(metrics.registry))
    assert found[("smsgrid_carrier_connection_up", "acme-1")] == 1
    assert found[("smsgrid_carrier_connection_up", "acme-2")] == 0
    assert found[("smsgrid_carrier_connection_sending", "acme-2")] == 0
    assert found[("smsgrid_carrier_connection_receiving", "acme-1")] == 1
    assert found[("smsgrid_carrier_connection_window_in_use", "acme-1")] == 3
    assert found[("smsgrid_carrier_connection_window_size", "acme-1")] == 10
    assert found[("smsgrid_carrier_connection_tps_limit", "acme-1")] == 25
    assert found[("smsgrid_carrier_connection_tps_configured", "acme-1")] == 50
    assert found[("smsgrid_carrier_connection_submitted_total", "acme-1")] == 120
    assert found[("smsgrid_carrier_connection_throttled_total", "acme-1")] == 4
    assert found[("smsgrid_carrier_connection_unknown_outcomes_total", "acme-1")] == 1
    assert found[("smsgrid_carrier_connection_receipts_total", "acme-1")] == 110
    assert found[("smsgrid_carrier_connection_inbound_total", "acme-1")] == 7
    assert found[("smsgrid_carrier_connection_reconnects_total", "acme-1")] == 2
    assert found[("smsgrid_carrier_connection_submitted_total", "acme-2")] == 0


def test_the_values_are_read_when_scraped_not_pushed() -> None:
    carrier = InMemoryCarrier(links=(BOUND,))
    metrics = Metrics()
    metrics.watch_carrier(carrier.connections)
    assert samples(generate_latest(metrics.registry))[("smsgrid_carrier_connection_submitted_total", "acme-1")] == 120
    carrier.links = (dataclasses.replace(BOUND, submitted_total=121, state="connecting"),)
    later = samples(generate_latest(metrics.registry))
    assert later[("smsgrid_carrier_connection_submitted_total", "acme-1")] == 121
    assert later[("smsgrid_carrier_connection_up", "acme-1")] == 0


def test_the_simulator_has_no_connection_series() -> None:
    metrics = Metrics()
    metrics.watch_carrier(InMemoryCarrier().connections)
    text = generate_latest(metrics.registry)
    assert samples(text) == {}
    assert b"# TYPE smsgrid_carrier_connection_up gauge" in text  # declared, so a dashboard finds the name


def test_a_process_that_does_not_run_the_carrier_exports_no_carrier_series() -> None:
    assert b"smsgrid_carrier_connection" not in generate_latest(Metrics().registry)


def test_watching_twice_registers_the_collector_once() -> None:
    metrics = Metrics()
    metrics.watch_carrier(InMemoryCarrier(links=(BOUND,)).connections)
    metrics.watch_carrier(InMemoryCarrier(links=(BACKING_OFF,)).connections)
    assert {connection for _, connection in samples(generate_latest(metrics.registry))} == {"acme-1"}


def test_the_exposition_reads_the_connections_on_the_event_loop_not_the_rendering_thread() -> None:
    callers: list[int] = []

    def connections() -> tuple[ConnectionStatus, ...]:
        callers.append(threading.get_ident())
        return (BOUND,)

    metrics = Metrics()
    metrics.watch_carrier(connections)
    text = asyncio.run(exposition(metrics, pending_deliveries=0))
    assert samples(text)[("smsgrid_carrier_connection_window_in_use", "acme-1")] == 3
    assert callers == [threading.get_ident()]
