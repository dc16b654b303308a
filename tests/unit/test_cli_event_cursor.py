"""`events tail`'s cursor: it pages back through `GET /admin/events` until it reaches where it started."""

from __future__ import annotations

from typing import cast

from smsgrid.cli.client import SmsgridClient
from smsgrid.cli.commands_events import MAX_PAGES_PER_POLL, PAGE, EventCursor
from smsgrid.store.views import EventView


class FakeEvents:
    """The one method of SmsgridClient the cursor uses, over a list of seqs (newest first, as the API lists)."""

    def __init__(self, seqs: list[int]) -> None:
        self.seqs = sorted(seqs, reverse=True)
        self.calls: list[int | None] = []

    def list_events(self, *, limit: int, before_seq: int | None = None) -> list[EventView]:
        self.calls.append(before_seq)
        older = [s for s in self.seqs if before_seq is None or s < before_seq][:limit]
        # Only `seq` matters to the cursor; the rest of the read model is not built.
        return [EventView.model_construct(seq=s) for s in older]


def cursor_over(fake: FakeEvents, start_after: int) -> EventCursor:
    return EventCursor(cast(SmsgridClient, fake), start_after)


def test_a_poll_pages_back_until_it_reaches_its_start() -> None:
    fake = FakeEvents(list(range(1, 2 * PAGE + 51)))  # 250 events; the cursor started after 10
    found = cursor_over(fake, 10).poll()
    assert [e.seq for e in found] == list(range(11, 2 * PAGE + 51))
    assert fake.calls == [None, 151, 51]  # pages 250..151, 150..51, then 50..1 is short


def test_events_are_shown_once_even_when_a_lower_seq_commits_late() -> None:
    fake = FakeEvents([1, 2, 4])
    cursor = cursor_over(fake, 1)
    assert [e.seq for e in cursor.poll()] == [2, 4]
    fake.seqs = [5, 4, 3, 2, 1]  # 3 committed after 4 (PostgreSQL), 5 is new
    assert [e.seq for e in cursor.poll()] == [3, 5]
    assert cursor.poll() == []


def test_a_poll_stops_after_its_page_budget() -> None:
    fake = FakeEvents(list(range(1, PAGE * (MAX_PAGES_PER_POLL + 2))))
    found = cursor_over(fake, 0).poll()
    assert len(fake.calls) == MAX_PAGES_PER_POLL
    assert len(found) == PAGE * MAX_PAGES_PER_POLL
    assert found == sorted(found, key=lambda e: e.seq)
