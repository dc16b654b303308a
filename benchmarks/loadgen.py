"""Load generators, each run as its own process so they never share a core's event loop with what they measure.

Subcommands print one JSON object on stdout:
  bare      POST the same delivery bodies straight to the receiver (the machine's ceiling)
  get       GET a URL (the trivial endpoint of the server stack)
  send      signed POST /sms (one or many recipients), closed loop or at a fixed rate (--rate) with send times
  publish   POST /api/events in ~1 MB batches
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson

from smsgrid.api.hmac_auth import authorization_header
from smsgrid.config import WELL_KNOWN_ACCESS_KEY


def event_item(i: int) -> dict[str, Any]:
    message_id = f"Outgoing_20261127000000{uuid.uuid4()}"
    return {
        "id": message_id,
        "topic": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/"
        "microsoft.communication/communicationservices/local",
        "subject": "/phonenumber/18005550100",
        "data": {
            "MessageId": message_id,
            "From": "18005550100",
            "To": "+14255550123",
            "DeliveryStatus": "Delivered",
            "DeliveryStatusDetails": "No error.",
            "ReceivedTimestamp": "2026-11-27T00:00:00.1234567Z",
            "DeliveryAttempts": [
                {"Timestamp": "2026-11-27T00:00:00.0234567Z", "SegmentsSucceeded": 1, "SegmentsFailed": 0}
            ],
            "Tag": f"bench-{i}",
        },
        "eventType": "Microsoft.Communication.SMSDeliveryReportReceived",
        "dataVersion": "1.0",
        "metadataVersion": "1",
        "eventTime": "2026-11-27T00:00:00Z",
    }


async def _closed_loop(concurrency: int, total: int, one: Any) -> float:
    remaining = total
    started = time.perf_counter()

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await one()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def bare(url: str, concurrency: int, total: int, batch: int) -> dict[str, Any]:
    bodies = [orjson.dumps([event_item(i * batch + j) for j in range(batch)]) for i in range(64)]
    headers = {"Content-Type": "application/json; charset=utf-8", "aeg-event-type": "Notification"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        counter = iter(range(10**9))

        async def one() -> None:
            body = bodies[next(counter) % len(bodies)]
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()

        elapsed = await _closed_loop(concurrency, total, one)
    return {"requests": total, "events": total * batch, "seconds": elapsed, "events_per_s": total * batch / elapsed}


async def get(url: str, concurrency: int, total: int) -> dict[str, Any]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one() -> None:
            async with session.get(url) as response:
                await response.read()

        elapsed = await _closed_loop(concurrency, total, one)
    return {"requests": total, "seconds": elapsed, "requests_per_s": total / elapsed}


def _signed(url: str, key: bytes, body: bytes) -> dict[str, str]:
    parts = urlsplit(url)
    headers = authorization_header(
        key, "POST", f"{parts.path}?{parts.query}", formatdate(usegmt=True), parts.netloc, body
    )
    headers["Content-Type"] = "application/json"
    return headers


def _send_body(recipients: int, report: bool) -> bytes:
    return orjson.dumps(
        {
            "from": "+18005550100",
            "smsRecipients": [
                # As the SDK sends them: a repeatability id without its first-sent time is refused per recipient
                # (ACS's rule, docs/api-versions.md), which left every benchmark send without a message.
                {
                    "to": f"+1425555{(i % 10000):04d}",
                    "repeatabilityRequestId": str(uuid.uuid4()),
                    "repeatabilityFirstSent": formatdate(usegmt=True),
                }
                for i in range(recipients)
            ],
            "message": "Benchmark message",
            "smsSendOptions": {"enableDeliveryReport": report},
        }
    )


async def send(
    base: str, concurrency: int, total: int, recipients: int, rate: float | None, key: bytes
) -> dict[str, Any]:
    url = f"{base}/sms?api-version=2021-03-07"
    sent: dict[str, float] = {}
    errors = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one() -> None:
            nonlocal errors
            body = _send_body(recipients, True)
            at = time.time()
            async with session.post(url, data=body, headers=_signed(url, key, body)) as response:
                payload = await response.read()
            if response.status != 202:
                errors += 1
                return
            for item in orjson.loads(payload)["value"]:
                if item.get("messageId"):
                    sent[item["messageId"]] = at
                else:
                    errors += 1  # refused for this recipient inside the 202

        if rate is None:
            elapsed = await _closed_loop(concurrency, total, one)
        else:
            started = time.perf_counter()
            tasks = []
            for i in range(total):
                delay = started + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one()))
            await asyncio.gather(*tasks)
            elapsed = time.perf_counter() - started
    return {
        "requests": total,
        "recipients": total * recipients,
        "errors": errors,
        "seconds": elapsed,
        "requests_per_s": total / elapsed,
        "recipients_per_s": total * recipients / elapsed,
        "sent": sent if rate is not None else {},
        "sent_ids": list(sent) if rate is None and total * recipients <= 50000 else [],
    }


async def publish(base: str, total: int, key: str, concurrency: int) -> dict[str, Any]:
    url = f"{base}/api/events?api-version=2018-01-01"
    # Size a batch from the largest item it can hold (tags grow with the index) and keep 1 % headroom under 1 MB.
    one_size = len(orjson.dumps(event_item(total)))
    per_batch = max(1, (1024 * 1024 * 99 // 100) // (one_size + 1))
    batches = (total + per_batch - 1) // per_batch
    done = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        time.perf_counter()
        counter = iter(range(batches))

        async def one() -> None:
            nonlocal done
            index = next(counter)
            count = min(per_batch, total - index * per_batch)
            body = orjson.dumps([event_item(index * per_batch + j) for j in range(count)])
            async with session.post(
                url, data=body, headers={"aeg-sas-key": key, "Content-Type": "application/json"}
            ) as r:
                await r.read()
                if r.status != 200:
                    raise RuntimeError(f"publish failed: {r.status}")
            done += count

        elapsed = await _closed_loop(concurrency, batches, one)
    return {"events": done, "seconds": elapsed, "events_per_s": done / elapsed, "per_batch": per_batch}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["bare", "get", "send", "publish"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--total", type=int, default=10000)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--recipients", type=int, default=1)
    parser.add_argument("--rate", type=float, default=None)
    parser.add_argument("--key", default=WELL_KNOWN_ACCESS_KEY)
    args = parser.parse_args()
    import base64

    import uvloop

    if args.mode == "bare":
        result = uvloop.run(bare(args.url, args.concurrency, args.total, args.batch))
    elif args.mode == "get":
        result = uvloop.run(get(args.url, args.concurrency, args.total))
    elif args.mode == "send":
        result = uvloop.run(
            send(args.url, args.concurrency, args.total, args.recipients, args.rate, base64.b64decode(args.key))
        )
    else:
        result = uvloop.run(publish(args.url, args.total, args.key, args.concurrency))
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
