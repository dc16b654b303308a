"""The UI's form posts against one real server: a logged-in browser's mistakes come back as the form with what
went wrong (400) or the not-found page (404), never a 500."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from smsgrid.config import WELL_KNOWN_ACCESS_KEY
from smsgrid.testing import SmsgridProcess, WebhookSink, start_smsgrid
from smsgrid.testing.plugin import inbound, subscribe

OWNED = "+18005550100"
_CSRF = re.compile(r'name="csrf"\s+value="([^"]+)"')


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    process = start_smsgrid(tmp_path_factory.mktemp("ui") / "smsgrid")
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def browser(server: SmsgridProcess) -> Iterator[tuple[httpx.Client, str]]:
    """A logged-in client and its session's CSRF token."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        logged_in = client.post("/login", data={"key": WELL_KNOWN_ACCESS_KEY})
        assert logged_in.status_code == 303, logged_in.text
        page = client.get("/subscriptions")
        match = _CSRF.search(page.text)
        assert match, page.text
        yield client, match.group(1)


def post(browser: tuple[httpx.Client, str], path: str, **fields: str | list[str]) -> httpx.Response:
    client, csrf = browser
    return client.post(path, data={"csrf": csrf, **fields})


def test_sending_nothing_to_nobody_shows_both_problems(browser: tuple[httpx.Client, str]) -> None:
    answer = post(browser, f"/phones/{OWNED}/send", to="", message=" ")
    assert answer.status_code == 400
    assert "give at least one phone number" in answer.text
    assert "write something to send" in answer.text


def test_sending_from_a_number_the_resource_does_not_own_is_not_found(browser: tuple[httpx.Client, str]) -> None:
    answer = post(browser, "/phones/+14255550999/send", to="+14255550123", message="hi")
    assert answer.status_code == 404
    assert "is not a number of this resource" in answer.text
    inbound = post(browser, "/phones/+14255550999/inbound", **{"from": "+14255550123", "message": "hi"})
    assert inbound.status_code == 404


def test_texting_the_number_from_a_bad_sender_shows_the_problem(browser: tuple[httpx.Client, str]) -> None:
    answer = post(browser, f"/phones/{OWNED}/inbound", **{"from": "nobody", "message": "hi"})
    assert answer.status_code == 400
    assert "is not a phone number" in answer.text


def test_texting_the_number_redirects_to_the_conversation(browser: tuple[httpx.Client, str]) -> None:
    answer = post(browser, f"/phones/{OWNED}/inbound", **{"from": "+14255550123", "message": "hi"})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/phones/{OWNED}?notice=received&with=%2B14255550123"


def test_a_subscription_without_an_endpoint_is_shown_again_with_the_problem(
    browser: tuple[httpx.Client, str],
) -> None:
    answer = post(browser, "/subscriptions", name="no-endpoint", endpoint_url="")
    assert answer.status_code == 400
    assert "Endpoint URL: give the webhook" in answer.text


def test_a_subscription_the_server_refuses_is_shown_again_with_its_reason(
    browser: tuple[httpx.Client, str],
) -> None:
    answer = post(browser, "/subscriptions", name="x", endpoint_url="ftp://example.test/")
    assert answer.status_code == 400
    assert "subscription name" in answer.text


def test_editing_or_deleting_a_missing_subscription_is_not_found(browser: tuple[httpx.Client, str]) -> None:
    edit = post(browser, "/subscriptions/ghost/edit", endpoint_url="http://127.0.0.1:9/")
    assert edit.status_code == 404
    assert "No event subscription named ghost." in edit.text
    delete = post(browser, "/subscriptions/ghost/delete")
    assert delete.status_code == 404


@pytest.mark.parametrize("deadletter_id", ["999999", "²", "9" * 5000])
def test_redelivering_an_unknown_dead_letter_is_not_found(
    browser: tuple[httpx.Client, str], deadletter_id: str
) -> None:
    answer = post(browser, f"/deadletters/{deadletter_id}/redeliver")
    assert answer.status_code == 404
    assert "No dead letter with id" in answer.text


def test_a_failed_edit_keeps_the_subscriptions_endpoint_base_in_the_form(
    server: SmsgridProcess, browser: tuple[httpx.Client, str]
) -> None:
    with WebhookSink() as sink:
        subscribe(server, "edited", f"{sink.url}?code=hush-hush-0042")
        answer = post(browser, "/subscriptions/edited/edit", endpoint_url="", max_delivery_attempts="many")
    assert answer.status_code == 400
    assert "Max delivery attempts: &#39;many&#39; is not a whole number." in answer.text
    assert sink.url.removesuffix("/") in answer.text
    assert "hush-hush-0042" not in answer.text  # the query may hold a secret: never in the page
    assert post(browser, "/subscriptions/edited/delete").status_code == 303


def test_redelivering_a_dead_letter_of_a_deleted_subscription_says_it_is_inactive(
    server: SmsgridProcess, browser: tuple[httpx.Client, str]
) -> None:
    with WebhookSink(responder=lambda request: 400) as refusing:
        subscribe(server, "gone", refusing.url)
        inbound(server, "+14255550123", OWNED, "to the dead letters")
        letter = _first_dead_letter(server)
        assert post(browser, "/subscriptions/gone/delete").status_code == 303
    answer = post(browser, f"/deadletters/{letter}/redeliver")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/deadletters?problem=inactive&id={letter}"


def _first_dead_letter(server: SmsgridProcess, timeout: float = 15) -> int:
    deadline = time.monotonic() + timeout
    while True:
        with server.admin() as admin:
            letters = admin.get("/admin/deadletters").json()["value"]
        if letters:
            return int(letters[0]["id"])
        assert time.monotonic() < deadline
        time.sleep(0.05)
