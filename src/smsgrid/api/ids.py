"""Database ids in paths and forms: one parser for the admin API and the web UI, so both answer 404 alike."""

from __future__ import annotations

from smsgrid.store.port import Store
from smsgrid.store.views import DeadLetterView

MAX_ID_DIGITS = 18  # below 2**63: every store's integer key, and never a 5,000-digit int() to parse


def id_number(text: str | None) -> int | None:
    """A positive database id from a path, query or form; None for anything else ("7²", "٣", 2**64, "")."""
    if not text or not (text.isascii() and text.isdigit()) or len(text) > MAX_ID_DIGITS:
        return None
    return int(text)


async def find_deadletter(store: Store, text: str) -> tuple[int, DeadLetterView] | None:
    """The dead letter a path names, with its id; None (a 404 in the API and the UI alike) for an unparsable id
    or one the store does not have."""
    deadletter_id = id_number(text)
    found = None if deadletter_id is None else await store.get_deadletter(deadletter_id)
    return None if deadletter_id is None or found is None else (deadletter_id, found)
