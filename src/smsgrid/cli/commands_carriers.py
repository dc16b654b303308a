"""`smsgrid carriers`: what carries the messages, and each SMPP connection's state, from the running server."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from smsgrid.api.carriers import CarrierConnection, CarrierList
from smsgrid.cli.options import DEFAULT_CLIENT, ClientOptions, client_command, out, print_json, when
from smsgrid.store.views import wire

SIMULATOR_ONLY_TEXT = "No [[carrier.smpp]] connections: the simulator carries everything."
ELSEWHERE_TEXT = (
    "This server does not run the carrier (serve --no-dispatch): its SMPP connections live in the "
    "`smsgrid worker` processes, which this server cannot see."
)
COLUMNS = (
    "name",
    "state",
    "bind",
    "window",
    "TPS now/conf",
    "submitted",
    "throttled",
    "unknown outcomes",
    "last error",
)


def connection_state(link: CarrierConnection) -> str:
    """The state, with when the next connect is due while backing off."""
    if link.next_attempt_at is not None and link.state == "backing_off":
        return f"{link.state} (next {when(link.next_attempt_at)})"
    return link.state


def tps(value: float) -> str:
    return f"{value:g}"


def carriers_table(listing: CarrierList) -> Table:
    table = Table()
    for column in COLUMNS:
        table.add_column(column, overflow="fold")
    for link in listing.value:
        table.add_row(
            escape(link.name),
            connection_state(link),
            link.bind,
            f"{link.window_in_use}/{link.window_size}",
            f"{tps(link.tps_limit)}/{tps(link.tps_configured)}",
            str(link.submitted_total),
            str(link.throttled_total),
            str(link.unknown_outcomes_total),
            escape(link.last_error or ""),
        )
    return table


def empty_text(listing: CarrierList) -> str | None:
    """What to say instead of a table, when there is no connection to show."""
    if listing.carrier == "simulator":
        return SIMULATOR_ONLY_TEXT
    if not listing.dispatching:
        return ELSEWHERE_TEXT
    return None if listing.value else "No SMPP connection reports yet."


@client_command()
def carriers(opts: ClientOptions = DEFAULT_CLIENT) -> None:
    """Show what carries the messages: each SMPP connection's state, window, throughput and throttling."""
    with opts.connect() as client:
        listing = client.carriers()
    if opts.as_json:
        print_json(wire(listing))
        return
    text = empty_text(listing)
    if text is not None:
        out.print(escape(text))
        return
    out.print(carriers_table(listing))
