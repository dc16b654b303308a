"""Run every benchmark in one go and print a table of figures and ratios; write JSON to benchmarks/results/.

    .venv/bin/python -m benchmarks.run            # full run (about 10 minutes on 2 cores)
    .venv/bin/python -m benchmarks.run --quick    # smaller counts, a couple of minutes
    .venv/bin/python -m benchmarks.run --only kannel   # smsgrid vs Kannel, whole path (benchmarks/versus_kannel.py)
    .venv/bin/python -m benchmarks.run --only smpp     # SMPP: SMSC ceiling, Kannel and smsgrid (benchmarks/smpp.py)

Every ratio divides two rates measured in this run on this machine (see BENCHMARKS.md for the method).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from smsgrid.testing.process import SmsgridProcess, free_port

ROOT = Path(__file__).resolve().parent
PY = sys.executable


@dataclass
class Receiver:
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    def stats(self, extra: str = "") -> dict[str, Any]:
        return httpx.get(f"http://127.0.0.1:{self.port}/stats{extra}", timeout=30).json()  # type: ignore[no-any-return]

    def control(self, **command: Any) -> None:
        httpx.post(f"http://127.0.0.1:{self.port}/control", json=command, timeout=10)


@contextmanager
def receiver() -> Iterator[Receiver]:
    port = free_port()
    proc = subprocess.Popen([PY, "-m", "benchmarks.receiver", "--port", str(port)], cwd=ROOT.parent)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/stats", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield Receiver(port, proc)
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def server(config: str = "", args: tuple[str, ...] = (), data_dir: Path | None = None) -> Iterator[SmsgridProcess]:
    own = data_dir is None
    folder = data_dir or Path(tempfile.mkdtemp(prefix="smsgrid-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bench.toml").write_text(config)
    # Throttling off: the benchmark measures the engine, far over ACS's 200 messages a minute per number.
    process = SmsgridProcess(
        data_dir=folder,
        port=free_port(),
        tls_port=0,
        args=("--config", str(folder / "bench.toml"), *args),
        env={"SMSGRID_THROTTLING": "off"},
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()
        if own:
            shutil.rmtree(folder, ignore_errors=True)


def loadgen(*args: str) -> dict[str, Any]:
    out = subprocess.run([PY, "-m", "benchmarks.loadgen", *args], cwd=ROOT.parent, capture_output=True, check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def subscribe(process: SmsgridProcess, name: str, url: str, **destination: Any) -> None:
    body = {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": url, **destination}}}
    with process.admin() as admin:
        admin.put(f"/admin/subscriptions/{name}", json=body).raise_for_status()


def wait_events(rx: Receiver, expected: int, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    stats = rx.stats()
    while stats["events"] < expected and time.monotonic() < deadline:
        time.sleep(0.1)
        stats = rx.stats()
    return stats


CONCURRENCY = 32
ROUNDS = 3


def bench_bare(rx: Receiver, total: int) -> float:
    return float(
        loadgen("bare", "--url", rx.url, "--concurrency", str(CONCURRENCY), "--total", str(total))["events_per_s"]
    )


def bench_delivery(rx: Receiver, events: int, batch: int, subscriptions: int = 1) -> dict[str, Any]:
    """Queue `events` with an API-only process, then time a dispatching process draining them.

    Publishing and delivering in one process at once would measure both at the same time (they share the core and
    the writer); a queued backlog measures delivery alone, the same way for every variant.
    """
    rx.control(reset=True, status=200)
    folder = Path(tempfile.mkdtemp(prefix="smsgrid-delivery-"))
    try:
        with server(data_dir=folder, args=("--no-dispatch",)) as api:
            for i in range(subscriptions):
                props: dict[str, Any] = {"maxEventsPerBatch": batch} if batch > 1 else {}
                subscribe(api, f"bench-{i}", rx.url, **props)
            loadgen("publish", "--url", api.base_url, "--total", str(events), "--concurrency", "2")
        with server(data_dir=folder):
            stats = wait_events(rx, events * subscriptions, timeout=600)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    span = max(1e-9, stats["last_at"] - stats["first_at"])
    return {
        "events": stats["events"],
        "requests": stats["requests"],
        "seconds": span,
        "events_per_s": stats["events"] / span,
    }


def bench_send_api(total: int) -> dict[str, Any]:
    with server("[carrier]\ndelay_ms = 3600000\n") as process:
        trivial = loadgen(
            "get", "--url", f"{process.base_url}/healthz", "--concurrency", str(CONCURRENCY), "--total", str(total)
        )
        one = loadgen("send", "--url", process.base_url, "--concurrency", str(CONCURRENCY), "--total", str(total))
        many = loadgen(
            "send",
            "--url",
            process.base_url,
            "--concurrency",
            "8",
            "--recipients",
            "100",
            "--total",
            str(max(20, total // 50)),
        )
    return {
        "trivial_requests_per_s": trivial["requests_per_s"],
        "send_requests_per_s": one["requests_per_s"],
        "send_errors": one["errors"],
        "hundred_recipients_per_s": many["recipients_per_s"],
        "ratio": one["requests_per_s"] / trivial["requests_per_s"],
    }


def bench_end_to_end(rx: Receiver, total: int, latency_sends: int) -> dict[str, Any]:
    config = "[carrier]\ndelay_ms = 0\n"
    rx.control(reset=True, status=200, track=True)
    with server(config) as process:
        subscribe(process, "e2e", rx.url)
        loadgen("send", "--url", process.base_url, "--concurrency", str(CONCURRENCY), "--total", str(total))
        stats = wait_events(rx, total, timeout=300)
        span = max(1e-9, stats["last_at"] - stats["first_at"])
        throughput = stats["events"] / span
        rx.control(reset=True, track=True)
        sent = loadgen("send", "--url", process.base_url, "--rate", "200", "--total", str(latency_sends))["sent"]
        wait_events(rx, latency_sends, timeout=120)
        arrivals = rx.stats("?arrivals")["arrivals"]
    rx.control(track=False)
    latencies = sorted((arrivals[m] - t) * 1000 for m, t in sent.items() if m in arrivals)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 2 else [float("nan")] * 99
    return {
        "reports": stats["events"],
        "reports_per_s": throughput,
        "latency_samples": len(latencies),
        "lost": len(sent) - len(latencies),
        "p50_ms": q[49],
        "p95_ms": q[94],
        "p99_ms": q[98],
    }


def bench_backlog(rx: Receiver, events: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="smsgrid-backlog-"))
    try:
        rx.control(reset=True, status=200)
        with server(data_dir=folder, args=("--no-dispatch",)) as api:
            subscribe(api, "backlog", rx.url, maxEventsPerBatch=100)
            published = loadgen("publish", "--url", api.base_url, "--total", str(events), "--concurrency", "2")
        db_size = sum(p.stat().st_size for p in folder.glob("smsgrid.db*"))
        with server(data_dir=folder) as process:
            assert process.proc is not None
            peak_rss = 0
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline:
                peak_rss = max(peak_rss, _rss_kb(process.proc.pid))
                if rx.stats()["events"] >= events:
                    break
                time.sleep(0.5)
            timeline = rx.stats("?timeline")["timeline"]
        first = _rate_between(timeline, 0.0, 0.1, events)
        last = _rate_between(timeline, 0.9, 1.0, events)
        return {
            "events": events,
            "publish_events_per_s": published["events_per_s"],
            "store_bytes_per_event": db_size / events,
            "drain_first_10pct_per_s": first,
            "drain_last_10pct_per_s": last,
            "drain_ratio": last / first if first else float("nan"),
            "peak_rss_mb": peak_rss / 1024,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _rate_between(timeline: list[list[float]], low: float, high: float, total: int) -> float:
    points = [(t, n) for t, n in timeline if low * total <= n <= high * total]
    if len(points) < 2:
        return float("nan")
    (t0, n0), (t1, n1) = points[0], points[-1]
    return (n1 - n0) / max(1e-9, t1 - t0)


def bench_startup(runs: int) -> dict[str, Any]:
    times = []
    for _ in range(runs):
        folder = Path(tempfile.mkdtemp(prefix="smsgrid-start-"))
        process = SmsgridProcess(data_dir=folder, port=free_port(), tls_port=free_port())
        started = time.perf_counter()
        process.start()
        times.append(time.perf_counter() - started)
        process.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return {"runs": runs, "median_s": statistics.median(times), "max_s": max(times)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller counts (a couple of minutes)")
    parser.add_argument(
        "--only", default="", help="comma-separated: delivery,batched,fanout,send,e2e,backlog,startup,kannel,smpp"
    )
    parser.add_argument("--backlog-events", type=int, default=None)
    args = parser.parse_args()
    quick = args.quick
    only = set(filter(None, args.only.split(",")))

    def want(name: str) -> bool:
        return not only or name in only

    if "kannel" in only:
        # Only when named (it needs Debian's kannel and wrk); its own sink, table and JSON file.
        from benchmarks import versus_kannel

        versus_kannel.write(versus_kannel.run(quick))
        only.discard("kannel")
        if not only:
            return
    n = 5000 if quick else 20000
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}, "quick": quick}
    with receiver() as rx:
        bare = bench_bare(rx, n)
        results["bare_ceiling_events_per_s"] = bare
        if want("delivery") or want("batched") or want("fanout"):
            # The headline ratio: bare and smsgrid measured alternately, three rounds, median of each (noisy machine).
            bares, singles = [bare], []
            for round_no in range(ROUNDS):
                singles.append(bench_delivery(rx, n, batch=1))
                if round_no < ROUNDS - 1:
                    bares.append(bench_bare(rx, n))
            bare = statistics.median(bares)
            results["bare_ceiling_events_per_s"] = bare
            results["bare_rounds"] = bares
            single = sorted(singles, key=lambda r: r["events_per_s"])[len(singles) // 2]
            results["delivery_single"] = {
                **single,
                "rounds": [r["events_per_s"] for r in singles],
                "ratio_to_bare": single["events_per_s"] / bare,
            }
            if want("batched"):
                batched = bench_delivery(rx, n * 5, batch=100)
                results["delivery_batched"] = {
                    **batched,
                    "ratio_to_single": batched["events_per_s"] / single["events_per_s"],
                }
            if want("fanout"):
                fan = bench_delivery(rx, n // 5, batch=1, subscriptions=10)
                results["fanout_10"] = {**fan, "ratio_to_single": fan["events_per_s"] / single["events_per_s"]}
        if want("send"):
            results["send_api"] = bench_send_api(n // 2)
        if want("e2e"):
            e2e = bench_end_to_end(rx, n // 2, 1000 if quick else 3000)
            results["end_to_end"] = {**e2e, "ratio_to_bare": e2e["reports_per_s"] / bare}
        if want("backlog"):
            count = args.backlog_events or (50_000 if quick else 1_000_000)
            results["backlog"] = bench_backlog(rx, count)
        if "smpp" in only:
            # Only when named, like kannel (it needs Debian's libnet-smpp-perl and kannel).
            from benchmarks import smpp  # it imports this module's helpers: imported here, not at the top

            results["smpp"] = smpp.run(rx, quick)
    if want("startup"):
        results["startup"] = bench_startup(5)
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    path = out / f"run-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    _print_table(results)
    print(f"\nresults written to {path}")


def _print_table(r: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="smsgrid benchmarks (ratios measured in this run)")
    for column in ("what", "figure", "ratio", "target"):
        table.add_column(column)

    def row(what: str, figure: str, ratio: str = "", target: str = "") -> None:
        table.add_row(what, figure, ratio, target)

    row("bare client → receiver", f"{r['bare_ceiling_events_per_s']:,.0f} ev/s")
    if "delivery_single" in r:
        d = r["delivery_single"]
        row("delivery, 1 event/request", f"{d['events_per_s']:,.0f} ev/s", f"{d['ratio_to_bare']:.2f} × bare", "≥ 0.5")
    if "delivery_batched" in r:
        d = r["delivery_batched"]
        row(
            "delivery, batches of 100", f"{d['events_per_s']:,.0f} ev/s", f"{d['ratio_to_single']:.1f} × single", "≥ 10"
        )
    if "fanout_10" in r:
        d = r["fanout_10"]
        row(
            "fan-out, 10 subscriptions",
            f"{d['events_per_s']:,.0f} deliveries/s",
            f"{d['ratio_to_single']:.2f} × single",
            "≥ 0.8",
        )
    if "send_api" in r:
        s = r["send_api"]
        row("send API, 1 recipient", f"{s['send_requests_per_s']:,.0f} req/s", f"{s['ratio']:.2f} × trivial", "≥ 0.4")
        row("send API, 100 recipients", f"{s['hundred_recipients_per_s']:,.0f} recipients/s")
    if "end_to_end" in r:
        e = r["end_to_end"]
        row(
            "end to end, throughput",
            f"{e['reports_per_s']:,.0f} reports/s",
            f"{e['ratio_to_bare']:.2f} × bare",
            "≥ 0.4",
        )
        row(
            "end to end @200/s p50/p95/p99",
            f"{e['p50_ms']:.1f} / {e['p95_ms']:.1f} / {e['p99_ms']:.1f} ms",
            "",
            "p99 ≤ 20 ms",
        )
    if "backlog" in r:
        b = r["backlog"]
        row("backlog publish", f"{b['publish_events_per_s']:,.0f} ev/s ({b['events']:,} events)")
        row(
            "backlog drain last/first 10 %",
            f"{b['drain_last_10pct_per_s']:,.0f} / {b['drain_first_10pct_per_s']:,.0f} ev/s",
            f"{b['drain_ratio']:.2f}",
            "≥ 0.8",
        )
        row("backlog peak RSS", f"{b['peak_rss_mb']:.0f} MB", "", "≤ 300 MB")
        row("store size per event", f"{b['store_bytes_per_event']:,.0f} B")
    if "startup" in r:
        row("start-up to ready (median)", f"{r['startup']['median_s'] * 1000:.0f} ms", "", "≤ 1 s")
    if "smpp" in r:
        from benchmarks import smpp

        for what, figure, ratio in smpp.table_rows(r["smpp"]):
            row(what, figure, ratio, "≥ 1 × Kannel" if what.startswith("SMPP smsgrid") else "")
    Console().print(table)


if __name__ == "__main__":
    main()
