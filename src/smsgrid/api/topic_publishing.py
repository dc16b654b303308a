"""Publishing like an Event Grid custom topic: `POST /api/events?api-version=2018-01-01` (SPEC §3).

Tools that publish with `azure.eventgrid.EventGridPublisherClient` point it at `{base url}/api/events` and
authenticate with the access key (`aeg-sas-key`) or a SAS token (`aeg-sas-token`, or
`Authorization: SharedAccessSignature r=…&e=…&s=…`) as `azure.eventgrid.generate_sas` builds it. The events
are stamped with this resource's topic and go through the same subscriptions as the SMS events: routed,
committed with their deliveries (the outbox), then pushed by the delivery engine.

The decisions (is this token valid, is this body a list of Event Grid events) are pure functions; the route
only reads the request and commits.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, unquote_plus, urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from smsgrid.api.context import AppContext
from smsgrid.api.responses import MAX_BODY_BYTES, error_response, read_body
from smsgrid.api.routing import RouteSpec, bind_routes
from smsgrid.entra import EVENT_GRID_AUDIENCE
from smsgrid.errors import Problem, RequestError
from smsgrid.events.timestamps import Timestamp

PUBLISH_PATH = "/api/events"
# The Event Grid data-plane version the basic-tier SDK speaks (azure-eventgrid DEFAULT_API_VERSION).
SUPPORTED_API_VERSIONS = ("2018-01-01",)
SAS_KEY_HEADER = "aeg-sas-key"
SAS_TOKEN_HEADER = "aeg-sas-token"
SAS_AUTHORIZATION_PREFIX = "SharedAccessSignature "
# "The array can have a total size of up to 1 MB; each event in the array is limited to 1 MB" (event-schema):
# read_body answers 413 past MAX_BODY_BYTES, which bounds every event in the array as well.
PUBLISH_BODY_LIMIT = MAX_BODY_BYTES
# Listed problems per 400 answer: enough to fix a batch, short enough to read.
MAX_PROBLEMS_LISTED = 20
# Only this metadataVersion exists; a publisher may send it or leave it out (event-schema, "metadataVersion").
METADATA_VERSION = "1"
# The .NET sample in Microsoft's SAS documentation writes the expiry with the en-US culture.
_DOTNET_EXPIRY_FORMAT = "%m/%d/%Y %I:%M:%S %p"
_NOT_CLOUD_EVENTS = " CloudEvents are not accepted: this topic's input schema is the Event Grid schema."


@dataclass(frozen=True, slots=True)
class Denied:
    """Why a publish request is not authorised (answered 401)."""

    reason: str


# ----------------------------------------------------------------------------------------- authorisation


def parse_sas_expiry(text: str) -> datetime | None:
    """The `e=` value of a SAS token as an aware UTC datetime, or None when unreadable.

    `generate_sas` writes `str(datetime)` ("2026-01-01 00:00:00+00:00"); Microsoft's .NET sample writes the
    en-US form ("1/1/2026 12:00:00 AM"); a bare number is read as Unix seconds. Naive times are UTC.
    """
    text = text.strip()
    moment: datetime | None = None
    if text.replace(".", "", 1).isdigit():
        try:
            return datetime.fromtimestamp(float(text), UTC)
        except (ValueError, OverflowError, OSError):  # "²", or a year past 9999: not a readable expiry
            return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.strptime(text, _DOTNET_EXPIRY_FORMAT)
        except ValueError:
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def verify_sas_token(token: str, *, key: bytes, path: str, now: float) -> Denied | None:
    """Check a SAS token `r=<resource>&e=<expiry>&s=<signature>` (each URL-encoded) for this request.

    The signature is base64(HMAC-SHA256(key, "r=<resource>&e=<expiry>")) over the encoded text exactly as sent
    (azure.eventgrid.generate_sas). The resource must name the publish path; its host is not compared, since a
    local server is reached under many names (127.0.0.1, localhost, a container name).
    """
    token = token.strip().removeprefix(SAS_AUTHORIZATION_PREFIX).strip()
    parts: dict[str, str] = {}
    for piece in token.split("&"):
        name, sep, value = piece.partition("=")
        if sep:
            parts[name] = value
    missing = [name for name in ("r", "e", "s") if not parts.get(name)]
    if missing:
        return Denied(f"The SAS token lacks {', '.join(missing)}; build it with azure.eventgrid.generate_sas.")
    signed = f"r={parts['r']}&e={parts['e']}".encode("ascii", errors="replace")
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    if not hmac.compare_digest(expected, unquote(parts["s"]).encode("ascii", errors="replace")):
        return Denied("The SAS token signature does not match; sign it with this resource's access key.")
    expiry = parse_sas_expiry(unquote_plus(parts["e"]))
    if expiry is None:
        return Denied(f"The SAS token expiry {unquote_plus(parts['e'])!r} is not a date-time.")
    if expiry.timestamp() <= now:
        return Denied(f"The SAS token expired at {expiry.isoformat()}; generate a new one.")
    resource_path = urlsplit(unquote(parts["r"])).path.rstrip("/")
    if resource_path.casefold() != path.rstrip("/").casefold():
        return Denied(f"The SAS token is for {unquote(parts['r'])!r}, not for {path}.")
    return None


def check_publisher(headers: Mapping[str, str], *, access_key: str, path: str, now: float) -> Denied | None:
    """None when the request carries the access key or a valid SAS token for it (SPEC §3)."""
    key = headers.get(SAS_KEY_HEADER)
    if key is not None:
        if hmac.compare_digest(key.strip().encode(), access_key.encode()):
            return None
        return Denied(f"The {SAS_KEY_HEADER} header is not this resource's access key.")
    token = headers.get(SAS_TOKEN_HEADER)
    authorization = headers.get("authorization", "")
    if token is None and authorization.startswith(SAS_AUTHORIZATION_PREFIX):
        token = authorization
    if token is None:
        return Denied(
            f"Send '{SAS_KEY_HEADER}: <access key>', '{SAS_TOKEN_HEADER}: <SAS token>' or "
            "'Authorization: SharedAccessSignature r=…&e=…&s=…' (see `smsgrid connection-string` for the key)."
        )
    try:
        key_bytes = base64.b64decode(access_key)
    except (binascii.Error, ValueError):
        return Denied("This resource's access key is not base64, so no SAS token can match it.")
    return verify_sas_token(token, key=key_bytes, path=path, now=now)


# ------------------------------------------------------------------------------------------------ events


def _event_time_problem(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return "is required: the time the event happened, ISO 8601 such as 2026-01-01T00:00:00Z"
    try:
        Timestamp.parse(value)
    except ValueError:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return f"{value!r} is not an ISO 8601 date-time such as 2026-01-01T00:00:00Z"
    return None


def _required_string(event: Mapping[str, Any], key: str, path: str, what: str, problems: list[Problem]) -> None:
    value = event.get(key)
    if not isinstance(value, str) or not value:
        problems.append(Problem(f"{path}.{key}", f"is required: {what} (a non-empty string)"))


def check_event(raw: object, index: int, *, topic: str, problems: list[Problem]) -> dict[str, Any] | None:
    """One published event as the stored Event Grid item, stamped like Event Grid does; None if it has problems.

    Required: id, subject, eventType, eventTime. Optional: data, dataVersion (stamped ""), metadataVersion
    (must be "1"), topic (must be this resource's topic; stamped when absent) — Event Grid event schema.
    """
    path = f"[{index}]"
    if not isinstance(raw, Mapping):
        problems.append(Problem(path, "must be an Event Grid event object {id, subject, eventType, eventTime, data}"))
        return None
    before = len(problems)
    _required_string(raw, "id", path, "a unique id for the event", problems)
    _required_string(raw, "subject", path, "the publisher-defined path of what the event is about", problems)
    _required_string(raw, "eventType", path, "the type of the event", problems)
    if (why := _event_time_problem(raw.get("eventTime"))) is not None:
        problems.append(Problem(f"{path}.eventTime", why))
    data_version = raw.get("dataVersion", "")
    if data_version is not None and not isinstance(data_version, str):
        problems.append(Problem(f"{path}.dataVersion", f"must be a string such as '1.0', not {data_version!r}"))
    metadata_version = raw.get("metadataVersion")
    if metadata_version is not None and metadata_version != METADATA_VERSION:
        problems.append(
            Problem(f"{path}.metadataVersion", f"must be {METADATA_VERSION!r} or left out, not {metadata_version!r}")
        )
    given_topic = raw.get("topic")
    # ARM resource ids compare case-insensitively.
    if given_topic is not None and (not isinstance(given_topic, str) or given_topic.casefold() != topic.casefold()):
        problems.append(Problem(f"{path}.topic", f"must be this resource's topic {topic!r} or left out"))
    if len(problems) > before:
        return None
    return {
        "id": raw["id"],
        "topic": topic,
        "subject": raw["subject"],
        "data": raw.get("data"),
        "eventType": raw["eventType"],
        "dataVersion": data_version or "",
        "metadataVersion": METADATA_VERSION,
        "eventTime": raw["eventTime"],
    }


def check_events(body: bytes, *, topic: str) -> list[dict[str, Any]]:
    """Every event of a publish body, or one RequestError(400) listing every problem found."""
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, "BadRequest", f"The body is not valid JSON: {exc}.") from None
    if not isinstance(decoded, list):
        # Event Grid schema input is always an array, even for one event (event-schema).
        raise RequestError(400, "BadRequest", f"The body must be a JSON array of Event Grid events.{_NOT_CLOUD_EVENTS}")
    if not decoded:
        raise RequestError(400, "BadRequest", "The body is an empty array; send at least one event.")
    problems: list[Problem] = []
    items = [check_event(raw, i, topic=topic, problems=problems) for i, raw in enumerate(decoded)]
    if any(isinstance(raw, Mapping) and "specversion" in raw for raw in decoded):
        problems.append(Problem("", _NOT_CLOUD_EVENTS.strip()))
    if problems:
        listed = "; ".join(str(p) for p in problems[:MAX_PROBLEMS_LISTED])
        more = f" (and {len(problems) - MAX_PROBLEMS_LISTED} more)" if len(problems) > MAX_PROBLEMS_LISTED else ""
        raise RequestError(400, "BadRequest", f"The events cannot be published: {listed}{more}.")
    return [item for item in items if item is not None]


def check_api_version(value: str | None) -> None:
    if value is None:
        raise RequestError(
            400, "BadRequest", f"The api-version query parameter is required; use {SUPPORTED_API_VERSIONS[0]}."
        )
    if value not in SUPPORTED_API_VERSIONS:
        raise RequestError(
            400,
            "BadRequest",
            f"The api-version {value!r} is not supported; use {', '.join(SUPPORTED_API_VERSIONS)}.",
        )


# ------------------------------------------------------------------------------------------------- route


async def publish_events(ctx: AppContext, request: Request) -> Response:
    # Authorisation first, from the headers alone, so an unauthorised caller cannot make us read 1 MB.
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    sas = SAS_KEY_HEADER in request.headers or SAS_TOKEN_HEADER in request.headers
    if scheme.lower() == "bearer" and not sas:
        # EventGridPublisherClient(endpoint, TokenCredential): an Entra token for Event Grid (docs/entra.md).
        reason = await ctx.entra.check_bearer(token.strip(), EVENT_GRID_AUDIENCE)
        denied = Denied(reason) if reason is not None else None
    else:
        denied = check_publisher(
            request.headers, access_key=ctx.resource.access_key, path=request.url.path, now=time.time()
        )
    if denied is not None:
        return error_response(401, "Unauthorized", denied.reason)
    check_api_version(request.query_params.get("api-version"))
    if "cloudevents" in request.headers.get("content-type", "").lower():
        raise RequestError(400, "BadRequest", _NOT_CLOUD_EVENTS.strip())
    body = await read_body(request, PUBLISH_BODY_LIMIT)
    factory = ctx.messaging.events
    items = check_events(body, topic=factory.topic)
    now = ctx.clock.now()
    events = [factory.from_item(item, message_id=None, published_at=now) for item in items]
    await ctx.store.publish(events)
    ctx.metrics.record_published(events)
    ctx.wake_dispatcher()
    # Event Grid answers a successful publish with 200 and an empty body.
    return Response(status_code=200)


TABLE = [RouteSpec(PUBLISH_PATH, "POST", publish_events)]


def routes(ctx: AppContext) -> list[Route]:
    return bind_routes(ctx, TABLE)
