"""Output batching (delivery-and-retry, "Output batching"): examples, then the laws with Hypothesis."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.delivery.batching import plan_batches

KB = 1024


def test_defaults_send_one_event_per_request() -> None:
    assert plan_batches([("a", 10), ("b", 10), ("c", 10)], 1, 64) == [["a"], ["b"], ["c"]]


def test_nothing_to_send() -> None:
    assert plan_batches([], 10, 64) == []


def test_count_limit() -> None:
    items = [(i, 1) for i in range(7)]
    assert plan_batches(items, 3, 64) == [[0, 1, 2], [3, 4, 5], [6]]


def test_size_limit_is_inclusive() -> None:
    assert plan_batches([("a", 2 * KB), ("b", 2 * KB), ("c", 1)], 100, 4) == [["a", "b"], ["c"]]


def test_an_event_larger_than_the_preference_goes_alone() -> None:
    # delivery-and-retry: with a 4 KB preference a 10 KB event is still delivered, in its own batch.
    items = [("a", 1 * KB), ("big", 10 * KB), ("b", 1 * KB), ("c", 1 * KB)]
    assert plan_batches(items, 100, 4) == [["a"], ["big"], ["b", "c"]]


def test_never_waits_a_single_ready_event_is_a_batch() -> None:
    assert plan_batches([("only", 5)], 5000, 1024) == [["only"]]


@pytest.mark.parametrize(("max_events", "preferred_kb"), [(0, 64), (5001, 64), (1, 0), (1, 1025)])
def test_limits_are_checked(max_events: int, preferred_kb: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        plan_batches([("a", 1)], max_events, preferred_kb)


def test_negative_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="bytes"):
        plan_batches([("a", -1)], 1, 1)


_items = st.lists(st.integers(0, 6 * KB), max_size=60).map(lambda sizes: list(enumerate(sizes)))
_max_events = st.integers(1, 8)
_preferred_kb = st.integers(1, 8)


@given(_items, _max_events, _preferred_kb)
def test_law_order_is_preserved_and_nothing_is_lost(items: list[tuple[int, int]], max_events: int, kb: int) -> None:
    batches = plan_batches(items, max_events, kb)
    assert [key for batch in batches for key in batch] == [key for key, _ in items]
    assert all(batches)


@given(_items, _max_events, _preferred_kb)
def test_law_the_count_is_never_exceeded(items: list[tuple[int, int]], max_events: int, kb: int) -> None:
    assert all(len(batch) <= max_events for batch in plan_batches(items, max_events, kb))


@given(_items, _max_events, _preferred_kb)
def test_law_size_only_exceeded_by_a_lone_event(items: list[tuple[int, int]], max_events: int, kb: int) -> None:
    size = dict(items)
    for batch in plan_batches(items, max_events, kb):
        total = sum(size[key] for key in batch)
        assert total <= kb * KB or len(batch) == 1


@given(_items, _max_events, _preferred_kb)
def test_law_oversized_events_go_alone(items: list[tuple[int, int]], max_events: int, kb: int) -> None:
    for batch in plan_batches(items, max_events, kb):
        if any(dict(items)[key] > kb * KB for key in batch):
            assert len(batch) == 1


@given(_items, _max_events, _preferred_kb)
def test_law_no_needless_split(items: list[tuple[int, int]], max_events: int, kb: int) -> None:
    """Greedy: a batch is closed only because the next event would break one of the limits."""
    size = dict(items)
    batches = plan_batches(items, max_events, kb)
    for current, following in pairwise(batches):
        total = sum(size[key] for key in current) + size[following[0]]
        assert len(current) == max_events or total > kb * KB
