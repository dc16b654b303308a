"""Wire models of the admin API and the operations endpoints that the store's read models (`store/views.py`) do not
cover: request bodies, small answers, path and query parameters, and Azure's error body.

`/openapi.json` is generated from these (`api/operations.py` says which operation uses which). Objects allow extra
properties (pydantic's default), so adding a field stays compatible.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, RootModel
from pydantic.json_schema import SkipJsonSchema

from smsgrid.api.ids import MAX_ID_DIGITS

Omittable = SkipJsonSchema[None]
"""`str | Omittable = None`: the key may be absent, but is never null on the wire (the schema leaves null out)."""

MAX_ID = 10**MAX_ID_DIGITS - 1  # the largest id `api/ids.id_number` accepts; a longer one is a 404
MAX_SEQ = 2**63 - 1  # an event seq is a signed 64-bit database integer
MAX_PAGE = 1000


class Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


# ---- errors ----------------------------------------------------------------------------------------------------


class ErrorDetail(Wire):
    code: str
    message: str


class ErrorResponse(Wire):
    """Azure's error body."""

    error: ErrorDetail


# ---- parameters ------------------------------------------------------------------------------------------------


class SubscriptionNamePath(Wire):
    name: str = Field(description="3-64 letters, digits and hyphens.")


class MessageIdPath(Wire):
    message_id: str = Field(description="Outgoing_… or Incoming_…")


class EventIdPath(Wire):
    event_id: str = Field(description="The event id (equals the message id for SMS events).")


class DeadLetterIdPath(Wire):
    deadletter_id: int = Field(ge=1, le=MAX_ID, description="The dead letter's id.")


Limit = Annotated[int, Field(ge=1, le=MAX_PAGE, description="At most this many items, newest first.")]


class MessagesQuery(Wire):
    limit: Limit = 100
    number: str | Omittable = Field(None, description="Only messages from or to this number.")


class EventsQuery(Wire):
    limit: Limit = 100
    before: Annotated[int, Field(ge=0, le=MAX_SEQ)] | Omittable = Field(
        None, description="Only events with a smaller `seq` (paging); anything but a seq is a 400."
    )


class DeadLettersQuery(Wire):
    limit: Limit = 100
    include_redelivered: Literal["true", "false"] = Field(
        "false",
        alias="includeRedelivered",
        description="Also list dead letters already redelivered; anything but true/false is a 400.",
    )


class ValidateQuery(Wire):
    code: str


class TopicPublishQuery(Wire):
    api_version: Literal["2018-01-01"] = Field(alias="api-version", json_schema_extra={"default": "2018-01-01"})


# ---- admin bodies and answers ----------------------------------------------------------------------------------


class InboundRequest(Wire):
    from_number: str = Field(alias="from", description="The handset's number, E.164.")
    to_number: str = Field(alias="to", description="One of the resource's numbers.")
    message: str


class InboundResponse(Wire):
    message_id: str = Field(alias="messageId")


class RedeliverResponse(Wire):
    id: int
    redelivered: bool


class LoginToken(Wire):
    path: str
    expires_in_seconds: int = Field(alias="expiresInSeconds")


class Health(Wire):
    status: str
    dialect: str | Omittable = None


class PlainText(RootModel[str]):
    """A text/plain body."""


class OpenApiDocument(RootModel[dict[str, JsonValue]]):
    """An OpenAPI 3.1 document."""


class EventGridPublishBatch(RootModel[list[dict[str, JsonValue]]]):
    """Event Grid schema events, as EventGridPublisherClient sends them."""

    root: list[dict[str, JsonValue]] = Field(min_length=1)


# ---- event subscriptions (ARM EventSubscription, SPEC §4) -------------------------------------------------------

AnyObject = dict[str, JsonValue]


class EntraDestination(Wire):
    """Microsoft Entra-protected delivery (ARM WebHookEventSubscriptionDestinationProperties): both or neither."""

    azure_active_directory_tenant_id: str | Omittable = Field(
        None, alias="azureActiveDirectoryTenantId", json_schema_extra={"format": "uuid"}
    )
    azure_active_directory_application_id_or_uri: str | Omittable = Field(
        None, alias="azureActiveDirectoryApplicationIdOrUri"
    )


class SubscriptionDetails(Wire):
    """ARM EventSubscriptionProperties smsgrid keeps: echoed null when absent."""

    labels: list[str] | None = None
    expiration_time_utc: str | None = Field(None, alias="expirationTimeUtc", json_schema_extra={"format": "date-time"})


class DestinationPropertiesInput(EntraDestination):
    """WebHook: endpointUrl (required) and batching; StorageQueue: resourceId, queueName,
    queueMessageTimeToLiveInSeconds; AzureFunction: resourceId and batching (docs/destinations.md)."""

    endpoint_url: str | Omittable = Field(None, alias="endpointUrl", json_schema_extra={"format": "uri"})
    resource_id: str | Omittable = Field(None, alias="resourceId")
    queue_name: str | Omittable = Field(None, alias="queueName")
    queue_message_time_to_live_in_seconds: int | Omittable = Field(None, alias="queueMessageTimeToLiveInSeconds")
    max_events_per_batch: Annotated[int, Field(ge=1, le=5000)] | Omittable = Field(None, alias="maxEventsPerBatch")
    preferred_batch_size_in_kilobytes: Annotated[int, Field(ge=1, le=1024)] | Omittable = Field(
        None, alias="preferredBatchSizeInKilobytes"
    )
    delivery_attribute_mappings: Annotated[list[AnyObject], Field(max_length=10)] | Omittable = Field(
        None, alias="deliveryAttributeMappings"
    )


class DestinationInput(Wire):
    endpoint_type: Literal["WebHook", "StorageQueue", "AzureFunction"] = Field(alias="endpointType")
    properties: DestinationPropertiesInput


class FilterInput(Wire):
    included_event_types: list[str] | None = Field(None, alias="includedEventTypes")
    subject_begins_with: str | Omittable = Field(None, alias="subjectBeginsWith")
    subject_ends_with: str | Omittable = Field(None, alias="subjectEndsWith")
    is_subject_case_sensitive: bool | Omittable = Field(None, alias="isSubjectCaseSensitive")
    advanced_filters: Annotated[list[AnyObject], Field(max_length=25)] | Omittable = Field(
        None, alias="advancedFilters"
    )
    enable_advanced_filtering_on_arrays: bool | Omittable = Field(None, alias="enableAdvancedFilteringOnArrays")


class RetryPolicyInput(Wire):
    max_delivery_attempts: Annotated[int, Field(ge=1, le=30)] | Omittable = Field(None, alias="maxDeliveryAttempts")
    event_time_to_live_in_minutes: Annotated[int, Field(ge=1, le=1440)] | Omittable = Field(
        None, alias="eventTimeToLiveInMinutes"
    )


class StandardWebhooks(Wire):
    secret: str = Field(pattern="^whsec_")


class EventSubscriptionBody(SubscriptionDetails):
    """The Event Grid event-subscription `properties`, bare or wrapped in `{"properties": …}` (SPEC §4). The server
    checks every rule and answers 400 listing each problem."""

    properties: AnyObject | Omittable = Field(None, description="The same properties, wrapped (as ARM sends).")
    destination: DestinationInput | Omittable = None
    filter: FilterInput | Omittable = None
    event_delivery_schema: Literal["EventGridSchema", "CloudEventSchemaV1_0"] | Omittable = Field(
        None, alias="eventDeliverySchema"
    )
    retry_policy: RetryPolicyInput | Omittable = Field(None, alias="retryPolicy")
    dead_letter_destination: AnyObject | None = Field(None, alias="deadLetterDestination")
    standard_webhooks: StandardWebhooks | Omittable = Field(None, alias="standardWebhooks")


class DestinationProperties(EntraDestination):
    endpoint_url: str | None = Field(None, alias="endpointUrl")
    endpoint_base_url: str | Omittable = Field(None, alias="endpointBaseUrl")
    resource_id: str | Omittable = Field(None, alias="resourceId")
    queue_name: str | Omittable = Field(None, alias="queueName")
    queue_message_time_to_live_in_seconds: int | None = Field(None, alias="queueMessageTimeToLiveInSeconds")
    max_events_per_batch: int | Omittable = Field(None, alias="maxEventsPerBatch")
    preferred_batch_size_in_kilobytes: int | Omittable = Field(None, alias="preferredBatchSizeInKilobytes")
    delivery_attribute_mappings: list[AnyObject] | Omittable = Field(None, alias="deliveryAttributeMappings")


class Destination(Wire):
    endpoint_type: str = Field(alias="endpointType")
    properties: DestinationProperties


class RetryPolicy(Wire):
    max_delivery_attempts: int | Omittable = Field(None, alias="maxDeliveryAttempts")
    event_time_to_live_in_minutes: int | Omittable = Field(None, alias="eventTimeToLiveInMinutes")


class EventSubscriptionProperties(SubscriptionDetails):
    destination: Destination
    filter: AnyObject | Omittable = None
    event_delivery_schema: str = Field(alias="eventDeliverySchema")
    retry_policy: RetryPolicy | Omittable = Field(None, alias="retryPolicy")
    dead_letter_destination: AnyObject | None = Field(None, alias="deadLetterDestination")
    # ARM's EventSubscriptionProvisioningState; the first three show while an operation runs.
    provisioning_state: Literal["Creating", "Updating", "Deleting", "Succeeded", "AwaitingManualAction", "Failed"] = (
        Field(alias="provisioningState")
    )
    provisioning_message: str | Omittable = Field(None, alias="provisioningMessage")
    topic: str | Omittable = None


class SubscriptionHealth(Wire):
    consecutive_failures: int | Omittable = Field(None, alias="consecutiveFailures")
    on_probation: bool | Omittable = Field(None, alias="onProbation")
    probation_until: float | None = Field(None, alias="probationUntil")


class EventSubscription(Wire):
    """A subscription as read back: secrets hidden as Azure hides them (endpointUrl null)."""

    name: str
    properties: EventSubscriptionProperties
    health: SubscriptionHealth | Omittable = None


class EventSubscriptionList(Wire):
    value: list[EventSubscription]


class EventSubscriptionFullUrl(Wire):
    endpoint_url: str = Field(alias="endpointUrl")


class DeliveryAttribute(Wire):
    name: str
    type: str
    properties: AnyObject | Omittable = None


class DeliveryAttributeList(Wire):
    """Every delivery attribute mapping, secret Static values included (ARM getDeliveryAttributes)."""

    value: list[DeliveryAttribute]
