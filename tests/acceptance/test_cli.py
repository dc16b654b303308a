"""The real `smsgrid` console script, run as a subprocess against a real server: every command, --json, exit codes.

Exit codes (docs/cli.md): 0 ok · 1 the server said no / not found · 2 usage or configuration error · 3 cannot connect.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from smsgrid.cli.client import SmsgridClient
from smsgrid.config import WELL_KNOWN_ACCESS_KEY
from smsgrid.logs import REDACTED, make_formatter
from smsgrid.testing import SmsgridProcess, WebhookSink, free_port, start_smsgrid
from smsgrid.testing.plugin import inbound
from tests.support_sms import wait_for_dead_letters

SMSGRID = Path(sys.executable).with_name("smsgrid")
HANDSET, OWNED = "+14255550123", "+18005550100"
RECEIVED = "Microsoft.Communication.SMSReceived"
REPORT = "Microsoft.Communication.SMSDeliveryReportReceived"


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return orjson.loads(self.stdout)

    def json_lines(self) -> list[Any]:
        return [orjson.loads(line) for line in self.stdout.splitlines() if line.strip()]


def _env(server: SmsgridProcess | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSGRID_")}
    if server is not None:
        env["SMSGRID_URL"] = server.base_url  # the env var, so --url's default path is exercised
    return {**env, "NO_COLOR": "1", **extra}


def smsgrid(server: SmsgridProcess | None, *args: str, timeout: float = 60, **env: str) -> Run:
    done = subprocess.run(
        [str(SMSGRID), *args], capture_output=True, text=True, timeout=timeout, env=_env(server, **env), check=False
    )
    return Run(done.returncode, done.stdout, done.stderr)


def _ok(run: Run) -> Run:
    assert run.code == 0, f"exit {run.code}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    return run


def test_the_console_script_is_installed() -> None:
    run = _ok(smsgrid(None, "--help"))
    for command in ("serve", "send", "receive", "subscriptions", "events", "messages", "deadletters", "config"):
        assert command in run.stdout


def test_send_receive_messages_and_events(smsgrid_server: SmsgridProcess) -> None:
    sent = _ok(
        smsgrid(smsgrid_server, "send", "--to", HANDSET, "-m", "hi from the cli", "--report", "--tag", "cli", "--json")
    )
    [result] = sent.json()
    assert result["successful"] is True
    assert result["httpStatusCode"] == 202
    outgoing_id = result["messageId"]

    # A bad recipient fails inside the 202 (SPEC §2): the server said no for that one → exit 1.
    partly = smsgrid(smsgrid_server, "send", "--to", HANDSET, "--to", "not-a-number", "-m", "x", "--json")
    assert partly.code == 1
    assert [r["httpStatusCode"] for r in partly.json()] == [202, 400]

    # A sender the resource does not own: Azure's 401 has an empty message; the CLI shows smsgrid's reason.
    unowned = smsgrid(smsgrid_server, "send", "--from", "+14255550999", "--to", HANDSET, "-m", "x")
    assert unowned.code == 1
    assert "Unauthorized" in unowned.stderr
    assert "is not a sender of this resource" in unowned.stderr
    assert "--key" not in unowned.stderr

    received = _ok(smsgrid(smsgrid_server, "receive", "--from", HANDSET, "--to", OWNED, "-m", "hello", "--json"))
    incoming_id = received.json()["messageId"]
    assert incoming_id.startswith("Incoming_")

    # Past events with --last; --type filters; --count ends the command.
    tail = _ok(smsgrid(smsgrid_server, "events", "tail", "--last", "20", "--type", "SMSReceived", "--count", "1",
                       "--timeout", "15", "--json"))  # fmt: skip
    [entry] = tail.json_lines()
    assert (entry["id"], entry["eventType"]) == (incoming_id, RECEIVED)
    assert entry["event"]["data"]["message"] == "hello"

    listed = _ok(smsgrid(smsgrid_server, "messages", "list", "--json")).json()
    assert {outgoing_id, incoming_id} <= {m["messageId"] for m in listed}
    table = _ok(smsgrid(smsgrid_server, "messages", "list", "--number", HANDSET))
    assert incoming_id in table.stdout
    assert "hello" in table.stdout

    shown = _ok(smsgrid(smsgrid_server, "messages", "show", incoming_id, "--json")).json()
    assert shown["messageId"] == incoming_id
    assert shown["events"][0]["eventType"] == RECEIVED
    missing = smsgrid(smsgrid_server, "messages", "show", "Outgoing_nope")
    assert missing.code == 1
    assert "NotFound" in missing.stderr


def test_events_tail_follows_live_events(smsgrid_server: SmsgridProcess) -> None:
    command = [str(SMSGRID), "events", "tail", "--type", "SMSReceived", "--count", "2", "--timeout", "20",
               "--interval", "0.1", "--json"]  # fmt: skip
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(smsgrid_server)
    ) as tail:
        assert tail.stderr is not None
        assert "waiting for events" in tail.stderr.readline()  # the starting point is fixed before this line
        first = inbound(smsgrid_server, HANDSET, OWNED, "one")
        with SmsgridClient(smsgrid_server.base_url, WELL_KNOWN_ACCESS_KEY) as client:  # a report: --type skips it
            client.send(OWNED, [HANDSET], "not received", report=True)
        second = inbound(smsgrid_server, HANDSET, OWNED, "two")
        stdout, _ = tail.communicate(timeout=30)
    assert tail.returncode == 0
    assert [orjson.loads(line)["id"] for line in stdout.splitlines()] == [first, second]
    # Nothing arrives: the timeout ends it, and a --count not reached is exit 1.
    quiet = smsgrid(smsgrid_server, "events", "tail", "--type", REPORT, "--count", "1", "--timeout", "0.3")
    assert quiet.code == 1
    assert "0 of 1" in quiet.stderr


def test_bulk_send_from_csv(smsgrid_server: SmsgridProcess, tmp_path: Path) -> None:
    sheet = tmp_path / "bulk.csv"
    sheet.write_text(
        'to,message,tag\n+14255550101,"Hello, Ann",ann\n+14255550102,Hello Bob,\n+15005554005,blocked,\n',
        encoding="utf-8",
    )
    run = _ok(smsgrid(smsgrid_server, "send", "--csv", str(sheet), "--tag", "bulk", "--json"))
    results = run.json()
    assert [r["line"] for r in results] == [2, 3, 4]
    assert all(r["successful"] for r in results)
    with smsgrid_server.admin() as admin:
        by_id = {m["messageId"]: m for m in admin.get("/admin/messages").json()["value"]}
    sent = [by_id[r["messageId"]] for r in results]
    assert [(m["to"], m["message"], m["tag"]) for m in sent] == [
        ("+14255550101", "Hello, Ann", "ann"),
        ("+14255550102", "Hello Bob", "bulk"),
        ("+15005554005", "blocked", "bulk"),
    ]
    human = _ok(smsgrid(smsgrid_server, "send", "--csv", str(sheet)))
    assert "3 accepted, 0 refused" in human.stdout

    broken = tmp_path / "broken.csv"
    broken.write_text("to,text\n+14255550101,hi\n", encoding="utf-8")
    usage = smsgrid(smsgrid_server, "send", "--csv", str(broken))
    assert usage.code == 2
    assert "missing message" in usage.stderr
    empty_to = tmp_path / "empty-to.csv"
    empty_to.write_text("to,message\n,hi\n+1425,ok\n,again\n", encoding="utf-8")
    problems = smsgrid(smsgrid_server, "send", "--csv", str(empty_to))
    assert problems.code == 2
    assert "line 2" in problems.stderr
    assert "line 4" in problems.stderr


def test_subscriptions_and_dead_letters(smsgrid_server: SmsgridProcess, tmp_path: Path) -> None:
    with WebhookSink() as good, WebhookSink(responder=lambda request: 400) as refusing:
        created = _ok(smsgrid(smsgrid_server, "subscriptions", "create", "my-app", "--endpoint", good.url,
                              "--event-types", "SMSReceived", "--max-events-per-batch", "10", "--json"))  # fmt: skip
        properties = created.json()["properties"]
        assert properties["provisioningState"] == "Succeeded"
        assert properties["filter"]["includedEventTypes"] == [RECEIVED]
        assert properties["destination"]["properties"]["maxEventsPerBatch"] == 10

        body = tmp_path / "subscription.json"
        body.write_bytes(
            orjson.dumps(
                {
                    "properties": {
                        "destination": {"endpointType": "WebHook", "properties": {"endpointUrl": refusing.url}},
                        "eventDeliverySchema": "CloudEventSchemaV1_0",
                    }
                }
            )
        )
        human = _ok(smsgrid(smsgrid_server, "subscriptions", "create", "refuses", "--body", str(body)))
        assert "Succeeded" in human.stdout

        listed = _ok(smsgrid(smsgrid_server, "subscriptions", "list", "--json")).json()
        assert sorted(s["name"] for s in listed) == ["my-app", "refuses"]
        shown = _ok(smsgrid(smsgrid_server, "subscriptions", "show", "refuses", "--json")).json()
        assert shown["properties"]["eventDeliverySchema"] == "CloudEventSchemaV1_0"
        assert "refuses" in _ok(smsgrid(smsgrid_server, "subscriptions", "show", "refuses")).stdout

        # A 400 from the endpoint is not retried: the event is dead-lettered at once (SPEC §3).
        incoming = inbound(smsgrid_server, HANDSET, OWNED, "to the dead letters")
        good.wait_for_event(RECEIVED, where=lambda e: e.id == incoming)
        letters = wait_for_dead_letters(smsgrid_server, 1)
        assert (letters[0]["eventId"], letters[0]["deadLetterReason"]) == (incoming, "UndeliverableDueToHttpBadRequest")
        assert "UndeliverableDueToHttpBadRequest" in _ok(smsgrid(smsgrid_server, "deadletters", "list")).stdout

        first_id = str(letters[0]["id"])
        again = _ok(smsgrid(smsgrid_server, "deadletters", "redeliver", first_id, "--json")).json()
        assert again == {"id": letters[0]["id"], "redelivered": True}
        twice = smsgrid(smsgrid_server, "deadletters", "redeliver", first_id)
        assert twice.code == 1
        assert "Conflict" in twice.stderr

        # The redelivery is refused again and dead-lettered again; --all redelivers it.
        [second] = wait_for_dead_letters(smsgrid_server, 1)
        assert second["id"] != letters[0]["id"]
        everything = _ok(smsgrid(smsgrid_server, "deadletters", "redeliver", "--all", "--json")).json()
        assert everything == [{"id": second["id"], "redelivered": True}]
        with_redelivered = _ok(smsgrid(smsgrid_server, "deadletters", "list", "--include-redelivered", "--json"))
        assert len(with_redelivered.json()) >= 2

        _ok(smsgrid(smsgrid_server, "subscriptions", "delete", "refuses"))
        gone = smsgrid(smsgrid_server, "subscriptions", "show", "refuses")
        assert gone.code == 1
        assert "NotFound" in gone.stderr

    # The handshake cannot reach the endpoint: stored as Failed, and the command says no.
    failed = smsgrid(smsgrid_server, "subscriptions", "create", "nobody-home", "--endpoint",
                     f"http://127.0.0.1:{free_port()}/events")  # fmt: skip
    assert failed.code == 1
    assert "Failed" in failed.stdout
    # The server checks the body: a bad name is refused with every problem listed.
    refused = smsgrid(smsgrid_server, "subscriptions", "create", "x", "--endpoint", "ftp://example")
    assert refused.code == 1
    assert "subscription name" in refused.stderr
    assert "http://" in refused.stderr
    usage = smsgrid(smsgrid_server, "subscriptions", "create", "no-endpoint")
    assert usage.code == 2


def test_config_check_prints_every_problem(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        """
[resource]
name = "contoso"
phone_numbers = ["+18005550100"]

[carrier]
delay_ms = 10
[[carrier.rules]]
to = "+1206555010*"
outcome = "Failed"
code = 4005

[subscriptions.my-app]
destination = { endpointType = "WebHook", properties = { endpointUrl = "http://127.0.0.1:9000/events" } }
filter = { includedEventTypes = ["Microsoft.Communication.SMSReceived"] }
""",
        encoding="utf-8",
    )
    ok = _ok(smsgrid(None, "config", "check", str(good)))
    assert "is valid" in ok.stdout
    assert "1 subscription" in ok.stdout
    assert _ok(smsgrid(None, "config", "check", str(good), "--json")).json() == {
        "file": str(good),
        "ok": True,
        "problems": [],
    }

    bad = tmp_path / "bad.toml"
    bad.write_text(
        """
[resource]
data_casing = "snake"

[carrier]
[[carrier.rules]]
to = "+1*"
outcome = "Lost"

[subscriptions.my-app]
destination = { endpointType = "WebHook", properties = { } }
eventDeliverySchema = "Xml"

[subscriptions.x]
destination = { endpointType = "WebHook", properties = { endpointUrl = "http://127.0.0.1:9000/" } }
""",
        encoding="utf-8",
    )
    run = smsgrid(None, "config", "check", str(bad), "--json")
    assert run.code == 2
    report = run.json()
    assert report["ok"] is False
    paths = {p["path"] for p in report["problems"]}
    assert {
        "resource.data_casing",
        "carrier.rules[0].outcome",
        "subscriptions.my-app.destination.properties.endpointUrl",
        "subscriptions.my-app.eventDeliverySchema",
        "subscriptions.x.name",
    } <= paths
    human = smsgrid(None, "config", "check", str(bad))
    assert human.code == 2
    assert "problem(s)" in human.stdout
    assert "endpointUrl" in human.stdout


def test_serve_worker_and_config_check_refuse_the_same_file_with_the_same_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        "[delivery]\nmax_atempts = 3\n"
        "[subscriptions.x]\n"
        'destination = { endpointType = "WebHook", properties = { endpointUrl = "http://127.0.0.1:9000/" } }\n',
        encoding="utf-8",
    )
    checked = smsgrid(None, "config", "check", str(bad), "--json")
    assert checked.code == 2
    paths = [p["path"] for p in checked.json()["problems"]]
    assert paths == ["delivery.max_atempts", "subscriptions.x.name"]
    data_dir = str(tmp_path / "data")
    served = smsgrid(None, "serve", "--config", str(bad), "--data-dir", data_dir, "--port", "0", "--tls-port", "0")
    worker = smsgrid(None, "worker", "--config", str(bad), "--data-dir", data_dir, "--db", "postgresql://nowhere/db")
    for refused in (served, worker):
        assert refused.code == 2
        assert "delivery.max_atempts: unknown key; expected one of timeout_seconds" in refused.stderr
        assert "subscriptions.x.name" in refused.stderr


def test_exit_codes_and_error_messages(smsgrid_server: SmsgridProcess) -> None:
    dead_url = f"http://127.0.0.1:{free_port()}"
    unreachable = smsgrid(None, "messages", "list", "--url", dead_url)
    assert unreachable.code == 3
    assert f"cannot reach smsgrid at {dead_url}" in unreachable.stderr
    assert "make run" in unreachable.stderr

    wrong_key = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXkhIQ=="
    denied = smsgrid(smsgrid_server, "messages", "list", "--key", wrong_key)
    assert denied.code == 1
    assert "Denied" in denied.stderr
    assert "--key" in denied.stderr
    # The data plane is HMAC-signed with the key: a wrong key is refused there too.
    assert smsgrid(smsgrid_server, "send", "--to", HANDSET, "-m", "x", SMSGRID_ACCESS_KEY=wrong_key).code == 1
    # The right key from the environment works.
    _ok(smsgrid(smsgrid_server, "subscriptions", "list", SMSGRID_ACCESS_KEY=WELL_KNOWN_ACCESS_KEY))

    assert smsgrid(smsgrid_server, "messages", "list", "--key", "not base64!").code == 2
    assert smsgrid(smsgrid_server, "send", "-m", "to nobody").code == 2
    assert smsgrid(smsgrid_server, "deadletters", "redeliver").code == 2


# -- serve --log-format -----------------------------------------------------------------------------------------


def test_serve_logs_json_lines_without_the_key(tmp_path: Path) -> None:
    secret_key = "c2VjcmV0LWtleS1mb3ItdGhlLWxvZy10ZXN0LTMyYnl0ZXM="
    server = start_smsgrid(
        tmp_path / "json-logs", args=["--log-format", "json"], env={"SMSGRID_ACCESS_KEY": secret_key}
    )
    server.access_key = secret_key
    try:
        # A subscription whose handshake fails is logged with the endpoint's error.
        with server.admin() as admin:
            admin.put(
                "/admin/subscriptions/unreachable",
                json={"destination": {"endpointType": "WebHook",
                                      "properties": {"endpointUrl": f"http://127.0.0.1:{free_port()}/x"}}},
            )  # fmt: skip
    finally:
        server.stop()
    lines = [line for line in server.log().splitlines() if line.strip()]
    records = [orjson.loads(line) for line in lines]  # every line is one JSON object
    ready = next(r for r in records if r["message"] == "smsgrid is ready")
    assert ready["level"] == "INFO"
    assert ready["http_url"] == f"http://127.0.0.1:{server.port}/"
    assert ready["well_known_key"] is False
    assert any("unreachable" in r["message"] for r in records)
    assert secret_key not in server.log()


def test_log_formatters_redact_secrets() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(make_formatter("json", secrets=["S3cr3tKey=="]))
    log = logging.getLogger("smsgrid.test.redaction")
    log.propagate = False
    log.addHandler(handler)
    try:
        log.warning(
            "key S3cr3tKey== in %s", "endpoint=https://h/;accesskey=S3cr3tKey==", extra={"url": "/login?key=abc"}
        )
        log.warning("Authorization: Bearer abc.def and Signature=AbC+/= and whsec_QUJDREVG")
        try:
            raise ValueError("S3cr3tKey==")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    first, second, third = (orjson.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == f"key {REDACTED} in endpoint=https://h/;accesskey={REDACTED}"
    assert first["url"] == f"/login?key={REDACTED}"
    assert first["logger"] == "smsgrid.test.redaction"
    assert first["time"].endswith("Z")
    assert second["message"] == f"Authorization: Bearer {REDACTED} and Signature={REDACTED} and {REDACTED}"
    assert "S3cr3tKey" not in third["exception"]
    assert third["level"] == "ERROR"
    text = make_formatter("text", secrets=["S3cr3tKey=="]).format(
        logging.LogRecord("x", logging.INFO, __file__, 1, "key=S3cr3tKey==", None, None)
    )
    assert text.endswith(f"x: key={REDACTED}")


def test_serve_refuses_an_unknown_log_format(tmp_path: Path) -> None:
    run = smsgrid(None, "serve", "--data-dir", str(tmp_path), "--port", "0", "--tls-port", "0", "--log-format", "xml")
    assert run.code == 2
    assert "--log-format" in run.stderr


@pytest.fixture
def smsgrid_config() -> str:
    # Delivery reports at once, so the commands that show them need not wait.
    return "[carrier]\ndelay_ms = 0\n"
