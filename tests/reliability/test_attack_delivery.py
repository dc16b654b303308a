"""Regression tests of an outside attack on outbound delivery (issue 12): each drives a real smsgrid process
and real webhook receivers on loopback.

Memory: smsgrid frees a huge answer as soon as it is done with it, so its current RSS tells nothing afterwards;
the kernel's high-water mark of the RSS (`VmHWM` in /proc/<pid>/status) keeps the peak. Every bound is derived
from the size of the answer sent, never from an earlier measurement.
"""

from __future__ import annotations

import base64
import re
import sqlite3
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from smsgrid.testing import ReceivedRequest, SmsgridProcess, WebhookSink, start_smsgrid
from smsgrid.testing.plugin import subscribe
from smsgrid.tls import TlsFiles, ensure_certificate

MIB = 1024 * 1024
# Big enough that buffering it shows plainly in the RSS, small enough not to hurt a shared CI machine when a
# regression makes smsgrid buffer it again.
HUGE_ANSWER = 192 * MIB
CUSTOM_TYPE = "Contoso.Attack.Probe"


# ------------------------------------------------------------------------------------------------- helpers


@dataclass
class Receiver:
    """A webhook receiver that may answer with far more than anyone should read.

    `delivery_answer`: bytes of body (with Content-Length) sent back to every delivery.
    `handshake_answer`: when > 0, the validation event is answered with this many bytes and no length (the body
    runs until the connection closes, as an endless answer would). `tls`: serve HTTPS with this certificate.
    """

    delivery_answer: int = 0
    handshake_answer: int = 0
    tls: TlsFiles | None = None
    requests: list[ReceivedRequest] = field(default_factory=list)
    answered: int = 0
    _lock: threading.Condition = field(default_factory=threading.Condition)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}/events"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _stream(self, size: int) -> None:
                chunk = b"\0" * MIB
                sent = 0
                try:
                    while sent < size:
                        part = chunk[: min(MIB, size - sent)]
                        self.wfile.write(part)
                        sent += len(part)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    self.close_connection = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = ReceivedRequest(
                    "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time()
                )
                with receiver._lock:
                    receiver.requests.append(request)
                if request.kind == "SubscriptionValidation":
                    code = request.json()[0]["data"]["validationCode"]
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    if receiver.handshake_answer:
                        self.send_header("Connection", "close")
                        self.end_headers()
                        self.close_connection = True
                        self._stream(receiver.handshake_answer)
                    else:
                        answer = orjson.dumps({"validationResponse": code})
                        self.send_header("Content-Length", str(len(answer)))
                        self.end_headers()
                        self.wfile.write(answer)
                else:
                    self.send_response(200)
                    self.send_header("Content-Length", str(receiver.delivery_answer))
                    self.end_headers()
                    self._stream(receiver.delivery_answer)
                with receiver._lock:
                    receiver.answered += 1
                    receiver._lock.notify_all()

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self.tls.cert), str(self.tls.key))
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def notifications(self) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self.requests if r.kind == "Notification"]


def peak_rss(server: SmsgridProcess) -> int:
    """The smsgrid process's highest resident set size so far, in bytes (VmHWM)."""
    assert server.proc is not None
    status = Path(f"/proc/{server.proc.pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    assert match, status
    return int(match.group(1)) * 1024


def wait_until(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def custom_event(data: dict[str, Any], event_type: str = CUSTOM_TYPE) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "subject": "/attack",
        "eventType": event_type,
        "eventTime": "2026-01-01T00:00:00Z",
        "data": data,
        "dataVersion": "1.0",
    }


def publish(server: SmsgridProcess, events: list[dict[str, Any]]) -> None:
    """Publish to the custom topic endpoint, as any holder of the topic key can."""
    response = httpx.post(
        f"{server.base_url}/api/events",
        params={"api-version": "2018-01-01"},
        content=orjson.dumps(events),
        headers={"aeg-sas-key": server.access_key, "Content-Type": "application/json"},
        timeout=30.0,
    )
    assert response.status_code == 200, response.text


def delivery_to(server: SmsgridProcess, event_id: str, subscription: str) -> dict[str, Any] | None:
    with server.admin() as admin:
        response = admin.get(f"/admin/events/{event_id}")
    if response.status_code != 200:
        return None
    found = [d for d in response.json()["deliveries"] if d["subscription"] == subscription]
    return found[0] if found else None


def delivered(server: SmsgridProcess, event_id: str, subscription: str) -> dict[str, Any] | None:
    d = delivery_to(server, event_id, subscription)
    return d if d is not None and d["state"] == "delivered" else None


def only_mine(tag: str) -> dict[str, Any]:
    """A filter taking only the events of one test: the module's server is shared."""
    return {"advancedFilters": [{"operatorType": "StringIn", "key": "data.Test", "values": [tag]}]}


def put(server: SmsgridProcess, name: str, body: dict[str, Any]) -> httpx.Response:
    with server.admin() as admin:
        return admin.put(f"/admin/subscriptions/{name}", json=body)


def webhook(url: str, **destination_properties: Any) -> dict[str, Any]:
    return {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": url, **destination_properties}}}


def assert_azure_error(response: httpx.Response, status: int, *needles: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert isinstance(error["code"], str)
    assert error["code"]
    for needle in needles:
        assert needle in error["message"], error["message"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    with start_smsgrid(tmp_path_factory.mktemp("attack"), config="[carrier]\ndelay_ms = 10\n") as process:
        yield process


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1 that no trust store holds."""
    return ensure_certificate(tmp_path_factory.mktemp("receiver-tls"))


# ------------------------------------------------------------------- 1. answers are read only as far as kept


def test_a_huge_delivery_answer_is_not_read_into_memory(tmp_path: Path) -> None:
    with start_smsgrid(tmp_path) as server, Receiver(delivery_answer=HUGE_ANSWER) as receiver:
        subscribe(server, "huge-answers", receiver.url)
        before = peak_rss(server)
        event = custom_event({"Test": "huge-answer"})
        publish(server, [event])
        delivery = wait_until(lambda: delivered(server, event["id"], "huge-answers"))
        # The 200 still counts: the status is what acknowledges a delivery, not the body.
        assert delivery["attempts"][-1]["statusCode"] == 200
        growth = peak_rss(server) - before
        assert growth < HUGE_ANSWER / 4, (
            f"RSS peak grew by {growth / MIB:.0f} MiB for a {HUGE_ANSWER // MIB} MiB answer"
        )
        # And the server is still fine: it delivers the next event.
        second = custom_event({"Test": "huge-answer"})
        publish(server, [second])
        wait_until(lambda: delivered(server, second["id"], "huge-answers"))


def test_a_huge_endless_handshake_answer_is_not_read_into_memory(tmp_path: Path) -> None:
    with start_smsgrid(tmp_path) as server, Receiver(handshake_answer=HUGE_ANSWER) as receiver:
        before = peak_rss(server)
        answer = put(server, "huge-handshake", webhook(receiver.url))
        assert answer.status_code == 200, answer.text
        # What was kept (the first 64 KB) is not a validationResponse: Event Grid's manual path.
        assert answer.json()["properties"]["provisioningState"] == "AwaitingManualAction"
        growth = peak_rss(server) - before
        assert growth < HUGE_ANSWER / 4, (
            f"RSS peak grew by {growth / MIB:.0f} MiB for a {HUGE_ANSWER // MIB} MiB answer"
        )


# --------------------------------------------------------------------------- 2. HTTPS certificates verified


def test_an_https_webhook_with_an_untrusted_certificate_gets_nothing(
    server: SmsgridProcess, self_signed: TlsFiles
) -> None:
    with Receiver(tls=self_signed) as impostor, WebhookSink() as control:
        answer = put(server, "tls-untrusted", {**webhook(impostor.url), "filter": only_mine("tls-untrusted")})
        assert answer.status_code == 200, answer.text
        props = answer.json()["properties"]
        assert props["provisioningState"] == "Failed"
        assert "certificate" in props["provisioningMessage"].lower()
        subscribe(server, "tls-control", control.url, filter=only_mine("tls-untrusted"))
        event = custom_event({"Test": "tls-untrusted", "Secret": "for the real endpoint only"})
        publish(server, [event])
        # Once the trusted endpoint has the event, the routing is done: the impostor was never a destination.
        control.wait_for(lambda s: any(item["id"] == event["id"] for item in s.iter_items()))
        assert impostor.requests == []
        with server.admin() as admin:
            record = admin.get(f"/admin/events/{event['id']}").json()
        assert {d["subscription"] for d in record["deliveries"]} == {"tls-control"}


def wrong_name_certificate(folder: Path) -> TlsFiles:
    """A self-signed certificate for `other.example` only: trusted or not, it is not 127.0.0.1's."""
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "other.example")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("other.example")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    files = TlsFiles(folder / "cert.pem", folder / "key.pem")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return files


def test_an_https_webhook_whose_ca_is_in_ca_file_is_validated_and_delivered_to_unless_the_name_is_wrong(
    tmp_path: Path, self_signed: TlsFiles
) -> None:
    wrong_name = wrong_name_certificate(tmp_path / "wrong-name")
    bundle = tmp_path / "ca-bundle.pem"
    bundle.write_bytes(self_signed.cert.read_bytes() + wrong_name.cert.read_bytes())
    config = f'[delivery]\nca_file = "{bundle}"\n'
    with (
        start_smsgrid(tmp_path / "data", config=config) as server,
        Receiver(tls=self_signed) as receiver,
        Receiver(tls=wrong_name) as misnamed,
    ):
        answer = put(server, "tls-trusted", webhook(receiver.url))
        assert answer.json()["properties"]["provisioningState"] == "Succeeded", answer.text
        # Trusted issuer, but the certificate names another host: refused as Event Grid would.
        refused = put(server, "tls-wrong-name", webhook(misnamed.url))
        assert refused.json()["properties"]["provisioningState"] == "Failed", refused.text
        assert misnamed.requests == []
        event = custom_event({"Test": "tls-trusted"})
        publish(server, [event])
        wait_until(lambda: delivered(server, event["id"], "tls-trusted"))
        [notification] = receiver.notifications()
        assert notification.json()[0]["id"] == event["id"]


def test_verify_tls_false_is_an_explicit_loud_opt_out(tmp_path: Path, self_signed: TlsFiles) -> None:
    with start_smsgrid(tmp_path, config="[delivery]\nverify_tls = false\n") as server:
        assert "verify_tls = false" in server.log()
        with Receiver(tls=self_signed) as receiver:
            answer = put(server, "tls-unverified", webhook(receiver.url))
            assert answer.json()["properties"]["provisioningState"] == "Succeeded", answer.text


def test_a_ca_file_that_cannot_be_loaded_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-ca.pem"
    started: list[SmsgridProcess] = []
    try:
        with pytest.raises(RuntimeError, match=r"delivery\.ca_file"):
            started.append(start_smsgrid(tmp_path / "data", config=f'[delivery]\nca_file = "{missing}"\n'))
    finally:
        for process in started:  # only if it wrongly started: never leave a server running
            process.stop()


# ------------------------------------------------------------------ 9. header values that cannot be sent


@pytest.mark.parametrize("value", ["a\x01b", "tab\tthen\x7f", "a\x0bb", "x" * 4097])
def test_a_static_attribute_that_cannot_be_a_header_is_refused_at_create(server: SmsgridProcess, value: str) -> None:
    with WebhookSink() as sink:
        mapping = {"name": "X-Bad", "type": "Static", "properties": {"value": value, "isSecret": False}}
        answer = put(server, "static-bad-value", webhook(sink.url, deliveryAttributeMappings=[mapping]))
        assert_azure_error(answer, 400, "deliveryAttributeMappings[0].properties.value")
        assert sink.requests == []


def test_a_dynamic_attribute_value_with_a_control_character_is_left_out_and_the_event_delivered(
    server: SmsgridProcess,
) -> None:
    mapping = {"name": "X-Tag", "type": "Dynamic", "properties": {"sourceField": "data.Tag"}}
    with WebhookSink() as sink:
        body = {**webhook(sink.url, deliveryAttributeMappings=[mapping]), "filter": only_mine("dynamic-ctl")}
        assert put(server, "dynamic-ctl", body).status_code == 200
        bad = custom_event({"Test": "dynamic-ctl", "Tag": "a\r\nInjected: yes"})
        good = custom_event({"Test": "dynamic-ctl", "Tag": "fine"})
        publish(server, [bad, good])
        delivery = wait_until(lambda: delivered(server, bad["id"], "dynamic-ctl"), timeout=20)
        assert delivery["attempts"][-1]["statusCode"] == 200
        wait_until(lambda: delivered(server, good["id"], "dynamic-ctl"), timeout=20)
        by_event = {r.json()[0]["id"]: r for r in sink.notifications()}
        assert "x-tag" not in by_event[bad["id"]].headers
        assert "injected" not in by_event[bad["id"]].headers
        assert by_event[good["id"]].headers["x-tag"] == "fine"


# ----------------------------------------------------------------------- 10. bounded metric label values


def test_a_publisher_cannot_add_metric_series(server: SmsgridProcess) -> None:
    types = [f"Contoso.Attack.Type{i}" for i in range(300)]
    publish(server, [custom_event({"Test": "metrics"}, event_type) for event_type in types])
    text = httpx.get(f"{server.base_url}/metrics", timeout=10).text
    series = re.findall(r'^smsgrid_events_published_total\{event_type="([^"]*)"\} (\S+)$', text, re.MULTILINE)
    labels = {label for label, _ in series}
    assert not labels & set(types)
    assert labels <= {
        "Microsoft.Communication.SMSReceived",
        "Microsoft.Communication.SMSDeliveryReportReceived",
        "other",
    }
    assert float(dict(series)["other"]) >= len(types)


# -------------------------------------------------------------------------- 12. webhook credentials hidden


def test_webhook_credentials_are_not_shown_back_but_used_for_delivery(server: SmsgridProcess) -> None:
    with WebhookSink() as sink:
        port = sink.url.split(":")[2].split("/")[0]
        url = f"http://hookuser:pa55w0rd-secret@127.0.0.1:{port}/events?code=query-secret"
        answer = put(server, "userinfo", {**webhook(url), "filter": only_mine("userinfo")})
        assert answer.status_code == 200, answer.text
        with server.admin() as admin:
            shown = [
                answer.text,
                admin.get("/admin/subscriptions/userinfo").text,
                admin.get("/admin/subscriptions").text,
            ]
            login_path = admin.post("/admin/login-tokens").json()["path"]
        with httpx.Client(base_url=server.base_url, timeout=10.0) as browser:
            assert browser.get(login_path).status_code == 303
            pages = [browser.get(page) for page in ("/", "/subscriptions", "/subscriptions/userinfo/edit")]
        assert [page.status_code for page in pages] == [200, 200, 200]
        shown += [page.text for page in pages]
        for text in shown:
            assert "pa55w0rd-secret" not in text
            assert "hookuser" not in text
            assert "query-secret" not in text
        base = answer.json()["properties"]["destination"]["properties"]["endpointBaseUrl"]
        assert base == f"http://127.0.0.1:{port}/events"
        # Delivery still uses the whole URL: the credentials go as HTTP Basic, the query as sent.
        event = custom_event({"Test": "userinfo"})
        publish(server, [event])
        sink.wait_for(lambda s: any(item["id"] == event["id"] for item in s.iter_items()))
        [notification] = sink.notifications()
        assert (
            notification.headers["authorization"] == "Basic " + base64.b64encode(b"hookuser:pa55w0rd-secret").decode()
        )
        assert notification.path == "/events?code=query-secret"


# ------------------------------------------------------------------------ 13. malformed hosts are a 400


@pytest.mark.parametrize(
    "host", ["a..b", ".a", "-bad.example", "bad-.example", "x" * 64 + ".example", "a.b_c-.d", "exa mple"]
)
def test_a_malformed_webhook_host_is_a_400_in_azure_shape(server: SmsgridProcess, host: str) -> None:
    answer = put(server, "bad-host", webhook(f"http://{host}/events"))
    assert_azure_error(answer, 400, "destination.properties.endpointUrl")


def test_a_well_formed_unusual_host_is_accepted(server: SmsgridProcess) -> None:
    # An IPv6 literal, a trailing dot and an internationalised name are fine; nothing listens there, so the
    # handshake fails, but the subscription is created.
    for index, url in enumerate(["http://[::1]:1/e", "http://localhost.:1/e", "http://bücher.example:1/e"]):
        answer = put(server, f"odd-host-{index}", webhook(url))
        assert answer.status_code == 200, answer.text
        assert answer.json()["properties"]["provisioningState"] == "Failed"


# ------------------------------------------------- 14. reserved headers; names that differ only by case


@pytest.mark.parametrize(
    "name", ["Host", "Content-Length", "transfer-encoding", "Connection", "Content-Type", "aeg-event-type", "TE"]
)
def test_a_delivery_attribute_may_not_set_a_reserved_header(server: SmsgridProcess, name: str) -> None:
    with WebhookSink() as sink:
        mapping = {"name": name, "type": "Static", "properties": {"value": "1", "isSecret": False}}
        answer = put(server, "reserved-header", webhook(sink.url, deliveryAttributeMappings=[mapping]))
        assert_azure_error(answer, 400, "deliveryAttributeMappings[0].name")
        assert sink.requests == []


def test_subscription_names_that_differ_only_by_case_are_one_name(server: SmsgridProcess) -> None:
    with WebhookSink() as sink:
        assert put(server, "case-x", webhook(sink.url)).status_code == 200
        answer = put(server, "CASE-X", webhook(sink.url))
        assert_azure_error(answer, 409, "'case-x'")
        with server.admin() as admin:
            names = [s["name"] for s in admin.get("/admin/subscriptions").json()["value"]]
            assert "CASE-X" not in names
            # Updating under the stored spelling still works; after a delete the other spelling is free.
            assert put(server, "case-x", webhook(sink.url)).status_code == 200
            assert admin.delete("/admin/subscriptions/case-x").status_code in (200, 204)
        assert put(server, "CASE-X", webhook(sink.url)).status_code == 200


def test_config_subscriptions_whose_names_differ_only_by_case_are_both_refused(tmp_path: Path) -> None:
    with WebhookSink() as sink:
        destination = f'destination = {{ endpointType = "WebHook", properties = {{ endpointUrl = "{sink.url}" }} }}'
        config = f"[subscriptions.case-y]\n{destination}\n\n[subscriptions.CASE-Y]\n{destination}\n"
        with start_smsgrid(tmp_path, config=config) as server:
            with server.admin() as admin:
                names = [s["name"] for s in admin.get("/admin/subscriptions").json()["value"]]
            assert not {"case-y", "CASE-Y"} & set(names)
            assert "differs only by case" in server.log()


def test_a_subscription_stored_before_these_rules_reads_as_failed_and_gets_nothing(tmp_path: Path) -> None:
    """An older smsgrid accepted a `Host` attribute; after the upgrade the record lists (no 500) as Failed."""
    with WebhookSink() as sink, start_smsgrid(tmp_path) as server:
        mapping = {"name": "X-Fine", "type": "Static", "properties": {"value": "1", "isSecret": False}}
        body = {**webhook(sink.url, deliveryAttributeMappings=[mapping]), "filter": only_mine("legacy")}
        assert put(server, "legacy", body).json()["properties"]["provisioningState"] == "Succeeded"
        server.stop()
        # What the older version stored: the same record with a header name refused today.
        with sqlite3.connect(tmp_path / "smsgrid.db") as db:
            [(spec,)] = db.execute("SELECT spec FROM subscriptions WHERE name = 'legacy'").fetchall()
            db.execute("UPDATE subscriptions SET spec = ? WHERE name = 'legacy'", (spec.replace('"X-Fine"', '"Host"'),))
        server.start()
        with server.admin() as admin:
            listed = admin.get("/admin/subscriptions")
            one = admin.get("/admin/subscriptions/legacy")
        assert listed.status_code == 200, listed.text
        assert one.status_code == 200, one.text
        props = one.json()["properties"]
        assert props["provisioningState"] == "Failed"
        assert "deliveryAttributeMappings[0].name" in props["provisioningMessage"]
        event = custom_event({"Test": "legacy"})
        publish(server, [event])
        with server.admin() as admin:
            record = admin.get(f"/admin/events/{event['id']}").json()
        assert record["deliveries"] == []
