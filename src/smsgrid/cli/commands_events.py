"""`smsgrid events tail` and `smsgrid deadletters list|redeliver`: watch what is published, replay what failed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from smsgrid.cli.client import ServerRefused, SmsgridClient
from smsgrid.cli.commands_subscriptions import expand_event_types
from smsgrid.cli.options import (
    DEFAULT_URL,
    EXIT_REFUSED,
    EXIT_USAGE,
    WELL_KNOWN_ACCESS_KEY,
    JsonOption,
    KeyOption,
    UrlOption,
    connect,
    err,
    fail,
    out,
    print_json,
    print_json_line,
    when,
)
from smsgrid.events.models import SMS_DELIVERY_REPORT_RECEIVED, SMS_RECEIVED
from smsgrid.store.views import EventView, wire

events_app = typer.Typer(help="Watch the events smsgrid publishes.", no_args_is_help=True)
deadletters_app = typer.Typer(help="List and redeliver dead-lettered events.", no_args_is_help=True)

PAGE = 100
MAX_PAGES_PER_POLL = 20


class EventCursor:
    """Finds events newer than a starting point by polling `GET /admin/events` (newest first, by `seq`).

    A PostgreSQL store may commit a lower `seq` after a higher one, so the cursor remembers every `seq` it
    has shown above its starting point instead of only the highest.
    """

    def __init__(self, client: SmsgridClient, start_after: int) -> None:
        self.client = client
        self.start_after = start_after
        self.shown: set[int] = set()

    @classmethod
    def at_end(cls, client: SmsgridClient, backlog: int = 0) -> tuple[EventCursor, list[EventView]]:
        """A cursor after the newest event, and the `backlog` newest events (oldest first) to show first."""
        newest = client.list_events(limit=max(1, min(backlog, 1000)))
        start = max((e.seq for e in newest), default=0)
        cursor = cls(client, start)
        earlier = sorted(newest, key=lambda e: e.seq)[-backlog:] if backlog else []
        return cursor, earlier

    def poll(self) -> list[EventView]:
        """New events since the last poll, oldest first."""
        found: list[EventView] = []
        before: int | None = None
        for _ in range(MAX_PAGES_PER_POLL):
            page = self.client.list_events(limit=PAGE, before_seq=before)
            fresh = [e for e in page if e.seq > self.start_after and e.seq not in self.shown]
            found.extend(fresh)
            if len(page) < PAGE or min(e.seq for e in page) <= self.start_after:
                break
            before = min(e.seq for e in page)
        found.sort(key=lambda e: e.seq)
        self.shown.update(e.seq for e in found)
        return found


def _field(data: dict[str, Any], pascal: str) -> Any:
    """A `data` field in either casing (SPEC §1): camelCase by default, PascalCase when the resource says so."""
    camel = pascal[0].lower() + pascal[1:]
    return data.get(pascal, data.get(camel))


def _summary(entry: EventView) -> str:
    data = entry.event.data if isinstance(entry.event.data, dict) else {}
    route = f"{_field(data, 'From')} → {_field(data, 'To')}"
    if entry.event_type == SMS_RECEIVED:
        return f"{route}: {_field(data, 'Message')!r}"
    if entry.event_type == SMS_DELIVERY_REPORT_RECEIVED:
        return f"{route}: {_field(data, 'DeliveryStatus')} ({_field(data, 'DeliveryStatusDetails')})"
    return entry.subject


def _print_event(entry: EventView, as_json: bool) -> None:
    if as_json:
        print_json_line(wire(entry))
        return
    kind = entry.event_type.removeprefix("Microsoft.Communication.")
    out.print(f"{when(entry.published_at)}  [bold]{escape(kind)}[/bold]  {escape(entry.id)}  {escape(_summary(entry))}")


@events_app.command("tail")
def tail(
    event_type: Annotated[
        list[str] | None,
        typer.Option("--type", help="Only these types (SMSReceived, SMSDeliveryReportReceived or full names)."),
    ] = None,
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="Stop after this many events (exit 1 if --timeout ends first).")
    ] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", min=0.0, help="Stop after this many seconds.")] = None,
    last: Annotated[int, typer.Option("--last", min=0, max=1000, help="First show the N newest past events.")] = 0,
    interval: Annotated[float, typer.Option("--interval", min=0.05, help="Seconds between polls.")] = 0.5,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = WELL_KNOWN_ACCESS_KEY,
    as_json: JsonOption = False,
) -> None:
    """Print events as they are published (JSON Lines with --json). Ctrl+C stops."""
    wanted = set(expand_event_types(event_type or []))
    if "All" in wanted:
        wanted = set()
    matches: Callable[[EventView], bool] = lambda e: not wanted or e.event_type in wanted  # noqa: E731
    shown = 0
    deadline = None if timeout is None else time.monotonic() + timeout
    with connect(url, key) as client:
        cursor, backlog = EventCursor.at_end(client, last)
        # On stderr even with --json: scripts may wait for this line before causing the events they expect.
        what = ", ".join(sorted(wanted)) or "all event types"
        err.print(f"waiting for events ({escape(what)}) at {escape(client.url)}; Ctrl+C stops")
        try:
            batch = backlog
            while True:
                for entry in batch:
                    if matches(entry):
                        _print_event(entry, as_json)
                        shown += 1
                        if count is not None and shown >= count:
                            return
                if deadline is not None and time.monotonic() >= deadline:
                    break
                pause = interval if deadline is None else max(0.0, min(interval, deadline - time.monotonic()))
                time.sleep(pause)
                batch = cursor.poll()
        except KeyboardInterrupt:
            return
    if count is not None:
        fail(f"only {shown} of {count} event(s) arrived within {timeout} s.", EXIT_REFUSED)


@deadletters_app.command("list")
def list_deadletters(
    include_redelivered: Annotated[
        bool, typer.Option("--include-redelivered", help="Also those already redelivered.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many, newest first.")] = 100,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = WELL_KNOWN_ACCESS_KEY,
    as_json: JsonOption = False,
) -> None:
    """Events that could not be delivered, with why (deadLetterReason, lastDeliveryOutcome)."""
    with connect(url, key) as client:
        items = client.list_deadletters(limit=limit, include_redelivered=include_redelivered)
    if as_json:
        print_json([wire(item) for item in items])
        return
    table = Table()
    for column in (
        "id",
        "subscription",
        "event id",
        "reason",
        "last outcome",
        "attempts",
        "dead-lettered",
        "redelivered",
    ):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(
            str(item.id),
            escape(item.subscription),
            escape(item.event_id),
            item.dead_letter_reason,
            f"{item.last_delivery_outcome} ({item.last_http_status_code or '-'})",
            str(item.delivery_attempts),
            when(item.dead_lettered_at),
            when(item.redelivered_at),
        )
    out.print(table)


@deadletters_app.command("redeliver")
def redeliver(
    deadletter_id: Annotated[int | None, typer.Argument(help="The dead letter's id (see `deadletters list`).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Redeliver every dead letter not yet redelivered.")] = False,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = WELL_KNOWN_ACCESS_KEY,
    as_json: JsonOption = False,
) -> None:
    """Queue dead-lettered events for delivery again, to the same subscription."""
    if (deadletter_id is None) == (not all_):
        fail("give one dead letter id, or --all.", EXIT_USAGE)
    with connect(url, key) as client:
        if deadletter_id is not None:
            answer = client.redeliver(deadletter_id)
            if as_json:
                print_json(answer)
            else:
                out.print(f"dead letter {deadletter_id} queued for redelivery")
            return
        results = _redeliver_all(client)
    refused = [r for r in results if not r["redelivered"]]
    if as_json:
        print_json(results)
    else:
        for result in refused:
            out.print(f"dead letter {result['id']}: {escape(str(result['error']))}")
        out.print(f"{len(results) - len(refused)} redelivered, {len(refused)} refused.")
    if refused:
        raise typer.Exit(EXIT_REFUSED)


def _redeliver_all(client: SmsgridClient) -> list[dict[str, Any]]:
    """Redeliver in rounds: the list is capped per call and drops what was redelivered, so ask again until
    nothing new is left (refused ones stay listed; `tried` keeps them from being tried twice)."""
    results: list[dict[str, Any]] = []
    tried: set[int] = set()
    progress = Progress(TextColumn("redelivering"), BarColumn(), MofNCompleteColumn(), console=err, transient=True)
    with progress:
        task = progress.add_task("redeliver", total=0)
        while True:
            page = [d for d in client.list_deadletters(limit=1000) if d.id not in tried]
            if not page:
                break
            progress.update(task, total=len(tried) + len(page))
            for item in sorted(page, key=lambda d: d.id):
                tried.add(item.id)
                try:
                    client.redeliver(item.id)
                    results.append({"id": item.id, "redelivered": True})
                except ServerRefused as exc:
                    results.append({"id": item.id, "redelivered": False, "error": exc.message})
                progress.advance(task)
    return results
