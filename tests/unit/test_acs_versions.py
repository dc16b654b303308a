"""Every ACS SMS api-version, from Microsoft's swaggers (azure-rest-api-specs, data-plane/Sms), as ONE table.

The expectations below are written from the specs themselves, not read from `acs/versions.py`: which operations
each version defines, and every `smsSendOptions` field's limits per version. Each row is run through the pure
validation (`acs/validation.py`); tests/acceptance/test_sms_api_versions.py runs the same rows against the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.acs.validation import INVALID_FIRST_SENT, parse_rfc1123, parse_send, resolve_version
from smsgrid.acs.versions import VERSIONS, Operation
from smsgrid.errors import RequestError

SEND, ADD, REMOVE, CHECK = Operation.SEND, Operation.OPTOUTS_ADD, Operation.OPTOUTS_REMOVE, Operation.OPTOUTS_CHECK
REPORT, MMS = Operation.DELIVERY_REPORT, Operation.MMS_SEND
OPT = {ADD, REMOVE, CHECK}

# Operations each folder's swagger defines (stable/… and preview/…).
SPEC_OPERATIONS: dict[str, set[Operation]] = {
    "2021-01-29": {SEND},
    "2021-03-07": {SEND},
    "2022-07-07": {SEND},
    "2024-01-02": {SEND},
    "2024-01-14-preview": {SEND, MMS},
    "2024-01-21-preview": {SEND},  # its /sms/opt/in|out file is not served (docs/api-versions.md)
    "2024-02-05": {SEND},
    "2024-02-05-preview": {SEND},
    "2024-12-10-preview": {SEND, *OPT},
    "2025-05-29-preview": {SEND, *OPT},
    "2025-08-01-preview": {SEND, *OPT, REPORT},
    "2025-09-17": {SEND, *OPT},
    "2026-01-23": {SEND, *OPT, REPORT},
}
NOT_SERVED = ["2020-07-20-preview1", "2023-05-14-privatepreview", "2023-06-30-privatepreview", "1999-01-01",
              "2026-01-23-preview", "2021-3-7", " 2021-03-07", "latest"]  # fmt: skip

# smsSendOptions fields per version, with the swagger's limits (None = the version does not define the field).
TIMEOUT_VERSIONS = {"2024-02-05-preview", "2024-12-10-preview", "2025-05-29-preview", "2025-08-01-preview",
                    "2025-09-17", "2026-01-23"}  # fmt: skip
VALIDITY = {"2022-07-07": (1, None, 18000), "2024-02-05": (60, 43200, None)}  # minimum, maximum, default
CONNECT_API_KEY = {"2025-05-29-preview", "2025-08-01-preview", "2025-09-17"}
CONNECT_PARAMS = {"2026-01-23"}
NOW = format_datetime(datetime(2026, 12, 2, 4, 30, tzinfo=UTC), usegmt=True)


def test_the_table_serves_exactly_the_published_versions() -> None:
    assert set(VERSIONS) == set(SPEC_OPERATIONS)


@pytest.mark.parametrize(
    ("version", "operation"), [(v, op) for v in [*SPEC_OPERATIONS, *NOT_SERVED, None, ""] for op in Operation]
)
def test_each_operation_on_exactly_the_versions_that_define_it(version: str | None, operation: Operation) -> None:
    if version is not None and operation in SPEC_OPERATIONS.get(version, set()):
        assert resolve_version(version, operation, "http://h/x").name == version
        return
    with pytest.raises(RequestError) as raised:
        resolve_version(version, operation, "http://h/sms")
    error = raised.value
    assert error.status == 400
    assert error.code == ("MissingApiVersionParameter" if not version else "UnsupportedApiVersion")
    if version:
        assert f"does not support the API version '{version}'" in error.message
        # The message says what to use instead: every version that has the operation.
        assert all(v in error.message for v, ops in SPEC_OPERATIONS.items() if operation in ops)


@dataclass(frozen=True)
class Case:
    """One send request on one version: its smsSendOptions (and extras) and what must come of it."""

    version: str
    name: str
    options: dict[str, Any] | None
    timeout: int | None = None  # the report timeout the request carries when accepted
    error: str | None = None  # a substring of the 400's message when refused
    partner: str | None = None
    message: str = "hi"
    recipients: int = 1


def _cases() -> list[Case]:
    cases: list[Case] = []
    for v in SPEC_OPERATIONS:
        add = cases.append
        add(Case(v, "no options", None, timeout=VALIDITY.get(v, (0, 0, None))[2]))
        add(Case(v, "empty message (minLength 0)", None, timeout=VALIDITY.get(v, (0, 0, None))[2], message=""))
        add(Case(v, "2048 characters", None, timeout=VALIDITY.get(v, (0, 0, None))[2], message="a" * 2048))
        add(Case(v, "2049 characters", None, error="at most 2048", message="a" * 2049))
        add(Case(v, "100 recipients", None, timeout=VALIDITY.get(v, (0, 0, None))[2], recipients=100))
        add(Case(v, "101 recipients", None, error="Too many recipients", recipients=101))
        # deliveryReportTimeoutInSeconds: 60..43200 where defined, else refused.
        for value, ok in ((59, False), (60, True), (43200, True), (43201, False)):
            opts: dict[str, Any] = {"enableDeliveryReport": True, "deliveryReportTimeoutInSeconds": value}
            if v not in TIMEOUT_VERSIONS:
                add(Case(v, f"timeout {value} undefined", opts, error="is not part of api-version"))
            elif ok:
                add(Case(v, f"timeout {value}", opts, timeout=value))
            else:
                add(Case(v, f"timeout {value}", opts, error="between 60 and 43200"))
        if v in TIMEOUT_VERSIONS:
            for bad in ("60", 60.5, True, 2**31):
                add(Case(v, f"timeout {bad!r}", {"deliveryReportTimeoutInSeconds": bad}, error="int32"))
        # validityPeriodSeconds: 2022-07-07 ≥ 1 (default 18000), 2024-02-05 60..43200.
        for value in (0, 1, 59, 60, 43200, 43201):
            opts = {"enableDeliveryReport": True, "validityPeriodSeconds": value}
            if v not in VALIDITY:
                add(Case(v, f"validity {value} undefined", opts, error="is not part of api-version"))
                continue
            low, high, _ = VALIDITY[v]
            if value >= low and (high is None or value <= high):
                add(Case(v, f"validity {value}", opts, timeout=value))
            else:
                add(Case(v, f"validity {value}", opts, error="must be"))
        # messagingConnect: {apiKey, partner} in 2025-05-29-preview..2025-09-17, {partner, partnerParams} in 2026.
        old: dict[str, Any] = {"apiKey": "key-1", "partner": "Connect_Partner"}
        new: dict[str, Any] = {"partner": "Connect_Partner", "partnerParams": {"apiKey": "key-1"}}
        for name, shape in (("apiKey shape", old), ("partnerParams shape", new)):
            opts = {"enableDeliveryReport": True, "messagingConnect": shape}
            if v in CONNECT_API_KEY:
                fits, missing = shape is old, "apiKey is required"
            elif v in CONNECT_PARAMS:
                fits, missing = shape is new, "partnerParams is required"
            else:
                fits, missing = False, "is not part of api-version"
            if fits:
                add(Case(v, f"messagingConnect {name}", opts, partner="Connect_Partner"))
            else:
                add(Case(v, f"messagingConnect {name}", opts, error=missing))
        if v in CONNECT_API_KEY:
            add(Case(v, "messagingConnect without partner", {"messagingConnect": {"apiKey": "k"}}, error="partner"))
        if v in CONNECT_PARAMS:
            no_params = {"messagingConnect": {"partner": "P", "partnerParams": {}}}
            add(Case(v, "messagingConnect partnerParams {}", no_params, error="at least one"))
    return cases


CASES = _cases()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.version}-{c.name}" for c in CASES])
def test_every_field_limit_on_every_version(case: Case) -> None:
    body: dict[str, Any] = {
        "from": "+18005550100",
        "smsRecipients": [{"to": f"+1425555{n:04d}"} for n in range(case.recipients)],
        "message": case.message,
    }
    if case.options is not None:
        body["smsSendOptions"] = case.options
    shape = VERSIONS[case.version].send
    if case.error is not None:
        with pytest.raises(RequestError) as raised:
            parse_send(orjson.dumps(body), shape, case.version)
        assert raised.value.status == 400
        assert case.error in raised.value.message, raised.value.message
        return
    parsed = parse_send(orjson.dumps(body), shape, case.version)
    assert parsed.api_version == case.version
    assert parsed.message == case.message
    assert len(parsed.recipients) == case.recipients
    assert parsed.report_timeout_seconds == case.timeout
    assert (parsed.messaging_connect.partner if parsed.messaging_connect else None) == case.partner


@pytest.mark.parametrize(
    ("recipient", "rejected"),
    [
        ({"repeatabilityRequestId": "id-1", "repeatabilityFirstSent": NOW}, False),
        ({"repeatabilityRequestId": "id-1"}, True),  # the spec example's +11234567894
        ({"repeatabilityRequestId": "id-1", "repeatabilityFirstSent": "2026-12-02T04:30:00Z"}, True),
        ({"repeatabilityRequestId": "id-1", "repeatabilityFirstSent": "Tue, 02 Dec 2026 04:30:00 GMT"}, True),
        ({"repeatabilityRequestId": "id-1", "repeatabilityFirstSent": "Wed, 31 Feb 2026 04:30:00 GMT"}, True),
        ({"repeatabilityRequestId": "id-1", "repeatabilityFirstSent": 1764649800}, True),
        ({"repeatabilityFirstSent": "garbage"}, False),  # no id: not repeatable, the time is not read
        ({}, False),
    ],
)
def test_a_repeatable_recipient_needs_an_rfc1123_first_sent_time(recipient: dict[str, Any], rejected: bool) -> None:
    for version, entry in VERSIONS.items():
        body = {"from": "+18005550100", "smsRecipients": [{"to": "+14255550123", **recipient}], "message": "m"}
        [parsed] = parse_send(orjson.dumps(body), entry.send, version).recipients
        assert parsed.repeatability_error == (INVALID_FIRST_SENT if rejected else None), version


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9999, 12, 31)))
def test_rfc1123_times_read_back_to_the_same_second(moment: datetime) -> None:
    moment = moment.replace(microsecond=0, tzinfo=UTC)
    assert parse_rfc1123(format_datetime(moment, usegmt=True)) == moment


def test_docs_show_the_table_as_it_is() -> None:
    """docs/api-versions.md carries the generated table verbatim: the document cannot drift from the code."""
    from pathlib import Path

    from smsgrid.acs.versions import markdown_table

    document = (Path(__file__).parents[2] / "docs" / "api-versions.md").read_text(encoding="utf-8")
    assert markdown_table() in document


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    from smsgrid.api.openapi import build_openapi, operation_table

    return build_openapi(operation_table())  # every documented operation, as if each were served


@pytest.mark.parametrize("case", CASES, ids=[f"{c.version}-{c.name}" for c in CASES])
def test_the_openapi_document_says_what_validation_does(document: dict[str, Any], case: Case) -> None:
    """Each version's request schema in /openapi.json accepts exactly the rows the server accepts."""
    import jsonschema_rs

    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": document["components"],
        **document["components"]["schemas"][VERSIONS[case.version].send.name],
    }
    body: dict[str, Any] = {
        "from": "+18005550100",
        "smsRecipients": [{"to": f"+1425555{n:04d}"} for n in range(case.recipients)],
        "message": case.message,
    }
    if case.options is not None:
        body["smsSendOptions"] = case.options
    assert jsonschema_rs.validator_for(schema).is_valid(body) is (case.error is None)
    # The send operation lists exactly the versions that define it.
    parameter = document["paths"]["/sms"]["post"]["parameters"][0]
    assert set(parameter["schema"]["enum"]) == {v for v, ops in SPEC_OPERATIONS.items() if SEND in ops}
    assert parameter["x-smsgrid-shape-per-version"][case.version] == VERSIONS[case.version].send.name


PNG = "iVBORw0KGgo="  # the first 8 bytes of a PNG, base64


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({}, None),
        ({"message": ""}, None),  # minLength 0
        ({"message": "m" * 1000}, None),
        ({"message": "m" * 1001}, "at most 1000"),
        ({"attachments": [{"mimeType": "image/png", "content": PNG}] * 10}, None),
        ({"attachments": [{"mimeType": "image/png", "content": PNG}] * 11}, "1 to 10"),
        ({"attachments": []}, "1 to 10"),
        ({"attachments": [{"mimeType": "", "content": PNG}]}, "mimeType"),
        ({"attachments": [{"mimeType": "image/png", "content": "%%%"}]}, "base64"),
        ({"recipients": [{"to": "+14255550123"}] * 100}, None),
        ({"recipients": [{"to": "+14255550123"}] * 101}, "Too many recipients"),
        ({"sendOptions": {"enableDeliveryReport": "yes"}}, "enableDeliveryReport"),
    ],
)
def test_mms_limits_of_2024_01_14_preview(change: dict[str, Any], error: str | None) -> None:
    from smsgrid.acs.validation import parse_mms

    body = {"from": "+18005550100", "recipients": [{"to": "+14255550123"}], "message": "pic",
            "attachments": [{"mimeType": "image/png", "content": PNG}], **change}  # fmt: skip
    shape = VERSIONS["2024-01-14-preview"].mms
    assert shape is not None
    if error is not None:
        with pytest.raises(RequestError, match=error):
            parse_mms(orjson.dumps(body), shape, "2024-01-14-preview")
        return
    parsed = parse_mms(orjson.dumps(body), shape, "2024-01-14-preview")
    assert [a.content for a in parsed.attachments] == [b"\x89PNG\r\n\x1a\n"] * len(body["attachments"])
    assert parsed.api_version == "2024-01-14-preview"
