"""Azure Storage REST calls signed with Shared Key: Put Message (queues) and Put Blob (dead letters).

Written on the delivery transport (aiohttp) rather than with `azure-storage-queue`'s aio client: two requests
need no azure-core at run time, and each attempt stays an `HttpResult` that the pump classifies and retries
like a webhook answer. Signing follows "Authorize with Shared Key" (Storage REST, version 2009-09-19 and later).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from email.utils import formatdate
from urllib.parse import parse_qsl, quote, urlsplit

from smsgrid.config import StorageAccount
from smsgrid.delivery.transport import HttpResult, Transport

# Any version Azurite and Azure both serve; messagettl = -1 needs 2017-07-29 or later.
STORAGE_API_VERSION = "2021-12-02"
# The standard headers in the order the string to sign lists them.
_SIGNED_HEADERS = (
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
)


def shared_key_signature(account: str, key: str, method: str, url: str, headers: Mapping[str, str]) -> str:
    """The `Authorization: SharedKey {account}:{signature}` value for a request (Shared Key, not Lite)."""
    lowered = {name.lower(): value.strip() for name, value in headers.items()}
    standard = [lowered.get(name, "") for name in _SIGNED_HEADERS]
    if standard[2] == "0":
        standard[2] = ""  # since 2015-02-21 a zero Content-Length is signed as empty
    canonical_headers = "".join(f"{name}:{lowered[name]}\n" for name in sorted(lowered) if name.startswith("x-ms-"))
    parts = urlsplit(url)
    # Path-style URLs (Azurite's http://host:port/{account}/…) keep the account in the path, so it appears twice.
    resource = f"/{account}{parts.path or '/'}"
    query: dict[str, list[str]] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        query.setdefault(name.lower(), []).append(value)
    resource += "".join(f"\n{name}:{','.join(sorted(values))}" for name, values in sorted(query.items()))
    to_sign = "\n".join([method.upper(), *standard]) + "\n" + canonical_headers + resource
    digest = hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest()
    return f"SharedKey {account}:{base64.b64encode(digest).decode()}"


async def _signed(
    transport: Transport, account: StorageAccount, method: str, url: str, body: bytes, headers: dict[str, str]
) -> HttpResult:
    headers = {
        **headers,
        "x-ms-date": formatdate(usegmt=True),
        "x-ms-version": STORAGE_API_VERSION,
        "Content-Length": str(len(body)),
    }
    headers["Authorization"] = shared_key_signature(account.name, account.key, method, url, headers)
    # A little of the answer is kept: Storage explains a refusal in an XML error body.
    return await transport.request(method, url, body=body, headers=headers, keep_body=1024)


async def put_message(
    transport: Transport, account: StorageAccount, queue: str, text: str, ttl_seconds: int | None
) -> HttpResult:
    """Queue REST "Put Message": `POST {queue}/messages`, 201 Created on success."""
    if account.queue_endpoint is None:
        return HttpResult(None, "connect", 0.0, error_text=f"[storage_accounts.{account.name}] has no queue_endpoint")
    url = f"{account.queue_endpoint}/{quote(queue)}/messages"
    if ttl_seconds is not None:
        url += f"?messagettl={ttl_seconds}"
    # The text is base64, which needs no XML escaping.
    body = f'<?xml version="1.0" encoding="utf-8"?><QueueMessage><MessageText>{text}</MessageText></QueueMessage>'
    return await _signed(
        transport, account, "POST", url, body.encode(), {"Content-Type": "application/xml; charset=utf-8"}
    )


async def put_blob(transport: Transport, account: StorageAccount, container: str, name: str, data: bytes) -> HttpResult:
    """Blob REST "Put Blob" of a block blob: `PUT {container}/{name}`, 201 Created on success."""
    if account.blob_endpoint is None:
        return HttpResult(None, "connect", 0.0, error_text=f"[storage_accounts.{account.name}] has no blob_endpoint")
    url = f"{account.blob_endpoint}/{quote(container)}/{quote(name)}"
    return await _signed(
        transport,
        account,
        "PUT",
        url,
        data,
        {"Content-Type": "application/json", "x-ms-blob-type": "BlockBlob"},
    )
