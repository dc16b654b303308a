"""Messages of one owned number grouped the way a phone shows them: one thread per other party."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from smsgrid.store.views import MessageView


@dataclass(frozen=True, slots=True)
class Conversation:
    counterpart: str
    last: MessageView  # the newest message of the thread
    count: int

    @property
    def preview(self) -> str:
        text = self.last.body
        return text if len(text) <= 80 else text[:79] + "…"


@dataclass(frozen=True, slots=True)
class Bubble:
    """One message of a thread; `mine` puts it on the right-hand side."""

    message: MessageView
    mine: bool


def counterpart_of(owned: str, message: MessageView) -> str:
    return message.to_number if message.from_number == owned else message.from_number


def is_mine(owned: str, message: MessageView) -> bool:
    """Sent by this phone: an outgoing message from the owned number (right-hand bubble)."""
    return message.direction == "outgoing" and message.from_number == owned


def conversations(owned: str, messages: Iterable[MessageView]) -> list[Conversation]:
    """Threads newest first; `messages` may come in any order (the store gives newest first)."""
    newest: dict[str, MessageView] = {}
    counts: dict[str, int] = {}
    for message in messages:
        other = counterpart_of(owned, message)
        counts[other] = counts.get(other, 0) + 1
        current = newest.get(other)
        if current is None or message.created_at > current.created_at:
            newest[other] = message
    threads = [Conversation(other, newest[other], counts[other]) for other in newest]
    threads.sort(key=lambda c: c.last.created_at, reverse=True)
    return threads


def thread(owned: str, counterpart: str, messages: Iterable[MessageView]) -> list[Bubble]:
    """The messages between the two numbers, oldest first."""
    out = [Bubble(m, is_mine(owned, m)) for m in messages if counterpart_of(owned, m) == counterpart]
    out.sort(key=lambda b: b.message.created_at)
    return out
