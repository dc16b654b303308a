"""The work of matching one event is bounded by its size, not by size × filters × subscriptions (issue 12).

The event loop matches every committed event against every subscription; looking a missing key up ignoring
case used to scan the object's keys again for each filter. The count of keys read is the measure here, not time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from smsgrid.delivery.filters import AdvancedFilter, FilterOperator, SubscriptionFilter, matches, resolve_field
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


def test_the_case_insensitive_lookup_still_finds_keys_and_the_first_spelling_wins() -> None:
    data = CountingMapping({"Tag": "first", "TAG": "second", "other": 1})
    item = {"data": data}
    assert resolve_field(item, "data.tag") == (True, "first")
    assert resolve_field(item, "data.TAG") == (True, "second")  # an exact match wins over a folded one
    assert resolve_field(item, "data.nope") == (False, None)
    f = SubscriptionFilter(advanced_filters=(AdvancedFilter(FilterOperator.STRING_IN, "DATA.tag", ("FIRST",)),))
    assert matches(f, item)
