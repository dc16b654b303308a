"""E.164 parsing: the rule in smsgrid.sms.phone_numbers, test numbers that must pass, and Hypothesis laws."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.errors import InvalidPhoneNumberError, SmsgridError
from smsgrid.sms import ACS_INVALID_FROM, ACS_INVALID_TO, digits_of, is_e164, parse_e164


@pytest.mark.parametrize(
    "number",
    [
        "+14255550123",  # SDK samples; phonenumbers: possible and valid
        "+18005550100",  # toll-free sender in SPEC §2
        "+15555555555",  # the seed's number: possible but NOT valid (555 exchange) -- must be accepted
        "+12065550100",  # carrier-rule example in SPEC §4
        "+442079460000",
        "+390612345678",  # Italian numbers keep their leading 0 after the country code
        "+4915112345678",
        "+8613800138000",
        "+80012345678",  # international freephone, a non-geographic country code
        "+6831234",  # Niue: 4-digit subscriber numbers, 7 digits in all
    ],
)
def test_accepts_possible_numbers(number: str) -> None:
    assert parse_e164(number) == number
    assert is_e164(number)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("14255550123", "start with '+'"),
        ("", "start with '+'"),
        ("+", "give the country code"),
        ("+1 425 555 0123", "only digits"),
        ("+1-425-555-0123", "only digits"),
        ("+1 (425) 5550123", "only digits"),
        (" +14255550123", "start with '+'"),
        ("+14255550123 ", "only digits"),
        (
            "+１４２５５５５０１２３",
            "only digits",
        ),  # full-width digits are digits to str.isdigit, not to E.164
        ("++14255550123", "only digits"),
        ("+014255550123", "never start with 0"),
        ("+1234567890123456", "at most 15 digits"),
        ("+1425555012", "not a possible phone number"),  # 10 digits: one short for NANP
        ("+142555501234", "not a possible phone number"),  # 12 digits: one too many
        ("+441234", "not a possible phone number"),  # possible only as a local number
        ("+999123456789", "not a possible phone number"),  # unassigned country code
    ],
)
def test_refuses_with_a_message_that_says_what_to_change(text: str, hint: str) -> None:
    with pytest.raises(InvalidPhoneNumberError, match=r".") as caught:
        parse_e164(text)
    assert hint in str(caught.value)
    assert repr(text) in str(caught.value)
    assert not is_e164(text)


@pytest.mark.parametrize("value", [None, 14255550123, b"+14255550123", ["+14255550123"]])
def test_refuses_values_that_are_not_strings(value: object) -> None:
    with pytest.raises(InvalidPhoneNumberError, match="give a string"):
        parse_e164(value)
    assert not is_e164(value)


def test_the_error_belongs_to_the_smsgrid_tree() -> None:
    with pytest.raises(SmsgridError):
        parse_e164("nope")


@pytest.mark.parametrize(
    ("text", "dials_as"),
    [
        ("+4402079460000", "+442079460000"),  # UK trunk prefix 0 after the country code
        ("+112345678901", "+12345678901"),  # the spec's own invalid recipient (SmsSend.json): NANP trunk prefix 1
        ("+9500000000", "+950000000"),  # Hypothesis found this one: Myanmar's trunk prefix 0
    ],
)
def test_refuses_a_number_libphonenumber_would_dial_with_fewer_digits(text: str, dials_as: str) -> None:
    # Accepting these and delivering to `dials_as` would send the message to someone else (issue 11).
    with pytest.raises(InvalidPhoneNumberError, match="not a phone number as written") as caught:
        parse_e164(text)
    assert repr(dials_as) in str(caught.value)
    assert not is_e164(text)


def test_acs_error_texts() -> None:
    assert ACS_INVALID_TO == "Invalid To phone number format."
    assert ACS_INVALID_FROM == "Invalid From phone number format."


def test_digits_of() -> None:
    assert digits_of("+15555555555") == "15555555555"
    with pytest.raises(InvalidPhoneNumberError, match="start with"):
        digits_of("15555555555")


plus_digits = st.from_regex(r"\+[0-9]{0,17}", fullmatch=True)
nanp_numbers = st.from_regex(r"\+1[2-9][0-9]{2}[2-9][0-9]{6}", fullmatch=True)


@given(st.one_of(plus_digits, st.text(max_size=20)))
def test_is_e164_agrees_with_parse(text: str) -> None:
    try:
        parse_e164(text)
    except InvalidPhoneNumberError:
        assert not is_e164(text)
    else:
        assert is_e164(text)


@given(plus_digits)
def test_an_accepted_number_is_returned_exactly_as_given(text: str) -> None:
    # Law: parse_e164 never rewrites: it returns its input or raises (hence it is idempotent too).
    try:
        accepted = parse_e164(text)
    except InvalidPhoneNumberError:
        return
    assert accepted == text
    assert parse_e164(accepted) == accepted
    assert len(accepted) <= 16
    assert digits_of(accepted) == accepted[1:]


@given(nanp_numbers)
def test_every_ten_digit_nanp_number_is_accepted_unchanged(number: str) -> None:
    # All of +1 NXX NXX XXXX is possible, including ranges that are not (yet) valid, such as 555-01xx.
    assert parse_e164(number) == number
