"""Hanging and dead endpoints must not slow a healthy one (SPEC §3: "An endpoint that keeps failing must not slow
delivery to healthy endpoints").

Beside a healthy webhook, one endpoint accepts connections and never answers (`WebhookSink(hang=True)`, with
`[delivery] timeout_seconds = 2`) and one refuses connections (it passed its handshake, then its port closed).
The healthy endpoint's delivery rate with them is compared with its rate alone. The rate is a figure, not a
pass/fail test: this machine is shared, so the figure is the best of a few alternating runs of each.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from reliability.clients import (
    REPORT_EVENT,
    SignedClient,
    accepted_ids,
    arrivals,
    handset,
    subscribe,
    tally,
    wait_until,
)
from smsgrid.testing import SmsgridProcess, WebhookSink, start_smsgrid

CONFIG = """
[carrier]
delay_ms = 0

[delivery]
timeout_seconds = 2
"""
RECIPIENTS_PER_SEND = 100
# A server that has not exited this long after SIGTERM is killed and counted (see the report on shutdown).
SHUTDOWN_GRACE_SECONDS = 5.0  # the ACS maximum: one send request makes 100 delivery reports


@dataclass
class RateRun:
    events: int
    arrived: int
    seconds: float
    server_cpu_seconds: float = 0.0  # user + system CPU of the server process over its whole life

    @property
    def rate(self) -> float:
        return self.arrived / self.seconds if self.seconds > 0 else 0.0


@dataclass
class SlowEndpointFigures:
    alone: list[RateRun]
    beside_faulty: list[RateRun]
    hanging_attempts: int = 0  # attempts recorded against the hanging endpoint (TimedOut)
    dead_attempts: int = 0  # attempts recorded against the closed port (SocketError)
    unclean_shutdowns: int = 0  # servers that did not exit within SHUTDOWN_GRACE_SECONDS of SIGTERM

    @property
    def alone_rate(self) -> float:
        return max((r.rate for r in self.alone), default=0.0)

    @property
    def faulty_rate(self) -> float:
        return max((r.rate for r in self.beside_faulty), default=0.0)

    @property
    def alone_cpu(self) -> float:
        return statistics.median(r.server_cpu_seconds for r in self.alone) if self.alone else 0.0

    @property
    def faulty_cpu(self) -> float:
        return statistics.median(r.server_cpu_seconds for r in self.beside_faulty) if self.beside_faulty else 0.0

    @property
    def ratio(self) -> float:
        return self.faulty_rate / self.alone_rate if self.alone_rate else 0.0

    @property
    def all_arrived(self) -> bool:
        runs = [*self.alone, *self.beside_faulty]
        return bool(runs) and all(r.arrived == r.events for r in runs)

    @property
    def ok(self) -> bool:
        return self.all_arrived

    def lines(self) -> list[str]:
        return [
            f"healthy endpoint alone            {self.alone_rate:.0f} events/s (best of {len(self.alone)})",
            f"beside a hanging and a dead one   {self.faulty_rate:.0f} events/s (best of {len(self.beside_faulty)})",
            f"ratio (goal >= 90 %)              {self.ratio:.0%}",
            f"every run, alone                  {', '.join(f'{r.rate:.0f}' for r in self.alone)} events/s",
            f"every run, beside them            {', '.join(f'{r.rate:.0f}' for r in self.beside_faulty)} events/s",
            f"server CPU, alone / beside them   {self.alone_cpu:.1f} s / {self.faulty_cpu:.1f} s (median)",
            f"every healthy event arrived       {'yes' if self.all_arrived else 'NO'}",
            f"attempts on the hanging endpoint  {self.hanging_attempts} (timed out after 2 s each)",
            f"attempts on the dead endpoint     {self.dead_attempts} (connection refused)",
            f"SIGTERM not honoured within {SHUTDOWN_GRACE_SECONDS:.0f} s   {self.unclean_shutdowns} of "
            f"{len(self.alone) + len(self.beside_faulty)} servers",
        ]


@dataclass
class FaultyCounts:
    hanging_attempts: int = 0
    dead_attempts: int = 0
    clean_shutdown: bool = True


def measure_healthy_rate(work_dir: Path, *, events: int, with_faulty: bool) -> tuple[RateRun, FaultyCounts]:
    """Send `events` reports' worth of messages; time until the healthy endpoint has all of them."""
    sends = max(1, events // RECIPIENTS_PER_SEND)
    with WebhookSink() as healthy, WebhookSink(hang=True) as hanging, WebhookSink() as dead:
        server = start_smsgrid(work_dir, config=CONFIG, time_scale=1.0, throttling=False)
        counts = FaultyCounts()
        try:
            subscribe(server, "healthy", healthy.url)
            if with_faulty:
                subscribe(server, "hanging", hanging.url)
                subscribe(server, "dead", dead.url)
                dead.stop()  # validated, then gone: its port now refuses connections
            acked: set[str] = set()
            started = time.monotonic()
            with SignedClient(server, timeout=30.0) as client:
                for n in range(sends):
                    numbers = [handset(n * RECIPIENTS_PER_SEND + i) for i in range(RECIPIENTS_PER_SEND)]
                    acked.update(accepted_ids(client.send(numbers, "rate")))
            wait_until(lambda: acked <= set(tally(arrivals(healthy), REPORT_EVENT)), 120, 0.05)
            finished = max((a.at for a in arrivals(healthy)), default=time.time())
            # Arrival times are wall-clock; the start is monotonic: convert through "now".
            elapsed = (time.monotonic() - started) - (time.time() - finished)
            arrived = len(acked & set(tally(arrivals(healthy), REPORT_EVENT)))
            time.sleep(1.0)  # the same second of idling for both kinds of run, then read the CPU used
            cpu = process_cpu_seconds(server)
            if with_faulty:
                # An attempt on the hanging endpoint is counted when it times out (2 s): wait for the first.
                def faulty_tried() -> bool:
                    with server.admin() as admin:
                        metrics = admin.get("/metrics").text
                    counts.hanging_attempts = _metric_sum(metrics, "hanging")
                    counts.dead_attempts = _metric_sum(metrics, "dead")
                    return counts.hanging_attempts > 0 and counts.dead_attempts > 0

                wait_until(faulty_tried, 15, 0.2)
        finally:
            counts.clean_shutdown = _stop(server)
    return RateRun(len(acked), arrived, elapsed, cpu), counts


def process_cpu_seconds(server: SmsgridProcess) -> float:
    """utime + stime of the server process (Linux /proc; 0.0 elsewhere)."""
    assert server.proc is not None
    try:
        fields = Path(f"/proc/{server.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stop(server: SmsgridProcess) -> bool:
    """SIGTERM, then SIGKILL after the grace period; True when the server exited by itself."""
    assert server.proc is not None
    server.proc.send_signal(signal.SIGTERM)
    try:
        server.proc.wait(timeout=SHUTDOWN_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        server.kill()
        return False
    return True


def _metric_sum(metrics: str, subscription: str) -> int:
    """Delivery attempts of one subscription, every outcome, from the Prometheus text."""
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith("smsgrid_delivery_attempts_total{") and f'subscription="{subscription}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def run_slow_endpoints(work_dir: Path, *, events: int = 500, repeats: int = 2) -> SlowEndpointFigures:
    figures = SlowEndpointFigures(alone=[], beside_faulty=[])
    for n in range(repeats):
        alone, alone_counts = measure_healthy_rate(work_dir / f"alone-{n}", events=events, with_faulty=False)
        figures.alone.append(alone)
        faulty, counts = measure_healthy_rate(work_dir / f"faulty-{n}", events=events, with_faulty=True)
        figures.beside_faulty.append(faulty)
        figures.hanging_attempts += counts.hanging_attempts
        figures.dead_attempts += counts.dead_attempts
        figures.unclean_shutdowns += (not alone_counts.clean_shutdown) + (not counts.clean_shutdown)
    return figures
