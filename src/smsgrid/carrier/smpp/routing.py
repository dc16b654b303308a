"""Which connections may carry a message, in the order to try them. Pure: the randomness is passed in.

- A connection's routes (`settings.Route`) each match a destination prefix and/or an exact sender; a
  connection with no routes carries anything. A message's candidates are the connections with a matching route.
- **Priority**: the most specific match first (the longest matching destination prefix, a sender match
  counting above any prefix), so `{ to = "+44" }` is tried before a catch-all connection, which then acts as the
  fallback.
- **Weights**: among connections of equal priority the order is drawn at random for each message, each
  connection coming first in proportion to its weight (weighted sampling without replacement). Weight 0 never
  comes first: such a connection is tried only after every weighted one (a standby).
- The caller skips candidates that cannot send now (TX not bound, paused by back-off) and fails over down the list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from smsgrid.carrier.smpp.settings import Route

# A sender match outranks any destination prefix (E.164 has at most 16 characters with the "+").
_SENDER_MATCH = 100


@dataclass(frozen=True, slots=True)
class RouteEntry:
    """One connection as routing sees it."""

    name: str
    routes: tuple[Route, ...]
    weight: int = 1


def route_specificity(route: Route, to_number: str, sender: str | None) -> int | None:
    """How specifically *route* matches (higher is more specific), or None when it does not match. A sender of
    None (not known yet: the accept-time screen) matches any sender."""
    if route.to_prefix is not None and not to_number.startswith(route.to_prefix):
        return None
    if route.sender is not None and sender is not None and route.sender != sender:
        return None
    score = len(route.to_prefix) if route.to_prefix is not None else 0
    if route.sender is not None and sender is not None:
        score += _SENDER_MATCH
    return score


def match_specificity(entry: RouteEntry, to_number: str, sender: str | None) -> int | None:
    """The best match of any of *entry*'s routes; 0 for a connection with no routes; None when none matches."""
    if not entry.routes:
        return 0
    scores = [s for route in entry.routes if (s := route_specificity(route, to_number, sender)) is not None]
    return max(scores) if scores else None


def matching(entries: Iterable[RouteEntry], to_number: str, sender: str | None = None) -> tuple[RouteEntry, ...]:
    """The connections with a route for this destination (and sender, when given), in configuration order."""
    return tuple(entry for entry in entries if match_specificity(entry, to_number, sender) is not None)


def candidates(
    entries: Sequence[RouteEntry],
    to_number: str,
    sender: str,
    random: Callable[[], float],
) -> tuple[str, ...]:
    """The names of the connections to try for a message, in order. *random* returns floats in [0, 1)."""
    ranked: list[tuple[int, float, int, str]] = []
    for position, entry in enumerate(entries):
        specificity = match_specificity(entry, to_number, sender)
        if specificity is None:
            continue
        ranked.append((specificity, _weighted_key(entry.weight, random), -position, entry.name))
    ranked.sort(reverse=True)
    return tuple(name for *_, name in ranked)


def _weighted_key(weight: int, random: Callable[[], float]) -> float:
    """Efraimidis-Spirakis: sorting by u ** (1 / w) descending draws without replacement in proportion to w."""
    if weight <= 0:
        return -1.0  # below every weighted key (those are in [0, 1))
    key: float = random() ** (1.0 / weight)
    return key
