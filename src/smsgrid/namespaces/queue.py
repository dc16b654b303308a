"""One namespace-topic event subscription's queue: the lock, redelivery and dead-letter decisions of pull delivery.

Pure and synchronous: every operation takes `now` (seconds) and the durations are already scaled, so the unit
tests drive it with plain numbers. Semantics from Learn "Event Grid namespaces: subscriber operations" and the
data-plane swagger (Azure/azure-rest-api-specs, eventgrid/data-plane/Microsoft.EventGrid/stable/2024-06-01):

- `receive` hands out available events, each under a new lock token, and counts the delivery;
- `acknowledge` deletes, `release` makes available again (after a delay), `reject` dead-letters or drops,
  `renewLock` extends the lock — each per token, answering which tokens succeeded and which failed;
- a lock that expires makes its event available again and its token useless ("TokenLost");
- an event released or whose lock expires after `maxDeliveryCount` deliveries is dead-lettered (or dropped when
  the subscription has no dead-letter destination), and so is one past its `eventTimeToLive`.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The only delays `:release` accepts (swagger `ReleaseDelay`: 0, 10, 60, 600, 3600 seconds).
RELEASE_DELAYS = (0, 10, 60, 600, 3600)
# A lock token is base64 of this many random bytes (Azure's are opaque base64 strings too).
TOKEN_BYTES = 18
# Learn "subscriber operations": a lock can be renewed until one hour after the event was first received.
MAX_LOCK_RENEWAL_SECONDS = 3600.0

# How many settled seqs a queue remembers (SubscriptionQueue.knows).
MAX_GONE_REMEMBERED = 100_000

TOKEN_LOST = "TokenLost"
BAD_TOKEN = "BadToken"


def new_lock_token() -> str:
    return base64.b64encode(secrets.token_bytes(TOKEN_BYTES)).decode()


def is_well_formed_token(token: str) -> bool:
    try:
        return len(base64.b64decode(token, validate=True)) == TOKEN_BYTES
    except (binascii.Error, ValueError):
        return False


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    """The subscription's `deliveryConfiguration.queue`, durations in (scaled) seconds."""

    lock_seconds: float = 60.0
    max_delivery_count: int = 10
    time_to_live_seconds: float = 86400.0
    dead_letter: bool = False


@dataclass(slots=True)
class Entry:
    seq: int
    event: Mapping[str, Any]
    expires_at: float
    available_at: float
    delivery_count: int = 0
    lock_token: str | None = None
    locked_until: float = 0.0
    first_received_at: float | None = None


@dataclass(frozen=True, slots=True)
class Received:
    lock_token: str
    delivery_count: int
    event: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class FailedToken:
    lock_token: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class TokenResult:
    succeeded: tuple[str, ...]
    failed: tuple[FailedToken, ...]


@dataclass(frozen=True, slots=True)
class DeadLettered:
    seq: int
    event: Mapping[str, Any]
    reason: str
    delivery_count: int
    at: float


@dataclass
class SubscriptionQueue:
    policy: QueuePolicy
    token_factory: Callable[[], str] = new_lock_token
    seq_factory: Callable[[float], int] = lambda _now: 0  # plain counting unless the broker says otherwise
    _entries: dict[int, Entry] = field(default_factory=dict)
    _by_token: dict[str, Entry] = field(default_factory=dict)
    _next_seq: int = 0
    # Events dead-lettered (kept only when the policy says so); the broker drains them.
    dead_letters: list[DeadLettered] = field(default_factory=list)
    # What changed since the last take_changes (the broker writes it to the store): entries to save, seqs gone.
    _changed: set[int] = field(default_factory=set)
    _removed: set[int] = field(default_factory=set)
    # Recently settled seqs (an ordered set, bounded): a store read racing their delete must not bring them back.
    _gone: dict[int, None] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._entries)

    def enqueue(self, event: Mapping[str, Any], now: float) -> None:
        # A sequence number no other process picks for the same queue (PostgreSQL scale-out: a worker routes
        # delivery reports into the store beside the API process): the microsecond with random low bits, and
        # always past this queue's last one so that order of arrival holds here.
        seq = max(self._next_seq, self.seq_factory(now))
        entry = Entry(seq, event, expires_at=now + self.policy.time_to_live_seconds, available_at=now)
        self._entries[entry.seq] = entry
        self._changed.add(entry.seq)
        self._next_seq = seq + 1

    def restore(self, entries: Iterable[Entry]) -> None:
        """Put back entries read from the store (after a restart); their locks and tokens stay valid."""
        for entry in entries:
            self._entries[entry.seq] = entry
            if entry.lock_token is not None:
                self._by_token[entry.lock_token] = entry
            self._next_seq = max(self._next_seq, entry.seq + 1)

    def knows(self, seq: int) -> bool:
        """Whether this queue holds the event, or held it lately (settled, dead-lettered or dropped)."""
        return seq in self._entries or seq in self._gone

    def take_changes(self) -> tuple[list[Entry], list[int]]:
        changed = [self._entries[seq] for seq in sorted(self._changed) if seq in self._entries]
        removed = sorted(self._removed)
        self._changed.clear()
        self._removed.clear()
        return changed, removed

    def _remove(self, entry: Entry) -> None:
        self._entries.pop(entry.seq, None)
        self._changed.discard(entry.seq)
        self._removed.add(entry.seq)
        self._gone[entry.seq] = None
        if len(self._gone) > MAX_GONE_REMEMBERED:
            del self._gone[next(iter(self._gone))]
        if entry.lock_token is not None:
            self._by_token.pop(entry.lock_token, None)
            entry.lock_token = None

    def _dead_letter(self, entry: Entry, reason: str, now: float) -> None:
        self._remove(entry)
        if self.policy.dead_letter:
            self.dead_letters.append(DeadLettered(entry.seq, entry.event, reason, entry.delivery_count, now))

    def _unlock(self, entry: Entry, now: float, available_at: float) -> None:
        """The event leaves its lock: available again, or dead-lettered when out of deliveries."""
        if entry.lock_token is not None:
            self._by_token.pop(entry.lock_token, None)
            entry.lock_token = None
        if entry.delivery_count >= self.policy.max_delivery_count:
            self._dead_letter(entry, "MaxDeliveryCountExceeded", now)
        else:
            entry.available_at = available_at
            self._changed.add(entry.seq)

    def sweep(self, now: float) -> None:
        """Apply what time decided: expired locks end, events past their time to live leave."""
        for entry in list(self._entries.values()):
            if entry.expires_at <= now:
                self._dead_letter(entry, "TimeToLiveExceeded", now)
            elif entry.lock_token is not None and entry.locked_until <= now:
                self._unlock(entry, now, available_at=now)

    def available(self, now: float) -> int:
        self.sweep(now)
        return sum(1 for e in self._entries.values() if e.lock_token is None and e.available_at <= now)

    def next_change(self, now: float) -> float | None:
        """When the next event becomes available or a lock or time to live ends (None: nothing pending)."""
        times = [e.expires_at for e in self._entries.values()]
        times += [e.locked_until if e.lock_token is not None else e.available_at for e in self._entries.values()]
        future = [t for t in times if t > now]
        return min(future) if future else None

    def receive(self, now: float, max_events: int) -> list[Received]:
        self.sweep(now)
        ready = sorted(
            (e for e in self._entries.values() if e.lock_token is None and e.available_at <= now),
            key=lambda e: (e.available_at, e.seq),
        )
        out: list[Received] = []
        for entry in ready[:max_events]:
            token = self.token_factory()
            entry.lock_token = token
            entry.locked_until = now + self.policy.lock_seconds
            entry.delivery_count += 1
            if entry.first_received_at is None:
                entry.first_received_at = now
            self._by_token[token] = entry
            self._changed.add(entry.seq)
            out.append(Received(token, entry.delivery_count, entry.event))
        return out

    def _locked(self, tokens: Iterable[str], now: float) -> tuple[list[Entry], list[str], list[FailedToken]]:
        self.sweep(now)
        entries: list[Entry] = []
        ok: list[str] = []
        failed: list[FailedToken] = []
        for token in tokens:
            entry = self._by_token.get(token)
            if entry is not None:
                entries.append(entry)
                ok.append(token)
            elif not is_well_formed_token(token):
                failed.append(FailedToken(token, BAD_TOKEN, "The lock token is malformed."))
            else:
                failed.append(FailedToken(token, TOKEN_LOST, "Token has expired."))
        return entries, ok, failed

    def acknowledge(self, tokens: Iterable[str], now: float) -> TokenResult:
        entries, ok, failed = self._locked(tokens, now)
        for entry in entries:
            self._remove(entry)
        return TokenResult(tuple(ok), tuple(failed))

    def release(self, tokens: Iterable[str], now: float, delay_seconds: float = 0.0) -> TokenResult:
        entries, ok, failed = self._locked(tokens, now)
        for entry in entries:
            self._unlock(entry, now, available_at=now + delay_seconds)
        return TokenResult(tuple(ok), tuple(failed))

    def reject(self, tokens: Iterable[str], now: float) -> TokenResult:
        entries, ok, failed = self._locked(tokens, now)
        for entry in entries:
            self._dead_letter(entry, "Rejected", now)
        return TokenResult(tuple(ok), tuple(failed))

    def renew_locks(self, tokens: Iterable[str], now: float, renewal_limit: float) -> TokenResult:
        """Extend each lock by the lock duration from now, while within `renewal_limit` of the first receive."""
        entries, ok, failed = self._locked(tokens, now)
        renewed: list[str] = []
        for entry, token in zip(entries, ok, strict=True):
            first = entry.first_received_at if entry.first_received_at is not None else now
            if now - first >= renewal_limit:
                failed.append(FailedToken(token, TOKEN_LOST, "The lock cannot be renewed any more."))
                continue
            entry.locked_until = now + self.policy.lock_seconds
            self._changed.add(entry.seq)
            renewed.append(token)
        return TokenResult(tuple(renewed), tuple(failed))
