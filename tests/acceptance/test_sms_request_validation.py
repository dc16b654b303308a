"""`POST /sms` field checks: only null or absent mean "not given" (SPEC §2, Azure's error shape for the rest).

A falsy value of the wrong type (`smsSendOptions: []`, `0`, `""`, `false`; `repeatabilityRequestId: ""`) is a
client bug; taking it as "no options" or "no id" would silently drop what the client meant (a delivery report,
repeatability), so it is a 400 `{"error":{"code","message"}}` and nothing is stored.
"""

from __future__ import annotations

import uuid
from email.utils import formatdate
from typing import Any

import orjson
import pytest

from smsgrid.testing import SmsgridProcess
from tests.support_sms import SENDER, admin_message, messages_with, signed_request

SEND_PATH = "/sms?api-version=2021-03-07"


def _body(to: str, **fields: Any) -> bytes:
    body: dict[str, Any] = {
        "from": SENDER,
        # A repeatable recipient needs its first-sent time (RFC 1123), as the SDK sends it.
        "smsRecipients": [
            {"to": to, "repeatabilityRequestId": str(uuid.uuid4()), "repeatabilityFirstSent": formatdate(usegmt=True)}
        ],
        "message": "validation",
        "smsSendOptions": {"enableDeliveryReport": True},
    }
    recipient = fields.pop("recipient", {})
    body["smsRecipients"][0].update(recipient)
    body.update(fields)
    return orjson.dumps(body)


def _without(key: str, to: str) -> bytes:
    body = orjson.loads(_body(to))
    del body[key]
    return orjson.dumps(body)


@pytest.mark.parametrize(
    ("options", "to"),
    [
        ([], "+14255557001"),
        (0, "+14255557002"),
        ("", "+14255557003"),
        (False, "+14255557004"),
        ([{"enableDeliveryReport": True}], "+14255557005"),
        ("yes", "+14255557006"),
    ],
)
def test_send_options_that_are_not_an_object_are_a_400(sms_server: SmsgridProcess, options: Any, to: str) -> None:
    response = signed_request(sms_server, "POST", SEND_PATH, _body(to, smsSendOptions=options))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "BadRequest"
    assert "smsSendOptions" in error["message"]
    assert messages_with(sms_server, to) == []


@pytest.mark.parametrize(
    ("body", "to"),
    [
        (_body("+14255557011", smsSendOptions=None), "+14255557011"),
        (_without("smsSendOptions", "+14255557012"), "+14255557012"),
    ],
    ids=["null", "absent"],
)
def test_null_or_absent_send_options_mean_no_options(sms_server: SmsgridProcess, body: bytes, to: str) -> None:
    response = signed_request(sms_server, "POST", SEND_PATH, body)
    assert response.status_code == 202, response.text
    [result] = response.json()["value"]
    assert result["successful"], result
    stored = admin_message(sms_server, result["messageId"])
    assert stored["to"] == to
    assert stored["enableDeliveryReport"] is False
    assert stored["tag"] is None


def test_a_null_tag_is_no_tag(sms_server: SmsgridProcess) -> None:
    body = _body("+14255557021", smsSendOptions={"enableDeliveryReport": True, "tag": None})
    response = signed_request(sms_server, "POST", SEND_PATH, body)
    assert response.status_code == 202, response.text
    stored = admin_message(sms_server, response.json()["value"][0]["messageId"])
    assert stored["enableDeliveryReport"] is True
    assert stored["tag"] is None


def test_an_empty_repeatability_id_is_a_400(sms_server: SmsgridProcess) -> None:
    to = "+14255557031"
    response = signed_request(sms_server, "POST", SEND_PATH, _body(to, recipient={"repeatabilityRequestId": ""}))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "BadRequest"
    assert "smsRecipients[0].repeatabilityRequestId" in error["message"]
    assert messages_with(sms_server, to) == []


def test_a_null_repeatability_id_is_no_id(sms_server: SmsgridProcess) -> None:
    """Without an id the same body sent twice is two messages (SPEC §2: only a repeated id is deduplicated)."""
    body = _body("+14255557041", recipient={"repeatabilityRequestId": None})
    first = signed_request(sms_server, "POST", SEND_PATH, body)
    second = signed_request(sms_server, "POST", SEND_PATH, body)
    assert first.status_code == second.status_code == 202, (first.text, second.text)
    ids = {first.json()["value"][0]["messageId"], second.json()["value"][0]["messageId"]}
    assert len(ids) == 2
