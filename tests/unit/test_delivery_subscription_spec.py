"""Event-subscription bodies (PUT /admin/subscriptions/{name}): parsing, every problem at once, renderings."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.delivery.filters import AdvancedFilter, FilterOperator, SubscriptionFilter, matches
from smsgrid.delivery.retry import RetryPolicy
from smsgrid.delivery.subscription_spec import (
    DeadLetterDestination,
    DynamicDeliveryAttribute,
    EventDeliverySchema,
    StandardWebhooksSigning,
    StaticDeliveryAttribute,
    SubscriptionSpec,
    WebhookDestination,
    parse_subscription_spec,
    spec_from_storage_dict,
    spec_to_public_dict,
    spec_to_storage_dict,
)
from smsgrid.errors import Problem, ProblemsError, SubscriptionSpecError

URL = "http://127.0.0.1:9000/events"
SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
SMS_RECEIVED = "Microsoft.Communication.SMSReceived"


def minimal() -> dict[str, Any]:
    return {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": URL}}}


def full() -> dict[str, Any]:
    return {
        "destination": {
            "endpointType": "WebHook",
            "properties": {
                "endpointUrl": "https://hooks.example.com/api/events?code=s3cret",
                "maxEventsPerBatch": 10,
                "preferredBatchSizeInKilobytes": 128,
                "deliveryAttributeMappings": [
                    {"name": "X-Tenant", "type": "Static", "properties": {"value": "contoso", "isSecret": False}},
                    {"name": "Authorization", "type": "Static", "properties": {"value": "Bearer k", "isSecret": True}},
                    {"name": "X-Tag", "type": "Dynamic", "properties": {"sourceField": "data.Tag"}},
                ],
            },
        },
        "filter": {
            "includedEventTypes": [SMS_RECEIVED],
            "subjectBeginsWith": "/phonenumber/1800",
            "subjectEndsWith": "0100",
            "isSubjectCaseSensitive": True,
            "enableAdvancedFilteringOnArrays": True,
            "advancedFilters": [
                {"operatorType": "StringIn", "key": "data.Tag", "values": ["a", "B"]},
                {"operatorType": "NumberInRange", "key": "data.SegmentCount", "values": [[1, 3], [5, 5.5]]},
                {"operatorType": "NumberLessThan", "key": "data.SegmentCount", "value": 10},
                {"operatorType": "BoolEquals", "key": "data.flag", "value": False},
                {"operatorType": "IsNotNull", "key": "data.Message"},
            ],
        },
        "eventDeliverySchema": "CloudEventSchemaV1_0",
        "retryPolicy": {"maxDeliveryAttempts": 5, "eventTimeToLiveInMinutes": 60},
        "deadLetterDestination": {
            "endpointType": "StorageBlob",
            "properties": {
                "resourceId": "/subscriptions/0/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/s",
                "blobContainerName": "dead-letters",
            },
        },
        "standardWebhooks": {"secret": SECRET},
    }


def problems_of(body: Any, name: str = "my-app") -> list[Problem]:
    with pytest.raises(SubscriptionSpecError) as caught:
        parse_subscription_spec(name, body)
    assert isinstance(caught.value, ProblemsError)
    return list(caught.value.problems)


def paths_of(body: Any, name: str = "my-app") -> list[str]:
    return [p.path for p in problems_of(body, name)]


# ------------------------------------------------------------------------------------------------ parsing


def test_minimal_body_takes_azure_defaults() -> None:
    spec = parse_subscription_spec("my-app", minimal())
    assert spec == SubscriptionSpec(name="my-app", destination=WebhookDestination(endpoint_url=URL))
    assert spec.destination.max_events_per_batch == 1
    assert spec.destination.preferred_batch_size_in_kilobytes == 64
    assert spec.filter == SubscriptionFilter()
    assert spec.event_delivery_schema is EventDeliverySchema.EVENT_GRID
    assert spec.retry_policy == RetryPolicy(max_delivery_attempts=30, event_time_to_live_minutes=1440)
    assert spec.dead_letter_destination is None
    assert spec.standard_webhooks is None


def test_wrapped_and_bare_bodies_are_the_same() -> None:
    assert parse_subscription_spec("my-app", {"properties": full()}) == parse_subscription_spec("my-app", full())


def test_nulls_mean_absent() -> None:
    body = minimal() | {"filter": None, "retryPolicy": None, "deadLetterDestination": None, "eventDeliverySchema": None}
    assert parse_subscription_spec("my-app", body) == parse_subscription_spec("my-app", minimal())


def test_full_body() -> None:
    spec = parse_subscription_spec("my-app", full())
    assert spec.destination == WebhookDestination(
        endpoint_url="https://hooks.example.com/api/events?code=s3cret",
        max_events_per_batch=10,
        preferred_batch_size_in_kilobytes=128,
        delivery_attribute_mappings=(
            StaticDeliveryAttribute("X-Tenant", "contoso", is_secret=False),
            StaticDeliveryAttribute("Authorization", "Bearer k", is_secret=True),
            DynamicDeliveryAttribute("X-Tag", "data.Tag"),
        ),
    )
    op = FilterOperator
    assert spec.filter == SubscriptionFilter(
        included_event_types=(SMS_RECEIVED,),
        subject_begins_with="/phonenumber/1800",
        subject_ends_with="0100",
        is_subject_case_sensitive=True,
        enable_advanced_filtering_on_arrays=True,
        advanced_filters=(
            AdvancedFilter(op.STRING_IN, "data.Tag", ("a", "B")),
            AdvancedFilter(op.NUMBER_IN_RANGE, "data.SegmentCount", ((1, 3), (5, 5.5))),
            AdvancedFilter(op.NUMBER_LESS_THAN, "data.SegmentCount", (10,)),
            AdvancedFilter(op.BOOL_EQUALS, "data.flag", (False,)),
            AdvancedFilter(op.IS_NOT_NULL, "data.Message"),
        ),
    )
    assert spec.event_delivery_schema is EventDeliverySchema.CLOUD_EVENTS_V1_0
    assert spec.retry_policy == RetryPolicy(5, 60)
    assert spec.dead_letter_destination == DeadLetterDestination(
        blob_container_name="dead-letters",
        resource_id="/subscriptions/0/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/s",
    )
    assert spec.standard_webhooks == StandardWebhooksSigning(SECRET)


def test_the_parsed_filter_matches_events() -> None:
    spec = parse_subscription_spec("my-app", full())
    event: dict[str, Any] = {
        "id": "Incoming_1",
        "subject": "/phonenumber/18005550100",
        "eventType": SMS_RECEIVED,
        "data": {"Tag": "b", "SegmentCount": 2, "flag": False, "Message": "hi"},
    }
    assert matches(spec.filter, event)
    assert not matches(spec.filter, event | {"data": event["data"] | {"SegmentCount": 4}})


def test_enum_spellings_are_accepted_in_any_case_and_stored_as_azure_spells_them() -> None:
    body = minimal()
    body["destination"]["endpointType"] = "webhook"
    body["eventDeliverySchema"] = "cloudeventschemav1_0"
    body["filter"] = {"advancedFilters": [{"operatorType": "stringin", "key": "data.Tag", "values": ["a"]}]}
    body["destination"]["properties"]["deliveryAttributeMappings"] = [
        {"name": "X-A", "type": "static", "properties": {"value": "1"}}
    ]
    spec = parse_subscription_spec("my-app", body)
    assert spec.event_delivery_schema is EventDeliverySchema.CLOUD_EVENTS_V1_0
    assert spec.filter.advanced_filters[0].operator is FilterOperator.STRING_IN
    public = spec_to_public_dict(spec)["properties"]
    assert public["destination"]["endpointType"] == "WebHook"
    assert public["eventDeliverySchema"] == "CloudEventSchemaV1_0"
    assert public["filter"]["advancedFilters"][0]["operatorType"] == "StringIn"
    assert public["destination"]["properties"]["deliveryAttributeMappings"][0]["type"] == "Static"


def test_all_operators_parse() -> None:
    values_for: dict[str, dict[str, Any]] = {
        "NumberIn": {"values": [1, 2.5]},
        "NumberNotIn": {"values": [1]},
        "NumberLessThan": {"value": 1},
        "NumberGreaterThan": {"value": 1},
        "NumberLessThanOrEquals": {"value": -1.5},
        "NumberGreaterThanOrEquals": {"value": 0},
        "NumberInRange": {"values": [[1, 2]]},
        "NumberNotInRange": {"values": [[1, 1]]},
        "BoolEquals": {"value": True},
        "StringIn": {"values": ["a"]},
        "StringNotIn": {"values": ["a"]},
        "StringBeginsWith": {"values": ["a"]},
        "StringNotBeginsWith": {"values": ["a"]},
        "StringEndsWith": {"values": ["a"]},
        "StringNotEndsWith": {"values": ["a"]},
        "StringContains": {"values": ["a"]},
        "StringNotContains": {"values": ["a"]},
        "IsNullOrUndefined": {},
        "IsNotNull": {},
    }
    assert set(values_for) == {op.value for op in FilterOperator}
    filters = [{"operatorType": op, "key": "data.x"} | extra for op, extra in values_for.items()]
    spec = parse_subscription_spec("my-app", minimal() | {"filter": {"advancedFilters": filters}})
    assert [af.operator.value for af in spec.filter.advanced_filters] == list(values_for)
    assert spec_to_public_dict(spec)["properties"]["filter"]["advancedFilters"] == filters


# ----------------------------------------------------------------------------------------------- problems


@pytest.mark.parametrize("name", ["ab", "a" * 65, "my_app", "my app", "ünï", ""])
def test_bad_names(name: str) -> None:
    problems = problems_of(minimal(), name)
    assert [p.path for p in problems] == ["name"]
    assert "3-64 letters, digits and hyphens" in problems[0].reason


@pytest.mark.parametrize("name", ["abc", "a" * 64, "My-App-2"])
def test_good_names(name: str) -> None:
    assert parse_subscription_spec(name, minimal()).name == name


@pytest.mark.parametrize("body", [None, [], "x", 1])
def test_body_must_be_an_object(body: Any) -> None:
    assert paths_of(body) == [""]


def test_properties_must_be_an_object() -> None:
    assert paths_of({"properties": [1]}) == ["properties"]


def test_every_problem_is_reported_at_once_with_paths_under_properties_when_wrapped() -> None:
    body = {
        "properties": {
            "destination": {
                "endpointType": "EventHub",
                "properties": {
                    "endpointUrl": "ftp://x/y",
                    "maxEventsPerBatch": 0,
                    "preferredBatchSizeInKilobytes": 2048,
                    "deliveryAttributeMappings": [
                        {"name": "aeg-custom", "type": "Static", "properties": {"value": "v"}},
                        {"name": "X-A", "type": "Dynamic", "properties": {}},
                    ],
                },
            },
            "filter": {"includedEventTypes": [], "isSubjectCaseSensitive": "yes"},
            "eventDeliverySchema": "CustomInputSchema",
            "retryPolicy": {"maxDeliveryAttempts": 31, "eventTimeToLiveInMinutes": 0},
            "deadLetterDestination": {"endpointType": "StorageBlob", "properties": {"blobContainerName": "Bad_Name"}},
            "standardWebhooks": {"secret": "nope"},
        }
    }
    assert paths_of(body, "x") == [
        "name",
        "properties.destination.endpointType",
        "properties.destination.properties.endpointUrl",
        "properties.destination.properties.maxEventsPerBatch",
        "properties.destination.properties.preferredBatchSizeInKilobytes",
        "properties.destination.properties.deliveryAttributeMappings[0].name",
        "properties.destination.properties.deliveryAttributeMappings[1].properties.sourceField",
        "properties.filter.includedEventTypes",
        "properties.filter.isSubjectCaseSensitive",
        "properties.eventDeliverySchema",
        "properties.retryPolicy.maxDeliveryAttempts",
        "properties.retryPolicy.eventTimeToLiveInMinutes",
        "properties.deadLetterDestination.properties.blobContainerName",
        "properties.standardWebhooks.secret",
    ]


def test_the_error_message_lists_paths_and_what_to_change() -> None:
    with pytest.raises(SubscriptionSpecError) as caught:
        parse_subscription_spec("my-app", {"destination": {"endpointType": "WebHook", "properties": {}}})
    text = str(caught.value)
    assert text.startswith("Event subscription 'my-app' cannot be used: ")
    assert "destination.properties.endpointUrl: is required: the http:// or https:// URL" in text


def test_destination_is_required() -> None:
    problems = problems_of({})
    assert [p.path for p in problems] == ["destination"]
    assert '"endpointType": "WebHook"' in problems[0].reason


@pytest.mark.parametrize(
    ("destination", "path", "words"),
    [
        ({"properties": {"endpointUrl": URL}}, "destination.endpointType", "is required"),
        ({"endpointType": "EventHub", "properties": {"endpointUrl": URL}}, "destination.endpointType", "not supported"),
        ({"endpointType": "WebHook"}, "destination.properties", "is required"),
        ({"endpointType": "WebHook", "properties": []}, "destination.properties", "JSON object"),
        ({"endpointType": "WebHook", "properties": {}}, "destination.properties.endpointUrl", "is required"),
        ({"endpointType": "WebHook", "properties": {"endpointUrl": 5}}, "destination.properties.endpointUrl", "URL"),
        (
            {"endpointType": "WebHook", "properties": {"endpointUrl": "127.0.0.1:9000/x"}},
            "destination.properties.endpointUrl",
            "http",
        ),
        (
            {"endpointType": "WebHook", "properties": {"endpointUrl": "ftp://h/x"}},
            "destination.properties.endpointUrl",
            "http",
        ),
        (
            {"endpointType": "WebHook", "properties": {"endpointUrl": "http:///x"}},
            "destination.properties.endpointUrl",
            "no host",
        ),
        (
            {"endpointType": "WebHook", "properties": {"endpointUrl": "http://h:99999/x"}},
            "destination.properties.endpointUrl",
            "not a valid URL",
        ),
        (
            {"endpointType": "WebHook", "properties": {"endpointUrl": "http://h/a b"}},
            "destination.properties.endpointUrl",
            "spaces",
        ),
    ],
)
def test_destination_problems(destination: dict[str, Any], path: str, words: str) -> None:
    problems = problems_of({"destination": destination})
    assert [p.path for p in problems] == [path]
    assert words in problems[0].reason


@pytest.mark.parametrize(
    ("key", "value", "ok"),
    [
        ("maxEventsPerBatch", 1, True),
        ("maxEventsPerBatch", 5000, True),
        ("maxEventsPerBatch", 0, False),
        ("maxEventsPerBatch", 5001, False),
        ("maxEventsPerBatch", True, False),
        ("maxEventsPerBatch", 10.0, False),
        ("maxEventsPerBatch", "10", False),
        ("preferredBatchSizeInKilobytes", 1, True),
        ("preferredBatchSizeInKilobytes", 1024, True),
        ("preferredBatchSizeInKilobytes", 0, False),
        ("preferredBatchSizeInKilobytes", 1025, False),
    ],
)
def test_batch_limits(key: str, value: Any, ok: bool) -> None:
    body = minimal()
    body["destination"]["properties"][key] = value
    if ok:
        parse_subscription_spec("my-app", body)
    else:
        problems = problems_of(body)
        assert [p.path for p in problems] == [f"destination.properties.{key}"]
        assert "whole number from 1 to" in problems[0].reason


def with_mappings(mappings: Any) -> dict[str, Any]:
    body = minimal()
    body["destination"]["properties"]["deliveryAttributeMappings"] = mappings
    return body


def static(name: str, value: Any = "v", **props: Any) -> dict[str, Any]:
    return {"name": name, "type": "Static", "properties": {"value": value} | props}


def test_at_most_ten_delivery_attributes() -> None:
    parse_subscription_spec("my-app", with_mappings([static(f"X-{i}") for i in range(10)]))
    problems = problems_of(with_mappings([static(f"X-{i}") for i in range(11)]))
    assert [p.path for p in problems] == ["destination.properties.deliveryAttributeMappings"]
    assert "at most 10" in problems[0].reason


@pytest.mark.parametrize("name", ["aeg-x", "AEG-Subscription-Name", "Aeg-"])
def test_the_aeg_prefix_is_reserved(name: str) -> None:
    problems = problems_of(with_mappings([static(name)]))
    assert [p.path for p in problems] == ["destination.properties.deliveryAttributeMappings[0].name"]
    assert "reserved prefix aeg-" in problems[0].reason


def test_attribute_names_are_unique_ignoring_case() -> None:
    problems = problems_of(with_mappings([static("X-A"), static("X-B"), static("x-a")]))
    assert [p.path for p in problems] == ["destination.properties.deliveryAttributeMappings[2].name"]
    assert "repeats mapping [0]" in problems[0].reason


@pytest.mark.parametrize(
    ("mapping", "path"),
    [
        ({"type": "Static", "properties": {"value": "v"}}, "[0].name"),
        (static("Bad Name"), "[0].name"),
        (static("X-A:"), "[0].name"),
        ({"name": "X-A", "properties": {"value": "v"}}, "[0].type"),
        ({"name": "X-A", "type": "Computed", "properties": {"value": "v"}}, "[0].type"),
        ({"name": "X-A", "type": "Static"}, "[0].properties"),
        ({"name": "X-A", "type": "Static", "properties": {}}, "[0].properties.value"),
        (static("X-A", 5), "[0].properties.value"),
        (static("X-A", "a\r\nInjected: 1"), "[0].properties.value"),
        (static("X-A", isSecret="yes"), "[0].properties.isSecret"),
        ({"name": "X-A", "type": "Dynamic", "properties": {"sourceField": ""}}, "[0].properties.sourceField"),
        ({"name": "X-A", "type": "Dynamic", "properties": {"sourceField": "data..x"}}, "[0].properties.sourceField"),
        ("X-A", "[0]"),
    ],
)
def test_delivery_attribute_problems(mapping: Any, path: str) -> None:
    assert paths_of(with_mappings([mapping])) == [f"destination.properties.deliveryAttributeMappings{path}"]


def test_delivery_attributes_must_be_a_list() -> None:
    assert paths_of(with_mappings({"X-A": "v"})) == ["destination.properties.deliveryAttributeMappings"]


def with_filter(filter_body: Any) -> dict[str, Any]:
    return minimal() | {"filter": filter_body}


@pytest.mark.parametrize(
    ("filter_body", "path", "words"),
    [
        ([], "filter", "JSON object"),
        ({"includedEventTypes": []}, "filter.includedEventTypes", '["All"] or null'),
        ({"includedEventTypes": "All"}, "filter.includedEventTypes", "list"),
        ({"includedEventTypes": ["A", 1]}, "filter.includedEventTypes[1]", "event type"),
        ({"includedEventTypes": ["A", ""]}, "filter.includedEventTypes[1]", "event type"),
        ({"subjectBeginsWith": 1}, "filter.subjectBeginsWith", "string"),
        ({"subjectEndsWith": ["x"]}, "filter.subjectEndsWith", "string"),
        ({"enableAdvancedFilteringOnArrays": "true"}, "filter.enableAdvancedFilteringOnArrays", "true or false"),
        ({"advancedFilters": {}}, "filter.advancedFilters", "list"),
        ({"advancedFilters": [1]}, "filter.advancedFilters[0]", "JSON object"),
    ],
)
def test_filter_problems(filter_body: Any, path: str, words: str) -> None:
    problems = problems_of(with_filter(filter_body))
    assert [p.path for p in problems] == [path]
    assert words in problems[0].reason


def advanced(*filters: dict[str, Any]) -> dict[str, Any]:
    return with_filter({"advancedFilters": list(filters)})


@pytest.mark.parametrize(
    ("advanced_filter", "path", "words"),
    [
        ({"key": "data.x", "values": ["a"]}, "operatorType", "is required"),
        ({"operatorType": "StringLike", "key": "data.x", "values": ["a"]}, "operatorType", '"StringIn"'),
        ({"operatorType": "StringIn", "values": ["a"]}, "key", "is required"),
        ({"operatorType": "StringIn", "key": "", "values": ["a"]}, "key", "must not be empty"),
        ({"operatorType": "StringIn", "key": "data.", "values": ["a"]}, "key", "empty segment"),
        ({"operatorType": "StringIn", "key": "data.x"}, "values", "non-empty list"),
        ({"operatorType": "StringIn", "key": "data.x", "values": []}, "values", "non-empty list"),
        ({"operatorType": "StringIn", "key": "data.x", "value": "a"}, "values", "(not value)"),
        ({"operatorType": "StringIn", "key": "data.x", "values": "a"}, "values", "non-empty list"),
        ({"operatorType": "StringIn", "key": "data.x", "values": ["a", 1]}, "values[1]", "string"),
        ({"operatorType": "StringContains", "key": "data.x", "values": ["a" * 513]}, "values[0]", "at most 512"),
        ({"operatorType": "NumberIn", "key": "data.x", "values": [1, "2"]}, "values[1]", "finite number"),
        ({"operatorType": "NumberIn", "key": "data.x", "values": [True]}, "values[0]", "finite number"),
        ({"operatorType": "NumberNotIn", "key": "data.x", "values": [float("inf")]}, "values[0]", "finite number"),
        ({"operatorType": "NumberInRange", "key": "data.x", "values": [[1]]}, "values[0]", "[min, max] pair"),
        ({"operatorType": "NumberInRange", "key": "data.x", "values": [1, 2]}, "values", "[[1, 2]]"),
        ({"operatorType": "NumberNotInRange", "key": "data.x", "values": [[5, 1]]}, "values[0]", "write it as [1, 5]"),
        ({"operatorType": "NumberLessThan", "key": "data.x"}, "value", "is required"),
        ({"operatorType": "NumberLessThan", "key": "data.x", "values": [1]}, "value", "(not values)"),
        ({"operatorType": "NumberGreaterThan", "key": "data.x", "value": "1"}, "value", "one finite number"),
        ({"operatorType": "BoolEquals", "key": "data.x", "value": "true"}, "value", "true or false"),
        ({"operatorType": "BoolEquals", "key": "data.x", "value": 1}, "value", "true or false"),
    ],
)
def test_advanced_filter_problems(advanced_filter: dict[str, Any], path: str, words: str) -> None:
    problems = problems_of(advanced(advanced_filter))
    assert [p.path for p in problems] == [f"filter.advancedFilters[0].{path}"]
    assert words in problems[0].reason


def test_at_most_25_advanced_filters() -> None:
    null_check = {"operatorType": "IsNotNull", "key": "data.x"}
    parse_subscription_spec("my-app", advanced(*[null_check] * 25))
    problems = problems_of(advanced(*[null_check] * 26))
    assert [p.path for p in problems] == ["filter.advancedFilters"]
    assert "at most 25" in problems[0].reason


def test_at_most_25_values_across_all_filters() -> None:
    def string_in(n: int) -> dict[str, Any]:
        return {"operatorType": "StringIn", "key": "data.x", "values": [str(i) for i in range(n)]}

    one_value = {"operatorType": "NumberLessThan", "key": "data.y", "value": 1}
    ranges = {"operatorType": "NumberInRange", "key": "data.z", "values": [[1, 2], [3, 4]]}
    parse_subscription_spec("my-app", advanced(string_in(22), one_value, ranges))  # 22 + 1 + 2 = 25
    problems = problems_of(advanced(string_in(23), one_value, ranges))
    assert [p.path for p in problems] == ["filter.advancedFilters"]
    assert "26 values in total; at most 25" in problems[0].reason


@pytest.mark.parametrize(
    ("retry", "path"),
    [
        ({"maxDeliveryAttempts": 0}, "retryPolicy.maxDeliveryAttempts"),
        ({"maxDeliveryAttempts": 31}, "retryPolicy.maxDeliveryAttempts"),
        ({"eventTimeToLiveInMinutes": 0}, "retryPolicy.eventTimeToLiveInMinutes"),
        ({"eventTimeToLiveInMinutes": 1441}, "retryPolicy.eventTimeToLiveInMinutes"),
        ({"eventTimeToLiveInMinutes": "60"}, "retryPolicy.eventTimeToLiveInMinutes"),
        ("30", "retryPolicy"),
    ],
)
def test_retry_policy_problems(retry: Any, path: str) -> None:
    assert paths_of(minimal() | {"retryPolicy": retry}) == [path]


@pytest.mark.parametrize(
    ("retry", "expected"),
    [
        ({"maxDeliveryAttempts": 1}, RetryPolicy(1, 1440)),
        ({"eventTimeToLiveInMinutes": 1}, RetryPolicy(30, 1)),
        ({"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440}, RetryPolicy()),
    ],
)
def test_retry_policy_bounds(retry: dict[str, Any], expected: RetryPolicy) -> None:
    assert parse_subscription_spec("my-app", minimal() | {"retryPolicy": retry}).retry_policy == expected


@pytest.mark.parametrize("schema", ["CustomInputSchema", 1, ""])
def test_unsupported_delivery_schemas(schema: Any) -> None:
    problems = problems_of(minimal() | {"eventDeliverySchema": schema})
    assert [p.path for p in problems] == ["eventDeliverySchema"]
    assert '"EventGridSchema", "CloudEventSchemaV1_0"' in problems[0].reason


def dead_letter(container: Any, endpoint_type: Any = "StorageBlob", **props: Any) -> dict[str, Any]:
    return minimal() | {
        "deadLetterDestination": {"endpointType": endpoint_type, "properties": {"blobContainerName": container} | props}
    }


@pytest.mark.parametrize("container", ["abc", "dead-letters", "a" * 63, "0x9"])
def test_good_container_names(container: str) -> None:
    spec = parse_subscription_spec("my-app", dead_letter(container))
    assert spec.dead_letter_destination == DeadLetterDestination(blob_container_name=container)


@pytest.mark.parametrize("container", ["ab", "a" * 64, "Dead", "a--b", "-ab", "ab-", "a/b", "..", "a.b", "a_b"])
def test_bad_container_names(container: str) -> None:
    problems = problems_of(dead_letter(container))
    assert [p.path for p in problems] == ["deadLetterDestination.properties.blobContainerName"]
    assert "3-63 lowercase letters" in problems[0].reason


def test_dead_letter_problems() -> None:
    assert paths_of(dead_letter("abc", "EventHub")) == ["deadLetterDestination.endpointType"]
    assert paths_of(dead_letter("abc", None)) == ["deadLetterDestination.endpointType"]
    assert paths_of(dead_letter(None)) == ["deadLetterDestination.properties.blobContainerName"]
    assert paths_of(dead_letter("abc", resourceId=5)) == ["deadLetterDestination.properties.resourceId"]
    no_props = minimal() | {"deadLetterDestination": {"endpointType": "StorageBlob"}}
    assert paths_of(no_props) == ["deadLetterDestination.properties"]


def _whsec(size: int) -> str:
    return "whsec_" + base64.b64encode(b"k" * size).decode()


@pytest.mark.parametrize("size", [24, 32, 64])
def test_standard_webhooks_secret(size: int) -> None:
    spec = parse_subscription_spec("my-app", minimal() | {"standardWebhooks": {"secret": _whsec(size)}})
    assert spec.standard_webhooks == StandardWebhooksSigning(_whsec(size))
    assert _whsec(size) not in repr(spec)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ({}, "is required"),
        ({"secret": None}, "is required"),
        ({"secret": 5}, "string"),
        ({"secret": base64.b64encode(b"k" * 32).decode()}, "must start with whsec_"),
        ({"secret": "whsec_not base64!"}, "valid base64"),
        ({"secret": _whsec(23)}, "23 bytes"),
        ({"secret": _whsec(65)}, "65 bytes"),
        ("whsec_x", "JSON object"),
    ],
)
def test_standard_webhooks_problems(value: Any, words: str) -> None:
    problems = problems_of(minimal() | {"standardWebhooks": value})
    assert len(problems) == 1
    assert problems[0].path.startswith("standardWebhooks")
    assert words in problems[0].reason


def test_secrets_stay_out_of_reprs() -> None:
    spec = parse_subscription_spec("my-app", full())
    assert "Bearer k" not in repr(spec)
    assert SECRET not in repr(spec)


# ----------------------------------------------------------------------------------------------- rendering


def test_public_dict_hides_secrets_as_azure_does() -> None:
    public = spec_to_public_dict(parse_subscription_spec("my-app", full()))
    assert public["name"] == "my-app"
    props = public["properties"]
    destination = props["destination"]["properties"]
    assert destination["endpointUrl"] is None
    assert destination["endpointBaseUrl"] == "https://hooks.example.com/api/events"
    assert destination["deliveryAttributeMappings"] == [
        {"name": "X-Tenant", "type": "Static", "properties": {"value": "contoso", "isSecret": False}},
        {"name": "Authorization", "type": "Static", "properties": {"value": None, "isSecret": True}},
        {"name": "X-Tag", "type": "Dynamic", "properties": {"sourceField": "data.Tag"}},
    ]
    assert props["standardWebhooks"] == {"secret": None}
    assert props["deadLetterDestination"] == full()["deadLetterDestination"]
    assert props["retryPolicy"] == {"maxDeliveryAttempts": 5, "eventTimeToLiveInMinutes": 60}
    assert props["eventDeliverySchema"] == "CloudEventSchemaV1_0"
    text = repr(public)
    assert "s3cret" not in text
    assert "Bearer k" not in text
    assert SECRET not in text


def test_public_dict_with_the_full_url_still_hides_other_secrets() -> None:
    public = spec_to_public_dict(parse_subscription_spec("my-app", full()), include_full_endpoint_url=True)
    props = public["properties"]
    assert props["destination"]["properties"]["endpointUrl"] == "https://hooks.example.com/api/events?code=s3cret"
    assert "Bearer k" not in repr(public)
    assert SECRET not in repr(public)


def test_public_dict_of_a_minimal_spec() -> None:
    assert spec_to_public_dict(parse_subscription_spec("my-app", minimal())) == {
        "name": "my-app",
        "properties": {
            "destination": {
                "endpointType": "WebHook",
                "properties": {
                    "endpointUrl": None,
                    "endpointBaseUrl": URL,
                    "maxEventsPerBatch": 1,
                    "preferredBatchSizeInKilobytes": 64,
                    "deliveryAttributeMappings": [],
                },
            },
            "filter": {
                "includedEventTypes": None,
                "subjectBeginsWith": "",
                "subjectEndsWith": "",
                "isSubjectCaseSensitive": False,
                "enableAdvancedFilteringOnArrays": False,
                "advancedFilters": [],
            },
            "eventDeliverySchema": "EventGridSchema",
            "retryPolicy": {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440},
            "deadLetterDestination": None,
            "labels": None,
            "expirationTimeUtc": None,
        },
    }


def test_storage_dict_keeps_secrets_and_round_trips() -> None:
    spec = parse_subscription_spec("my-app", full())
    stored = spec_to_storage_dict(spec)
    props = stored["properties"]
    assert props["destination"]["properties"]["endpointUrl"] == "https://hooks.example.com/api/events?code=s3cret"
    assert props["destination"]["properties"]["deliveryAttributeMappings"][1]["properties"]["value"] == "Bearer k"
    assert props["standardWebhooks"] == {"secret": SECRET}
    assert spec_from_storage_dict(stored) == spec
    assert spec_from_storage_dict(copy.deepcopy(stored)) == spec


@pytest.mark.parametrize(
    "stored", [{}, {"name": 1, "properties": {}}, {"name": "my-app"}, {"name": "my-app", "properties": {}}]
)
def test_a_damaged_stored_record_fails_loudly(stored: dict[str, Any]) -> None:
    with pytest.raises(SubscriptionSpecError):
        spec_from_storage_dict(stored)


def test_the_public_dict_of_a_spec_without_secrets_parses_back_to_it() -> None:
    body = full()
    del body["standardWebhooks"]
    body["destination"]["properties"]["deliveryAttributeMappings"].pop(1)
    spec = parse_subscription_spec("my-app", body)
    assert parse_subscription_spec("my-app", spec_to_public_dict(spec, include_full_endpoint_url=True)) == spec


# ------------------------------------------------------------------------------------------- round trip law

_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789-", min_size=1, max_size=10)
_number = st.one_of(st.integers(-100, 100), st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False))


@st.composite
def _advanced_filter_body(draw: st.DrawFn) -> dict[str, Any]:
    operator = draw(st.sampled_from(list(FilterOperator)))
    out: dict[str, Any] = {"operatorType": operator.value, "key": "data." + draw(_word).replace("-", "x")}
    if operator.value in ("IsNullOrUndefined", "IsNotNull"):
        return out
    if operator is FilterOperator.BOOL_EQUALS:
        out["value"] = draw(st.booleans())
    elif operator.value in (
        "NumberLessThan",
        "NumberGreaterThan",
        "NumberLessThanOrEquals",
        "NumberGreaterThanOrEquals",
    ):
        out["value"] = draw(_number)
    elif operator.value.endswith("Range"):
        pairs = draw(st.lists(st.tuples(_number, _number), min_size=1, max_size=2))
        out["values"] = [sorted(pair) for pair in pairs]
    elif operator.value.startswith("Number"):
        out["values"] = draw(st.lists(_number, min_size=1, max_size=3))
    else:
        out["values"] = draw(st.lists(st.text(max_size=8), min_size=1, max_size=3))
    return out


@st.composite
def _bodies(draw: st.DrawFn) -> dict[str, Any]:
    mappings: list[dict[str, Any]] = []
    for index in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            value = {"value": draw(st.text(alphabet="abc xyz", max_size=5)), "isSecret": draw(st.booleans())}
            mappings.append({"name": f"X-{index}", "type": "Static", "properties": value})
        else:
            mappings.append({"name": f"X-{index}", "type": "Dynamic", "properties": {"sourceField": "data.Tag"}})
    body: dict[str, Any] = {
        "destination": {
            "endpointType": "WebHook",
            "properties": {
                # A host label never starts or ends with "-" (RFC 1123); the endpoint URL check refuses it.
                "endpointUrl": f"https://h{draw(_word).lower()}0.example/x?q={draw(_word)}",
                "maxEventsPerBatch": draw(st.integers(1, 5000)),
                "preferredBatchSizeInKilobytes": draw(st.integers(1, 1024)),
                "deliveryAttributeMappings": mappings,
            },
        },
        "filter": {
            "includedEventTypes": draw(st.none() | st.lists(_word, min_size=1, max_size=3)),
            "subjectBeginsWith": draw(st.text(max_size=5)),
            "subjectEndsWith": draw(st.text(max_size=5)),
            "isSubjectCaseSensitive": draw(st.booleans()),
            "enableAdvancedFilteringOnArrays": draw(st.booleans()),
            "advancedFilters": draw(st.lists(_advanced_filter_body(), max_size=4)),
        },
        "eventDeliverySchema": draw(st.sampled_from(["EventGridSchema", "CloudEventSchemaV1_0"])),
        "retryPolicy": {
            "maxDeliveryAttempts": draw(st.integers(1, 30)),
            "eventTimeToLiveInMinutes": draw(st.integers(1, 1440)),
        },
    }
    if draw(st.booleans()):
        body["deadLetterDestination"] = {
            "endpointType": "StorageBlob",
            "properties": {"blobContainerName": "dead-letters"},
        }
    if draw(st.booleans()):
        body["standardWebhooks"] = {"secret": _whsec(draw(st.integers(24, 64)))}
    return body


@given(_bodies(), st.booleans())
def test_law_storage_round_trip(body: dict[str, Any], wrapped: bool) -> None:
    spec = parse_subscription_spec("my-app", {"properties": body} if wrapped else body)
    assert spec_from_storage_dict(spec_to_storage_dict(spec)) == spec
    assert spec_to_storage_dict(spec_from_storage_dict(spec_to_storage_dict(spec))) == spec_to_storage_dict(spec)


@given(_bodies())
def test_law_public_dict_never_shows_a_secret(body: dict[str, Any]) -> None:
    spec = parse_subscription_spec("my-app", body)
    public = spec_to_public_dict(spec)
    props = public["properties"]
    assert props["destination"]["properties"]["endpointUrl"] is None
    assert "?" not in props["destination"]["properties"]["endpointBaseUrl"]
    for mapping in props["destination"]["properties"]["deliveryAttributeMappings"]:
        if mapping["type"] == "Static" and mapping["properties"]["isSecret"]:
            assert mapping["properties"]["value"] is None
    if spec.standard_webhooks is not None:
        assert props["standardWebhooks"] == {"secret": None}
        assert spec.standard_webhooks.secret not in repr(public)
