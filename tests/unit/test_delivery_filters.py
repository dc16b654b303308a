"""Event Grid subscription filters (event-filtering): a table per operator, then the laws with Hypothesis."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.delivery.filters import (
    MISSING_KEY_MATCHES,
    NEGATED,
    NO_VALUE_OPERATORS,
    NUMBER_OPERATORS,
    RANGE_OPERATORS,
    SINGLE_VALUE_OPERATORS,
    STRING_OPERATORS,
    AdvancedFilter,
    FilterOperator,
    FilterValue,
    SubscriptionFilter,
    advanced_filter_to_dict,
    filter_to_dict,
    matches,
    resolve_field,
)

Op = FilterOperator
TOPIC = "/subscriptions/0/resourceGroups/g/providers/microsoft.communication/communicationservices/r"


def item(value: Any = None, *, present: bool = True, **envelope: Any) -> dict[str, Any]:
    """An Event Grid schema item whose ``data.v`` is *value* (absent unless *present*)."""
    data: dict[str, Any] = {"MessageId": "Incoming_1", "Tag": "x"}
    if present:
        data["v"] = value
    base: dict[str, Any] = {
        "id": "Incoming_1",
        "topic": TOPIC,
        "subject": "/phonenumber/18005550100",
        "eventType": "Microsoft.Communication.SMSReceived",
        "dataVersion": "1.0",
        "metadataVersion": "1",
        "eventTime": "2026-11-26T22:55:34Z",
        "data": data,
    }
    base.update(envelope)
    return base


def one(operator: FilterOperator, values: tuple[FilterValue, ...] = (), *, arrays: bool = False) -> SubscriptionFilter:
    return SubscriptionFilter(
        advanced_filters=(AdvancedFilter(operator, "data.v", values),),
        enable_advanced_filtering_on_arrays=arrays,
    )


# ------------------------------------------------------------------------------------------------ tables

OPERATOR_TABLE: list[tuple[FilterOperator, tuple[FilterValue, ...], Any, bool]] = [
    (Op.NUMBER_IN, (5, 1), 5, True),
    (Op.NUMBER_IN, (5, 1), 1.0, True),
    (Op.NUMBER_IN, (5, 1), 2, False),
    (Op.NUMBER_IN, (5,), "5", False),
    (Op.NUMBER_IN, (1,), True, False),
    (Op.NUMBER_NOT_IN, (41, 0), 5, True),
    (Op.NUMBER_NOT_IN, (41, 0), 0, False),
    (Op.NUMBER_NOT_IN, (41, 0), "0", True),
    (Op.NUMBER_LESS_THAN, (100,), 99.5, True),
    (Op.NUMBER_LESS_THAN, (100,), 100, False),
    (Op.NUMBER_LESS_THAN, (100,), "1", False),
    (Op.NUMBER_GREATER_THAN, (20,), 21, True),
    (Op.NUMBER_GREATER_THAN, (20,), 20, False),
    (Op.NUMBER_LESS_THAN_OR_EQUALS, (100,), 100, True),
    (Op.NUMBER_LESS_THAN_OR_EQUALS, (100,), 100.01, False),
    (Op.NUMBER_GREATER_THAN_OR_EQUALS, (30,), 30, True),
    (Op.NUMBER_GREATER_THAN_OR_EQUALS, (30,), 29, False),
    (Op.NUMBER_GREATER_THAN_OR_EQUALS, (0,), False, False),
    (Op.NUMBER_IN_RANGE, ((3.14159, 999.95), (3000, 4000)), 3000, True),
    (Op.NUMBER_IN_RANGE, ((3.14159, 999.95), (3000, 4000)), 4000, True),
    (Op.NUMBER_IN_RANGE, ((3.14159, 999.95), (3000, 4000)), 3.14159, True),
    (Op.NUMBER_IN_RANGE, ((3.14159, 999.95), (3000, 4000)), 1000, False),
    (Op.NUMBER_IN_RANGE, ((3000, 4000),), "3500", False),
    (Op.NUMBER_NOT_IN_RANGE, ((3.14159, 999.95), (3000, 4000)), 1000, True),
    (Op.NUMBER_NOT_IN_RANGE, ((3.14159, 999.95), (3000, 4000)), 3500, False),
    (Op.BOOL_EQUALS, (True,), True, True),
    (Op.BOOL_EQUALS, (True,), False, False),
    (Op.BOOL_EQUALS, (False,), False, True),
    (Op.BOOL_EQUALS, (True,), 1, False),
    (Op.BOOL_EQUALS, (True,), "true", False),
    (Op.STRING_IN, ("contoso", "fabrikam"), "Fabrikam", True),
    (Op.STRING_IN, ("contoso", "fabrikam"), "fabrikam inc", False),
    (Op.STRING_IN, ("5",), 5, False),
    (Op.STRING_NOT_IN, ("aws", "bridge"), "azure", True),
    (Op.STRING_NOT_IN, ("aws", "bridge"), "AWS", False),
    (Op.STRING_BEGINS_WITH, ("event", "message"), "Event Hubs", True),
    (Op.STRING_BEGINS_WITH, ("event", "message"), "hubs event", False),
    (Op.STRING_NOT_BEGINS_WITH, ("event", "message"), "hubs event", True),
    (Op.STRING_NOT_BEGINS_WITH, ("event", "message"), "MESSAGE queue", False),
    (Op.STRING_ENDS_WITH, ("jpg", "jpeg", "png"), "eventgrid.PNG", True),
    (Op.STRING_ENDS_WITH, ("jpg", "jpeg", "png"), "png.txt", False),
    (Op.STRING_NOT_ENDS_WITH, ("jpg", "jpeg", "png"), "png.txt", True),
    (Op.STRING_NOT_ENDS_WITH, ("jpg", "jpeg", "png"), "a.jpeg", False),
    (Op.STRING_CONTAINS, ("microsoft", "azure"), "Azure Data Factory", True),
    (Op.STRING_CONTAINS, ("microsoft", "azure"), "aws", False),
    (Op.STRING_NOT_CONTAINS, ("contoso", "fabrikam"), "azure", True),
    (Op.STRING_NOT_CONTAINS, ("contoso", "fabrikam"), "the CONTOSO shop", False),
    (Op.IS_NULL_OR_UNDEFINED, (), "x", False),
    (Op.IS_NULL_OR_UNDEFINED, (), 0, False),
    (Op.IS_NULL_OR_UNDEFINED, (), None, True),
    (Op.IS_NOT_NULL, (), "x", True),
    (Op.IS_NOT_NULL, (), False, True),
    (Op.IS_NOT_NULL, (), None, False),
]


@pytest.mark.parametrize(("operator", "values", "value", "expected"), OPERATOR_TABLE)
def test_operator_table(operator: FilterOperator, values: tuple[FilterValue, ...], value: Any, expected: bool) -> None:
    assert matches(one(operator, values), item(value)) is expected


def test_the_table_covers_all_19_operators() -> None:
    assert {row[0] for row in OPERATOR_TABLE} == set(FilterOperator)
    assert len(FilterOperator) == 19


@pytest.mark.parametrize("operator", list(FilterOperator))
def test_missing_key_table(operator: FilterOperator) -> None:
    values = _example_values(operator)
    expected = operator in (Op.NUMBER_NOT_IN, Op.STRING_NOT_IN, Op.IS_NULL_OR_UNDEFINED)
    assert matches(one(operator, values), item(present=False)) is expected
    assert matches(one(operator, values), item(None)) is expected  # null counts as undefined


def _example_values(operator: FilterOperator) -> tuple[FilterValue, ...]:
    if operator in NO_VALUE_OPERATORS:
        return ()
    if operator is Op.BOOL_EQUALS:
        return (True,)
    if operator in RANGE_OPERATORS:
        return ((1, 2),)
    if operator in NUMBER_OPERATORS:
        return (1,)
    return ("a",)


ARRAY_TABLE: list[tuple[FilterOperator, tuple[FilterValue, ...], list[Any], bool]] = [
    (Op.STRING_IN, ("b",), ["a", "B"], True),
    (Op.STRING_IN, ("c",), ["a", "b"], False),
    (Op.STRING_NOT_IN, ("b",), ["a", "b"], False),
    (Op.STRING_NOT_IN, ("c",), ["a", "b"], True),
    (Op.STRING_NOT_CONTAINS, ("x",), ["axe", "b"], False),
    (Op.STRING_NOT_CONTAINS, ("x",), [1, 2], True),  # elements of another type are ignored
    (Op.NUMBER_IN, (3,), [1, "3", 3], True),
    (Op.NUMBER_NOT_IN, (3,), [1, 2], True),
    (Op.NUMBER_GREATER_THAN, (10,), [1, 11], True),
    (Op.NUMBER_IN_RANGE, ((5, 6),), [1, 5.5], True),
    (Op.NUMBER_NOT_IN_RANGE, ((5, 6),), [1, 5.5], False),
    (Op.BOOL_EQUALS, (True,), [False, True], True),
    (Op.STRING_BEGINS_WITH, ("a",), [], False),
    (Op.STRING_NOT_BEGINS_WITH, ("a",), [], True),
    (Op.IS_NOT_NULL, (), [], True),
]


@pytest.mark.parametrize(("operator", "values", "array", "expected"), ARRAY_TABLE)
def test_array_table_with_array_filtering(
    operator: FilterOperator, values: tuple[FilterValue, ...], array: list[Any], expected: bool
) -> None:
    assert matches(one(operator, values, arrays=True), item(array)) is expected


@pytest.mark.parametrize(("operator", "values", "array", "expected"), ARRAY_TABLE)
def test_arrays_match_nothing_but_null_checks_without_the_flag(
    operator: FilterOperator, values: tuple[FilterValue, ...], array: list[Any], expected: bool
) -> None:
    del expected
    assert matches(one(operator, values), item(array)) is (operator is Op.IS_NOT_NULL)


@pytest.mark.parametrize("operator", list(FilterOperator))
def test_objects_are_not_filterable(operator: FilterOperator) -> None:
    got = matches(one(operator, _example_values(operator), arrays=True), item({"a": 1}))
    assert got is (operator is Op.IS_NOT_NULL)


def test_envelope_keys_and_case_insensitive_lookup() -> None:
    event = item("v")
    for key, wanted in [
        ("id", "incoming_1"),
        ("ID", "incoming_1"),
        ("Topic", event["topic"]),
        ("subject", "/phonenumber/18005550100"),
        ("EventType", "microsoft.communication.smsreceived"),
        ("dataVersion", "1.0"),
        ("Data.Tag", "X"),
        ("data.messageId", "incoming_1"),  # camelCase spelling finds PascalCase data (SPEC §1)
    ]:
        f = SubscriptionFilter(advanced_filters=(AdvancedFilter(Op.STRING_IN, key, (wanted,)),))
        assert matches(f, event), key


def test_exact_key_wins_over_case_insensitive() -> None:
    event = item(data={"tag": "lower", "Tag": "upper"})
    assert resolve_field(event, "data.Tag") == (True, "upper")
    assert resolve_field(event, "data.tag") == (True, "lower")


def test_nested_keys_and_non_object_parents() -> None:
    event = item(data={"a": {"b": {"c": 7}}, "s": "text", "arr": [{"b": 1}]})
    assert resolve_field(event, "data.a.b.c") == (True, 7)
    assert resolve_field(event, "data.a.x") == (False, None)
    assert resolve_field(event, "data.s.b") == (False, None)
    assert resolve_field(event, "data.arr.b") == (False, None)  # no arrays of objects (event-filtering)
    assert resolve_field(event, "nothere") == (False, None)


def test_cloud_events_keys_and_schema_aliases() -> None:
    cloud_event = {
        "specversion": "1.0",
        "id": "Incoming_1",
        "source": "/subscriptions/0/x",
        "type": "Microsoft.Communication.SMSReceived",
        "subject": "/phonenumber/1",
        "time": "2026-11-26T22:55:34Z",
        "comexampleothervalue": 5,
        "data": {"Tag": "t"},
    }

    def passes(operator: FilterOperator, key: str, values: tuple[FilterValue, ...]) -> bool:
        return matches(SubscriptionFilter(advanced_filters=(AdvancedFilter(operator, key, values),)), cloud_event)

    assert passes(Op.STRING_IN, "type", ("microsoft.communication.smsreceived",))
    assert passes(Op.STRING_IN, "specversion", ("1.0",))
    assert passes(Op.STRING_BEGINS_WITH, "source", ("/subscriptions/",))
    assert passes(Op.NUMBER_IN, "comexampleothervalue", (5,))
    assert passes(Op.STRING_IN, "eventType", ("Microsoft.Communication.SMSReceived",))  # alias of type
    assert passes(Op.STRING_IN, "topic", ("/subscriptions/0/x",))  # alias of source
    assert passes(Op.STRING_IN, "eventTime", ("2026-11-26T22:55:34Z",))
    assert passes(Op.STRING_IN, "Data.tag", ("T",))
    assert matches(SubscriptionFilter(included_event_types=("Microsoft.Communication.SMSReceived",)), cloud_event)
    assert matches(SubscriptionFilter(subject_begins_with="/phonenumber/"), cloud_event)
    eg = item("x")
    eg_filter = SubscriptionFilter(advanced_filters=(AdvancedFilter(Op.STRING_IN, "type", (eg["eventType"],)),))
    assert matches(eg_filter, eg)  # and the other way round


def test_cloud_event_without_subject_passes_only_empty_subject_filters() -> None:
    cloud_event = {"specversion": "1.0", "id": "1", "source": "s", "type": "t"}
    assert matches(SubscriptionFilter(), cloud_event)
    assert not matches(SubscriptionFilter(subject_begins_with="/"), cloud_event)
    assert not matches(SubscriptionFilter(subject_ends_with="1"), cloud_event)


def test_event_types_all_and_case() -> None:
    event = item("x")
    assert matches(SubscriptionFilter(included_event_types=None), event)
    assert matches(SubscriptionFilter(included_event_types=("All",)), event)
    assert matches(SubscriptionFilter(included_event_types=("all",)), event)
    assert matches(SubscriptionFilter(included_event_types=("microsoft.communication.smsreceived",)), event)
    delivery_report = ("Microsoft.Communication.SMSDeliveryReportReceived",)
    assert not matches(SubscriptionFilter(included_event_types=delivery_report), event)
    assert not matches(SubscriptionFilter(included_event_types=("Microsoft.Communication.SMSReceived",)), {})


def test_subject_case_sensitivity() -> None:
    event = item("x", subject="/PhoneNumber/18005550100")
    assert matches(SubscriptionFilter(subject_begins_with="/phonenumber/"), event)
    assert not matches(SubscriptionFilter(subject_begins_with="/phonenumber/", is_subject_case_sensitive=True), event)
    assert matches(SubscriptionFilter(subject_begins_with="/PhoneNumber/", is_subject_case_sensitive=True), event)
    assert matches(SubscriptionFilter(subject_begins_with="/PHONE", subject_ends_with="0100"), event)
    assert not matches(SubscriptionFilter(subject_begins_with="/phonenumber/", subject_ends_with="99"), event)


def test_wrong_types_never_raise() -> None:
    weird: list[Any] = [
        None,
        "s",
        "",
        1,
        -1.5,
        True,
        False,
        [],
        [None, {"a": 1}, [1]],
        {"x": [1]},
        float("nan"),
    ]
    for operator in FilterOperator:
        for arrays in (False, True):
            for value in weird:
                assert isinstance(matches(one(operator, _example_values(operator), arrays=arrays), item(value)), bool)


def test_filters_compare_by_their_definition() -> None:
    assert AdvancedFilter(Op.STRING_IN, "data.v", ("a",)) == AdvancedFilter(Op.STRING_IN, "data.v", ("a",))
    assert SubscriptionFilter(subject_begins_with="A") != SubscriptionFilter(subject_begins_with="a")
    assert hash(SubscriptionFilter()) == hash(SubscriptionFilter())


def test_rendering_in_azure_shape() -> None:
    f = SubscriptionFilter(
        included_event_types=("Microsoft.Communication.SMSReceived",),
        subject_begins_with="/phonenumber/",
        advanced_filters=(
            AdvancedFilter(Op.NUMBER_IN_RANGE, "data.v", ((1, 2.5),)),
            AdvancedFilter(Op.BOOL_EQUALS, "data.b", (True,)),
            AdvancedFilter(Op.IS_NOT_NULL, "data.Tag"),
            AdvancedFilter(Op.STRING_IN, "data.Tag", ("A", "b")),
        ),
    )
    assert filter_to_dict(f) == {
        "includedEventTypes": ["Microsoft.Communication.SMSReceived"],
        "subjectBeginsWith": "/phonenumber/",
        "subjectEndsWith": "",
        "isSubjectCaseSensitive": False,
        "enableAdvancedFilteringOnArrays": False,
        "advancedFilters": [
            {"operatorType": "NumberInRange", "key": "data.v", "values": [[1, 2.5]]},
            {"operatorType": "BoolEquals", "key": "data.b", "value": True},
            {"operatorType": "IsNotNull", "key": "data.Tag"},
            {"operatorType": "StringIn", "key": "data.Tag", "values": ["A", "b"]},
        ],
    }
    assert advanced_filter_to_dict(AdvancedFilter(Op.NUMBER_LESS_THAN, "data.v", (3,))) == {
        "operatorType": "NumberLessThan",
        "key": "data.v",
        "value": 3,
    }


# -------------------------------------------------------------------------------------------------- laws

# ASCII letters keep swapcase() an exact case-insensitive twin of the text (no ß → SS surprises).
_text = st.text(alphabet=string.ascii_letters + string.digits + " ./-_", max_size=12)
_number = st.one_of(st.integers(-1000, 1000), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
_scalar = st.one_of(_text, _number, st.booleans())


def _values_for(operator: FilterOperator) -> st.SearchStrategy[tuple[FilterValue, ...]]:
    if operator in NO_VALUE_OPERATORS:
        return st.just(())
    if operator is Op.BOOL_EQUALS:
        return st.booleans().map(lambda b: (b,))
    if operator in SINGLE_VALUE_OPERATORS:
        return _number.map(lambda n: (n,))
    if operator in RANGE_OPERATORS:
        pair = st.tuples(_number, _number).map(lambda t: (min(t), max(t)))
        return st.lists(pair, min_size=1, max_size=4).map(tuple)
    if operator in NUMBER_OPERATORS:
        return st.lists(_number, min_size=1, max_size=4).map(tuple)
    return st.lists(_text, min_size=1, max_size=4).map(tuple)


def _value_near(values: tuple[FilterValue, ...]) -> st.SearchStrategy[Any]:
    """Event values likely to hit the filter's values (a value itself, or a piece of one), or anything."""
    pieces: list[Any] = []
    for value in values:
        if isinstance(value, tuple):
            pieces.extend(value)
        else:
            pieces.append(value)
            if isinstance(value, str) and len(value) > 1:
                pieces.extend([value[1:], value[:-1], "pre" + value + "post"])
    return st.one_of(st.sampled_from(pieces), _scalar) if pieces else _scalar


@st.composite
def _operator_values_value(
    draw: st.DrawFn, operators: list[FilterOperator]
) -> tuple[FilterOperator, tuple[FilterValue, ...], Any]:
    operator = draw(st.sampled_from(operators))
    values = draw(_values_for(operator))
    return operator, values, draw(_value_near(values))


@given(_operator_values_value(list(NEGATED)))
def test_law_x_and_not_x_disagree_on_every_present_scalar(case: tuple[FilterOperator, Any, Any]) -> None:
    negated, values, value = case
    positive = NEGATED[negated]
    assert matches(one(positive, values), item(value)) != matches(one(negated, values), item(value))


_MULTI_VALUE = [op for op in FilterOperator if op not in SINGLE_VALUE_OPERATORS | NO_VALUE_OPERATORS]


@given(_operator_values_value(_MULTI_VALUE))
def test_law_values_of_one_filter_are_or_ed(case: tuple[FilterOperator, Any, Any]) -> None:
    operator, values, value = case
    singles = [matches(one(operator, (v,)), item(value)) for v in values]
    together = matches(one(operator, values), item(value))
    # A Not operator is the complement of its OR-ed positive, so its singles are AND-ed (De Morgan).
    assert together == (all(singles) if operator in NEGATED else any(singles))


@st.composite
def _several_filters(draw: st.DrawFn) -> tuple[list[AdvancedFilter], dict[str, Any]]:
    filters: list[AdvancedFilter] = []
    data: dict[str, Any] = {}
    for _ in range(draw(st.integers(0, 5))):
        operator = draw(st.sampled_from(list(FilterOperator)))
        values = draw(_values_for(operator))
        # Keys may repeat: "the same key can be used in more than one filter" (event-filtering).
        key = f"k{draw(st.integers(0, 3))}"
        filters.append(AdvancedFilter(operator, f"data.{key}", values))
        if draw(st.booleans()):
            data[key] = draw(_value_near(values))
    return filters, data


@given(_several_filters())
def test_law_filters_are_and_ed(case: tuple[list[AdvancedFilter], dict[str, Any]]) -> None:
    filters, data = case
    event = item(data=data)
    together = matches(SubscriptionFilter(advanced_filters=tuple(filters)), event)
    assert together == all(matches(SubscriptionFilter(advanced_filters=(f,)), event) for f in filters)


@given(_operator_values_value(sorted(STRING_OPERATORS)), st.booleans())
def test_law_strings_ignore_case(case: tuple[FilterOperator, Any, Any], swap_values: bool) -> None:
    operator, values, value = case
    base = matches(one(operator, values), item(value))
    other_values = tuple(v.swapcase() for v in values) if swap_values else values
    other_value = value.swapcase() if isinstance(value, str) else value
    assert matches(one(operator, other_values), item(other_value)) == base
    assert matches(one(operator, values), item(value.upper() if isinstance(value, str) else value)) == base


@given(st.sampled_from(list(FilterOperator)).flatmap(lambda op: st.tuples(st.just(op), _values_for(op))))
def test_law_missing_key(case: tuple[FilterOperator, tuple[FilterValue, ...]]) -> None:
    operator, values = case
    expected = operator in MISSING_KEY_MATCHES
    assert matches(one(operator, values), item(present=False)) is expected
    assert matches(one(operator, values), item(None)) is expected


@given(
    _operator_values_value([op for op in FilterOperator if op not in NO_VALUE_OPERATORS]),
    st.lists(_scalar, max_size=5),
)
def test_law_arrays_are_any_element_with_the_flag(case: tuple[FilterOperator, Any, Any], rest: list[Any]) -> None:
    operator, values, value = case
    array = [value, *rest]
    per_element = [matches(one(operator, values), item(e)) for e in array]
    got = matches(one(operator, values, arrays=True), item(array))
    assert got == (all(per_element) if operator in NEGATED else any(per_element))
    assert matches(one(operator, values), item(array)) is False


@given(st.lists(_text, min_size=1, max_size=3), _text, st.booleans())
def test_law_included_event_types(types: list[str], event_type: str, swap: bool) -> None:
    event = item("x", eventType=event_type.swapcase() if swap else event_type)
    wanted = {t.casefold() for t in types}
    expected = event_type.casefold() in wanted or "all" in wanted
    assert matches(SubscriptionFilter(included_event_types=tuple(types)), event) == expected


@given(_text, _text, _text, st.booleans())
def test_law_subject_prefix_and_suffix(subject: str, begins: str, ends: str, sensitive: bool) -> None:
    f = SubscriptionFilter(subject_begins_with=begins, subject_ends_with=ends, is_subject_case_sensitive=sensitive)
    if sensitive:
        expected = subject.startswith(begins) and subject.endswith(ends)
    else:
        expected = subject.lower().startswith(begins.lower()) and subject.lower().endswith(ends.lower())
    assert matches(f, item("x", subject=subject)) == expected
    # A filter taken from the subject itself always matches it, in either case when insensitive.
    assert matches(
        SubscriptionFilter(subject_begins_with=subject[:3], subject_ends_with=subject[-2:]),
        item(subject=subject),
    )
    assert matches(SubscriptionFilter(subject_begins_with=subject.swapcase()), item(subject=subject))


@given(st.recursive(st.none() | _scalar, lambda inner: st.lists(inner) | st.dictionaries(_text, inner), max_leaves=8))
def test_law_matching_never_raises(value: Any) -> None:
    for operator in FilterOperator:
        for arrays in (False, True):
            assert isinstance(matches(one(operator, _example_values(operator), arrays=arrays), item(value)), bool)
