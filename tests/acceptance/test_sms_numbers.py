"""Numbers are never rewritten, per-recipient errors are Azure's, and every sender kind ACS allows works:
through the official `azure-communication-sms` SDK and a subscribed webhook (issue 11)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from azure.communication.sms import SmsClient
from azure.core.credentials import AzureKeyCredential
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsgrid.sms import is_e164
from smsgrid.testing import SmsgridProcess, WebhookSink, start_smsgrid
from smsgrid.testing.plugin import subscribe
from tests.support_sms import (
    OPTOUT_API,
    admin_message,
    inbound,
    messages_with,
    signed_request,
    wait_for_received,
    wait_for_report,
)

SHORT_CODE = "12345"
SENDER_ID = "CONTOSO"
TOLL_FREE = "+18005550100"
UNAVAILABLE_BY_RULE = "+12065550503"

CONFIG = f"""
[resource]
short_codes = ["{SHORT_CODE}"]
alphanumeric_sender_ids = ["{SENDER_ID}"]

[carrier]
delay_ms = 10

[[carrier.rules]]
to = "{UNAVAILABLE_BY_RULE}"
outcome = "ServiceUnavailable"

[[carrier.rules]]
to = "+1206555077*"
reply = "thanks"
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    with start_smsgrid(tmp_path_factory.mktemp("numbers"), config=CONFIG) as process:
        yield process


@pytest.fixture(scope="module")
def sink(server: SmsgridProcess) -> Iterator[WebhookSink]:
    with WebhookSink() as webhook:
        subscribe(server, "numbers", webhook.url)
        yield webhook


@pytest.fixture(scope="module")
def client(server: SmsgridProcess) -> Iterator[Any]:
    sms = SmsClient(server.base_url, AzureKeyCredential(server.access_key))
    try:
        yield sms
    finally:
        sms._sms_service_client.close()


# Plausible recipients and near misses: any '+' and digits, and numbers with a trunk prefix typed after a
# country code (+1 1..., +44 0..., +95 0...), the spelling libphonenumber used to shorten.
candidates = st.one_of(
    st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True),
    st.from_regex(r"\+(1|44|95|33|49)[01][0-9]{8,10}", fullmatch=True),
    st.from_regex(r"\+1[2-9][0-9]{2}[2-9][0-9]{6}", fullmatch=True),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(candidates, min_size=1, max_size=8, unique=True))
def test_a_number_is_delivered_as_given_or_refused(
    server: SmsgridProcess, sink: WebhookSink, client: Any, numbers: list[str]
) -> None:
    # Law (issue 11): for every accepted recipient, the 202's `to`, the stored message, the delivery report and
    # the event's `to` all equal the input; every other recipient is refused with Azure's per-recipient 400.
    numbers = [n for n in numbers if not n.startswith("+1500555")]  # magic numbers are tested elsewhere
    if not numbers:
        return
    results = client.send(from_=TOLL_FREE, to=numbers, message="as given", enable_delivery_report=True)
    assert [r.to for r in results] == numbers
    for number, result in zip(numbers, results, strict=True):
        if not result.successful:
            assert result.http_status_code == 400, number
            assert result.error_message == "Invalid To phone number format."
            assert result.message_id is None
            assert not is_e164(number)
            assert messages_with(server, number) == []
            continue
        assert result.http_status_code == 202, number
        event = wait_for_report(sink, result.message_id)
        assert event.data["to"] == number
        stored = admin_message(server, result.message_id)
        assert stored["to"] == number
        assert stored["deliveryReport"]["to"] == number


def test_the_specs_example_recipient_is_refused_not_shortened(server: SmsgridProcess, client: Any) -> None:
    # +112345678901 once reached +12345678901 (issue 11); SmsSend.json answers it with this 400.
    [result] = client.send(from_=TOLL_FREE, to="+112345678901", message="spec example")
    assert (result.successful, result.http_status_code) == (False, 400)
    assert result.error_message == "Invalid To phone number format."
    assert messages_with(server, "+12345678901") == []
    assert messages_with(server, "+112345678901") == []


@pytest.mark.parametrize("recipient", ["+15005550503", UNAVAILABLE_BY_RULE])
def test_a_per_recipient_503_is_reported_inside_the_202_and_nothing_is_sent(
    server: SmsgridProcess, client: Any, recipient: str
) -> None:
    ok, unavailable = client.send(from_=TOLL_FREE, to=["+14255550901", recipient], message="partly")
    assert (ok.successful, ok.http_status_code) == (True, 202)
    assert not unavailable.successful
    assert unavailable.http_status_code == 503
    assert unavailable.error_message == "ServiceUnavailable"
    assert unavailable.message_id is None
    assert messages_with(server, recipient) == []


@pytest.mark.parametrize(
    ("sender", "subject"), [(SHORT_CODE, "/phonenumber/12345"), (SENDER_ID, "/phonenumber/CONTOSO")]
)
def test_short_codes_and_alphanumeric_sender_ids_send_through_the_sdk(
    server: SmsgridProcess, sink: WebhookSink, client: Any, sender: str, subject: str
) -> None:
    handset = "+14255550902" if sender == SHORT_CODE else "+447700900123"
    [result] = client.send(from_=sender, to=handset, message="from a sender", enable_delivery_report=True)
    assert (result.successful, result.http_status_code) == (True, 202)
    report = wait_for_report(sink, result.message_id)
    assert report.data["from"] == sender
    assert report.data["to"] == handset
    assert report.subject == subject
    assert admin_message(server, result.message_id)["deliveryReport"]["from"] == sender


def test_a_short_code_receives_sms_and_keywords(server: SmsgridProcess, sink: WebhookSink) -> None:
    handset = "+14255550903"
    message_id = inbound(server, handset, SHORT_CODE, "hello short code")
    event = wait_for_received(sink, handset, "hello short code")
    assert event.id == message_id
    assert event.data["to"] == SHORT_CODE
    assert event.subject == "/phonenumber/12345"


def test_an_alphanumeric_sender_id_is_one_way(server: SmsgridProcess, sink: WebhookSink, client: Any) -> None:
    # ACS SMS FAQ: it "can't receive inbound messages or STOP messages", and ACS keeps no opt-out list for it.
    with server.admin() as admin:
        refused = admin.post("/admin/inbound", json={"from": "+447700900124", "to": SENDER_ID, "message": "STOP"})
    assert refused.status_code == 400
    assert "cannot receive SMS" in refused.json()["error"]["message"]
    optout = signed_request(
        server,
        "POST",
        f"/sms/optouts:add?api-version={OPTOUT_API}",
        b'{"from": "CONTOSO", "recipients": [{"to": "+447700900124"}]}',
    )
    assert optout.status_code == 400
    assert "opt-out" in optout.json()["error"]["message"]
    # A handset whose carrier rule answers does not answer an alphanumeric sender.
    handset = "+12065550771"
    [result] = client.send(from_=SENDER_ID, to=handset, message="no reply", enable_delivery_report=True)
    wait_for_report(sink, result.message_id)
    [only] = messages_with(server, handset)
    assert only["messageId"] == result.message_id


def test_an_unowned_short_code_or_sender_id_is_401(client: Any) -> None:
    from azure.core.exceptions import HttpResponseError

    for sender in ("54321", "FABRIKAM"):
        with pytest.raises(HttpResponseError) as raised:
            client.send(from_=sender, to="+14255550904", message="not ours")
        assert raised.value.status_code == 401


def test_unowned_inbound_receiver_names_the_owned_ones(server: SmsgridProcess) -> None:
    with server.admin() as admin:
        refused = admin.post("/admin/inbound", json={"from": "+14255550905", "to": "54321", "message": "hi"})
    assert refused.status_code == 400
    message = refused.json()["error"]["message"]
    assert SHORT_CODE in message
    assert SENDER_ID not in message  # it cannot receive, so it is not offered


def test_a_short_code_keeps_an_opt_out_list(server: SmsgridProcess, sink: WebhookSink, client: Any) -> None:
    # ACS manages opt-outs for short codes (ACS SMS FAQ): STOP to the short code blocks its later messages.
    handset = "+14255550906"
    inbound(server, handset, SHORT_CODE, "STOP")
    wait_for_received(sink, handset, "STOP")
    [blocked] = client.send(from_=SHORT_CODE, to=handset, message="after STOP", enable_delivery_report=True)
    report = wait_for_report(sink, blocked.message_id)
    assert (report.data["deliveryStatus"], report.data["deliveryStatusDetails"]) == (
        "Failed",
        "Sender blocked for given recipient.",
    )
    check = signed_request(
        server,
        "POST",
        f"/sms/optouts:check?api-version={OPTOUT_API}",
        orjson.dumps({"from": SHORT_CODE, "recipients": [{"to": handset}]}),
    )
    assert check.status_code == 200
    assert check.json()["value"] == [{"to": handset, "httpStatusCode": 200, "isOptedOut": True}]
