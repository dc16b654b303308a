"""Crash loop: SIGKILL smsgrid at random moments under steady load, restart it on the same data, N times.

The promise under test (SPEC §2, §3, store port): a 202 is answered only after the message and its carrier work
are committed, and delivery is at-least-once. So after any number of crashes every send that got a 202 must
end with its SMSDeliveryReportReceived delivered to the subscribed webhook at least once. Duplicates are
allowed (a delivery made but not yet recorded when the process died is made again) and counted.

Load: raw HMAC-signed sends (1-3 recipients each) from two threads, and the official SDK over TLS from a
third (its retry policy re-sends the same repeatabilityRequestId across a restart, so repeatability is
exercised by crashes too). A send that got no 202 (connection refused or cut) is not counted as acknowledged.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from reliability.clients import (
    REPORT_EVENT,
    SENDER,
    SignedClient,
    accepted_ids,
    arrivals,
    close_sdk_client,
    handset,
    sdk_client,
    subscribe,
    tally,
    wait_until,
)
from smsgrid.testing import SmsgridProcess, WebhookSink, start_smsgrid

CONFIG = """
[carrier]
delay_ms = 20

[delivery]
timeout_seconds = 5
"""
# Leases: a delivery claim lasts timeout_seconds + 30 s, a carrier claim 30 s (engine.py, simulator.py); only
# the SQLite store releases them at start, because with SQLite one process owns the file.
CLAIM_LEASE_SECONDS = 35.0
# Shrinks every retry delay too, in case a delivery attempt is cut by a crash and retried (SPEC §4 --time-scale).
TIME_SCALE = 0.01


@dataclass
class CrashLoopFigures:
    cycles: int = 0
    sends_acknowledged: int = 0  # send requests answered 202
    messages_acknowledged: int = 0  # message ids inside those 202s
    sends_unacknowledged: int = 0  # refused or cut by a crash: the client never saw a 202
    reports_delivered: int = 0  # distinct acknowledged messages whose report reached the webhook
    lost: int = 0  # acknowledged messages whose report never arrived
    duplicates: int = 0  # report deliveries beyond the first, summed over events
    unacknowledged_but_delivered: int = 0  # reports for messages whose 202 the client never saw
    sdk_sends: int = 0
    server_errors_logged: int = 0  # ERROR lines / tracebacks in the server log
    seconds: float = 0.0
    lost_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.messages_acknowledged > 0 and self.cycles > 0

    def lines(self) -> list[str]:
        return [
            f"cycles (SIGKILL + restart)        {self.cycles}",
            f"sends acknowledged (202)          {self.sends_acknowledged} ({self.sdk_sends} by the official SDK)",
            f"messages acknowledged             {self.messages_acknowledged}",
            f"sends without a 202 (crash)       {self.sends_unacknowledged}",
            f"reports delivered                 {self.reports_delivered}",
            f"lost                              {self.lost}",
            f"duplicate deliveries              {self.duplicates} (a crash re-sends the pump's whole unrecorded claim)",
            f"delivered without a 202 seen      {self.unacknowledged_but_delivered}",
            f"server ERROR lines / tracebacks   {self.server_errors_logged}",
            f"wall time                         {self.seconds:.1f} s",
        ]


class _Ledger:
    """What the load threads got back, shared between them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acked: set[str] = set()
        self.sends_acked = 0
        self.sdk_acked = 0
        self.unacked = 0
        self.stop = threading.Event()
        self.next_handset = 0

    def handsets(self, rng: random.Random) -> list[str]:
        with self.lock:
            count = rng.randint(1, 3)
            numbers = [handset(self.next_handset + i) for i in range(count)]
            self.next_handset += count
            return numbers

    def record(self, ids: list[str], *, sdk: bool = False) -> None:
        with self.lock:
            if ids:
                self.acked.update(ids)
                self.sends_acked += 1
                self.sdk_acked += int(sdk)
            else:
                self.unacked += 1


def _raw_sender(server: SmsgridProcess, ledger: _Ledger, seed: int) -> None:
    rng = random.Random(seed)
    with SignedClient(server, timeout=5.0) as client:
        while not ledger.stop.is_set():
            try:
                response = client.send(ledger.handsets(rng), f"crash-loop {seed}")
                ledger.record(accepted_ids(response))
            except httpx.HTTPError:
                ledger.record([])
                time.sleep(0.05)  # the server is restarting
            time.sleep(rng.uniform(0.0, 0.02))


def _sdk_sender(server: SmsgridProcess, ledger: _Ledger, seed: int) -> None:
    from azure.core.exceptions import AzureError

    rng = random.Random(seed)
    client = sdk_client(server, retry_total=2)
    try:
        while not ledger.stop.is_set():
            try:
                results = client.send(
                    from_=SENDER, to=ledger.handsets(rng), message="crash-loop sdk", enable_delivery_report=True
                )
                ledger.record([r.message_id for r in results if r.successful], sdk=True)
            except AzureError:
                ledger.record([])
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 0.05))
    finally:
        close_sdk_client(client)


def count_server_errors(log: str) -> int:
    return sum(1 for line in log.splitlines() if " ERROR " in line or line.startswith("Traceback"))


def run_crash_loop(
    work_dir: Path,
    *,
    cycles: int,
    seed: int = 1,
    settle_timeout: float = 60.0,
    db_url: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> CrashLoopFigures:
    """Run `cycles` SIGKILL/restart cycles under load; then wait (bounded) for every acknowledged report.

    `db_url` (e.g. a PostgreSQL URL) replaces the default SQLite file in the data dir. With PostgreSQL, work
    claimed by the killed process is only taken again when its lease runs out (the store cannot know that no
    other process holds it), so `settle_timeout` must cover the lease (see CLAIM_LEASE_SECONDS)."""
    rng = random.Random(seed)
    figures = CrashLoopFigures()
    started = time.monotonic()
    ledger = _Ledger()
    with WebhookSink() as sink:
        extra = ("--db", db_url) if db_url else ()
        server = start_smsgrid(
            work_dir / "crash-loop", config=CONFIG, time_scale=TIME_SCALE, args=extra, throttling=False
        )
        try:
            subscribe(server, "crash-loop", sink.url)
            threads = [
                threading.Thread(target=_raw_sender, args=(server, ledger, seed * 10 + 1), daemon=True),
                threading.Thread(target=_raw_sender, args=(server, ledger, seed * 10 + 2), daemon=True),
                threading.Thread(target=_sdk_sender, args=(server, ledger, seed * 10 + 3), daemon=True),
            ]
            for thread in threads:
                thread.start()
            for cycle in range(cycles):
                # A random moment: anywhere in a send, a carrier step, a delivery or a group commit.
                time.sleep(rng.uniform(0.2, 1.2))
                server.kill()
                server.start()
                figures.cycles = cycle + 1
                if progress:
                    progress(f"cycle {cycle + 1}/{cycles}: {len(ledger.acked)} messages acknowledged so far")
            time.sleep(0.3)  # a little load on the last incarnation too
            ledger.stop.set()
            for thread in threads:
                thread.join(timeout=30)
            acked = set(ledger.acked)

            def all_reported() -> bool:
                return acked <= set(tally(arrivals(sink), REPORT_EVENT))

            wait_until(all_reported, settle_timeout, interval=0.25)
            counts = tally(arrivals(sink), REPORT_EVENT)
            figures.server_errors_logged = count_server_errors(server.log())
        finally:
            server.stop()
    lost = sorted(acked - set(counts))
    figures.sends_acknowledged = ledger.sends_acked
    figures.sdk_sends = ledger.sdk_acked
    figures.messages_acknowledged = len(acked)
    figures.sends_unacknowledged = ledger.unacked
    figures.reports_delivered = len(acked & set(counts))
    figures.lost = len(lost)
    figures.lost_ids = lost[:20]
    figures.duplicates = sum(n - 1 for n in counts.values() if n > 1)
    figures.unacknowledged_but_delivered = len(set(counts) - acked)
    figures.seconds = time.monotonic() - started
    return figures
