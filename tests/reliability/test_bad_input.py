"""Bad input over real sockets: oversized bodies, slow clients, malformed and mistyped requests.

Each is answered with a clear 4xx in Azure's error shape (`{"error":{"code","message"}}`, SPEC §2), never a 5xx,
and none of them stops the server from answering everyone else.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx
import orjson
import pytest
from reliability.clients import SEND_PATH, SENDER, SignedClient, handset, send_body
from reliability.http_abuse import oversized_request, read_answer, slowloris

from smsgrid.testing import SmsgridProcess

MB = 1024 * 1024


def azure_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text[:300])
    error: dict[str, Any] = response.json()["error"]
    assert isinstance(error["code"], str)
    assert error["code"]
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


JSON_TYPE = {"Content-Type": "application/json"}


# -- oversized bodies -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "auth"),
    [
        ("POST", SEND_PATH, "hmac"),
        ("POST", "/admin/inbound", "bearer"),
        ("PUT", "/admin/subscriptions/too-big", "bearer"),
        ("POST", "/api/events?api-version=2018-01-01", "sas"),
    ],
)
def test_a_declared_oversized_body_is_refused_before_it_is_sent(
    shared_server: SmsgridProcess, method: str, path: str, auth: str
) -> None:
    """Content-Length says 50 MB; only 1 KB follows. The 413 must come back without the rest being read."""
    answer = oversized_request(shared_server, method, path, auth=auth, declared=50 * MB, chunked=False)
    assert answer.status == 413, answer
    assert orjson.loads(answer.body)["error"]["code"], answer


def test_a_chunked_oversized_body_is_refused_once_past_the_limit(shared_server: SmsgridProcess) -> None:
    """No Content-Length: the server counts while it reads and stops just past 1 MB."""
    answer = oversized_request(shared_server, "POST", "/admin/inbound", auth="bearer", declared=3 * MB, chunked=True)
    assert answer.status == 413, answer
    # The answer was readable before the client got far past the limit (socket buffers allow some slack).
    assert answer.bytes_sent < 2 * MB, answer


def test_a_body_just_under_the_limit_is_read(shared_server: SmsgridProcess) -> None:
    body = orjson.dumps({"from": "+14255550123", "to": SENDER, "message": "x" * (MB - 200)})
    with shared_server.admin() as admin:
        response = admin.post("/admin/inbound", content=body, headers=JSON_TYPE)
    # Read whole and refused for what it says (too long a message), not for its size.
    assert azure_error(response, 400)["code"] != "RequestEntityTooLarge"


# -- slow clients ---------------------------------------------------------------------------------------------


def test_slowloris_clients_do_not_hold_the_server(shared_server: SmsgridProcess) -> None:
    """100 connections dribble their headers a byte at a time; everyone else is still answered meanwhile."""
    with slowloris(shared_server, connections=100) as attack, SignedClient(shared_server) as client:
        for n in range(5):
            assert httpx.get(f"{shared_server.base_url}/healthz", timeout=5).status_code == 200
            assert client.send([handset(800_000 + n)], "while slowloris").status_code == 202
            attack.dribble()
        assert attack.open_connections() > 0, "the attack did not hold its connections; the test proves nothing"


def test_an_idle_keep_alive_connection_is_closed_by_the_server(shared_server: SmsgridProcess) -> None:
    """uvicorn closes a keep-alive connection idle for timeout_keep_alive (5 s by default) after a response."""
    with socket.create_connection(("127.0.0.1", shared_server.port), timeout=15) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _ = read_answer(sock)
        assert status == 200
        started = time.monotonic()
        assert sock.recv(1) == b"", "the server closes the idle connection"
        assert time.monotonic() - started < 14


# -- malformed and mistyped requests --------------------------------------------------------------------------

GOOD: dict[str, Any] = orjson.loads(send_body(["+14255550123"], "hello"))
MISTYPED = {
    "from is a number": {**GOOD, "from": 18005550100},
    "from is missing": {k: v for k, v in GOOD.items() if k != "from"},
    "message is a list": {**GOOD, "message": ["hello"]},
    "message too long": {**GOOD, "message": "x" * 2049},
    "recipients is a string": {**GOOD, "smsRecipients": "+14255550123"},
    "recipients is empty": {**GOOD, "smsRecipients": []},
    "recipient is a string": {**GOOD, "smsRecipients": ["+14255550123"]},
    "recipient to is a number": {**GOOD, "smsRecipients": [{"to": 14255550123}]},
    "repeatability id is a number": {**GOOD, "smsRecipients": [{"to": "+14255550123", "repeatabilityRequestId": 7}]},
    "options is a list": {**GOOD, "smsSendOptions": [{"enableDeliveryReport": True}]},
    "report flag is a string": {**GOOD, "smsSendOptions": {"enableDeliveryReport": "yes"}},
    "tag is a number": {**GOOD, "smsSendOptions": {"enableDeliveryReport": True, "tag": 5}},
    "101 recipients": {**GOOD, "smsRecipients": [{"to": handset(i)} for i in range(101)]},
    "20000 recipients": {**GOOD, "smsRecipients": [{"to": handset(i)} for i in range(20_000)]},
}
MALFORMED = {
    "not json": b"hello",
    "truncated json": send_body(["+14255550123"], "hello")[:-3],
    "a json array": b"[]",
    "json null": b"null",
    "invalid utf-8": b'{"from": "+18005550100", "message": "\xff\xfe", "smsRecipients": [{"to": "+14255550123"}]}',
    "lone surrogate escape": b'{"from": "+18005550100", "message": "\\ud800", "smsRecipients": [{"to": "+1425555"}]}',
    "deep nesting": b"[" * 100_000 + b"]" * 100_000,
    "empty body": b"",
    "nan": b'{"from": NaN}',
}


@pytest.mark.parametrize("case", sorted(MISTYPED))
def test_a_mistyped_send_is_a_clear_400(shared_server: SmsgridProcess, case: str) -> None:
    with SignedClient(shared_server) as client:
        response = client.request("POST", SEND_PATH, orjson.dumps(MISTYPED[case]))
    error = azure_error(response, 400)
    assert len(error["message"]) > 10


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_send_is_a_clear_400(shared_server: SmsgridProcess, case: str) -> None:
    with SignedClient(shared_server) as client:
        response = client.request("POST", SEND_PATH, MALFORMED[case])
    azure_error(response, 400)


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_admin_bodies_are_clear_400s(shared_server: SmsgridProcess, case: str) -> None:
    with shared_server.admin() as admin:
        for method, path in (("POST", "/admin/inbound"), ("PUT", "/admin/subscriptions/malformed")):
            azure_error(admin.request(method, path, content=MALFORMED[case], headers=JSON_TYPE), 400)


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=-1", "limit=abc", "limit=99999999999999999999", "limit=1.5", "before=%00", "number=%ff"],
)
def test_bad_admin_query_parameters_are_4xx_not_5xx(shared_server: SmsgridProcess, query: str) -> None:
    with shared_server.admin() as admin:
        for path in ("/admin/messages", "/admin/events", "/admin/deadletters"):
            response = admin.get(f"{path}?{query}")
            assert response.status_code < 500, (path, query, response.status_code, response.text)


def test_the_server_still_answers_after_all_that(shared_server: SmsgridProcess) -> None:
    with SignedClient(shared_server) as client:
        assert client.send([handset(800_100)], "still here").status_code == 202
    assert "Traceback" not in shared_server.log()
