"""`smsgrid send`, `receive` and `messages list|show`: SMS out through the data plane, in through the admin API."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.tree import Tree

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
    when,
)
from smsgrid.config import DEFAULT_PHONE_NUMBERS
from smsgrid.sms import MAX_RECIPIENTS
from smsgrid.store.views import MessageView, iso, wire

messages_app = typer.Typer(help="Read the messages smsgrid has sent and received.", no_args_is_help=True)

DEFAULT_SENDER = DEFAULT_PHONE_NUMBERS[0]
CSV_COLUMNS = ("to", "message", "from", "tag")


@dataclass(frozen=True, slots=True)
class CsvRow:
    line: int
    sender: str
    to: str
    message: str
    tag: str | None


def read_send_csv(path: Path, default_sender: str, default_tag: str | None) -> list[CsvRow]:
    """Rows of a bulk-send file: a header naming `to` and `message` (and optionally `from`, `tag`).

    Every problem is collected, so one run shows them all (STYLE: errors collected and raised once).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}.", EXIT_USAGE)
    reader = csv.DictReader(text.splitlines())
    reader.fieldnames = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in ("to", "message") if name not in reader.fieldnames]
    if missing:
        fail(
            f"{path}: the first line must be a header with the columns {','.join(CSV_COLUMNS)} (from and tag "
            f"optional); missing {', '.join(missing)}.",
            EXIT_USAGE,
        )
    rows: list[CsvRow] = []
    problems: list[str] = []
    for raw in reader:
        line = reader.line_num
        if not any((value or "").strip() for value in raw.values() if isinstance(value, str)):
            continue
        to = (raw.get("to") or "").strip()
        # The message is sent as written; only the other columns are trimmed.
        message = raw.get("message")
        if not to:
            problems.append(f"line {line}: the 'to' column is empty")
        elif message is None:
            problems.append(f"line {line}: the 'message' column is missing")
        else:
            sender = (raw.get("from") or "").strip() or default_sender
            tag = (raw.get("tag") or "").strip() or default_tag
            rows.append(CsvRow(line=line, sender=sender, to=to, message=message, tag=tag))
    if problems:
        fail(f"{path} has {len(problems)} problem(s):\n  " + "\n  ".join(problems), EXIT_USAGE)
    if not rows:
        fail(f"{path} has a header but no rows to send.", EXIT_USAGE)
    return rows


def _results_table(results: list[dict[str, Any]]) -> Table:
    table = Table()
    table.add_column("to", overflow="fold")
    table.add_column("message id", overflow="fold")
    table.add_column("status", overflow="fold")
    for result in results:
        if result.get("successful"):
            status = f"[green]{result.get('httpStatusCode')} {result.get('repeatabilityResult', '')}[/green]"
        else:
            status = f"[red]{result.get('httpStatusCode')} {escape(str(result.get('errorMessage', '')))}[/red]"
        table.add_row(escape(str(result.get("to"))), str(result.get("messageId") or "-"), status)
    return table


def send(
    to: Annotated[
        list[str] | None, typer.Option("--to", help=f"Recipient in E.164; repeat for up to {MAX_RECIPIENTS}.")
    ] = None,
    message: Annotated[str | None, typer.Option("--message", "-m", help="The text to send.")] = None,
    sender: Annotated[
        str,
        typer.Option("--from", help="One of the resource's numbers, short codes or sender IDs.", show_default=True),
    ] = DEFAULT_SENDER,
    report: Annotated[
        bool, typer.Option("--report", help="Ask for a delivery report (SMSDeliveryReportReceived).")
    ] = False,
    tag: Annotated[str | None, typer.Option("--tag", help="Tag echoed back in the delivery report.")] = None,
    csv_file: Annotated[
        Path | None,
        typer.Option("--csv", help="Bulk send: a CSV file with the header to,message (optional from,tag)."),
    ] = None,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = WELL_KNOWN_ACCESS_KEY,
    as_json: JsonOption = False,
) -> None:
    """Send an SMS through the ACS data plane (POST /sms, HMAC-signed like the official SDK)."""
    if csv_file is not None:
        if to or message is not None:
            fail("give either --csv FILE or --to/--message, not both.", EXIT_USAGE)
        _send_csv(csv_file, sender, report, tag, url, key, as_json)
        return
    if not to or message is None:
        fail("say whom and what: --to +14255550123 --message 'Hello' (or --csv FILE for many).", EXIT_USAGE)
    if len(to) > MAX_RECIPIENTS:
        fail(f"at most {MAX_RECIPIENTS} --to per send (ACS limit); use --csv for more.", EXIT_USAGE)
    with connect(url, key) as client:
        results = client.send(sender, to, message, report=report, tag=tag)
    _finish(results, as_json)


def _send_csv(path: Path, sender: str, report: bool, tag: str | None, url: str, key: str, as_json: bool) -> None:
    rows = read_send_csv(path, sender, tag)
    results: list[dict[str, Any]] = []
    with connect(url, key) as client:
        progress = Progress(
            TextColumn("sending"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True
        )
        with progress:
            task = progress.add_task("send", total=len(rows))
            for row in rows:
                [result] = client.send(row.sender, [row.to], row.message, report=report, tag=row.tag)
                results.append({"line": row.line, **result})
                progress.advance(task)
    _finish(results, as_json)


def _finish(results: list[dict[str, Any]], as_json: bool) -> None:
    failed = [r for r in results if not r.get("successful")]
    if as_json:
        print_json(results)
    else:
        out.print(_results_table(results))
        sent = len(results) - len(failed)
        out.print(f"{sent} accepted, {len(failed)} refused.")
    if failed:
        raise typer.Exit(EXIT_REFUSED)


def receive(
    message: Annotated[str, typer.Option("--message", "-m", help="The text the handset sends.")],
    sender: Annotated[str, typer.Option("--from", help="The handset's number (E.164).")] = "+14255550123",
    to: Annotated[str, typer.Option("--to", help="One of the resource's numbers.")] = DEFAULT_SENDER,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = WELL_KNOWN_ACCESS_KEY,
    as_json: JsonOption = False,
) -> None:
    """Simulate an SMS arriving at one of your numbers (POST /admin/inbound): subscribers get SMSReceived."""
    with connect(url, key) as client:
        message_id = client.inbound(sender, to, message)
    if as_json:
        print_json({"messageId": message_id})
    else:
        out.print(f"received {message_id}")


@messages_app.command("list")
def list_messages(
    number: Annotated[str | None, typer.Option("--number", help="Only messages from or to this number.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many, newest first.")] = 50,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = WELL_KNOWN_ACCESS_KEY,
    as_json: JsonOption = False,
) -> None:
    """List messages, newest first."""
    with connect(url, key) as client:
        items = client.list_messages(limit=limit, number=number)
    if as_json:
        print_json([wire(item) for item in items])
        return
    if not items:
        out.print("No messages yet: try `smsgrid send` or `smsgrid receive`.")
        return
    table = Table()
    for column in ("created", "dir", "from", "to", "status", "segments", "message id", "message"):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(
            when(item.created_at),
            {"incoming": "in", "outgoing": "out"}[item.direction],
            item.from_number,
            item.to_number,
            _status(item),
            str(item.segments),
            item.message_id,
            escape(_short(item.body)),
        )
    out.print(table)


def _status(message: MessageView) -> str:
    code = message.delivery_status_code
    return f"{message.status} ({code})" if code else message.status


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@messages_app.command("show")
def show_message(
    message_id: Annotated[str, typer.Argument(help="The message id (Outgoing_… or Incoming_…).")],
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = WELL_KNOWN_ACCESS_KEY,
    as_json: JsonOption = False,
) -> None:
    """One message: its state, delivery report, events and each event's deliveries."""
    with connect(url, key) as client:
        item = client.get_message(message_id)
    if as_json:
        print_json(wire(item))
        return
    tree = Tree(f"[bold]{escape(item.message_id)}[/bold]  {item.direction}  {_status(item)}")
    tree.add(f"from {item.from_number} to {item.to_number}, {item.segments} segment(s) {item.encoding}")
    tree.add(f"message: {escape(repr(item.body))}")
    if item.tag is not None:
        tree.add(f"tag: {escape(item.tag)}")
    report = item.delivery_report
    if report:
        tree.add(f"delivery report: {report.delivery_status} — {escape(report.delivery_status_details)}")
    for event in item.events:
        branch = tree.add(f"event {event.event_type} ({iso(event.published_at)})")
        for delivery in event.deliveries:
            attempts = ", ".join(f"#{a.attempt} {a.status_code or '-'} {a.outcome}" for a in delivery.attempts)
            branch.add(escape(f"→ {delivery.subscription}: {delivery.state}  ({attempts or 'no attempt yet'})"))
    out.print(tree)
