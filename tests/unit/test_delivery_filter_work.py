"""The work of matching one event is bounded by its size, not by size × filters × subscriptions (issue 12).

The event loop matches every committed event against every subscription; looking a missing key up ignoring
case used to scan the object's keys again for each filter, and each filter walked every element of an array.
Counts of keys and elements read are the measure here, not time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from smsgrid.delivery.filters import (
    NEGATED,
    NO_VALUE_OPERATORS,
    SINGLE_VALUE_OPERATORS,
    STRING_OPERATORS,
    AdvancedFilter,
    FilterOperator,
    FilterValue,
    SubscriptionFilter,
    matches,
    resolve_field,
)
from smsgrid.delivery.registry import SUCCEEDED, SubscriptionRegistry
from smsgrid.delivery.subscription_spec import SubscriptionSpec, WebhookDestination

KEYS = 5000
SUBSCRIPTIONS = 10
FILTERS = 25


class CountingMapping(Mapping[str, Any]):
    """A read-only JSON object that counts how many keys were read out of it by iteration."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data
        self.keys_read = 0

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        for key in self._data:
            self.keys_read += 1
            yield key

    def __len__(self) -> int:
        return len(self._data)


def _registry() -> SubscriptionRegistry:
    registry = SubscriptionRegistry()
    for s in range(SUBSCRIPTIONS):
        filters = tuple(
            AdvancedFilter(FilterOperator.STRING_IN, f"data.Missing{s}x{f}", ("x",)) for f in range(FILTERS)
        )
        spec = SubscriptionSpec(
            name=f"sub-{s}",
            destination=WebhookDestination("http://127.0.0.1:9/e"),
            filter=SubscriptionFilter(advanced_filters=filters),
        )
        registry.set(spec, SUCCEEDED)
    return registry


def test_routing_an_event_reads_each_object_s_keys_at_most_once() -> None:
    data = CountingMapping({f"key{i}": i for i in range(KEYS)})
    item = {"id": "1", "eventType": "T", "subject": "s", "data": data}
    assert _registry().route(item) == ()
    # Before: every filter on a missing key scanned all keys again, SUBSCRIPTIONS × FILTERS × KEYS reads.
    assert data.keys_read <= KEYS


class CountingList(list[Any]):
    """A JSON array that counts how many elements were read out of it by iteration."""

    elements_read = 0

    def __iter__(self) -> Iterator[Any]:
        for element in super().__iter__():
            self.elements_read += 1
            yield element


def test_filters_on_a_long_array_read_it_once_per_event() -> None:
    array = CountingList([f"tag-{i}" for i in range(KEYS)] + list(range(KEYS)))
    registry = SubscriptionRegistry()
    operators: list[tuple[FilterOperator, tuple[FilterValue, ...]]] = [
        (FilterOperator.STRING_CONTAINS, ("nope",)),
        (FilterOperator.STRING_BEGINS_WITH, ("nope",)),
        (FilterOperator.STRING_ENDS_WITH, ("nope",)),
        (FilterOperator.STRING_IN, ("nope",)),
        (FilterOperator.NUMBER_IN, (-1,)),
        (FilterOperator.NUMBER_GREATER_THAN, (10.0 * KEYS,)),
        (FilterOperator.NUMBER_IN_RANGE, ((-5.0, -1.0),)),
    ]
    for s in range(SUBSCRIPTIONS):
        filters = tuple(AdvancedFilter(op, "data.tags", values) for op, values in operators)
        spec = SubscriptionSpec(
            name=f"sub-{s}",
            destination=WebhookDestination("http://127.0.0.1:9/e"),
            filter=SubscriptionFilter(advanced_filters=filters, enable_advanced_filtering_on_arrays=True),
        )
        registry.set(spec, SUCCEEDED)
    assert registry.route({"data": {"tags": array}}) == ()
    # Before: every filter of every subscription walked the array, SUBSCRIPTIONS × filters × its length.
    assert array.elements_read <= len(array)


def test_the_case_insensitive_lookup_still_finds_keys_and_the_first_spelling_wins() -> None:
    data = CountingMapping({"Tag": "first", "TAG": "second", "other": 1})
    item = {"data": data}
    assert resolve_field(item, "data.tag") == (True, "first")
    assert resolve_field(item, "data.TAG") == (True, "second")  # an exact match wins over a folded one
    assert resolve_field(item, "data.nope") == (False, None)
    f = SubscriptionFilter(advanced_filters=(AdvancedFilter(FilterOperator.STRING_IN, "DATA.tag", ("FIRST",)),))
    assert matches(f, item)


# -------------------------------------------------- law: the set/substring tests equal the per-element definition

_text = st.text(alphabet="aAbBß\x00-", max_size=4)
_num = st.one_of(st.integers(-3, 3), st.floats(-3, 3, allow_nan=False))
_scalar = st.one_of(_text, _num, st.booleans())
_element = st.one_of(_scalar, st.none(), st.just({"k": 1}), st.just([1]))
_value = st.one_of(_scalar, st.lists(_element, max_size=6))


def _element_passes(op: FilterOperator, values: tuple[Any, ...], v: Any) -> bool:
    """Event-filtering's pseudo code for one element and a positive operator, written out plainly."""
    is_number = isinstance(v, int | float) and not isinstance(v, bool)
    if op in STRING_OPERATORS:
        if not isinstance(v, str):
            return False
        text, wanted = v.casefold(), [str(x).casefold() for x in values]
        if op is FilterOperator.STRING_IN:
            return text in wanted
        if op is FilterOperator.STRING_BEGINS_WITH:
            return any(text.startswith(w) for w in wanted)
        if op is FilterOperator.STRING_ENDS_WITH:
            return any(text.endswith(w) for w in wanted)
        return any(w in text for w in wanted)
    if op is FilterOperator.BOOL_EQUALS:
        return isinstance(v, bool) and v is values[0]
    if not is_number:
        return False
    if op is FilterOperator.NUMBER_IN:
        return v in values
    if op is FilterOperator.NUMBER_IN_RANGE:
        return any(lo <= v <= hi for lo, hi in values)
    bound: float = values[0]
    number: float = v
    outcomes = {
        FilterOperator.NUMBER_LESS_THAN: number < bound,
        FilterOperator.NUMBER_GREATER_THAN: number > bound,
        FilterOperator.NUMBER_LESS_THAN_OR_EQUALS: number <= bound,
        FilterOperator.NUMBER_GREATER_THAN_OR_EQUALS: number >= bound,
    }
    return outcomes[op]


@st.composite
def _filters(draw: st.DrawFn) -> tuple[FilterOperator, tuple[Any, ...]]:
    operator = draw(st.sampled_from([o for o in FilterOperator if o not in NO_VALUE_OPERATORS]))
    positive = NEGATED.get(operator, operator)
    if positive in STRING_OPERATORS:
        return operator, tuple(draw(st.lists(_text, min_size=1, max_size=3)))
    if positive is FilterOperator.BOOL_EQUALS:
        return operator, (draw(st.booleans()),)
    if positive is FilterOperator.NUMBER_IN_RANGE:
        pairs = draw(st.lists(st.tuples(_num, _num), min_size=1, max_size=3))
        return operator, tuple((min(a, b), max(a, b)) for a, b in pairs)
    if operator in SINGLE_VALUE_OPERATORS:
        return operator, (draw(_num),)
    return operator, tuple(draw(st.lists(_num, min_size=1, max_size=3)))


@given(_filters(), _value)
def test_law_a_filter_on_a_present_value_is_any_element_passing(spec: tuple[FilterOperator, Any], value: Any) -> None:
    operator, values = spec
    af = AdvancedFilter(operator, "data.x", values)
    f = SubscriptionFilter(advanced_filters=(af,), enable_advanced_filtering_on_arrays=True)
    elements = value if isinstance(value, list) else [value]
    hit = any(_element_passes(NEGATED.get(operator, operator), values, e) for e in elements)
    assert matches(f, {"data": {"x": value}}) is (hit != (operator in NEGATED))
