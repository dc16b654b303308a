"""Retention: finished messages, events, deliveries, attempts and dead letters older than `[store] retention_days`
are deleted in small batches, each its own short transaction, so the database never grows without bound and no
long transaction holds back other writers (or PostgreSQL's vacuum). Pending work is never deleted.
"""

from __future__ import annotations

import asyncio
import logging

from smsgrid.clock import Clock
from smsgrid.errors import StoreError
from smsgrid.store.port import Store

log = logging.getLogger("smsgrid.retention")

SECONDS_PER_DAY = 86_400.0
RETENTION_BATCH = 500
RETENTION_INTERVAL_SECONDS = 60.0
# Bounds one sweep: 10,000 batches of 500 is five million rows, then the next sweep goes on.
MAX_BATCHES_PER_SWEEP = 10_000


def retention_cutoff(now: float, retention_days: float) -> float:
    """Everything finished before this instant may go. Wall-clock days: --time-scale does not shrink retention."""
    return now - retention_days * SECONDS_PER_DAY


async def purge_expired(store: Store, cutoff: float, *, batch: int = RETENTION_BATCH, pause: float = 0.01) -> int:
    """Delete batch after batch until nothing older than `cutoff` is left; returns how many rows went."""
    total = 0
    for _ in range(MAX_BATCHES_PER_SWEEP):
        removed = await store.purge_finished(cutoff, batch)
        total += removed
        if removed == 0:
            break
        await asyncio.sleep(pause)  # let requests' writes in between batches
    return total


async def run_retention(
    store: Store, clock: Clock, retention_days: float, interval: float = RETENTION_INTERVAL_SECONDS
) -> None:
    """The periodic task every dispatching process runs (several at once is fine: batches skip locked rows)."""
    while True:
        try:
            removed = await purge_expired(store, retention_cutoff(clock.now(), retention_days))
            if removed:
                log.info("retention: deleted %d finished rows older than %g days", removed, retention_days)
        except asyncio.CancelledError:
            raise
        except StoreError as exc:
            log.warning("retention sweep failed (%s); trying again in %.0f s", exc, interval)
        except Exception:
            log.exception("retention sweep failed unexpectedly")
        await asyncio.sleep(interval)
