"""The CLI's commands in-process (Typer's CliRunner) against one real server for the module: the human tables,
the usage errors and the refusals the subprocess acceptance tests do not reach (exit codes per docs/cli.md)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner, Result

from smsgrid.cli.client import SmsgridClient
from smsgrid.cli.commands_events import PAGE, EventCursor
from smsgrid.cli.main import app
from smsgrid.config import WELL_KNOWN_ACCESS_KEY, WELL_KNOWN_TENANT_ID
from smsgrid.testing import SmsgridProcess, WebhookSink, free_port, start_smsgrid
from smsgrid.testing.plugin import inbound, subscribe
from tests.support_sms import wait_for_dead_letters

HANDSET, OWNED = "+14255550123", "+18005550100"
RECEIVED = "Microsoft.Communication.SMSReceived"
REPORT = "Microsoft.Communication.SMSDeliveryReportReceived"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    # Delivery reports at once, so `messages show` has one to print without waiting.
    process = start_smsgrid(tmp_path_factory.mktemp("cli") / "smsgrid", config="[carrier]\ndelay_ms = 0\n")
    try:
        yield process
    finally:
        process.stop()


def run(server: SmsgridProcess | None, *args: str) -> Result:
    url = server.base_url if server is not None else f"http://127.0.0.1:{free_port()}"
    return CliRunner().invoke(app, [*args, "--url", url], env={"NO_COLOR": "1"})


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return result


def json_of(result: Result) -> Any:
    return orjson.loads(ok(result).stdout)


# -- send, receive, messages ------------------------------------------------------------------------------------


def test_bulk_send_reports_every_problem_of_the_file_at_once(server: SmsgridProcess, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("to,message\n,no recipient\n\n+14255550124\n", encoding="utf-8")
    result = run(server, "send", "--csv", str(bad))
    assert result.exit_code == 2
    assert "has 2 problem(s)" in result.stderr
    assert "line 2: the 'to' column is empty" in result.stderr
    assert "line 4: the 'message' column is missing" in result.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("number,text\n+14255550123,hi\n", "missing to, message"),
        ("to,message\n", "has a header but no rows to send"),
        ("to,message\n , \n", "has a header but no rows to send"),  # blank rows are skipped
    ],
)
def test_bulk_send_refuses_a_file_without_rows_or_header(
    server: SmsgridProcess, tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(content, encoding="utf-8")
    result = run(server, "send", "--csv", str(path))
    assert result.exit_code == 2
    assert expected in result.stderr


def test_bulk_send_refuses_a_missing_file_and_mixed_options(server: SmsgridProcess, tmp_path: Path) -> None:
    missing = run(server, "send", "--csv", str(tmp_path / "absent.csv"))
    assert missing.exit_code == 2
    assert "cannot read" in missing.stderr
    mixed = run(server, "send", "--csv", str(tmp_path / "absent.csv"), "--to", HANDSET)
    assert mixed.exit_code == 2
    assert "not both" in mixed.stderr


def test_send_refuses_more_recipients_than_acs_allows(server: SmsgridProcess) -> None:
    many = [arg for n in range(101) for arg in ("--to", f"+1425555{n:04d}")]
    result = run(server, "send", *many, "-m", "hi")
    assert result.exit_code == 2
    assert "at most 100 --to per send" in result.stderr


def test_a_refused_recipient_is_shown_and_exits_1(server: SmsgridProcess) -> None:
    result = run(server, "send", "--to", HANDSET, "--to", "+1", "-m", "partly")
    assert result.exit_code == 1, result.stderr
    assert "1 accepted, 1 refused." in result.stdout
    assert "202" in result.stdout
    assert "400" in result.stdout


def test_receive_and_show_a_message_with_its_tag_report_and_events(server: SmsgridProcess) -> None:
    with WebhookSink() as sink:
        subscribe(server, "show-sink", sink.url)
        received = ok(run(server, "receive", "-m", "hello there"))
        incoming = received.stdout.removeprefix("received ").strip()
        assert incoming.startswith("Incoming_")
        [sent] = json_of(run(server, "send", "--to", HANDSET, "-m", "tagged", "--tag", "t-1", "--report", "--json"))
        sink.wait_for_event(REPORT, where=lambda e: e.id == sent["messageId"])
        sink.wait_for_event(RECEIVED, where=lambda e: e.id == incoming)
    shown = ok(run(server, "messages", "show", sent["messageId"])).stdout
    assert "tag: t-1" in shown
    assert "delivery report: Delivered" in shown
    assert f"event {REPORT}" in shown
    assert "→ show-sink: delivered" in shown.lower()
    inbound_shown = ok(run(server, "messages", "show", incoming)).stdout
    assert "'hello there'" in inbound_shown
    assert "tag:" not in inbound_shown
    ok(run(server, "subscriptions", "delete", "show-sink"))


def test_messages_list_of_a_number_with_no_messages(server: SmsgridProcess) -> None:
    result = ok(run(server, "messages", "list", "--number", "+14255559999"))
    assert "No messages yet" in result.stdout


# -- subscriptions ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"{not json", "is not valid JSON"), (b"[1, 2]", "must hold a JSON object")],
)
def test_create_from_a_body_file_that_is_not_an_object(
    server: SmsgridProcess, tmp_path: Path, content: bytes, expected: str
) -> None:
    body = tmp_path / "body.json"
    body.write_bytes(content)
    result = run(server, "subscriptions", "create", "from-file", "--body", str(body))
    assert result.exit_code == 2
    assert expected in result.stderr


def test_create_refuses_a_missing_body_file_and_a_body_with_other_options(
    server: SmsgridProcess, tmp_path: Path
) -> None:
    missing = run(server, "subscriptions", "create", "from-file", "--body", str(tmp_path / "absent.json"))
    assert missing.exit_code == 2
    assert "cannot read" in missing.stderr
    both = run(server, "subscriptions", "create", "x-y-z", "--body", "b.json", "--endpoint", "http://127.0.0.1:1/")
    assert both.exit_code == 2
    assert "drop the other options" in both.stderr


def test_create_refuses_an_unknown_schema(server: SmsgridProcess) -> None:
    result = run(
        server, "subscriptions", "create", "bad-schema", "--endpoint", "http://127.0.0.1:1/", "--schema", "xml"
    )
    assert result.exit_code == 2
    assert "--schema must be one of EventGridSchema, CloudEventSchemaV1_0" in result.stderr


@pytest.mark.parametrize(
    ("given", "stored"),
    [("cloudevents", "CloudEventSchemaV1_0"), ("eventgridschema", "EventGridSchema")],
)
def test_create_accepts_schema_shorthands_and_any_casing(server: SmsgridProcess, given: str, stored: str) -> None:
    with WebhookSink() as sink:
        answer = json_of(
            run(
                server,
                "subscriptions",
                "create",
                f"schema-{given}",
                "--endpoint",
                sink.url,
                "--schema",
                given,
                "--event-types",
                "received,,",
                "--json",
            )
        )
    assert answer["properties"]["eventDeliverySchema"] == stored
    assert answer["properties"]["filter"]["includedEventTypes"] == [RECEIVED]
    ok(run(server, "subscriptions", "delete", f"schema-{given}", "--json"))


def test_a_failed_handshake_prints_why_and_exits_1(server: SmsgridProcess) -> None:
    result = run(server, "subscriptions", "create", "nobody-home", "--endpoint", f"http://127.0.0.1:{free_port()}/")
    assert result.exit_code == 1
    assert "subscription nobody-home: Failed" in result.stdout
    assert len(result.stdout.strip().splitlines()) >= 2  # the provisioning message says why
    ok(run(server, "subscriptions", "delete", "nobody-home"))


def test_show_prints_expiry_labels_and_entra_audience(server: SmsgridProcess, tmp_path: Path) -> None:
    with WebhookSink() as sink:
        body = tmp_path / "body.json"
        body.write_bytes(
            orjson.dumps(
                {
                    "destination": {
                        "endpointType": "WebHook",
                        "properties": {
                            "endpointUrl": sink.url,
                            "azureActiveDirectoryApplicationIdOrUri": "api://smsgrid-test",
                            "azureActiveDirectoryTenantId": WELL_KNOWN_TENANT_ID,
                        },
                    },
                    "expirationTimeUtc": "2099-01-01T00:00:00Z",
                    "labels": ["team-a", "sms"],
                }
            )
        )
        ok(run(server, "subscriptions", "create", "described", "--body", str(body)))
    shown = ok(run(server, "subscriptions", "show", "described")).stdout
    assert "expires       2099-01-01" in shown
    assert "labels        team-a, sms" in shown
    assert "entra         bearer tokens for api://smsgrid-test" in shown
    ok(run(server, "subscriptions", "delete", "described"))


# -- events, dead letters -------------------------------------------------------------------------------------


def test_events_tail_shows_the_backlog_as_lines(server: SmsgridProcess) -> None:
    message_id = inbound(server, HANDSET, OWNED, "for the tail")
    # The newest event is that SMSReceived: the backlog of one shows it, filtered by its alias or by "All".
    for wanted in ("All", "SMSReceived"):
        result = ok(run(server, "events", "tail", "--last", "1", "--type", wanted, "--count", "1"))
        assert f"SMSReceived  {message_id}  14255550123 → 18005550100: 'for the tail'" in result.stdout


def test_events_tail_with_a_count_that_never_arrives_exits_1(server: SmsgridProcess) -> None:
    result = run(server, "events", "tail", "--count", "1", "--timeout", "0", "--type", "SMSReceived")
    assert result.exit_code == 1
    assert "only 0 of 1 event(s) arrived within 0.0 s" in result.stderr


def test_redeliver_refuses_an_id_and_all_together(server: SmsgridProcess) -> None:
    result = run(server, "deadletters", "redeliver", "1", "--all")
    assert result.exit_code == 2
    assert "give one dead letter id, or --all" in result.stderr


def test_redeliver_one_and_all_in_words(server: SmsgridProcess) -> None:
    with WebhookSink(responder=lambda request: 400) as refusing:
        subscribe(server, "refuses", refusing.url)
        inbound(server, HANDSET, OWNED, "to the dead letters")
        [letter] = wait_for_dead_letters(server, 1)
        one = ok(run(server, "deadletters", "redeliver", str(letter["id"])))
        assert f"dead letter {letter['id']} queued for redelivery" in one.stdout
        # The endpoint refuses the redelivery too: a second dead letter.
        [again] = _wait_new(server, letter["id"])
        # The subscription is gone before --all: its dead letter cannot be redelivered, and --all says so.
        ok(run(server, "subscriptions", "delete", "refuses"))
    everything = run(server, "deadletters", "redeliver", "--all")
    assert everything.exit_code == 1, everything.stdout
    assert f"dead letter {again['id']}:" in everything.stdout
    assert "0 redelivered, 1 refused." in everything.stdout


def _wait_new(server: SmsgridProcess, old_id: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while True:
        fresh = [d for d in wait_for_dead_letters(server, 1) if d["id"] != old_id]
        if fresh:
            return fresh
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_subscriptions_list_in_words_with_and_without_subscriptions(server: SmsgridProcess) -> None:
    assert "No subscriptions: create one" in ok(run(server, "subscriptions", "list")).stdout
    with WebhookSink() as sink:
        ok(run(server, "subscriptions", "create", "listed", "--endpoint", sink.url, "--event-types", "DeliveryReport"))
    listed = ok(run(server, "subscriptions", "list")).stdout
    assert "listed" in listed
    assert "SMSDeliveryReportReceived" in listed
    assert "event types   SMSDeliveryReportReceived" in ok(run(server, "subscriptions", "show", "listed")).stdout
    ok(run(server, "subscriptions", "delete", "listed"))


def test_events_tail_summarises_a_delivery_report(server: SmsgridProcess) -> None:
    with WebhookSink() as sink:
        subscribe(server, "report-sink", sink.url)
        [sent] = json_of(run(server, "send", "--to", HANDSET, "-m", "report me", "--report", "--json"))
        sink.wait_for_event(REPORT, where=lambda e: e.id == sent["messageId"])
    ok(run(server, "subscriptions", "delete", "report-sink"))
    result = ok(run(server, "events", "tail", "--last", "1", "--type", "DeliveryReport", "--count", "1"))
    assert f"SMSDeliveryReportReceived  {sent['messageId']}" in result.stdout
    assert ": Delivered (" in result.stdout


def test_events_tail_with_only_a_timeout_ends_quietly(server: SmsgridProcess) -> None:
    result = ok(run(server, "events", "tail", "--timeout", "0"))
    assert result.stdout == ""
    assert "waiting for events (all event types)" in result.stderr


def test_the_cursor_pages_back_through_a_real_server(server: SmsgridProcess) -> None:
    with SmsgridClient(server.base_url, WELL_KNOWN_ACCESS_KEY) as client:
        cursor, backlog = EventCursor.at_end(client)
        assert backlog == []
        ids = [inbound(server, HANDSET, OWNED, f"page {n}") for n in range(PAGE + 5)]
        found = cursor.poll()
    # More new events than one page: the poll asked for an older page too, and lost none.
    assert [e.message_id for e in found if e.event_type == RECEIVED] == ids


def test_an_error_status_without_a_body_is_reported_by_its_reason_phrase() -> None:
    # Not smsgrid at all: a webhook sink answers the POST with a bare 503, as a proxy in front of smsgrid might.
    with WebhookSink(responder=lambda request: 503) as other:
        result = CliRunner().invoke(app, ["deadletters", "redeliver", "7", "--url", other.url.rstrip("/")])
    assert result.exit_code == 1
    assert "HTTP 503 HttpError: Service Unavailable" in result.stderr


def test_a_2xx_answer_that_is_not_json_is_a_refusal_not_a_crash() -> None:
    with WebhookSink() as other:  # answers GET with an empty 200
        result = CliRunner().invoke(app, ["messages", "list", "--url", other.url.rstrip("/")])
    assert not isinstance(result.exception, ValueError), result.exception
    assert result.exit_code == 1
    assert "is not JSON" in result.output
