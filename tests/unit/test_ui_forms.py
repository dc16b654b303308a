"""The UI's form parsers: every problem of a post comes back at once, in words the form shows."""

from __future__ import annotations

import pytest

from smsgrid.sms import MAX_RECIPIENTS
from smsgrid.ui.forms import FormError, inbound_fields, send_request, subscription_properties

OWNED = "+18005550100"


def problems_of_send(fields: dict[str, str]) -> list[str]:
    with pytest.raises(FormError) as caught:
        send_request(fields, OWNED)
    return caught.value.problems


def test_compose_without_recipients_or_text_lists_both_problems() -> None:
    assert problems_of_send({"to": " , \n", "message": "   "}) == [
        "To: give at least one phone number, like +14255550123.",
        "Message: write something to send.",
    ]


def test_compose_with_too_many_recipients_says_how_many() -> None:
    recipients = ",".join(f"+1425555{n:04d}" for n in range(MAX_RECIPIENTS + 1))
    assert problems_of_send({"to": recipients, "message": "hi"}) == [
        f"To: at most {MAX_RECIPIENTS} recipients per message; this has {MAX_RECIPIENTS + 1}."
    ]


def test_compose_with_an_overlong_message_says_the_limit() -> None:
    [problem] = problems_of_send({"to": "+14255550123", "message": "x" * 5000})
    assert problem.startswith("Message: The message has 5000 characters")


def test_compose_accepts_decorated_numbers_and_options() -> None:
    request = send_request(
        {"to": "+1 (425) 555-0123; 1.425.555.0124", "message": "hi", "delivery_report": "on", "tag": " t "}, OWNED
    )
    assert [r.to for r in request.recipients] == ["+14255550123", "+14255550124"]
    assert request.enable_delivery_report is True
    assert request.tag == "t"


def test_text_this_number_lists_a_bad_sender_and_an_empty_message() -> None:
    with pytest.raises(FormError) as caught:
        inbound_fields({"from": "call me", "message": " "})
    assert caught.value.problems == [
        "From: 'call me' is not a phone number; write it like +14255550123.",
        "Message: write something to send.",
    ]
    assert inbound_fields({"from": "14255550123", "message": "hello"}) == ("+14255550123", "hello")


def test_subscription_form_refuses_an_unknown_event_type() -> None:
    with pytest.raises(FormError) as caught:
        subscription_properties({"endpoint_url": ["http://127.0.0.1:9/"], "event_types": ["SMSSent"]}, None)
    assert caught.value.problems == ["Event types: SMSSent is not an SMS event type."]
