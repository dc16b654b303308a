"""The subscriptions this process knows, and which of them an event goes to.

Routing runs for every event committed, so it only walks compiled filters in memory. Only subscriptions whose
handshake succeeded receive events (SPEC §3: nothing is delivered to an unvalidated endpoint).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from smsgrid.delivery.filters import EventMemo, matches
from smsgrid.delivery.subscription_spec import SubscriptionSpec

SUCCEEDED = "Succeeded"
AWAITING_MANUAL_ACTION = "AwaitingManualAction"
FAILED = "Failed"


@dataclass(frozen=True, slots=True)
class KnownSubscription:
    spec: SubscriptionSpec
    provisioning_state: str


class SubscriptionRegistry:
    def __init__(self) -> None:
        self._known: dict[str, KnownSubscription] = {}
        self._active: tuple[SubscriptionSpec, ...] = ()

    def set(self, spec: SubscriptionSpec, provisioning_state: str) -> None:
        self._known[spec.name] = KnownSubscription(spec, provisioning_state)
        self._refresh()

    def remove(self, name: str) -> None:
        self._known.pop(name, None)
        self._refresh()

    def get(self, name: str) -> KnownSubscription | None:
        return self._known.get(name)

    def active(self) -> tuple[SubscriptionSpec, ...]:
        return self._active

    def active_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self._active)

    def route(self, item: Mapping[str, Any]) -> tuple[str, ...]:
        memo = EventMemo()  # one per event, shared by every subscription (filters.EventMemo)
        return tuple(spec.name for spec in self._active if matches(spec.filter, item, memo))

    def _refresh(self) -> None:
        self._active = tuple(k.spec for k in self._known.values() if k.provisioning_state == SUCCEEDED)
