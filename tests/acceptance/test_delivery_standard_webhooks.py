"""Standard Webhooks signing, opt-in per subscription (`standardWebhooks: {"secret": "whsec_…"}`).

The receiver verifies every delivery with the `standardwebhooks` reference package, as a real consumer would.
"""

from __future__ import annotations

import base64
import secrets
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from smsgrid.testing import ReceivedRequest, SmsgridProcess, WebhookSink, start_smsgrid
from smsgrid.testing.plugin import inbound, subscribe

HANDSET = "+14255550123"
OWNED = "+18005550100"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    with start_smsgrid(tmp_path_factory.mktemp("standard-webhooks"), time_scale=0.001) as process:
        yield process


def carrying(sink: WebhookSink, event_id: str) -> list[ReceivedRequest]:
    return [r for r in sink.notifications() if r.headers["aeg-output-event-id"] == event_id]


def test_deliveries_verify_with_the_standard_webhooks_package(server: SmsgridProcess) -> None:
    secret = new_secret()
    with WebhookSink() as sink:
        answer = subscribe(server, "signed", sink.url, standardWebhooks={"secret": secret})
        assert answer["properties"]["provisioningState"] == "Succeeded"
        # The secret is never shown back.
        assert secret not in str(answer)
        with server.admin() as admin:
            assert secret not in admin.get("/admin/subscriptions/signed").text

        event_id = inbound(server, HANDSET, OWNED, "signed delivery")
        sink.wait_for(lambda s: bool(carrying(s, event_id)))
        [request] = carrying(sink, event_id)
        payload = Webhook(secret).verify(request.body, request.headers)
        assert payload[0]["id"] == event_id
        assert request.headers["webhook-id"]
        assert request.headers["webhook-signature"].startswith("v1,")

        # A tampered body, or another secret, does not verify.
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(request.body.replace(b"signed delivery", b"forged delivery"), request.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(new_secret()).verify(request.body, request.headers)


def test_a_retry_keeps_its_webhook_id_and_other_messages_get_their_own(server: SmsgridProcess) -> None:
    secret = new_secret()
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def refuse_first_attempt(request: ReceivedRequest) -> int:
        with lock:
            seen[request.headers["aeg-output-event-id"]] += 1
            return 500 if seen[request.headers["aeg-output-event-id"]] == 1 else 200

    with WebhookSink(responder=refuse_first_attempt) as sink:
        subscribe(server, "signed-retry", sink.url, standardWebhooks={"secret": secret})
        first = inbound(server, HANDSET, OWNED, "first")
        second = inbound(server, HANDSET, OWNED, "second")
        sink.wait_for(lambda s: len(carrying(s, first)) == 2 and len(carrying(s, second)) == 2)
        for request in sink.notifications():
            Webhook(secret).verify(request.body, request.headers)
        # Standard Webhooks: the id is the same when the same message is sent again, unique otherwise.
        assert len({r.headers["webhook-id"] for r in carrying(sink, first)}) == 1
        assert len({r.headers["webhook-id"] for r in carrying(sink, second)}) == 1
        assert carrying(sink, first)[0].headers["webhook-id"] != carrying(sink, second)[0].headers["webhook-id"]


def test_two_subscriptions_to_one_endpoint_send_distinct_webhook_ids(server: SmsgridProcess) -> None:
    # A receiver that de-duplicates on webhook-id must not drop the second subscription's message.
    secret = new_secret()
    with WebhookSink() as sink:
        subscribe(server, "signed-one", sink.url, standardWebhooks={"secret": secret})
        subscribe(server, "signed-two", sink.url, standardWebhooks={"secret": secret})
        event_id = inbound(server, HANDSET, OWNED, "to both")
        sink.wait_for(lambda s: len(carrying(s, event_id)) == 2)
        requests = carrying(sink, event_id)
        assert {r.headers["aeg-subscription-name"] for r in requests} == {"SIGNED-ONE", "SIGNED-TWO"}
        assert len({r.headers["webhook-id"] for r in requests}) == 2
        for request in requests:
            Webhook(secret).verify(request.body, request.headers)
