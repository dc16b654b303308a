"""Split the events ready for one subscription into delivery batches (delivery-and-retry, "Output batching").

Event Grid never waits to fill a batch: it only splits what is ready now. ``maxEventsPerBatch`` is never
exceeded; ``preferredBatchSizeInKilobytes`` is a target ceiling that only a single event larger than it may
break, and such an event goes alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

K = TypeVar("K")

MIN_EVENTS_PER_BATCH = 1
MAX_EVENTS_PER_BATCH = 5000
MIN_PREFERRED_KB = 1
MAX_PREFERRED_KB = 1024
BYTES_PER_KB = 1024


def plan_batches(items: Sequence[tuple[K, int]], max_events: int, preferred_kb: int) -> list[list[K]]:
    """Group ``(key, size_bytes)`` items, in order, into batches of keys.

    Greedy: each batch takes the next items while both limits hold, so no batch could have taken the first
    item of the next one. Order is preserved across and within batches.
    """
    if not MIN_EVENTS_PER_BATCH <= max_events <= MAX_EVENTS_PER_BATCH:
        raise ValueError(f"max_events must be 1-5000, not {max_events}")
    if not MIN_PREFERRED_KB <= preferred_kb <= MAX_PREFERRED_KB:
        raise ValueError(f"preferred_kb must be 1-1024, not {preferred_kb}")
    limit = preferred_kb * BYTES_PER_KB
    # An event over the preferred size closes the batch before it and then the one it opens, so it goes alone
    # (delivery-and-retry: a 10 KB event with a 4 KB preference is delivered in its own batch, not dropped).
    batches: list[list[K]] = []
    current: list[K] = []
    current_size = 0
    for key, size in items:
        if size < 0:
            raise ValueError(f"an event cannot be {size} bytes long")
        if current and (len(current) >= max_events or current_size + size > limit):
            batches.append(current)
            current, current_size = [], 0
        current.append(key)
        current_size += size
    if current:
        batches.append(current)
    return batches
