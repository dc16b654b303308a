"""Dead letters as Azure writes them to blob storage: `{container}/{SUB-NAME-UPPER}/{YYYY}/{M}/{D}/{H}/{guid}.json`.

Written under `<data dir>/deadletters/` before the store records the dead-letter, so a crash between the two
can duplicate a file but never lose one.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from smsgrid.delivery.subscription_spec import EventDeliverySchema
from smsgrid.events.render import event_grid_item_to_cloud_event
from smsgrid.events.timestamps import Timestamp


def dead_letter_document(
    item: dict[str, Any],
    *,
    schema: EventDeliverySchema,
    reason: str,
    attempts: int,
    last_outcome: str | None,
    last_status: int | None,
    publish_time: float,
    last_attempt_time: float | None,
) -> dict[str, Any]:
    """The event as delivered plus Event Grid's dead-letter fields (lower-case names for CloudEvents)."""
    fields = {
        "deadLetterReason": reason,
        "deliveryAttempts": attempts,
        "lastDeliveryOutcome": last_outcome,
        "lastHttpStatusCode": last_status,
        "publishTime": Timestamp.from_epoch_seconds(publish_time).format(),
        "lastDeliveryAttemptTime": Timestamp.from_epoch_seconds(last_attempt_time).format()
        if last_attempt_time is not None
        else None,
    }
    if schema is EventDeliverySchema.CLOUD_EVENTS_V1_0:
        return {**event_grid_item_to_cloud_event(item), **{k.lower(): v for k, v in fields.items()}}
    return {**item, **fields}


def blob_name(subscription: str, at: float) -> str:
    """`{SUB-NAME-UPPER}/{YYYY}/{M}/{D}/{H}/{guid}.json`, the name Event Grid gives a dead-letter blob."""
    moment = datetime.fromtimestamp(at, UTC)
    return f"{subscription.upper()}/{moment.year}/{moment.month}/{moment.day}/{moment.hour}/{uuid.uuid4()}.json"


def blob_path(root: Path, container: str, subscription: str, at: float) -> Path:
    return root / container / blob_name(subscription, at)


def write_blob(path: Path, documents: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # 0600 from creation: dead letters hold message texts and numbers (SECURITY.md).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(orjson.dumps(documents))
    tmp.replace(path)
