"""The JavaScript SDKs from npm against a real smsgrid: @azure/communication-sms (newest stable and newest beta) sends
and manages opt-outs over TLS, and @azure/eventgrid parses, typed, the events smsgrid delivered to a webhook.

The packages are installed at test time with npm into `.cache/sdk/js` (gitignored; the beta under the npm alias
`sms-beta`), and our small node scripts in tests/sdk/js drive them, answering in JSON. None of the three packages
ships its own tests on npm (their `files` are dist/, README.md and LICENSE), so there is no suite of theirs to run.

The server sends event data in camelCase (`data_casing = "camel"`), as Azure does today and as the JS typed models
read it (AcsSmsReceivedEventData.messageId, ...); it is set here explicitly while the default is being changed.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smsgrid.testing import SmsgridProcess, WebhookSink, start_smsgrid
from smsgrid.testing.plugin import inbound, subscribe
from tests.sdk.support import CACHE, HERE, require_tool, run_fetch

STABLE = "1.1.0"  # newest stable of @azure/communication-sms (npm dist-tag latest)
BETA = "1.2.0-beta.4"  # newest beta; speaks api-version 2025-05-29-preview
EVENTGRID = "5.12.0"  # newest stable of @azure/eventgrid
PACKAGES = (
    f"@azure/communication-sms@{STABLE}",
    f"sms-beta@npm:@azure/communication-sms@{BETA}",
    f"@azure/eventgrid@{EVENTGRID}",
)
STABLE_SMS = "@azure/communication-sms"
BETA_SMS = "sms-beta"

SENDER = "+18005550100"
RECEIVED = "Microsoft.Communication.SMSReceived"
REPORT = "Microsoft.Communication.SMSDeliveryReportReceived"
CONFIG = f"""
[resource]
data_casing = "camel"
phone_numbers = ["{SENDER}"]

[carrier]
delay_ms = 20

[[carrier.rules]]
to = "+12065550177"
outcome = "Delivered"
attempts = 2
"""
TWO_ATTEMPTS = "+12065550177"
HANDSET = "+14255550187"


def digits(number: str) -> str:
    """Event data carries numbers with or without the + (the seed shows both); compare the digits."""
    return number.removeprefix("+")


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """The three npm packages, installed once into the cache (a stamp names what is installed there)."""
    require_tool("node", "apt-get install nodejs")
    npm = require_tool("npm", "apt-get install npm")
    prefix = CACHE / "js"
    stamp = prefix / "installed.txt"
    wanted = "\n".join(PACKAGES)
    if not (stamp.exists() and stamp.read_text(encoding="utf-8") == wanted):
        prefix.mkdir(parents=True, exist_ok=True)
        run_fetch(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--save-exact", "--loglevel=error",
             *PACKAGES],
            "the JavaScript SDKs from npm",
        )  # fmt: skip
        stamp.write_text(wanted, encoding="utf-8")
    return prefix / "node_modules"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    with start_smsgrid(tmp_path_factory.mktemp("smsgrid"), config=CONFIG) as process:
        yield process


@pytest.fixture(scope="module")
def sink(server: SmsgridProcess) -> Iterator[WebhookSink]:
    with WebhookSink() as webhook:
        subscribe(server, "js-sdk", webhook.url)
        yield webhook


def node(script: str, job: dict[str, Any], node_modules: Path, server: SmsgridProcess) -> dict[str, Any]:
    """Run tests/sdk/js/<script> with the job on stdin; its JSON answer. The SDKs trust smsgrid's certificate
    through NODE_EXTRA_CA_CERTS, as a user of a private CA would configure node."""
    env = {**os.environ, "NODE_PATH": str(node_modules), "NODE_EXTRA_CA_CERTS": str(server.cert_path)}
    run = subprocess.run(
        ["node", str(HERE / "js" / script)],
        input=json.dumps(job),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, f"node {script} exited {run.returncode}:\n{run.stderr}"
    answer: dict[str, Any] = json.loads(run.stdout)
    return answer


def send(
    package: str, to: list[str], options: dict[str, Any], node_modules: Path, server: SmsgridProcess
) -> list[dict[str, Any]]:
    job = {
        "package": package,
        "connectionString": server.connection_string,
        "from": SENDER,
        "to": to,
        "message": f"Hello from the JavaScript SDK ({package})",
        "options": options,
    }
    answer = node("send.cjs", job, node_modules, server)
    assert "error" not in answer, f"{package} send({options}) raised: {answer['error']}"
    results: list[dict[str, Any]] = answer["results"]
    return results


def assert_accepted(results: list[dict[str, Any]], to: list[str]) -> None:
    assert [result["to"] for result in results] == to
    for result in results:
        assert result["httpStatusCode"] == 202, result
        assert result["successful"] is True, result
        assert result["messageId"], result
        assert not result.get("errorMessage"), result


def test_stable_sdk_sends_with_delivery_report_and_tag(node_modules: Path, server: SmsgridProcess) -> None:
    to = ["+14255550181", "+14255550182"]
    results = send(STABLE_SMS, to, {"enableDeliveryReport": True, "tag": "js-stable"}, node_modules, server)
    assert_accepted(results, to)
    assert results[0]["messageId"] != results[1]["messageId"]


def test_beta_sdk_sends_with_delivery_report_timeout(node_modules: Path, server: SmsgridProcess) -> None:
    to = ["+14255550183"]
    options = {"enableDeliveryReport": True, "tag": "js-beta", "deliveryReportTimeoutInSeconds": 60}
    assert_accepted(send(BETA_SMS, to, options, node_modules, server), to)


def test_beta_sdk_sends_through_messaging_connect(node_modules: Path, server: SmsgridProcess) -> None:
    # 1.2.0-beta.4's MessagingConnectOptions is {apiKey, partner} (api-version 2025-05-29-preview).
    to = ["+14255550184"]
    options = {"enableDeliveryReport": True, "messagingConnect": {"apiKey": "test-partner-key", "partner": "infobip"}}
    assert_accepted(send(BETA_SMS, to, options, node_modules, server), to)


def test_beta_sdk_adds_checks_and_removes_opt_outs(node_modules: Path, server: SmsgridProcess) -> None:
    to = ["+14255550185", "+14255550186"]
    job = {"package": BETA_SMS, "connectionString": server.connection_string, "from": SENDER, "to": to}
    steps = node("optouts.cjs", job, node_modules, server)
    failed = {step: outcome["error"] for step, outcome in steps.items() if "error" in outcome}
    assert not failed, f"opt-out calls of the beta raised: {failed}"
    for step in ("add", "remove"):
        assert [(r["to"], r["httpStatusCode"]) for r in steps[step]["results"]] == [(n, 200) for n in to], steps[step]
    assert [(r["to"], r["isOptedOut"]) for r in steps["checkAfterAdd"]["results"]] == [(n, True) for n in to]
    assert [(r["to"], r["isOptedOut"]) for r in steps["checkAfterRemove"]["results"]] == [(n, False) for n in to]


def test_eventgrid_sdk_parses_delivered_sms_events_typed(
    node_modules: Path, server: SmsgridProcess, sink: WebhookSink
) -> None:
    # The events come from the real path: a send by the JS SDK itself (a delivery report with two attempts and
    # the tag) and an SMS from a handset; then the webhook bodies go to @azure/eventgrid exactly as received.
    [sent] = send(STABLE_SMS, [TWO_ATTEMPTS], {"enableDeliveryReport": True, "tag": "js-typed"}, node_modules, server)
    received_id = inbound(server, HANDSET, SENDER, "Hello typed world")
    wanted = {sent["messageId"], received_id}
    sink.wait_for(lambda s: wanted <= {item.get("id") for item in s.iter_items()}, timeout=30)
    bodies = [request.body.decode("utf-8") for request in sink.notifications()]
    raw = {item["id"]: item for item in sink.iter_items() if item.get("id") in wanted}

    parsed = {
        event["id"]: event for event in node("parse_events.cjs", {"bodies": bodies}, node_modules, server)["events"]
    }
    report, received = parsed[sent["messageId"]], parsed[received_id]

    assert (report["eventType"], report["isDeliveryReport"], report["isSmsReceived"]) == (REPORT, True, False)
    assert (received["eventType"], received["isSmsReceived"], received["isDeliveryReport"]) == (RECEIVED, True, False)
    assert report["eventTimeIsDate"]
    assert received["eventTimeIsDate"]

    data = report["data"]
    assert data["messageId"] == sent["messageId"]
    assert digits(data["from"]) == digits(SENDER)
    assert digits(data["to"]) == digits(TWO_ATTEMPTS)
    assert data["deliveryStatus"] == "Delivered"
    assert data["deliveryStatusDetails"], data
    assert data["receivedTimestamp"], data
    assert data["tag"] == "js-typed"
    assert len(data["deliveryAttempts"]) == 2, data
    for attempt in data["deliveryAttempts"]:
        assert attempt["timestamp"], attempt
        assert isinstance(attempt["segmentsSucceeded"], int), attempt
        assert isinstance(attempt["segmentsFailed"], int), attempt

    data = received["data"]
    assert data["messageId"] == received_id
    assert digits(data["from"]) == digits(HANDSET)
    assert digits(data["to"]) == digits(SENDER)
    assert data["message"] == "Hello typed world"
    assert data["segmentCount"] == 1
    assert data["receivedTimestamp"], data

    # What the SDK exposes is what smsgrid put on the wire (no field was lost or renamed on the way).
    for event_id, event in parsed.items():
        if event_id in raw:
            for key, value in event["data"].items():
                if key != "deliveryAttempts":
                    assert raw[event_id]["data"].get(key) == value, (event_id, key)
