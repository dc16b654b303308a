"""What the HTTP layer may use, handed to every route module explicitly (no service locator on `app.state`).

`create_app(context)` builds the route table from one `AppContext` (see `smsgrid.api.routing`). A handler so
names, in its signature, everything it can reach.
"""

from __future__ import annotations

from dataclasses import dataclass

from smsgrid.api.carriers import SIMULATOR_ONLY, CarrierOverview
from smsgrid.api.web_auth import WebAuth
from smsgrid.changes import ChangeFeed
from smsgrid.clock import Clock
from smsgrid.config import ResourceSettings
from smsgrid.delivery.redelivery import Redelivery
from smsgrid.delivery.registry import SubscriptionRegistry
from smsgrid.delivery.subscriptions import SubscriptionService
from smsgrid.entra import EntraIssuer
from smsgrid.messaging.publishing import EventFactory, EventPublisher
from smsgrid.messaging.service import Messaging
from smsgrid.metrics import Metrics
from smsgrid.namespaces.broker import NamespaceBroker
from smsgrid.store.port import Store


@dataclass(frozen=True, slots=True)
class AppContext:
    resource: ResourceSettings  # the access key, owned numbers and names the handlers check and show
    store: Store
    clock: Clock
    metrics: Metrics
    messaging: Messaging
    subscriptions: SubscriptionService
    registry: SubscriptionRegistry  # which subscriptions are active (the UI's dead-letter page)
    redelivery: Redelivery
    namespaces: NamespaceBroker
    entra: EntraIssuer  # the same issuer (and key) that signs protected webhooks' tokens
    web_auth: WebAuth
    changes: ChangeFeed  # the UI's live stream
    events: EventFactory  # builds the events a custom-topic publish commits
    publisher: EventPublisher  # commits events, counts them and wakes their subscriptions' pumps
    carriers: CarrierOverview = SIMULATOR_ONLY  # `GET /admin/carriers` and the UI's Carriers page
