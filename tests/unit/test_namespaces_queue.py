"""The lock and queue decisions of namespace-topic pull delivery (smsgrid.namespaces.queue), with plain numbers
for time (Learn "Event Grid namespaces: subscriber operations")."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from smsgrid.namespaces.queue import (
    BAD_TOKEN,
    TOKEN_LOST,
    QueuePolicy,
    SubscriptionQueue,
    is_well_formed_token,
    new_lock_token,
)


def queue(**policy: object) -> SubscriptionQueue:
    return SubscriptionQueue(QueuePolicy(**policy))  # type: ignore[arg-type]


def event(n: int) -> dict[str, object]:
    return {"id": str(n), "source": "/s", "type": "T", "specversion": "1.0"}


def test_receive_locks_in_order_and_counts_the_delivery() -> None:
    q = queue(lock_seconds=60)
    for n in range(3):
        q.enqueue(event(n), now=0)
    got = q.receive(now=1, max_events=2)
    assert [r.event["id"] for r in got] == ["0", "1"]
    assert [r.delivery_count for r in got] == [1, 1]
    assert len({r.lock_token for r in got}) == 2
    # Locked events are not handed out again while the lock holds.
    assert [r.event["id"] for r in q.receive(now=2, max_events=10)] == ["2"]
    assert q.receive(now=3, max_events=10) == []


def test_acknowledge_deletes_and_a_second_acknowledge_fails_as_token_lost() -> None:
    q = queue()
    q.enqueue(event(1), now=0)
    (r,) = q.receive(now=0, max_events=1)
    first = q.acknowledge([r.lock_token], now=1)
    assert first.succeeded == (r.lock_token,)
    assert first.failed == ()
    again = q.acknowledge([r.lock_token], now=2)
    assert again.succeeded == ()
    assert [f.code for f in again.failed] == [TOKEN_LOST]
    assert len(q) == 0


def test_a_malformed_token_is_a_bad_token_beside_a_good_one() -> None:
    q = queue()
    q.enqueue(event(1), now=0)
    (r,) = q.receive(now=0, max_events=1)
    result = q.acknowledge(["not-a-token", r.lock_token], now=1)
    assert result.succeeded == (r.lock_token,)
    assert [(f.lock_token, f.code) for f in result.failed] == [("not-a-token", BAD_TOKEN)]


def test_an_expired_lock_makes_the_event_available_again_and_its_token_useless() -> None:
    q = queue(lock_seconds=60)
    q.enqueue(event(1), now=0)
    (first,) = q.receive(now=0, max_events=1)
    assert q.receive(now=59, max_events=1) == []
    (second,) = q.receive(now=60, max_events=1)
    assert second.event["id"] == "1"
    assert second.delivery_count == 2
    assert second.lock_token != first.lock_token
    late = q.acknowledge([first.lock_token], now=61)
    assert [f.code for f in late.failed] == [TOKEN_LOST]


def test_release_with_a_delay_holds_the_event_back_until_then() -> None:
    q = queue()
    q.enqueue(event(1), now=0)
    (r,) = q.receive(now=0, max_events=1)
    assert q.release([r.lock_token], now=5, delay_seconds=10).succeeded == (r.lock_token,)
    assert q.receive(now=14, max_events=1) == []
    (again,) = q.receive(now=15, max_events=1)
    assert again.delivery_count == 2


def test_reject_dead_letters_when_configured_and_drops_otherwise() -> None:
    for dead_letter in (True, False):
        q = queue(dead_letter=dead_letter)
        q.enqueue(event(1), now=0)
        (r,) = q.receive(now=0, max_events=1)
        assert q.reject([r.lock_token], now=1).succeeded == (r.lock_token,)
        assert len(q) == 0
        assert [d.reason for d in q.dead_letters] == (["Rejected"] if dead_letter else [])


def test_max_delivery_count_dead_letters_on_release_and_on_lock_expiry() -> None:
    q = queue(max_delivery_count=2, lock_seconds=10, dead_letter=True)
    q.enqueue(event(1), now=0)
    q.enqueue(event(2), now=0)
    a, b = q.receive(now=0, max_events=2)
    q.release([a.lock_token, b.lock_token], now=1)
    a2, b2 = q.receive(now=1, max_events=2)
    assert (a2.delivery_count, b2.delivery_count) == (2, 2)
    q.release([a2.lock_token], now=2)  # the second release of event 1: out of deliveries
    assert q.receive(now=30, max_events=10) == []  # event 2's lock expired at 11: out of deliveries too
    assert sorted((d.event["id"], d.reason, d.delivery_count) for d in q.dead_letters) == [
        ("1", "MaxDeliveryCountExceeded", 2),
        ("2", "MaxDeliveryCountExceeded", 2),
    ]


def test_time_to_live_ends_an_event_even_while_it_is_locked() -> None:
    q = queue(time_to_live_seconds=100, lock_seconds=60, dead_letter=True)
    q.enqueue(event(1), now=0)
    (r,) = q.receive(now=50, max_events=1)
    assert [f.code for f in q.renew_locks([r.lock_token], now=100, renewal_limit=3600).failed] == [TOKEN_LOST]
    assert [d.reason for d in q.dead_letters] == ["TimeToLiveExceeded"]


def test_renew_lock_extends_from_now_until_the_renewal_limit() -> None:
    q = queue(lock_seconds=60)
    q.enqueue(event(1), now=0)
    (r,) = q.receive(now=0, max_events=1)
    assert q.renew_locks([r.lock_token], now=50, renewal_limit=100).succeeded == (r.lock_token,)
    assert q.receive(now=105, max_events=1) == []  # the lock now holds until 110
    refused = q.renew_locks([r.lock_token], now=105, renewal_limit=100)
    assert [f.code for f in refused.failed] == [TOKEN_LOST]
    assert q.acknowledge([r.lock_token], now=106).succeeded == (r.lock_token,)


def test_next_change_names_the_earliest_lock_end_or_availability() -> None:
    q = queue(lock_seconds=60, time_to_live_seconds=1000)
    assert q.next_change(0) is None
    q.enqueue(event(1), now=0)
    (r,) = q.receive(now=0, max_events=1)
    assert q.next_change(1) == 60
    q.release([r.lock_token], now=2, delay_seconds=10)
    assert q.next_change(3) == 12


def test_tokens_are_well_formed_and_unique() -> None:
    tokens = {new_lock_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(is_well_formed_token(t) for t in tokens)


# Law: whatever mix of operations, every event is in exactly one place: still queued, acknowledged, or
# dead-lettered/dropped; no event is handed out twice under two live locks.
_ops = st.lists(
    st.tuples(st.sampled_from(["receive", "ack", "release", "reject", "renew", "tick"]), st.integers(0, 5)),
    max_size=60,
)


@given(_ops, st.integers(1, 4))
def test_no_event_is_lost_or_locked_twice(ops: list[tuple[str, int]], max_deliveries: int) -> None:
    q = queue(lock_seconds=10, max_delivery_count=max_deliveries, time_to_live_seconds=200, dead_letter=True)
    for n in range(5):
        q.enqueue(event(n), now=0)
    clock = itertools.count(0)
    now = 0.0
    held: dict[str, str] = {}  # token → event id
    acknowledged: set[str] = set()
    for op, k in ops:
        now = float(next(clock)) * 3
        if op == "receive":
            for r in q.receive(now, k + 1):
                held[r.lock_token] = str(r.event["id"])
            live = [e.seq for e in q._by_token.values()]
            assert len(live) == len(set(live))  # one live lock per event at most
        elif held:
            token = list(held)[k % len(held)]
            if op == "ack":
                if q.acknowledge([token], now).succeeded:
                    acknowledged.add(held[token])
            elif op == "release":
                q.release([token], now)
            elif op == "reject":
                q.reject([token], now)
            elif op == "renew":
                q.renew_locks([token], now, 3600)
    q.sweep(now)
    queued = {str(e["id"]) for e in (x.event for x in q._entries.values())}
    dead = {str(d.event["id"]) for d in q.dead_letters}
    assert queued | acknowledged | dead == {str(n) for n in range(5)}
    assert not (queued & acknowledged)
    assert not (queued & dead)
    assert not (acknowledged & dead)
