"""Every ACS SMS api-version against a real `smsgrid serve`: the unit table (tests/unit/test_acs_versions.py, written
from Microsoft's swaggers) replayed over the wire, then the newer send options end to end.

`azure-communication-sms` 1.1.0 speaks only api-version 2021-03-07 (its generated configuration pins it), so these
requests are signed with smsgrid's HMAC helper exactly as the SDKs sign (tests/acceptance/test_sms_send.py covers the
SDK itself). The carrier runs at --time-scale 0.001: a 60 s report timeout is 60 ms.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterator
from email.utils import formatdate
from typing import Any

import orjson
import pytest

from smsgrid.testing import SmsgridProcess, WebhookSink, start_smsgrid
from smsgrid.testing.plugin import subscribe
from tests.support_sms import (
    SENDER,
    admin_message,
    is_final,
    reports_for,
    signed_request,
    wait_for_message,
    wait_for_report,
)
from tests.unit.test_acs_versions import CASES, CHECK, NOT_SERVED, REPORT, SPEC_OPERATIONS, Case

LATE = "+12065550301"  # reports after 600 s (0.6 s scaled): later than a 60 s timeout
ON_TIME = "+12065550302"  # reports after 1 s
SILENT = "+12065550303"  # never reports
PARTIAL_THEN_OK = "+12065550304"  # attempt 1: one segment failed; attempt 2: all delivered
PARTIAL_FAILED = "+12065550305"  # the only attempt: one segment failed, the rest got through; Failed 4006
SILENT_OPTED_OUT = "+12065550390"  # never reports, and is opted out by its test
CONFIG = f"""
[carrier]
delay_ms = 0

[[carrier.rules]]
to = "{LATE}"
delay_ms = 600000

[[carrier.rules]]
to = "{ON_TIME}"
delay_ms = 1000

[[carrier.rules]]
to = "{SILENT}"
outcome = "NoReport"

[[carrier.rules]]
to = "+1206555039*"
outcome = "NoReport"

[[carrier.rules]]
to = "{PARTIAL_THEN_OK}"
attempts = 2
segments_failed = 1

[[carrier.rules]]
to = "{PARTIAL_FAILED}"
outcome = "Failed"
code = 4006
segments_failed = 1
"""
LATE_SCALED_SECONDS = 0.6
THREE_SEGMENTS = "x" * 307  # GSM-7: 153 per part, so 307 characters are 3 segments


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    with start_smsgrid(tmp_path_factory.mktemp("versions"), config=CONFIG, time_scale=0.001) as process:
        yield process


@pytest.fixture(scope="module")
def sink(server: SmsgridProcess) -> Iterator[WebhookSink]:
    with WebhookSink() as webhook:
        subscribe(server, "versions", webhook.url)
        yield webhook


_counter = iter(range(10_000_000))


def _handset() -> str:
    return f"+1425{next(_counter) + 2_000_000:07d}"


def _send(server: SmsgridProcess, version: str, to: str, options: dict[str, Any] | None = None,
          message: str = "versions") -> Any:  # fmt: skip
    body: dict[str, Any] = {"from": SENDER, "smsRecipients": [{"to": to}], "message": message}
    if options is not None:
        body["smsSendOptions"] = options
    return signed_request(server, "POST", f"/sms?api-version={version}", orjson.dumps(body))


def _report(server: SmsgridProcess, message_id: str, version: str = "2026-01-23") -> Any:
    return signed_request(server, "GET", f"/deliveryReports/{message_id}?api-version={version}")


# ---- every operation × every version ------------------------------------------------------------------------

ROUTES = ["send", "optouts:add", "optouts:remove", "optouts:check", "optouts/:check", "deliveryReports", "mms"]


def _call(server: SmsgridProcess, route: str, version: str) -> Any:
    query = f"?api-version={version}"
    handset = _handset()
    if route == "send":
        return _send(server, version, handset)
    if route.startswith("optouts"):
        body = orjson.dumps({"from": SENDER, "recipients": [{"to": handset}]})
        return signed_request(server, "POST", f"/sms/{route}{query}", body)
    if route == "deliveryReports":
        return signed_request(server, "GET", f"/deliveryReports/Outgoing_none{query}")
    mms = {"from": SENDER, "recipients": [{"to": handset}], "message": "pic", "attachments": [
        {"mimeType": "image/png", "content": "iVBORw0KGgo="}]}  # fmt: skip
    return signed_request(server, "POST", f"/mms{query}", orjson.dumps(mms))


def _defines(version: str, route: str) -> bool:
    names = {str(op) for op in SPEC_OPERATIONS.get(version, set())}
    wanted = {"send": "Sms_Send", "deliveryReports": "DeliveryReports_Get", "mms": "Mms_Send"}.get(route)
    if wanted is None:
        wanted = {"add": "OptOuts_Add", "remove": "OptOuts_Remove", "check": "OptOuts_Check"}[route.split(":")[1]]
    return wanted in names


@pytest.mark.parametrize(("version", "route"), [(v, r) for v in [*SPEC_OPERATIONS, *NOT_SERVED[:4]] for r in ROUTES])
def test_every_operation_on_every_version(server: SmsgridProcess, version: str, route: str) -> None:
    response = _call(server, route, version)
    if not _defines(version, route):
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "UnsupportedApiVersion"
        return
    if route == "optouts/:check" and version != "2024-12-10-preview":
        # Only 2024-12-10-preview's swagger spells the path with a slash.
        assert response.status_code == 404, response.text
        return
    expected = {"send": 202, "deliveryReports": 404, "mms": 202}.get(route, 200)
    assert response.status_code == expected, response.text
    if route == "deliveryReports":
        assert response.headers["content-type"].startswith("application/problem+json")
    elif route in ("send", "mms"):
        [result] = response.json()["value"]
        assert result["successful"] is True
        assert admin_message(server, result["messageId"])["apiVersion"] == version
    elif route.startswith("optouts"):
        [result] = response.json()["value"]
        assert result["httpStatusCode"] == 200
        assert result["isOptedOut"] is (route.endswith("add"))


# ---- every field limit on every version, over the wire -------------------------------------------------------

WIRE_CASES = [c for c in CASES if c.recipients <= 100]


@pytest.mark.parametrize("case", WIRE_CASES, ids=[f"{c.version}-{c.name}" for c in WIRE_CASES])
def test_every_field_limit_on_every_version(server: SmsgridProcess, case: Case) -> None:
    tos = [_handset() for _ in range(min(case.recipients, 100))]
    body: dict[str, Any] = {"from": SENDER, "smsRecipients": [{"to": t} for t in tos], "message": case.message}
    if case.options is not None:
        body["smsSendOptions"] = case.options
    response = signed_request(server, "POST", f"/sms?api-version={case.version}", orjson.dumps(body))
    if case.error is not None:
        assert response.status_code == 400, response.text
        assert case.error in response.json()["error"]["message"]
        return
    assert response.status_code == 202, response.text
    results = response.json()["value"]
    assert [r["to"] for r in results] == tos
    assert all(r["successful"] for r in results)
    stored = admin_message(server, results[0]["messageId"])
    assert stored["apiVersion"] == case.version
    expected: dict[str, Any] = {}
    if case.timeout is not None:
        expected["reportTimeoutSeconds"] = case.timeout
    if case.partner is not None:
        expected["messagingConnectPartner"] = case.partner
    assert (stored["sendOptions"] or {}) == expected


def test_a_repeatable_recipient_without_a_valid_first_sent_is_rejected_inside_the_202(server: SmsgridProcess) -> None:
    """examples/SmsSend.json of 2026-01-23: that recipient alone fails; the others are sent."""
    good, missing, malformed = _handset(), _handset(), _handset()
    body = {
        "from": SENDER,
        "message": "repeatable",
        "smsRecipients": [
            {
                "to": good,
                "repeatabilityRequestId": str(uuid.uuid4()),
                "repeatabilityFirstSent": formatdate(usegmt=True),
            },
            {"to": missing, "repeatabilityRequestId": str(uuid.uuid4())},
            {"to": malformed, "repeatabilityRequestId": str(uuid.uuid4()), "repeatabilityFirstSent": "yesterday"},
        ],
    }
    response = signed_request(server, "POST", "/sms?api-version=2026-01-23", orjson.dumps(body))
    assert response.status_code == 202, response.text
    first, *rejected = response.json()["value"]
    assert first["successful"] is True
    expected = {
        "httpStatusCode": 400,
        "repeatabilityResult": "rejected",
        "errorMessage": "Request sent with Invalid DateTime value for repeatability-first-sent. "
        "Expected is DateTime ,RFC1123 pattern.",
        "successful": False,
    }
    assert rejected == [{"to": missing, **expected}, {"to": malformed, **expected}]
    with server.admin() as admin:
        for number in (missing, malformed):
            assert admin.get("/admin/messages", params={"number": number}).json()["value"] == []


# ---- the newer send options, end to end ----------------------------------------------------------------------


def _timeout_report(server: SmsgridProcess, sink: WebhookSink, to: str, version: str, options: dict[str, Any]) -> Any:
    response = _send(server, version, to, {"enableDeliveryReport": True, **options})
    assert response.status_code == 202, response.text
    message_id = response.json()["value"][0]["messageId"]
    wait_for_report(sink, message_id)
    return message_id


@pytest.mark.parametrize(
    ("version", "options"),
    [
        ("2026-01-23", {"deliveryReportTimeoutInSeconds": 60}),
        ("2024-02-05-preview", {"deliveryReportTimeoutInSeconds": 60}),
        ("2024-02-05", {"validityPeriodSeconds": 60}),
        ("2022-07-07", {"validityPeriodSeconds": 1}),
    ],
)
@pytest.mark.parametrize("to", [LATE, SILENT], ids=["late report", "no report"])
def test_a_report_that_does_not_come_in_time_becomes_the_timeout_report(
    server: SmsgridProcess, sink: WebhookSink, version: str, options: dict[str, Any], to: str
) -> None:
    message_id = _timeout_report(server, sink, to, version, options)
    stored = wait_for_message(server, message_id, is_final)
    assert (stored["status"], stored["deliveryStatusCode"]) == ("failed", 5002)
    report = stored["deliveryReport"]
    assert report["deliveryStatus"] == "Failed"
    assert report["deliveryStatusDetails"] == "Message Delivery Timeout"
    assert all(a["segmentsSucceeded"] == 0 for a in report["deliveryAttempts"])
    # Azure sends one final report: the carrier's late one, due 0.6 s (scaled) after the send, is dropped.
    time.sleep(LATE_SCALED_SECONDS * 2)
    assert len(reports_for(sink, message_id)) == 1
    assert admin_message(server, message_id)["deliveryStatusCode"] == 5002


def test_an_opted_out_recipient_fails_with_4007_not_the_timeout(server: SmsgridProcess, sink: WebhookSink) -> None:
    body = orjson.dumps({"from": SENDER, "recipients": [{"to": SILENT_OPTED_OUT}]})
    assert signed_request(server, "POST", "/sms/optouts:add?api-version=2026-01-23", body).status_code == 200
    message_id = _timeout_report(server, sink, SILENT_OPTED_OUT, "2026-01-23", {"deliveryReportTimeoutInSeconds": 60})
    stored = wait_for_message(server, message_id, is_final)
    assert (stored["status"], stored["deliveryStatusCode"]) == ("failed", 4007)
    assert stored["deliveryReport"]["deliveryStatusDetails"] == "Sender blocked for given recipient."


def test_a_report_within_the_timeout_is_the_carriers_own(server: SmsgridProcess, sink: WebhookSink) -> None:
    message_id = _timeout_report(server, sink, ON_TIME, "2026-01-23", {"deliveryReportTimeoutInSeconds": 60})
    report = _report(server, message_id).json()
    assert (report["deliveryStatus"], report["deliveryStatusDetails"]) == ("Delivered", "No error.")


def test_without_a_timeout_a_silent_carrier_stays_silent(server: SmsgridProcess, sink: WebhookSink) -> None:
    response = _send(server, "2026-01-23", SILENT, {"enableDeliveryReport": True})
    message_id = response.json()["value"][0]["messageId"]
    stored = wait_for_message(server, message_id, is_final)
    assert (stored["status"], stored["deliveryReport"]) == ("sent", None)


@pytest.mark.parametrize(
    ("to", "status", "attempts"),
    [
        (PARTIAL_THEN_OK, "Delivered", [(2, 1), (3, 0)]),
        (PARTIAL_FAILED, "Failed", [(2, 1)]),
    ],
)
def test_a_report_whose_segments_partly_failed(
    server: SmsgridProcess, sink: WebhookSink, to: str, status: str, attempts: list[tuple[int, int]]
) -> None:
    response = _send(server, "2026-01-23", to, {"enableDeliveryReport": True}, message=THREE_SEGMENTS)
    message_id = response.json()["value"][0]["messageId"]
    event = wait_for_report(sink, message_id)
    report = _report(server, message_id).json()
    assert report["deliveryStatus"] == status
    assert [(a["segmentsSucceeded"], a["segmentsFailed"]) for a in report["deliveryAttempts"]] == attempts
    data = {key.lower(): value for key, value in event.data.items()}
    assert [(a.get("SegmentsSucceeded", a.get("segmentsSucceeded")), a.get("SegmentsFailed", a.get("segmentsFailed")))
            for a in data["deliveryattempts"]] == attempts  # fmt: skip


@pytest.mark.parametrize(
    ("version", "connect"),
    [
        ("2026-01-23", {"partner": "Connect_Partner", "partnerParams": {"apiKey": "k", "servicePlanId": "p"}}),
        ("2025-09-17", {"apiKey": "k", "partner": "Connect_Partner"}),
        ("2025-05-29-preview", {"apiKey": "k", "partner": "Connect_Partner"}),
    ],
)
def test_messaging_connect_reports_carry_the_partners_message_id(
    server: SmsgridProcess, sink: WebhookSink, version: str, connect: dict[str, Any]
) -> None:
    options = {"enableDeliveryReport": True, "messagingConnect": connect}
    message_id = _timeout_report(server, sink, _handset(), version, options)
    latest = _report(server, message_id, "2026-01-23").json()
    assert latest["messagingConnectPartnerMessageId"].startswith("Connect_Partner-")
    # 2025-08-01-preview's DeliveryReport has no such field, and the event never carries it (Event Grid schema).
    assert "messagingConnectPartnerMessageId" not in _report(server, message_id, "2025-08-01-preview").json()
    [event] = reports_for(sink, message_id)
    assert not any("partner" in key.lower() for key in event.data)
    stored = admin_message(server, message_id)
    assert stored["sendOptions"] == {"messagingConnectPartner": "Connect_Partner"}
    assert "k" not in orjson.dumps(stored["sendOptions"]).decode().split('"')  # the partner's key is not kept


def test_an_mms_is_sent_with_its_attachments_and_reported(server: SmsgridProcess, sink: WebhookSink) -> None:
    png, jpeg = b"\x89PNG\r\n\x1a\n" + bytes(range(256)), b"\xff\xd8\xff" + b"\x00" * 1000
    handset = _handset()
    body = {
        "from": SENDER,
        "recipients": [{"to": handset}, {"to": "not a number"}],
        "message": "two pictures",
        "attachments": [
            {"mimeType": "image/png", "content": base64.b64encode(png).decode()},
            {"mimeType": "image/jpeg", "content": base64.b64encode(jpeg).decode()},
        ],
        "sendOptions": {"enableDeliveryReport": True, "tag": "mms"},
    }
    response = signed_request(server, "POST", "/mms?api-version=2024-01-14-preview", orjson.dumps(body))
    assert response.status_code == 202, response.text
    sent, bad = response.json()["value"]
    assert (sent["to"], sent["httpStatusCode"], sent["successful"]) == (handset, 202, True)
    assert (bad["httpStatusCode"], bad["successful"]) == (400, False)
    wait_for_report(sink, sent["messageId"])
    stored = wait_for_message(server, sent["messageId"], is_final)
    assert (stored["encoding"], stored["segments"], stored["message"], stored["tag"]) == (
        "MMS",
        1,
        "two pictures",
        "mms",
    )
    assert stored["attachments"] == [{"mimeType": "image/png", "bytes": len(png)},
                                     {"mimeType": "image/jpeg", "bytes": len(jpeg)}]  # fmt: skip
    assert stored["deliveryReport"]["deliveryStatus"] == "Delivered"
    assert stored["apiVersion"] == "2024-01-14-preview"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"attachments": []}, "1 to 10"),
        ({"attachments": [{"mimeType": "image/png", "content": "iVBORw0KGgo="}] * 11}, "1 to 10"),
        ({"attachments": [{"mimeType": "image/png", "content": "not base64!"}]}, "base64"),
        ({"attachments": [{"content": "iVBORw0KGgo="}]}, "mimeType"),
        ({"message": "m" * 1001}, "at most 1000"),
        ({"recipients": [{"to": "+14255550123"}] * 101}, "Too many recipients"),
    ],
)
def test_an_mms_outside_its_limits_is_a_400(server: SmsgridProcess, change: dict[str, Any], words: str) -> None:
    body = {"from": SENDER, "recipients": [{"to": _handset()}], "message": "pic",
            "attachments": [{"mimeType": "image/png", "content": "iVBORw0KGgo="}], **change}  # fmt: skip
    response = signed_request(server, "POST", "/mms?api-version=2024-01-14-preview", orjson.dumps(body))
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]["message"]


@pytest.mark.parametrize("version", list(SPEC_OPERATIONS))
def test_every_version_signed_by_the_sdks_own_hmac_policy(server: SmsgridProcess, version: str) -> None:
    """The same calls through azure.core with `azure-communication-sms`'s HMACCredentialsPolicy — the signer every
    Python SDK client uses — for the api-versions its 1.1.0 SmsClient cannot be told to send."""
    from azure.communication.sms._shared.policy import HMACCredentialsPolicy
    from azure.core import PipelineClient
    from azure.core.credentials import AzureKeyCredential
    from azure.core.pipeline.policies import HeadersPolicy
    from azure.core.rest import HttpRequest

    # The SDK hands the policy its endpoint URL, scheme included.
    policies = [HeadersPolicy(), HMACCredentialsPolicy(server.base_url, AzureKeyCredential(server.access_key))]
    base = server.base_url
    client: Any
    with PipelineClient(base_url=server.base_url, policies=policies) as client:
        handset = _handset()
        send = {"from": SENDER, "smsRecipients": [{"to": handset}], "message": f"signed by the SDK, {version}",
                "smsSendOptions": {"enableDeliveryReport": True}}  # fmt: skip
        sent = client.send_request(HttpRequest("POST", f"{base}/sms?api-version={version}", json=send))
        assert sent.status_code == 202, sent.text()
        [result] = sent.json()["value"]
        assert admin_message(server, result["messageId"])["apiVersion"] == version
        if REPORT in SPEC_OPERATIONS[version]:
            wait_for_message(server, result["messageId"], lambda m: m["deliveryReport"] is not None)
            got = client.send_request(
                HttpRequest("GET", f"{base}/deliveryReports/{result['messageId']}?api-version={version}")
            )
            assert (got.status_code, got.json()["messageId"]) == (200, result["messageId"])
        if CHECK in SPEC_OPERATIONS[version]:
            body = {"from": SENDER, "recipients": [{"to": handset}]}
            checked = client.send_request(
                HttpRequest("POST", f"{base}/sms/optouts:check?api-version={version}", json=body)
            )
            assert checked.status_code == 200, checked.text()
            assert checked.json()["value"][0]["isOptedOut"] is False
