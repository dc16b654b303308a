"""Messages of one owned number grouped the way a phone shows them: one thread per other party."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from smsgrid.ui.stats import epoch_of


@dataclass(frozen=True, slots=True)
class Conversation:
    counterpart: str
    last: dict[str, Any]  # the newest message of the thread
    count: int

    @property
    def preview(self) -> str:
        text = str(self.last.get("message") or "")
        return text if len(text) <= 80 else text[:79] + "…"


def counterpart_of(owned: str, message: dict[str, Any]) -> str:
    return str(message["to"] if message.get("from") == owned else message["from"])


def is_mine(owned: str, message: dict[str, Any]) -> bool:
    """Sent by this phone: an outgoing message from the owned number (right-hand bubble)."""
    return message.get("direction") == "outgoing" and message.get("from") == owned


def conversations(owned: str, messages: Iterable[dict[str, Any]]) -> list[Conversation]:
    """Threads newest first; `messages` may come in any order (the store gives newest first)."""
    newest: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    for message in messages:
        other = counterpart_of(owned, message)
        counts[other] = counts.get(other, 0) + 1
        current = newest.get(other)
        if current is None or _when(message) > _when(current):
            newest[other] = message
    threads = [Conversation(other, newest[other], counts[other]) for other in newest]
    threads.sort(key=lambda c: _when(c.last), reverse=True)
    return threads


def thread(owned: str, counterpart: str, messages: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages between the two numbers, oldest first, each marked `mine` for the bubble side."""
    out = [{**m, "mine": is_mine(owned, m)} for m in messages if counterpart_of(owned, m) == counterpart]
    out.sort(key=_when)
    return out


def _when(message: dict[str, Any]) -> float:
    # Not the ISO text: a whole second is written without a fraction ("…:07Z" sorts after "…:07.5Z").
    return epoch_of(message.get("createdAt")) or 0.0
