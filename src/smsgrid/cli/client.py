"""A small HTTP client for the CLI: the admin API (Bearer key) and the ACS data plane (HMAC, as the SDK signs).

Every failure becomes one of two errors the commands turn into exit codes (docs/cli.md):

    ClientError
    ├── CannotConnect      nothing answered at the URL (exit 3)
    └── ServerRefused      the server answered with an error status (exit 1), code and message from its body
        └── UnexpectedAnswer   it answered 2xx with a body that is not the admin API's model (another version)

Admin API reads come back as the store's read models (smsgrid.store.views), validated from the JSON.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Generator
from email.utils import formatdate
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from smsgrid.api.carriers import CarrierList
from smsgrid.api.hmac_auth import authorization_header
from smsgrid.store.views import (
    DeadLetterList,
    DeadLetterView,
    EventList,
    EventView,
    MessageDetail,
    MessageList,
    MessageView,
)

M = TypeVar("M", bound=BaseModel)

# The data-plane versions the official SDKs speak (SPEC §2): send is 2021-03-07; opt-outs came in 2025-09-17.
SEND_API_VERSION = "2021-03-07"
DEFAULT_TIMEOUT_SECONDS = 35.0  # a subscription PUT waits up to 30 s for the endpoint's handshake (SPEC §3)


class ClientError(Exception):
    """Root of the errors this client raises."""


class CannotConnect(ClientError):
    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        super().__init__(f"cannot reach smsgrid at {url}: {reason}. Start it with `make run` or pass --url.")


class ServerRefused(ClientError):
    """An error status; `code` and `message` come from Azure's {"error": {...}} body or RFC 9110 problem details."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"HTTP {status} {code}: {message}")


class UnexpectedAnswer(ServerRefused):
    def __init__(self, what: str, problem: ValidationError) -> None:
        first = problem.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the body"
        super().__init__(200, "UnexpectedAnswer", f"the answer is not {what} ({where}: {first['msg']}); is the server "
                         "another smsgrid version?")  # fmt: skip


def _model(model: type[M], answer: Any) -> M:
    try:
        return model.model_validate(answer)
    except ValidationError as exc:
        raise UnexpectedAnswer(model.__name__, exc) from None


class HmacAuth(httpx.Auth):
    """Signs each request the way azure-communication-sms does (SPEC §2 "HMAC")."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        date = formatdate(usegmt=True)
        path_and_query = request.url.raw_path.decode("ascii")
        headers = authorization_header(
            self.key, request.method, path_and_query, date, request.headers["host"], request.content
        )
        request.headers.update(headers)
        yield request


def decode_key(access_key: str) -> bytes:
    try:
        return base64.b64decode(access_key, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the access key is not valid base64; pass the resource's key with --key") from None


def _refusal(response: httpx.Response) -> ServerRefused:
    code, message = "HttpError", response.text.strip() or response.reason_phrase
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = str(body["error"].get("code", code))
        message = str(body["error"].get("message", message))
    elif isinstance(body, dict) and "title" in body:  # RFC 9110 problem details (delivery-report lookup)
        code = str(body.get("title"))
        message = str(body.get("detail", message))
    reason = response.headers.get("x-smsgrid-reason")
    if reason:  # a 401 for a sender the resource does not own: Azure's body is empty, smsgrid says why here
        message = reason
    elif response.status_code == 401:
        message += " Pass the resource's access key with --key or set SMSGRID_ACCESS_KEY."
    return ServerRefused(response.status_code, code, message)


class SmsgridClient:
    """One keep-alive connection to one smsgrid; use as a context manager."""

    def __init__(self, url: str, access_key: str, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.url = url.rstrip("/")
        self.access_key = access_key
        self._http = httpx.Client(base_url=self.url, timeout=timeout)
        self._admin_headers = {"Authorization": f"Bearer {access_key}"}
        self._hmac = HmacAuth(decode_key(access_key))

    def __enter__(self) -> SmsgridClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, *, signed: bool = False, **kwargs: Any) -> httpx.Response:
        try:
            if signed:
                response = self._http.request(method, path, auth=self._hmac, **kwargs)
            else:
                response = self._http.request(method, path, headers=self._admin_headers, **kwargs)
        except httpx.TimeoutException as exc:
            raise CannotConnect(self.url, f"no answer in time ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise CannotConnect(self.url, str(exc) or type(exc).__name__) from exc
        if response.status_code >= 400:
            raise _refusal(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            # A 2xx that is not JSON: --url names something other than smsgrid. A message, not a traceback.
            raise ServerRefused(
                response.status_code,
                "UnexpectedAnswer",
                f"the answer to {method} {path} is not JSON; is --url smsgrid?",
            ) from None

    # -- data plane -----------------------------------------------------------------------------------------

    def send(
        self, sender: str, recipients: list[str], message: str, *, report: bool = False, tag: str | None = None
    ) -> list[dict[str, Any]]:
        """POST /sms signed with HMAC; the per-recipient results of the 202 (SPEC §2)."""
        options: dict[str, Any] = {"enableDeliveryReport": report}
        if tag is not None:
            options["tag"] = tag
        body = {"from": sender, "smsRecipients": [{"to": to} for to in recipients], "message": message,
                "smsSendOptions": options}  # fmt: skip
        answer = self._json("POST", "/sms", params={"api-version": SEND_API_VERSION}, json=body, signed=True)
        return list(answer["value"])

    # -- admin API ------------------------------------------------------------------------------------------

    def login_url(self) -> str:
        """A one-time web UI login URL (POST /admin/login-tokens): the key itself never goes in a URL."""
        answer = self._json("POST", "/admin/login-tokens")
        return f"{self.url}{answer['path']}"

    def inbound(self, sender: str, to: str, message: str) -> str:
        answer = self._json("POST", "/admin/inbound", json={"from": sender, "to": to, "message": message})
        return str(answer["messageId"])

    def put_subscription(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self._json("PUT", f"/admin/subscriptions/{quote(name, safe='')}", json=body)
        return answer

    def list_subscriptions(self) -> list[dict[str, Any]]:
        return list(self._json("GET", "/admin/subscriptions")["value"])

    def get_subscription(self, name: str) -> dict[str, Any]:
        answer: dict[str, Any] = self._json("GET", f"/admin/subscriptions/{quote(name, safe='')}")
        return answer

    def subscription_full_url(self, name: str) -> str:
        """ARM's getFullUrl: the endpoint URL with its query and credentials."""
        return str(self._json("POST", f"/admin/subscriptions/{quote(name, safe='')}/getFullUrl")["endpointUrl"])

    def subscription_delivery_attributes(self, name: str) -> list[dict[str, Any]]:
        """ARM's getDeliveryAttributes: every mapping, secret values included."""
        return list(self._json("POST", f"/admin/subscriptions/{quote(name, safe='')}/getDeliveryAttributes")["value"])

    def delete_subscription(self, name: str) -> None:
        self._request("DELETE", f"/admin/subscriptions/{quote(name, safe='')}")

    def list_messages(self, *, limit: int, number: str | None = None) -> list[MessageView]:
        params: dict[str, Any] = {"limit": limit}
        if number:
            params["number"] = number
        return list(_model(MessageList, self._json("GET", "/admin/messages", params=params)).value)

    def get_message(self, message_id: str) -> MessageDetail:
        return _model(MessageDetail, self._json("GET", f"/admin/messages/{quote(message_id, safe='')}"))

    def list_events(self, *, limit: int, before_seq: int | None = None) -> list[EventView]:
        """Newest first (by `seq`), at most `limit`, optionally only those older than `before_seq`."""
        params: dict[str, Any] = {"limit": limit}
        if before_seq is not None:
            params["before"] = before_seq
        return list(_model(EventList, self._json("GET", "/admin/events", params=params)).value)

    def list_deadletters(self, *, limit: int, include_redelivered: bool = False) -> list[DeadLetterView]:
        params = {"limit": limit, "includeRedelivered": "true" if include_redelivered else "false"}
        return list(_model(DeadLetterList, self._json("GET", "/admin/deadletters", params=params)).value)

    def carriers(self) -> CarrierList:
        """What carries the messages and each SMPP connection's state (GET /admin/carriers)."""
        return _model(CarrierList, self._json("GET", "/admin/carriers"))

    def redeliver(self, deadletter_id: int) -> dict[str, Any]:
        answer: dict[str, Any] = self._json("POST", f"/admin/deadletters/{deadletter_id}/redeliver")
        return answer
