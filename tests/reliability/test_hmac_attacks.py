"""HMAC attacks against the real server (SPEC §2): every way of changing a signed request after signing, or
signing it wrongly, is answered 401 in Azure's error shape, and nothing is sent.

The unit-level laws are in tests/unit/test_hmac_properties.py; here a few of them go over real sockets, where the
path, query and Host header are what uvicorn parsed rather than what a test passed in.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability.clients import SEND_PATH, admin_get, handset, http_date, send_body

from smsgrid.api.hmac_auth import authorization_header
from smsgrid.testing import SmsgridProcess

OTHER_KEY = base64.b64decode(base64.b64encode(b"not-the-key-of-this-resource-32b"))


@dataclass
class Wire:
    """One request as it leaves the client: signed for (method, path, host, body, date), then maybe changed."""

    method: str = "POST"
    path: str = SEND_PATH
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def signed(server: SmsgridProcess, body: bytes, *, key: bytes | None = None, date: str | None = None) -> Wire:
    host = f"127.0.0.1:{server.port}"
    headers = authorization_header(
        key or base64.b64decode(server.access_key), "POST", SEND_PATH, date or http_date(), host, body
    )
    return Wire(body=body, headers={**headers, "Host": host, "Content-Type": "application/json"})


def put(wire: Wire, server: SmsgridProcess) -> httpx.Response:
    with httpx.Client(base_url=server.base_url, timeout=10.0) as client:
        return client.request(wire.method, wire.path, content=wire.body, headers=wire.headers)


def without(name: str) -> Callable[[Wire], None]:
    def change(wire: Wire) -> None:
        del wire.headers[name]

    return change


def header(name: str, value: str) -> Callable[[Wire], None]:
    def change(wire: Wire) -> None:
        wire.headers[name] = value

    return change


def tamper_body(wire: Wire) -> None:
    wire.body = wire.body.replace(b"reliability-hmac", b"reliability-HMAC")


def tamper_path(wire: Wire) -> None:
    # The same route once decoded (/%73ms is /sms), but not the path that was signed.
    wire.path = "/%73ms?api-version=2021-03-07"


def tamper_query(wire: Wire) -> None:
    wire.path = "/sms?api-version=2021-03-07&x=1"


def tamper_verb(wire: Wire) -> None:
    wire.method = "PUT"


def tamper_signature(wire: Wire) -> None:
    wire.headers["Authorization"] = wire.headers["Authorization"][:-4] + "AAA="


CHANGES: dict[str, Callable[[Wire], None]] = {
    "body": tamper_body,
    "path": tamper_path,
    "query": tamper_query,
    "host": header("Host", "127.0.0.1:1"),
    "date": lambda wire: wire.headers.update({"x-ms-date": http_date(60)}),
    "content-hash": header("x-ms-content-sha256", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
    "signature": tamper_signature,
    "scheme": header("Authorization", "Bearer " + base64.b64encode(b"x" * 32).decode()),
    "signed-headers": header("Authorization", "HMAC-SHA256 SignedHeaders=host&Signature=AAAA"),
    "no-authorization": without("Authorization"),
    "no-date": without("x-ms-date"),
    "no-content-hash": without("x-ms-content-sha256"),
}


def refused(response: httpx.Response) -> bool:
    if response.status_code not in (401, 405):
        return False
    if response.status_code == 405:  # another verb on /sms: refused by routing before auth
        return True
    error = response.json()["error"]
    return error["code"] == "Denied" and bool(error["message"])


def body_for(label: str) -> bytes:
    return send_body([handset(900_000)], f"reliability-hmac {label}")


def assert_nothing_sent(server: SmsgridProcess, label: str) -> None:
    messages = admin_get(server, "/admin/messages", number=handset(900_000), limit=1000)["value"]
    assert not [m for m in messages if m["message"] == f"reliability-hmac {label}"], label


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_request_changed_after_signing_is_refused(shared_server: SmsgridProcess, change: str) -> None:
    wire = signed(shared_server, body_for(change))
    CHANGES[change](wire)
    response = put(wire, shared_server)
    assert refused(response), (change, response.status_code, response.text)
    assert_nothing_sent(shared_server, change)


@pytest.mark.parametrize(
    ("label", "offset_seconds"), [("stale", -16 * 60), ("future", 16 * 60), ("ancient", -57 * 365 * 86400)]
)
def test_dates_outside_the_window_are_refused_even_when_signed(
    shared_server: SmsgridProcess, label: str, offset_seconds: int
) -> None:
    # The date is made now, not at collection: a run that takes minutes must not drift into the window.
    response = put(signed(shared_server, body_for(label), date=http_date(offset_seconds)), shared_server)
    assert refused(response), response.text
    assert "15 minutes" in response.json()["error"]["message"]


def test_a_request_signed_with_another_key_is_refused(shared_server: SmsgridProcess) -> None:
    response = put(signed(shared_server, body_for("other-key"), key=OTHER_KEY), shared_server)
    assert refused(response), response.text
    assert_nothing_sent(shared_server, "other-key")


def test_a_replay_outside_the_window_is_refused_and_inside_it_is_not_sent_twice(shared_server: SmsgridProcess) -> None:
    """A captured request replayed later than the skew window is refused; replayed inside it, the HMAC cannot
    tell, but the send's repeatabilityRequestId makes the replay return the original message (SPEC §2)."""
    body = body_for("replay")
    old = put(signed(shared_server, body, date=http_date(-15 * 60 - 30)), shared_server)
    assert refused(old), old.text
    first = put(signed(shared_server, body), shared_server)
    again = put(signed(shared_server, body), shared_server)
    assert first.status_code == again.status_code == 202
    assert first.json()["value"][0]["messageId"] == again.json()["value"][0]["messageId"]


def test_the_untampered_request_is_accepted(shared_server: SmsgridProcess) -> None:
    """The control: the same construction without a change is a valid send, so the refusals above are earned."""
    response = put(signed(shared_server, body_for("control")), shared_server)
    assert response.status_code == 202, response.text


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 10_000), st.integers(0, 7), st.sampled_from(["body", "path", "header"]))
def test_random_bit_flips_are_refused(shared_server: SmsgridProcess, position: int, bit: int, where: str) -> None:
    wire = signed(shared_server, body_for("flip"))
    if where == "body":
        data = bytearray(wire.body)
        data[position % len(data)] ^= 1 << bit
        wire.body = bytes(data)
    elif where == "path":
        chars = list(wire.path)
        index = 1 + position % (len(chars) - 1)
        flipped = chr(ord(chars[index]) ^ (1 << min(bit, 4)))
        if not flipped.isalnum():
            flipped = "Z" if chars[index] != "Z" else "Y"
        chars[index] = flipped
        wire.path = "".join(chars)
    else:
        signature = wire.headers["Authorization"]
        index = signature.index("Signature=") + len("Signature=") + position % 40
        flipped = "A" if signature[index] != "A" else "B"
        wire.headers["Authorization"] = signature[:index] + flipped + signature[index + 1 :]
    response = put(wire, shared_server)
    # A flipped path may leave the route (404) — also a refusal; what must never happen is a 2xx.
    assert response.status_code in (401, 404, 405), (where, response.status_code, response.text)
