"""Wire models of namespace topics (Event Grid namespaces data plane, and smsgrid's ARM-like admin API for them).

`/openapi.json` is generated from these (`api/namespaces_openapi.py` says which operation uses which). Objects allow
extra properties, as Azure's do.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, RootModel

from smsgrid.api.models import Omittable
from smsgrid.api.namespaces import API_VERSIONS, MAX_EVENTS_RANGE, MAX_LOCK_TOKENS, MAX_WAIT_RANGE
from smsgrid.namespaces.queue import RELEASE_DELAYS

AnyObject = dict[str, JsonValue]
Version = Literal[API_VERSIONS]  # type: ignore[valid-type]
ReleaseDelay = Literal[RELEASE_DELAYS]  # type: ignore[valid-type]


class Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class TopicPath(Wire):
    topic: str


class SubscriptionPath(Wire):
    topic: str
    name: str


class VersionQuery(Wire):
    api_version: Version = Field(alias="api-version")


class ReceiveQuery(VersionQuery):
    max_events: Annotated[int, Field(ge=MAX_EVENTS_RANGE[0], le=MAX_EVENTS_RANGE[1])] | Omittable = Field(
        None, alias="maxEvents"
    )
    max_wait_time: Annotated[int, Field(ge=MAX_WAIT_RANGE[0], le=MAX_WAIT_RANGE[1])] | Omittable = Field(
        None, alias="maxWaitTime", description="Seconds to wait for a first event."
    )


class ReleaseQuery(VersionQuery):
    release_delay_in_seconds: ReleaseDelay | Omittable = Field(None, alias="releaseDelayInSeconds")


class CloudEvent(RootModel[AnyObject]):
    """One CloudEvent 1.0 in its JSON format."""


class CloudEventBatch(RootModel[list[AnyObject]]):
    """CloudEvents 1.0 in the JSON batch format."""


class PublishResult(Wire):
    """An empty object."""


class LockTokens(Wire):
    lock_tokens: list[str] = Field(alias="lockTokens", min_length=1, max_length=MAX_LOCK_TOKENS)


class TokenError(Wire):
    code: str | Omittable = None
    message: str | Omittable = None


class FailedLockToken(Wire):
    lock_token: str = Field(alias="lockToken")
    error: TokenError


class LockTokenResult(Wire):
    """Which lock tokens the action took, and why each other one failed."""

    failed_lock_tokens: list[FailedLockToken] = Field(alias="failedLockTokens")
    succeeded_lock_tokens: list[str] = Field(alias="succeededLockTokens")


class BrokerProperties(Wire):
    lock_token: str | Omittable = Field(None, alias="lockToken")
    delivery_count: int | Omittable = Field(None, alias="deliveryCount")


class ReceivedEvent(Wire):
    broker_properties: BrokerProperties = Field(alias="brokerProperties")
    event: AnyObject


class ReceiveResult(Wire):
    value: list[ReceivedEvent]


class ArmResource(Wire):
    """An ARM resource as read back (a namespace topic or its event subscription)."""

    id: str | Omittable = None
    name: str | Omittable = None
    type: str | Omittable = None
    properties: AnyObject | Omittable = None


class NamespaceTopic(ArmResource):
    """A namespace topic (ARM Microsoft.EventGrid/namespaces/topics; docs/namespace-topics.md)."""


class NamespaceEventSubscription(ArmResource):
    """An event subscription of a namespace topic (deliveryMode Queue)."""


class NamespaceTopicList(Wire):
    value: list[NamespaceTopic]


class NamespaceEventSubscriptionList(Wire):
    value: list[NamespaceEventSubscription]


class ArmBody(RootModel[AnyObject]):
    """The ARM body: `{"properties": {…}}` (docs/namespace-topics.md)."""


class NamespaceDeadLetter(Wire):
    event: AnyObject
    dead_letter_reason: str | Omittable = Field(None, alias="deadLetterReason")
    delivery_count: int | Omittable = Field(None, alias="deliveryCount")


class NamespaceDeadLetterList(Wire):
    value: list[NamespaceDeadLetter]
